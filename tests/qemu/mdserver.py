#!/usr/bin/env python3
"""A cloud's metadata server for the QEMU tests, run by QEMU's user
network for each connection the guest makes to it
(`guestfwd=tcp:169.254.169.254:80-cmd:python3 mdserver.py CONFIG`):
stdin and stdout are the connection. It reads one request, logs it (a
JSON line in the config's "log"), answers as the config says, and exits.
With `--listen ADDR:PORT CONFIG` it serves the same answers on a socket
instead (a thread per connection), for a guest on a tap device.

CONFIG (JSON):
  "log": file the requests are appended to
  "state": file of counters kept across connections (AWS tokens)
  "answers": {"METHOD PATH": ANSWER, ...}; a request not listed gets 404
  "aws": {"token": STATUS, "expired_below": N}: PUT /latest/api/token
      answers STATUS (200: a token "tok-K", K counting from 1); a GET
      whose X-aws-ec2-metadata-token is missing or "tok-K" with K below N
      gets 401

ANSWER: {"status": 200, "headers": {...}, "body": TEXT,
  "need": {"Field": "value"} (else 403),
  "misbehave": "slow" | "silent" | "endless" | "chunked"}
"""

import json
import os
import sys
import time


def read_request(inp):
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        b = inp.read(1)
        if not b:
            break
        head += b
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = (lines[0].split(" ") + ["", "", ""])[:3]
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k.strip().lower()] = v.strip()
    return method, path, fields


def counter(cfg, name, bump):
    path = cfg["state"]
    state = {}
    if os.path.exists(path):
        with open(path) as f:
            state = json.load(f)
    state[name] = state.get(name, 0) + bump
    with open(path, "w") as f:
        json.dump(state, f)
    return state[name]


def send(out, status, headers, body):
    reason = {200: "OK", 301: "Moved Permanently", 401: "Unauthorized",
              403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
              500: "Internal Server Error"}.get(status, "X")
    head = f"HTTP/1.1 {status} {reason}\r\n"
    for k, v in headers.items():
        head += f"{k}: {v}\r\n"
    if "Content-Length" not in headers and \
            "Transfer-Encoding" not in headers:
        head += f"Content-Length: {len(body)}\r\n"
    out.write(head.encode() + b"Connection: close\r\n\r\n" + body)
    out.flush()


def aws(cfg, method, path, fields):
    """AWS IMDSv2's token: (status, body) for a token PUT; for a GET, a
    401 when the token is missing or expired, else None."""
    a = cfg["aws"]
    if method == "PUT" and path == "/latest/api/token":
        if "x-aws-ec2-metadata-token-ttl-seconds" not in fields:
            return 400, b""
        if a["token"] != 200:
            return a["token"], b""
        return 200, f"tok-{counter(cfg, 'tokens', 1)}".encode()
    if a["token"] != 200:	# IMDSv1
        return None
    tok = fields.get("x-aws-ec2-metadata-token", "")
    if not tok.startswith("tok-") or \
            int(tok[4:]) < a.get("expired_below", 0):
        return 401, b""
    return None


def misbehave(out, how, ans):
    if how == "slow":	# a byte a second, never a whole head
        for c in b"HTTP/1.1 200 OK\r\nX-Slow: yes":
            out.write(bytes([c]))
            out.flush()
            time.sleep(1)
    elif how == "silent":
        time.sleep(30)
    elif how == "endless":	# no length: a body that never ends
        out.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        line = b"echo again and again and again and again\n" * 100
        while True:
            out.write(line)
            out.flush()
    elif how == "chunked":
        body = ans["body"].encode()
        out.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 7):
            piece = body[i:i + 7]
            out.write(b"%x;x=1\r\n%s\r\n" % (len(piece), piece))
        out.write(b"0\r\nX-Trailer: t\r\n\r\n")
        out.flush()


def handle(cfg, inp, out):
    method, path, fields = read_request(inp)
    with open(cfg["log"], "a") as f:
        f.write(json.dumps({"method": method, "path": path,
                            "fields": fields}) + "\n")
    if "aws" in cfg:
        r = aws(cfg, method, path, fields)
        if r:
            send(out, r[0], {}, r[1])
            return
    ans = cfg["answers"].get(f"{method} {path}")
    if ans is None:
        send(out, 404, {}, b"")
        return
    for k, v in ans.get("need", {}).items():
        if fields.get(k.lower()) != v:
            send(out, 403, {}, b"")
            return
    try:
        if "misbehave" in ans:
            misbehave(out, ans["misbehave"], ans)
            return
        send(out, ans.get("status", 200), ans.get("headers", {}),
             ans.get("body", "").encode())
    except (BrokenPipeError, ConnectionResetError):
        pass


def listen(where, cfg):
    import socketserver
    host, port = where.rsplit(":", 1)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            handle(cfg, self.rfile, self.wfile)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer((host, int(port)), Handler) as s:
        s.serve_forever()


def main():
    if sys.argv[1] == "--listen":
        with open(sys.argv[3]) as f:
            listen(sys.argv[2], json.load(f))
        return
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    handle(cfg, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
