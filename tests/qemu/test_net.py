"""The network: virtio-net (modern with MSI-X, legacy with INTx), DHCP
and static addresses, ping of the gateway, and `serve` driven from the
host through QEMU's user network (hostfwd to 127.0.0.1): files, ranges,
validators, listings, writes with and without the token (then QEMU is
killed and the host tool reads what PUT wrote), traversal, malformed
requests (tests/qemu/http_fuzz.py), limits, a slow client, an idle
server that halts, and the power button; on microvm, a hostile load:
uploads in progress that others try to reach; and over a tap device in
a private network namespace (tests/qemu/netns.py), 64 connections that
send nothing (the connection limit) and a burst of spoofed SYNs."""

import hashlib
import http.client
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time

import harness
import http_fuzz
import netns
from harness import case
from test_virtio import EFS

TOKEN = "s3cret-token"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def nic(port=None, guest="", device="", model="virtio-net-pci"):
    """A virtio-net device on QEMU's user network; port: the host port
    forwarded to the guest's port 80 (at address guest, or its DHCP
    one)."""
    fwd = f",hostfwd=tcp:127.0.0.1:{port}-{guest}:80" if port else ""
    return ["-netdev", f"user,id=n0{fwd}",
            "-device", f"{model},netdev=n0{device}"]


def serve_vm(t, cmd, disk=None, vm_kw=None, **kw):
    port = free_port()
    vm = t.start(cmd=cmd, disks=[disk] if disk else None,
                 extra=nic(port, **kw), **(vm_kw or {}))
    vm.until("serve: http://", seconds=60)
    vm.until("\n")
    return vm, port


