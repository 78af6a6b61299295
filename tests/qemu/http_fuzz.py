"""Malformed HTTP requests, for test_net and by hand:

    python3 tests/qemu/http_fuzz.py PORT [COUNT] [SEED]

Each request is sent on a connection of its own. Requests whose fault
is certain name the statuses allowed (RFC 9112/9110); random mutations
of good requests may get any answer (or none), but the server must stay
up. Knows nothing of the server beyond HTTP."""

import random
import socket
import sys

GOOD = (b"GET / HTTP/1.1\r\nHost: umbra\r\nUser-Agent: fuzz\r\n"
        b"Accept: */*\r\n\r\n")


def _req(line, fields=(b"Host: umbra",), body=b""):
    return line + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + \
        b"\r\n" + body


def _chunked(body):
    """A PUT with the token (serve --token tok) and a chunked body."""
    return _req(b"PUT /c HTTP/1.1", [b"Host: u", b"Authorization: Bearer tok",
                                     b"Transfer-Encoding: chunked"], body)


def _fixed(rng):
    """(request bytes, allowed statuses) of one certain fault."""
    long_path = b"/" + b"a" * rng.randint(4100, 6000)
    many = [b"Host: umbra"] + [b"X-%d: v" % i for i in range(70)]
    big_field = [b"Host: umbra", b"X-Big: " + b"b" * 9000]
    faults = [
        (_req(b"GET / HTTP/1.1 extra"), {400}),
        (_req(b"GET  / HTTP/1.1"), {400}),
        (_req(b"GET / http/1.1"), {400}),
        (_req(b"GET / HTTP/1.x"), {400}),
        (_req(b"GET / HTTP/2.0"), {505}),
        (_req(b"GET / HTTP/3.1"), {505}),
        (_req(b"G(T / HTTP/1.1"), {400}),
        (_req(b"FROB / HTTP/1.1"), {501}),
        (_req(b"get / HTTP/1.1"), {501}),
        (_req(b"GET /a b HTTP/1.1"), {400}),
        (_req(b"GET /\x01 HTTP/1.1"), {400}),
        (_req(b"GET /\xff HTTP/1.1"), {400}),
        (_req(b"GET"), {400}),
        (_req(b"GET / HTTP/1.1", [b"Host umbra"]), {400}),
        (_req(b"GET / HTTP/1.1", [b"Host : umbra"]), {400}),
        (_req(b"GET / HTTP/1.1", [b"Host: umbra", b" folded"]), {400}),
        (_req(b"GET / HTTP/1.1", [b"Host: umbra", b"X: a\rb"]), {400}),
        (_req(b"GET / HTTP/1.1", [b"Host: umbra", b"X: a\x00b"]), {400}),
        (_req(b"GET / HTTP/1.1", [b"Host: umbra", b"X: a\x07b"]), {400}),
        (_req(b"GET / HTTP/1.1", [b"Host: a", b"Host: b"]), {400}),
        (_req(b"GET / HTTP/1.1", []), {400}),
        (_req(b"GET / HTTP/1.1", [b"Host: a/b"]), {400}),
        (_req(b"GET / HTTP/1.1", [b": nameless"]), {400}),
        (_req(b"PUT /x HTTP/1.1", [b"Host: u", b"Content-Length: abc"]),
         {400}),
        (_req(b"PUT /x HTTP/1.1", [b"Host: u", b"Content-Length: -1"]),
         {400}),
        (_req(b"PUT /x HTTP/1.1", [b"Host: u", b"Content-Length: 1, 2"]),
         {400}),
        (_req(b"PUT /x HTTP/1.1", [b"Host: u", b"Content-Length: 1",
                                   b"Content-Length: 2"]), {400}),
        (_req(b"PUT /x HTTP/1.1", [b"Host: u", b"Content-Length: 3",
                                   b"Transfer-Encoding: chunked"]), {400}),
        (_req(b"PUT /x HTTP/1.1", [b"Host: u",
                                   b"Transfer-Encoding: gzip"]), {400}),
        (_req(b"PUT /x HTTP/1.1", [b"Host: u",
                                   b"Transfer-Encoding: gzip, chunked"]),
         {501}),
        (_req(b"PUT /x HTTP/1.0", [b"Transfer-Encoding: chunked"]), {400}),
        (_req(b"GET / HTTP/1.1", [b"Host: u", b"Expect: 200-ok"]), {417}),
        (_req(b"PUT /x HTTP/1.1", [b"Host: u", b"Authorization: Bearer no",
                                   b"Authorization: Bearer tok",
                                   b"Content-Length: 1"], b"x"), {400}),
        (_req(b"GET " + long_path + b" HTTP/1.1"), {414}),
        (b"GET " + long_path, {414}),
        (_req(b"GET / HTTP/1.1", many), {431}),
        (_req(b"GET / HTTP/1.1", big_field), {431}),
        (_req(b"GET /../etc/motd HTTP/1.1"), {400}),
        (_req(b"GET /%2e%2e/etc/motd HTTP/1.1"), {400}),
        (_req(b"GET /%2E%2E%2fetc%2fmotd HTTP/1.1"), {400}),
        (_req(b"GET /etc/..%2fmotd HTTP/1.1"), {400}),
        (_req(b"GET /a%00b HTTP/1.1"), {400}),
        (_req(b"GET /..\\etc HTTP/1.1"), {400}),
        (_req(b"GET /%5c..%5cetc HTTP/1.1"), {400}),
        (_req(b"GET /%zz HTTP/1.1"), {400}),
        (_req(b"GET /% HTTP/1.1"), {400}),
        (_req(b"GET http://umbra/../etc HTTP/1.1"), {400}),
        (_req(b"GET * HTTP/1.1"), {400}),
        (_req(b"GET etc HTTP/1.1"), {400}),
        (b"GET / HTTP/1.1\rHost: u\r\r", {400}),
        (b"\r\n" * 6 + GOOD, {400}),
        (bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))) +
         b"\r\n\r\n", {400, 414, 501, 505}),
        (_chunked(b"zz\r\nhello\r\n0\r\n\r\n"), {400}),
        (_chunked(b"5\r\nhelloXX0\r\n\r\n"), {400}),
        (_chunked(b"fffffffffffffff\r\n"), {413}),
        # RFC 9112 §7.1: a size followed by garbage, a trailer line that
        # is no field line
        (_chunked(b"0x10\r\n0123456789abcdef\r\n0\r\n\r\n"), {400}),
        (_chunked(b"1\r\na\r\n0\r\nGET /x HTTP/1.1\r\n\r\n"), {400}),
        (_req(b"PUT /c HTTP/1.1", [b"Host: u", b"Authorization: Bearer tok",
                                   b"Content-Length: 99999999999"]), {413}),
    ]
    return rng.choice(faults)


