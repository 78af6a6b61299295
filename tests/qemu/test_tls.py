"""HTTPS: `serve --tls` driven from the host through QEMU's user network,
on the PVH kernel (microvm, virtio-mmio): keys and a throwaway CA made by
openssl for each case (ECDSA P-256 and RSA 2048); curl with --cacert,
Python's ssl module, openssl s_client and sslscan as the clients; a
wrong CA refused by the client; a PUT over TLS read back by the host
tool after QEMU is killed; writes and the token over plain HTTP refused;
a key inside the served directory refused; the key by fw_cfg; hostile
clients (garbage, truncated and oversized records, a handshake that
stops halfway, 200 handshakes at once)."""

import hashlib
import http.client
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time

import harness
from harness import case
from test_net import free_port
from test_virtio import EFS

TOKEN = "tls-s3cret"
SAN = "subjectAltName=DNS:umbra.test,IP:127.0.0.1"


def openssl(*args, stdin=None):
    p = subprocess.run(["openssl", *args], capture_output=True, text=True,
                       input=stdin, timeout=120)
    if p.returncode:
        raise harness.Fail(f"openssl {' '.join(args)}: {p.stderr[-300:]}")
    return p.stdout


class PKI:
    """A CA and server keys in the case's directory, made by openssl."""

    def __init__(self, t):
        self.t = t
        self.ca, self.ca_key = self.self_signed("ca", "umbra test CA")
        self.other_ca, _ = self.self_signed("other-ca", "another CA")

    def path(self, name):
        return self.t.path(name)

    def new_key(self, name, kind):
        key = self.path(name + ".key")
        opt = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"] \
            if kind == "ec" else ["-algorithm", "RSA", "-pkeyopt",
                                  "rsa_keygen_bits:2048"]
        openssl("genpkey", *opt, "-out", key)
        return key

    def self_signed(self, name, cn):
        key = self.new_key(name, "ec")
        cert = self.path(name + ".pem")
        openssl("req", "-x509", "-key", key, "-out", cert, "-days", "2",
                "-subj", f"/CN={cn}")
        return cert, key

    def server(self, name, kind):
        """A key and a certificate for 127.0.0.1 signed by the CA."""
        key = self.new_key(name, kind)
        csr, cert = self.path(name + ".csr"), self.path(name + ".pem")
        openssl("req", "-new", "-key", key, "-out", csr, "-subj",
                "/CN=umbra.test")
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write(SAN + "\nextendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey",
                self.ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
                "-extfile", ext)
        return cert, key


def nic(ports):
    """virtio-net on microvm, with guest port -> host port forwards."""
    fwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-:{g}"
                  for g, h in ports.items())
    return ["-netdev", f"user,id=n0{fwd}",
            "-device", "virtio-net-device,netdev=n0"]


def disk(t, files):
    """A copy of the image with files {volume path: host path or bytes}."""
    img = t.copy_disk()
    for d in ("/srv", "/etc/tls"):
        subprocess.run([EFS, "mkdir", img, d], check=True,
                       capture_output=True)
    for path, src in files.items():
        if isinstance(src, bytes):
            host = t.path(os.path.basename(path) + ".data")
            with open(host, "wb") as f:
                f.write(src)
            src = host
        subprocess.run([EFS, "put", img, src, path], check=True)
    return img


def boot(t, img, cmd, ports, extra=()):
    vm = t.start(cmd=cmd, disks=[img], machine="microvm", mmio_version=2,
                 extra=nic(ports) + list(extra))
    return vm


def curl(url, *args):
    return subprocess.run(["curl", "-sS", "--max-time", "120", *args, url],
                          capture_output=True, timeout=150)


def s_client(port, *args):
    p = subprocess.run(["openssl", "s_client", "-connect",
                        f"127.0.0.1:{port}", *args], input=b"",
                       capture_output=True, timeout=60)
    return (p.stdout + p.stderr).decode("utf-8", "replace")


def negotiated(out):
    m = re.search(r"^New, (\S+), Cipher is (\S+)", out, re.M)
    return (m[1], m[2]) if m else (None, None)


def https(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    return ctx, http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                            timeout=60)