def request(port, method, path, body=None, headers=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    if not conn:
        c.close()
    return r, data


def expect(r, status, what):
    if r.status != status:
        raise harness.Fail(f"{what}: status {r.status}, wanted {status}")


def raw_status(port, data):
    st = http_fuzz.status_of(port, data, timeout=20)
    return st


@case("net: DHCP, ping of the gateway, counters; modern virtio-net by "
      "MSI-X; virtio-rng seeds the generator")
def dhcp_ping(t):
    r = t.boot(cmd="set +e; ping name.invalid 1; set -e; net up; "
               "ping 10.0.2.2 2; net; irq",
               extra=nic() + ["-device", "virtio-rng-pci"])
    r.expect(r"^ping: name\.invalid: the network is not up \(net up "
             r"first\)$")
    r.expect(r"^machine: \d+ block devices, 1 network devices; randomness "
             r"from (RDSEED|RDRAND|TSC jitter) \+ virtio-rng$")
    r.expect(r"^net0: 10\.0\.2\.15/24 gateway 10\.0\.2\.2 dns 10\.0\.2\.3 "
             r"\(DHCP\)$")
    r.expect(r"^64 bytes from 10\.0\.2\.2: icmp_seq=2 time=\d+\.\d+ ms$")
    r.expect(r"^ping: 10\.0\.2\.2: 2 sent, 2 received, 0% loss$")
    r.expect(r"^net0: virtio-net modern, split ring, mergeable buffers; "
             r"MAC 52:54:00:12:34:56; link up; mtu 1500; waits by "
             r"interrupt$")
    m = r.expect(r"^net0: rx (\d+) frames \d+ bytes, tx (\d+) frames \d+ "
                 r"bytes; dropped 0, no buffer 0, ring full 0; (\d+) "
                 r"interrupts")
    if min(int(m[1]), int(m[2]), int(m[3])) == 0:
        raise harness.Fail(f"counters: {m.group(0)}")
    r.expect(r"^ +\d+ +[1-9]\d*  MSI +net0$")
    r.expect(r"^irq: net0 waits by interrupt \(\d+ halts, 0 frames "
             r"without an interrupt\)$")
    r.expect_status(1)	# the first ping's


@case("net: static address on legacy virtio-net (INTx); serve without a "
      "token is read-only; Ctrl-C stops it")
def static_legacy(t):
    vm, port = serve_vm(t, "net up 10.0.2.20/24 10.0.2.2 10.0.2.3; "
                        "ping 10.0.2.2 1; net; serve /etc",
                        guest="10.0.2.20", device=",disable-modern=on")
    text = vm.text()
    for pattern in ("net0: 10.0.2.20/24 gateway 10.0.2.2 dns 10.0.2.3 "
                    "(static)", "ping: 10.0.2.2: 1 sent, 1 received",
                    "net0: virtio-net legacy, split ring, mergeable "
                    "buffers", "waits by interrupt",
                    "serve: http://10.0.2.20:80/ from /etc (read-only)"):
        if pattern not in text:
            raise harness.Fail(f"console lacks {pattern!r}")
    r, data = request(port, "GET", "/motd")
    expect(r, 200, "GET /motd")
    if not data.startswith(b"Welcome to umbra"):
        raise harness.Fail(f"GET /motd: {data[:40]!r}")
    for method in ("PUT", "DELETE", "MKCOL"):
        r, _ = request(port, method, "/motd", body=b"x" if method == "PUT"
                       else None, headers={"Authorization":
                                           f"Bearer {TOKEN}"})
        expect(r, 403, f"{method} without --token")
    r, _ = request(port, "GET", "/README.txt")
    expect(r, 404, "a file outside DIR")
    vm.send("\x03")		# Ctrl-C: serve returns, the script ends
    status = vm.wait_exit(seconds=30)
    if status != 0 or "script: exit status 0" not in vm.text():
        raise harness.Fail(f"after Ctrl-C: status {status}")


class Resolver:
    """A DNS server on the host's 127.0.0.1:53 (which QEMU's user network
    shows the guest as 10.0.2.2:53) that knows one name (RFC 1035 §4.1:
    a query in, one A record or NXDOMAIN out)."""

    def __init__(self, name, addr):
        self.name, self.addr, self.asked = name, addr, []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        self.sock.settimeout(0.2)
        self.done = False
        self.thread = threading.Thread(target=self.serve)
        self.thread.start()

    def serve(self):
        while not self.done:
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            end = q.index(b"\0", 12) + 5	# the question
            labels, i = [], 12
            while q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode())
                i += 1 + q[i]
            name = ".".join(labels)
            self.asked.append(name)
            known = name == self.name
            head = q[:2] + (b"\x81\x80" if known else b"\x81\x83") + \
                b"\0\x01" + (b"\0\x01" if known else b"\0\0") + b"\0\0\0\0"
            answer = b"\xc0\x0c\0\x01\0\x01\0\0\0\x3c\0\x04" + \
                socket.inet_aton(self.addr) if known else b""
            self.sock.sendto(head + q[12:end] + answer, peer)

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()


@case("net: DNS: ping by name through a resolver on the host; an unknown "
      "name")
def dns(t):
    res = Resolver("gateway.umbra.test", "10.0.2.2")
    try:
        r = t.boot(cmd="net up 10.0.2.15/24 10.0.2.2 10.0.2.2; ping "
                   "gateway.umbra.test 1; set +e; ping nosuch.umbra.test 1",
                   extra=nic())
    finally:
        res.close()
    r.expect(r"^net0: 10\.0\.2\.15/24 gateway 10\.0\.2\.2 dns 10\.0\.2\.2 "
             r"\(static\)$")
    r.expect(r"^64 bytes from 10\.0\.2\.2: icmp_seq=1 ")
    r.expect(r"^ping: nosuch\.umbra\.test: unknown host$")
    r.expect_status(1)
    if "gateway.umbra.test" not in res.asked:
        raise harness.Fail(f"the resolver was asked {res.asked}")


@case("net: virtio-net over virtio-mmio v2 on microvm (the PVH kernel): "
      "DHCP, ping, serve; on a disk that refuses writes, a 5xx names its "
      "cause on the console")