def _mutated(rng):
    """A good request with random damage (and an empty line after it, so
    that most heads end): any answer will do, or none."""
    b = bytearray(GOOD)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(4)
        i = rng.randrange(len(b))
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            del b[i]
        elif op == 2:
            b[i:i] = bytes([rng.choice(b"\r\n :%/.\x00\t")])
        else:
            b[i:i] = b[i:i + rng.randint(1, 40)] * rng.randint(1, 20)
    return bytes(b) + b"\r\n\r\n", None


def cases(count, seed=1):
    rng = random.Random(seed)
    for _ in range(count):
        yield _fixed(rng) if rng.random() < 0.7 else _mutated(rng)


def status_of(port, data, timeout=10):
    """Sends data on a new connection; the status of the answer, or None
    when the server closed without one."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except OSError:
            pass	# it may answer and close before reading it all
        got = b""
        while b"\r\n" not in got:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
        if not got.startswith(b"HTTP/1.1 ") or len(got) < 12:
            return None
        return int(got[9:12])
    finally:
        s.close()


def run(port, count=500, seed=1):
    """Sends count requests; returns (answered as expected, unexpected
    answers as (request, status, allowed))."""
    ok, bad = 0, []
    for data, allowed in cases(count, seed):
        try:
            st = status_of(port, data, timeout=2 if allowed is None else 20)
        except socket.timeout:
            st = "timeout"	# a damaged request may still be waited on
        if allowed is None or st in allowed:
            ok += 1
        else:
            bad.append((data[:80], st, allowed))
    return ok, bad


if __name__ == "__main__":
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    good, wrong = run(port, n, seed)
    for w in wrong:
        print("unexpected:", w)
    print(f"{good} passed, {len(wrong)} failed")
