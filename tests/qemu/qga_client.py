"""A client of the QEMU guest agent's protocol, as libvirt and Proxmox
speak it: a unix socket QEMU serves (deploy/umbra_deploy.py:agent_args)
for a virtserialport named org.qemu.guest_agent.0; 0xFF and
guest-sync-delimited to get in step, then one request and one answer at a
time."""

import json
import random
import socket
import time


class Agent:
    def __init__(self, path, timeout=30):
        self.path = path
        self.timeout = timeout
        self.sock = None
        self.buf = b""

    def connect(self):
        end = time.time() + self.timeout
        while True:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.path)
                break
            except OSError:
                s.close()
                if time.time() > end:
                    raise
                time.sleep(0.05)
        s.settimeout(self.timeout)
        self.sock = s
        self.buf = b""
        return self

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def send(self, data):
        self.sock.sendall(data)

    def read_line(self):
        """One answer: bytes up to a newline (the newline dropped)."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the agent's channel closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def sync(self, tries=20):
        """0xFF and guest-sync-delimited until the answer with our id:
        stale answers of an earlier peer are skipped."""
        for _ in range(tries):
            ident = random.randrange(1, 1 << 62)
            self.send(b"\xff" + json.dumps(
                {"execute": "guest-sync-delimited",
                 "arguments": {"id": ident}}).encode() + b"\n")
            deadline = time.time() + 5
            try:
                while time.time() < deadline:
                    line = self.read_line()
                    i = line.rfind(b"\xff")
                    if i >= 0:
                        line = line[i + 1:]
                    try:
                        reply = json.loads(line)
                    except ValueError:
                        continue
                    if reply.get("return") == ident:
                        return ident
            except socket.timeout:
                pass
        raise TimeoutError("no answer to guest-sync-delimited")

    def raw(self, data):
        """Sends bytes; returns the next answer line parsed."""
        self.send(data)
        return json.loads(self.read_line())

    def cmd(self, name, args=None):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        return self.raw(json.dumps(req).encode() + b"\n")

    def ret(self, name, args=None):
        """The return value; an error answer is an exception."""
        reply = self.cmd(name, args)
        if "return" not in reply:
            raise RuntimeError(f"{name}: {reply}")
        return reply["return"]