def microvm(t):
    disk = t.blkdebug(t.copy_disk(), "pwritev", "write", 5)
    vm, port = serve_vm(t, f"net up; ping 10.0.2.2 2; lsmmio; net; serve "
                        f"--token {TOKEN} /etc", disk,
                        model="virtio-net-device",
                        vm_kw={"machine": "microvm", "mmio_version": 2})
    r, data = request(port, "GET", "/motd")
    expect(r, 200, "GET /motd on microvm")
    if not data.startswith(b"Welcome to umbra"):
        raise harness.Fail(f"GET /motd: {data[:40]!r}")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r, _ = request(port, "PUT", "/new.txt", b"x" * 1000, auth)
    expect(r, 500, "PUT to a disk that refuses writes")
    r, _ = request(port, "MKCOL", "/dir", None, auth)
    expect(r, 500, "MKCOL on a disk that refuses writes")
    vm.until("serve: MKCOL /dir: 500 ", seconds=20)
    vm.until("\n")
    text = vm.text()
    for pattern in (r"^serve: PUT /new\.txt: 500 Internal Server Error: "
                    r"write error on vda at LBA \d+ \(\+\d+\): I/O error",
                    r"^serve: MKCOL /dir: 500 Internal Server Error: "
                    r"write error on vda at LBA \d+",
                    r"^net0: 10\.0\.2\.15/24 gateway 10\.0\.2\.2 ",
                    r"^ping: 10\.0\.2\.2: 2 sent, 2 received",
                    r"^0x[0-9a-f]+ size 0x200 irq \d+ \(ACPI\) type 1: "
                    r"net0$",
                    r"^net0: virtio-net mmio v2, split ring, mergeable "
                    r"buffers; MAC [0-9a-f:]+; link up; mtu 1500; waits by "
                    r"interrupt$"):
        if not re.search(pattern, text, re.M):
            raise harness.Fail(f"console lacks /{pattern}/")


@case("net: a lost interrupt is caught and the device polled")
def lost_irq(t):
    vm, port = serve_vm(t, "net up; fault irq net0; serve /etc; net")
    for _ in range(6):	# frames from the host come when they come
        time.sleep(0.3)	# while the CPU halts: found by the tick
        r, data = request(port, "GET", "/motd")
        expect(r, 200, "GET with the interrupt lost")
    vm.until("polling from now on", seconds=30)
    vm.send("\x03")
    if vm.wait_exit(seconds=30) != 0:
        raise harness.Fail("status after Ctrl-C")
    text = vm.text()
    for pattern in (r"^net0: frames arrive without their interrupt "
                    r"\(vector \d+\); polling from now on$",
                    r"^net0: virtio-net .* waits by polling$"):
        if not re.search(pattern, text, re.M):
            raise harness.Fail(f"console lacks /{pattern}/")


def make_disk(t):
    """A copy of the image with /srv: a 16 MiB file, a small one, a
    directory, and a symlink that leads out of /srv."""
    img = t.copy_disk()
    big = os.urandom(16 << 20)
    files = {"big.bin": big, "small.txt": b"hello, world\n",
             "sub/data.json": b'{"a": 1}\n'}
    subprocess.run([EFS, "mkdir", img, "/srv"], check=True)
    subprocess.run([EFS, "mkdir", img, "/srv/sub"], check=True)
    for name, data in files.items():
        host = t.path(name.replace("/", "_"))
        with open(host, "wb") as f:
            f.write(data)
        subprocess.run([EFS, "put", img, host, "/srv/" + name], check=True)
    subprocess.run([EFS, "ln", "-s", img, "/etc/motd", "/srv/link"],
                   check=True)
    return img, files