def check_clients(pki, port, big):
    """curl, Python's ssl, s_client, sslscan, a wrong CA."""
    r = curl(f"https://127.0.0.1:{port}/big.bin", "--cacert", pki.ca)
    if r.returncode or hashlib.sha256(r.stdout).digest() != \
            hashlib.sha256(big).digest():
        raise harness.Fail(f"curl 16 MiB: rc {r.returncode}, "
                           f"{len(r.stdout)} bytes {r.stderr[-200:]!r}")
    r = curl(f"https://127.0.0.1:{port}/small.txt", "--cacert",
             pki.other_ca)
    if r.returncode != 60:	# curl: peer certificate cannot be verified
        raise harness.Fail(f"a wrong CA: curl rc {r.returncode}")
    ctx, c = https(port, pki.ca)
    c.request("GET", "/small.txt")
    resp = c.getresponse()
    if resp.status != 200 or resp.read() != b"small\n" or \
            c.sock.version() != "TLSv1.2" or \
            not re.search(r"GCM|CHACHA20", c.sock.cipher()[0]):
        raise harness.Fail(f"python ssl: {resp.status} {c.sock.version()} "
                           f"{c.sock.cipher()}")
    session = c.sock.session
    c.close()
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port),
                                                 timeout=60),
                        server_hostname="umbra.test", session=session)
    if not s.session_reused:
        raise harness.Fail("python ssl: the session was not resumed")
    s.close()
    version, cipher = negotiated(s_client(port, "-CAfile", pki.ca))
    if version != "TLSv1.2" or cipher not in (
            "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256"):
        raise harness.Fail(f"a TLS 1.3 client: {version} {cipher}")
    for refused in (["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
                    ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
                    ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"],
                    ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA"],
                    ["-tls1_2", "-cipher", "AES128-GCM-SHA256"]):
        out = s_client(port, *refused)
        if negotiated(out)[1] not in ("(NONE)", None):
            raise harness.Fail(f"s_client {refused}: {negotiated(out)}")
    scan = subprocess.run(["sslscan", "--no-colour", f"127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=300).stdout
    protocols = dict(re.findall(r"^(SSLv\d|TLSv1\.\d)\s+(enabled|disabled)",
                                scan, re.M))
    suites = re.findall(r"^(?:Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)",
                        scan, re.M)
    if protocols != {"SSLv2": "disabled", "SSLv3": "disabled",
                     "TLSv1.0": "disabled", "TLSv1.1": "disabled",
                     "TLSv1.2": "enabled", "TLSv1.3": "disabled"} or \
            sorted(s for _, s in suites) != [
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-CHACHA20-POLY1305"]:
        raise harness.Fail(f"sslscan: {protocols} {suites}")


def check_writes(pki, port, plain):
    """A PUT with the token over TLS; the token and writes over plain
    HTTP refused with a sentence. Returns what was written."""
    data = os.urandom(300 << 10)
    _, c = https(port, pki.ca)
    c.request("PUT", "/up.bin", body=data,
              headers={"Authorization": f"Bearer {TOKEN}"})
    r = c.getresponse()
    r.read()
    if r.status != 201:
        raise harness.Fail(f"PUT over TLS: {r.status}")
    c.close()
    for method, body, headers in (
            ("PUT", b"x", {"Authorization": f"Bearer {TOKEN}"}),
            ("DELETE", None, {"Authorization": f"Bearer {TOKEN}"}),
            ("GET", None, {"Authorization": f"Bearer {TOKEN}"}),
            ("MKCOL", None, {})):
        p = http.client.HTTPConnection("127.0.0.1", plain, timeout=60)
        p.request(method, "/small.txt" if method != "MKCOL" else "/d",
                  body=body, headers=headers)
        r = p.getresponse()
        text = r.read()
        if r.status != 403 or b"over HTTPS only" not in text:
            raise harness.Fail(f"{method} over plain HTTP: {r.status} "
                               f"{text!r}")
        p.close()
    p = http.client.HTTPConnection("127.0.0.1", plain, timeout=60)
    p.request("GET", "/small.txt")
    r = p.getresponse()
    if r.status != 200 or r.read() != b"small\n":
        raise harness.Fail(f"a plain GET: {r.status}")
    return data


@case("tls: ECDSA key on the volume: curl 16 MiB, Python ssl (TLS 1.2, "
      "AEAD, resumption), s_client (1.0, 1.1, CBC refused), sslscan, a "
      "wrong CA; PUT over TLS read back after QEMU is killed, writes and "
      "the token over HTTP refused; a key in the served directory "
      "refused; an RSA key by fw_cfg, HTTPS only", timeout=400)
def tls_clients(t):
    pki = PKI(t)
    ec_cert, ec_key = pki.server("ec", "ec")
    rsa_cert, rsa_key = pki.server("rsa", "rsa")
    big = os.urandom(16 << 20)
    img = disk(t, {"/srv/big.bin": big, "/srv/small.txt": b"small\n",
                   "/srv/inside.key": ec_key, "/etc/tls/ec.pem": ec_cert,
                   "/etc/tls/ec.key": ec_key, "/etc/tls/rsa.pem": rsa_cert})
    ports = {80: free_port(), 443: free_port(), 8443: free_port()}
    cmd = ("net up; set +e; serve --tls /etc/tls/ec.pem /srv/inside.key "
           "/srv; set -e; serve --token " + TOKEN + " --tls /etc/tls/ec.pem "
           "/etc/tls/ec.key /srv; serve --port 0 --tls-port 8443 --tls "
           "/etc/tls/rsa.pem fw_cfg /srv")
    vm = boot(t, img, cmd, ports,
              ["-fw_cfg", f"name=opt/umbra/tls/key,file={rsa_key}"])
    out = vm.until("Ctrl-C: stop", seconds=120)
    for want in (r"^serve: /srv/inside\.key: the key file is inside the "
                 r"served directory",
                 r"^serve: https://10\.0\.2\.15:443/ from /srv \(writes with "
                 r"the token\); TLS 1\.2, ECDSA P-256 key, suites "
                 r"ECDHE-ECDSA-\S+, ECDHE-ECDSA-\S+, ECDHE-ECDSA-\S+$",
                 r"^serve: http://10\.0\.2\.15:80/ from /srv \(writes over "
                 r"https only\); Enter"):
        if not re.search(want, out, re.M):
            raise harness.Fail(f"console lacks /{want}/: {out[-600:]!r}")
    check_clients(pki, ports[443], big)
    written = check_writes(pki, ports[443], ports[80])
    vm.send("\r")
    out = vm.until("serve: tls:", seconds=30) + vm.until("\n")
    m = re.search(r"^serve: tls: (\d+) handshakes \((\d+) resumed\), (\d+) "
                  r"failed", out, re.M)
    if not m or int(m[1]) < 5 or int(m[2]) < 1:
        raise harness.Fail(f"tls statistics: {out[-300:]!r}")
    vm.send("\x03")		# the RSA server, key by fw_cfg
    out = vm.until("Ctrl-C: stop", seconds=60)
    if not re.search(r"^serve: https://10\.0\.2\.15:8443/ from /srv "
                     r"\(read-only\); TLS 1\.2, RSA 2048 key, suites "
                     r"ECDHE-RSA-", out, re.M) or "serve: http://" in out:
        raise harness.Fail(f"the RSA server: {out[-400:]!r}")
    r = curl(f"https://127.0.0.1:{ports[8443]}/small.txt", "--cacert",
             pki.ca)
    version, cipher = negotiated(s_client(ports[8443], "-CAfile", pki.ca))
    if r.stdout != b"small\n" or version != "TLSv1.2" or \
            not cipher.startswith("ECDHE-RSA-"):
        raise harness.Fail(f"RSA: curl {r.returncode} {r.stdout!r}, "
                           f"{version} {cipher}")
    vm.stop()		# killed: what PUT synced is on the disk
    got = subprocess.run([EFS, "cat", img, "/srv/up.bin"],
                         capture_output=True).stdout
    if got != written:
        raise harness.Fail(f"the host reads {len(got)} bytes of up.bin")
    text = vm.text()
    if TOKEN in text or "BEGIN" in text:
        raise harness.Fail("a secret reached the console")


def raw_tls(port, data, fin=False, seconds=40):
    """Sends data as a client would (then FIN, with fin); what comes back
    until the server closes, and after how long."""
    s = socket.create_connection(("127.0.0.1", port), timeout=seconds)
    t0 = time.monotonic()
    s.sendall(data)
    if fin:
        s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return got, time.monotonic() - t0


def client_hello(ca):
    """A real ClientHello (Python's ssl: TLS 1.2 and 1.3 offered)."""
    ctx = ssl.create_default_context(cafile=ca)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="umbra.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def unread_answers(port, ca):
    """6 TLS connections each ask for a 16 MiB file, read none of it,
    and pipeline requests behind it: their records wait in the TLS
    layer's own memory, not in lwIP's receive buffers, and a real client
    is served meanwhile."""
    ctx = ssl.create_default_context(cafile=ca)
    pipelined = b"GET /small.txt HTTP/1.1\r\nHost: u\r\n\r\n" * 1640
    hogs = []
    for _ in range(6):
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", port))
        s = ctx.wrap_socket(raw, server_hostname="umbra.test")
        s.setblocking(False)
        data = b"GET /big.bin HTTP/1.1\r\nHost: u\r\n\r\n" + pipelined
        try:
            while data:
                data = data[s.send(data[:16384]):]
        except (ssl.SSLWantWriteError, BlockingIOError):
            pass
        hogs.append(s)
    time.sleep(3)	# umbra sends what the window takes; input piles up
    t0 = time.monotonic()
    r = curl(f"https://127.0.0.1:{port}/small.txt", "--cacert", ca)
    took = time.monotonic() - t0
    for s in hogs:	# a reset: no lingering answers
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
    if r.stdout != b"small\n" or took > 10:
        raise harness.Fail(f"a client beside 6 unread answers: "
                           f"{r.returncode} in {took:.1f} s")
    print(f"unread answers over TLS: a client served in {took:.2f} s")


def handshakes(port, ca, n):
    """n handshakes at once, each then a GET: how many were answered."""
    ctx = ssl.create_default_context(cafile=ca)
    done = []

    def one():
        try:
            # a client beyond the limit may be left to its SYN retries
            # (the user network's one-deep backlog): 20 s is enough
            with ctx.wrap_socket(socket.create_connection(
                    ("127.0.0.1", port), timeout=20),
                    server_hostname="umbra.test") as s:
                s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: u\r\n"
                          b"Connection: close\r\n\r\n")
                done.append(s.recv(100).startswith(b"HTTP/1.1 200 "))
        except (OSError, ssl.SSLError):
            done.append(False)
    threads = [threading.Thread(target=one) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sum(done)


@case("tls: hostile clients: garbage, a truncated and an oversized record, "
      "a handshake stopped halfway (timed out), unread answers with "
      "pipelined requests behind them, 200 handshakes at once; the limit, "
      "memory and receive buffers hold, the service answers after",
      timeout=300)
def tls_hostile(t):
    pki = PKI(t)
    cert, key = pki.server("ec", "ec")
    img = disk(t, {"/srv/small.txt": b"small\n", "/etc/tls/ec.pem": cert,
                   "/etc/tls/ec.key": key, "/srv/big.bin": os.urandom(16 << 20)})
    ports = {443: free_port()}
    vm = boot(t, img, "net up; mem; serve --port 0 --tls /etc/tls/ec.pem "
              "/etc/tls/ec.key /srv; mem; net", ports)
    before = vm.until("Ctrl-C: stop", seconds=120)
    port = ports[443]
    hello = client_hello(pki.ca)
    for what, data, fin in (
            ("garbage", b"GET / HTTP/1.1\r\nHost: umbra\r\n\r\n", False),
            ("an oversized record", b"\x16\x03\x03\x48\x01" +
             os.urandom(300), False),
            ("a truncated record, then FIN", hello[:40], True)):
        got, secs = raw_tls(port, data, fin)
        if secs > 5 or (got and got[0] != 0x15):	# nothing, or an alert
            raise harness.Fail(f"{what}: {got[:20]!r} after {secs:.1f} s")
    # a handshake that stops halfway: the hello, the server's answer, and
    # then nothing from the client
    got, secs = raw_tls(port, hello)
    if not got.startswith(b"\x16\x03\x03") or not 8 <= secs <= 25:
        raise harness.Fail(f"halfway: {got[:8]!r}, closed after "
                           f"{secs:.1f} s")
    unread_answers(port, pki.ca)
    answered = handshakes(port, pki.ca, 200)
    if answered < 1:
        raise harness.Fail("200 handshakes: none answered")
    vm.send("\r")
    out = vm.until("serve: tls:", seconds=60) + vm.until("\n")
    m = re.search(r"^serve: \d+ requests, \d+ connections \((\d+) open, "
                  r"(\d+) refused, (\d+) evicted\)", out, re.M)
    tls = re.search(r"^serve: tls: (\d+) handshakes \(\d+ resumed\), (\d+) "
                    r"failed, (\d+) timed out, (\d+) refused", out, re.M)
    if not m or not tls or int(m[1]) > 64 or int(tls[3]) < 1 or \
            int(tls[2]) < 3:
        raise harness.Fail(f"statistics: {out[-400:]!r}")
    print(f"200 handshakes at once: {answered} answered; {tls.group(0)}")
    r = curl(f"https://127.0.0.1:{port}/small.txt", "--cacert", pki.ca)
    if r.stdout != b"small\n":
        raise harness.Fail(f"after the flood: {r.returncode} {r.stderr!r}")
    vm.send("\x03")
    if vm.wait_exit(seconds=60) != 0:
        raise harness.Fail("status after Ctrl-C")
    heap = [int(x) for x in re.findall(r"^mem: pages .* heap (\d+) bytes",
                                       before + vm.text(), re.M)]
    if len(heap) < 2 or heap[-1] > heap[0] + 65536:
        raise harness.Fail(f"heap before and after serve: {heap}")
    m = re.search(r"no buffer (\d+)", vm.text())
    if not m or m[1] != "0":
        raise harness.Fail(f"frames dropped for want of a buffer: "
                           f"{vm.text()[-300:]!r}")