def reads(port, files):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    big = files["big.bin"]
    r, data = request(port, "GET", "/big.bin", conn=c)
    expect(r, 200, "GET /big.bin")
    if hashlib.sha256(data).digest() != hashlib.sha256(big).digest():
        raise harness.Fail(f"GET /big.bin: {len(data)} bytes, wrong sha256")
    etag, modified = r.getheader("ETag"), r.getheader("Last-Modified")
    if not etag or not modified or \
            r.getheader("Accept-Ranges") != "bytes" or \
            r.getheader("Content-Type") != "application/octet-stream":
        raise harness.Fail(f"GET /big.bin headers: {r.getheaders()}")
    r, data = request(port, "HEAD", "/big.bin", conn=c)
    expect(r, 200, "HEAD")
    if r.getheader("Content-Length") != str(len(big)) or data:
        raise harness.Fail(f"HEAD: {r.getheaders()}")
    r, _ = request(port, "GET", "/big.bin", conn=c,
                   headers={"If-None-Match": f'"x", {etag}'})
    expect(r, 304, "If-None-Match")
    for rng, first, last in (("bytes=100-199", 100, 199),
                             ("bytes=-10", len(big) - 10, len(big) - 1),
                             ("bytes=16777000-", 16777000, len(big) - 1)):
        r, data = request(port, "GET", "/big.bin", conn=c,
                          headers={"Range": rng})
        expect(r, 206, rng)
        if data != big[first:last + 1] or r.getheader("Content-Range") != \
                f"bytes {first}-{last}/{len(big)}":
            raise harness.Fail(f"{rng}: {r.getheaders()}")
    r, _ = request(port, "GET", "/big.bin", conn=c,
                   headers={"Range": "bytes=99999999-"})
    expect(r, 416, "unsatisfiable range")
    if r.getheader("Content-Range") != f"bytes */{len(big)}":
        raise harness.Fail(f"416: {r.getheaders()}")
    r, data = request(port, "GET", "/small.txt", conn=c)
    expect(r, 200, "GET /small.txt")
    if data != files["small.txt"] or \
            r.getheader("Content-Type") != "text/plain; charset=utf-8":
        raise harness.Fail(f"/small.txt: {data!r} {r.getheaders()}")
    for path, status in (("/missing", 404), ("/small.txt/", 404),
                         ("/link", 403), ("/sub/nope/x", 404)):
        r, _ = request(port, "GET", path, conn=c)
        expect(r, status, path)
    r, data = request(port, "GET", "/", conn=c)
    expect(r, 200, "listing")
    for want in (b'<a href="/big.bin">big.bin</a>',
                 b'<a href="/sub/">sub/</a>'):
        if want not in data:
            raise harness.Fail(f"HTML listing lacks {want!r}: {data!r}")
    r, data = request(port, "GET", "/sub", conn=c,
                      headers={"Accept": "application/json"})
    expect(r, 200, "JSON listing")
    listing = json.loads(data)
    if listing["path"] != "/sub/" or [e["name"] for e in
                                      listing["entries"]] != ["data.json"]:
        raise harness.Fail(f"JSON listing: {listing}")
    c.close()


def writes(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    wrong = {"Authorization": "Bearer s3cret-tokeN"}
    mib = os.urandom(1 << 20)
    steps = [  # method, path, body, headers, status, what
        ("PUT", "/new.txt", b"first\n", {}, 401, "PUT without the token"),
        ("PUT", "/new.txt", b"first\n", wrong, 401, "a wrong token"),
        ("PUT", "/new.txt", b"first\n", auth, 201, "PUT (create)"),
        ("PUT", "/new.txt", b"second\n", auth, 204, "PUT (replace)"),
        ("PUT", "/sub/mib.bin", mib, auth, 201, "PUT 1 MiB"),
        ("PUT", "/nodir/x", b"x", auth, 409, "PUT under a missing dir"),
        ("PUT", "/sub", b"x", auth, 409, "PUT over a directory"),
        ("MKCOL", "/made", None, {}, 401, "MKCOL without the token"),
        ("MKCOL", "/made", None, auth, 201, "MKCOL"),
        ("MKCOL", "/made", None, auth, 405, "MKCOL of an existing one"),
        ("DELETE", "/small.txt", None, {}, 401, "DELETE without the token"),
        ("DELETE", "/small.txt", None, auth, 204, "DELETE"),
        ("GET", "/small.txt", None, {}, 404, "GET after DELETE"),
        ("DELETE", "/sub", None, auth, 409, "DELETE of a full directory"),
        ("DELETE", "/link", None, auth, 204, "DELETE of a symlink"),
    ]
    for method, path, body, headers, status, what in steps:
        r, _ = request(port, method, path, body, headers, conn=c)
        expect(r, status, what)
        if status == 401 and r.getheader("WWW-Authenticate") != "Bearer":
            raise harness.Fail(f"{what}: {r.getheaders()}")
    r, data = request(port, "GET", "/new.txt", conn=c)
    if data != b"second\n":
        raise harness.Fail(f"GET after PUT: {data!r}")
    c.close()
    # chunked, with Expect: 100-continue
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"PUT /chunked.txt HTTP/1.1\r\nHost: umbra\r\nAuthorization: "
              b"Bearer " + TOKEN.encode() + b"\r\nTransfer-Encoding: chunked"
              b"\r\nExpect: 100-continue\r\n\r\n")
    got = s.recv(100)
    if not got.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
        raise harness.Fail(f"Expect: 100-continue: {got!r}")
    s.sendall(b"6;ext=1\r\nchunk \r\n5\r\nfine\n\r\n0\r\nX-Trailer: t\r\n\r\n")
    got = s.recv(100)
    s.close()
    if not got.startswith(b"HTTP/1.1 201 "):
        raise harness.Fail(f"chunked PUT: {got!r}")
    return {"/srv/new.txt": b"second\n", "/srv/sub/mib.bin": mib,
            "/srv/chunked.txt": b"chunk fine\n"}


def traversal(port):
    for target in (b"/../etc/motd", b"/%2e%2e/etc/motd", b"/sub/../../etc",
                   b"/%2E%2e%2Fetc%2Fmotd", b"/..%5cetc%5cmotd",
                   b"/..\\etc\\motd", b"/a%00.txt", b"/sub%2f..%2f..",
                   b"http://umbra/../etc/motd", b"//etc/../../motd"):
        st = raw_status(port, b"GET " + target + b" HTTP/1.1\r\nHost: u"
                        b"\r\n\r\n")
        if st != 400:
            raise harness.Fail(f"GET {target!r}: {st}, wanted 400")
    st = raw_status(port, b"PUT /../escape HTTP/1.1\r\nHost: u\r\n"
                    b"Authorization: Bearer " + TOKEN.encode() +
                    b"\r\nContent-Length: 1\r\n\r\nx")
    if st != 400:
        raise harness.Fail(f"PUT /../escape: {st}, wanted 400")


@case("net: serve: files, ranges, validators, listings, writes with the "
      "token, traversal; QEMU killed, the host reads what PUT wrote",
      timeout=240)
def serve_files(t):
    img, files = make_disk(t)
    vm, port = serve_vm(t, f"net up; serve --token {TOKEN} /srv", img)
    reads(port, files)
    written = writes(port)
    traversal(port)
    r, _ = request(port, "GET", "/big.bin", headers={"Range": "bytes=0-0"})
    expect(r, 206, "still serving")
    if TOKEN in vm.text():
        raise harness.Fail("the token was printed")
    vm.stop()		# killed: only what was synced is on the disk
    for path, data in written.items():
        got = subprocess.run([EFS, "cat", img, path], capture_output=True)
        if got.stdout != data:
            raise harness.Fail(f"host reads {path}: {len(got.stdout)} "
                               f"bytes, wanted {len(data)}")
    ls = subprocess.run([EFS, "ls", img, "/srv"], capture_output=True,
                        text=True, check=True).stdout.split()
    if "made" not in ls or "small.txt" in ls or "link" in ls or \
            any(n.startswith(".umbra-put-") for n in ls):
        raise harness.Fail(f"host lists /srv as {ls}")
    subprocess.run([EFS, "fsck", img], check=True, capture_output=True)


def slow_client(port, out):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"GET / HTTP/1.1\r\nHost: umbra\r\n")	# and no more
    t0 = time.monotonic()
    out["data"] = s.recv(100)
    out["seconds"] = time.monotonic() - t0
    s.close()


@case("net: serve: 500 malformed requests, limits, a slow client; still "
      "answering; halts when idle; the power button ends it", timeout=240)
def serve_hostile(t):
    vm, port = serve_vm(t, "net up; serve --token tok /")
    time.sleep(2)
    c0, w0 = vm.cpu_seconds(), time.monotonic()
    time.sleep(5)
    share = (vm.cpu_seconds() - c0) / (time.monotonic() - w0)
    print(f"idle serve: {share * 100:.2f}% of a core")
    if share > 0.03:
        raise harness.Fail(f"an idle serve used {share * 100:.1f}% of a "
                           "core")
    slow = {}
    th = threading.Thread(target=slow_client, args=(port, slow))
    th.start()
    good, wrong = http_fuzz.run(port, 500, seed=7)
    if wrong:
        raise harness.Fail(f"{len(wrong)} unexpected answers, first "
                           f"{wrong[0]}")
    th.join()
    if not slow.get("data", b"").startswith(b"HTTP/1.1 408 ") or \
            not 8 <= slow["seconds"] <= 25:
        raise harness.Fail(f"slow client: {slow}")
    r, data = request(port, "GET", "/etc/motd")
    expect(r, 200, "after all that")
    vm.send("\r")
    out = vm.until("busy ", seconds=20)
    if "serve: " not in out or "refused" not in out:
        raise harness.Fail(f"statistics: {out[-300:]!r}")
    vm.qmp("system_powerdown")
    status = vm.wait_exit(seconds=60)
    if "power: button pressed, syncing" not in vm.text() or status != 0:
        raise harness.Fail(f"button: status {status}, {vm.text()[-300:]!r}")


def srv_disk(t, big=4 << 20):
    """A raw copy of the image with /srv/big.bin (random bytes) and
    /srv/small.txt; returns its path."""
    img = t.copy_disk()
    subprocess.run([EFS, "mkdir", img, "/srv"], check=True)
    for name, data in (("big.bin", os.urandom(big)),
                       ("small.txt", b"hello, world\n")):
        host = t.path(name)
        with open(host, "wb") as f:
            f.write(data)
        subprocess.run([EFS, "put", img, host, "/srv/" + name], check=True)
    return img


def read_answer(s):
    """The status and body of one answer on socket s (Content-Length
    framed)."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        if not chunk:
            raise harness.Fail(f"connection closed after {got!r}")
        got += chunk
    head, body = got.split(b"\r\n\r\n", 1)
    m = re.search(rb"\r\nContent-Length: (\d+)", head)
    while m and len(body) < int(m[1]):
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head[9:12]), body


def put_start(port, path, body, sent):
    """A PUT of body whose first `sent` bytes are sent now: the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(f"PUT {path} HTTP/1.1\r\nHost: u\r\nAuthorization: Bearer "
              f"{TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode() +
              body[:sent])
    return s


def put_finish(s, body, sent):
    s.sendall(body[sent:])
    st, _ = read_answer(s)
    s.close()
    return st


def efs_names(img, path):
    return subprocess.run([EFS, "ls", img, path], capture_output=True,
                          text=True, check=True).stdout.split()


def upload_hidden(t, port, img):
    """An upload in progress can be neither seen nor touched; a 201 means
    exactly the bytes sent; a target changed under an upload fails it."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = os.urandom(300000)	# more than one 256 KiB write
    a = put_start(port, "/up.bin", body, 270000)
    time.sleep(1)
    r, _ = request(port, "PUT", "/other.txt", b"synced\n", auth)
    expect(r, 201, "a PUT beside an upload")	# synced A's temporary
    temps = [n for n in efs_names(img, "/srv")
             if n.startswith(".umbra-put-")]
    if len(temps) != 1:
        raise harness.Fail(f"the disk lists {temps} as uploads")
    tmp = "/" + temps[0]
    for method, path, data, status in (
            ("GET", tmp, None, 404), ("HEAD", tmp, None, 404),
            ("DELETE", tmp, None, 404), ("PUT", tmp, b"over", 403),
            ("MKCOL", tmp, None, 403), ("GET", tmp + "/x", None, 404),
            ("PUT", "/.umbra-put-0123456789abcdef", b"x", 403)):
        r, got = request(port, method, path, data, auth)
        expect(r, status, f"{method} of an upload in progress")
    for accept in ("text/html", "application/json"):
        r, listing = request(port, "GET", "/", headers={"Accept": accept})
        if b".umbra-put-" in listing:
            raise harness.Fail(f"the listing ({accept}) shows the upload")
    st = put_finish(a, body, 270000)
    if st != 201:
        raise harness.Fail(f"the upload: status {st}, wanted 201")
    r, got = request(port, "GET", "/up.bin")
    if got != body:
        raise harness.Fail(f"GET after the upload: {len(got)} bytes, not "
                           "those sent")
    # another PUT replaces the target while an upload to it goes on
    c = put_start(port, "/race.bin", body, 100000)
    time.sleep(1)
    r, _ = request(port, "PUT", "/race.bin", b"the other\n", auth)
    expect(r, 201, "a PUT over an upload's target")
    st = put_finish(c, body, 100000)
    if st != 409:
        raise harness.Fail(f"an upload whose target changed: {st}")
    r, got = request(port, "GET", "/race.bin")
    if got != b"the other\n":
        raise harness.Fail(f"the changed target holds {got[:20]!r}")
    return {"/srv/up.bin": body, "/srv/race.bin": b"the other\n",
            "/srv/other.txt": b"synced\n"}


def ended(s, deadline):
    """How connection s ended by time.monotonic() deadline: the start of
    what came ("HTTP/1.1 408 ..."), "reset", "closed", or None when it
    is still open then."""
    got = b""
    while True:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return "reset"
        if not chunk:
            return got[:12].decode() if got else "closed"
        got += chunk


def get(s, path):
    """GET path on socket s: (status, body)."""
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: u\r\n\r\n".encode())
    return read_answer(s)


def real_client(ns, within, what):
    """A GET on a new connection must be answered 200 within `within`
    seconds: how long it took."""
    t0 = time.monotonic()
    try:
        c = ns.connect(80, timeout=40)
        st, _ = get(c, "/small.txt")
        c.close()
    except OSError as e:
        st = f"{e}"
    took = time.monotonic() - t0
    if st != 200 or took > within:
        raise harness.Fail(f"a client {what}: {st} in {took:.1f} s")
    return took


def silent_clients(vm, ns):
    """64 connections that send nothing: a real client is served at once
    (it evicts the one idle longest), and every silent one is answered
    408 within the head limit counted from its accept."""
    socks = []
    for _ in range(64):
        socks.append((ns.connect(80), time.monotonic()))
    time.sleep(1)	# all of them accepted by umbra
    took = real_client(ns, 8, "after 64 silent connections")
    evicted, other = 0, []
    for s, at in socks:
        how = ended(s, at + 16)	# 10 s, the 1 s poll, and slack
        if how in ("reset", "closed") and time.monotonic() < at + 9:
            evicted += 1
        elif how != "HTTP/1.1 408":
            other.append(how)
        s.close()
    if evicted != 1 or other:
        raise harness.Fail(f"of 64 silent connections {evicted} evicted, "
                           f"{len(other)} ended so: {other[:4]}")
    vm.send("\r")
    out = vm.until("busy ", seconds=20)
    m = re.search(r"refused, (\d+) evicted\), (\d+) timeouts", out)
    if not m or int(m[1]) < 1 or int(m[2]) < 63:
        raise harness.Fail(f"statistics: {out[-300:]!r}")
    print(f"silent clients: served in {took:.2f} s; {m.group(0)}")


def unread_answers(vm, port):
    """12 connections each ask for a 16 MiB file, read none of it, and
    pipeline 64 KiB of requests behind it: umbra must keep receive
    buffers for others (a connection's unread input is its own to hold,
    within its TCP window), and a real client is served meanwhile."""
    pipelined = b"GET /small.txt HTTP/1.1\r\nHost: u\r\n\r\n" * 1640
    hogs = []
    for _ in range(12):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        try:
            s.send(b"GET /big.bin HTTP/1.1\r\nHost: u\r\n\r\n" +
                   pipelined)
        except BlockingIOError:
            pass
        hogs.append(s)
    time.sleep(3)	# umbra sends what the window takes; input piles up
    t0 = time.monotonic()
    try:
        r, data = request(port, "GET", "/small.txt")
        st = r.status
    except OSError as e:
        st = f"{e}"
    took = time.monotonic() - t0
    for s in hogs:	# a reset: no lingering answers
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
    if st != 200 or took > 5:
        raise harness.Fail(f"a client beside 12 unread answers: {st} in "
                           f"{took:.1f} s")
    print(f"unread answers: a client served in {took:.2f} s")


@case("net: serve on microvm under a hostile load: an upload in progress "
      "is invisible and untouchable; unread answers with pipelined "
      "requests behind them starve nobody", timeout=240)
def serve_siege(t):
    img = srv_disk(t, big=16 << 20)
    vm, port = serve_vm(t, f"net up; serve --token {TOKEN} /srv; net",
                        img, model="virtio-net-device",
                        vm_kw={"machine": "microvm", "mmio_version": 2})
    written = upload_hidden(t, port, img)
    unread_answers(vm, port)
    vm.send("\x03")	# serve ends; `net` counts the receive buffers
    out = vm.until("interrupts", seconds=30)
    m = re.search(r"no buffer (\d+)", out)
    if not m or m[1] != "0":
        raise harness.Fail(f"frames dropped for want of a buffer: "
                           f"{out[-200:]!r}")
    vm.stop()		# killed: what the answers promised is on the disk
    for path, data in written.items():
        got = subprocess.run([EFS, "cat", img, path], capture_output=True)
        if got.stdout != data:
            raise harness.Fail(f"host reads {path}: {len(got.stdout)} "
                               f"bytes, wanted {len(data)}")
    if any(n.startswith(".umbra-put-") for n in efs_names(img, "/srv")):
        raise harness.Fail("an upload's temporary file is left")
    subprocess.run([EFS, "fsck", img], check=True, capture_output=True)


def syn_burst(ns):
    """100 SYNs from spoofed addresses, more than umbra has TCP slots:
    a client gets in at once (the oldest half-open connections make
    room), and a connection made before the burst is still served."""
    keep = ns.connect(80)
    st, _ = get(keep, "/small.txt")
    if st != 200:
        raise harness.Fail(f"before the burst: {st}")
    netns.syn_burst(ns, 100, 80)
    time.sleep(1)	# umbra takes them in
    took = real_client(ns, 5, "after 100 spoofed SYNs")
    st, _ = get(keep, "/small.txt")
    keep.close()
    if st != 200:
        raise harness.Fail(f"the connection made before the burst: {st}")
    print(f"SYN burst: a client served in {took:.2f} s")


@case("net: serve on microvm over a tap device in a private network "
      "namespace: 64 silent connections and a burst of 100 spoofed SYNs "
      "lock nobody out", timeout=240)
def serve_flood(t):
    try:
        ns = netns.Netns()
    except OSError as e:
        raise harness.Fail(f"a private network (needs root): {e}")
    try:
        vm = t.start(prefix=ns.prefix(), cmd=f"net up {netns.GUEST}/24 "
                     f"{netns.HOST} {netns.HOST}; serve /srv",
                     disks=[srv_disk(t, big=1 << 20)], machine="microvm",
                     mmio_version=2, extra=ns.nic("virtio-net-device"))
        vm.until("serve: http://", seconds=60)
        vm.until("\n")
        silent_clients(vm, ns)
        syn_burst(ns)
    finally:
        for live in t.live:
            live.stop()
        ns.delete()
