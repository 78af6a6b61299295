"""Bulk transfers through `serve`, every byte checked: a 64 MiB GET and
a 64 MiB PUT (read back) hash exactly over a tap device in a private
network namespace with the device's offloads (64 KiB TCP frames it
segments, and large ones it hands in; checksums both ways; then 8 GETs
at once, more than serve's file buffers hold, and a SYN with a wrong
checksum dropped, a right one answered) and without them, and
through QEMU's user network (which offers none: plain frames). The PVH
kernel on microvm, one boot per way."""

import hashlib
import os
import re
import socket
import struct
import threading
import time

import harness
import netns
from harness import case
from test_virtio import mkimage

TOKEN = "bulk-token"
MIB = 64
OFF = (",csum=off,guest_csum=off,host_tso4=off,guest_tso4=off,host_tso6=off,"
       "guest_tso6=off")


def volume(t):
    """An image whose volume holds /big.bin (MIB MiB of random bytes),
    with room for a PUT of as much beside it; (image, its sha256)."""
    tree = t.path("tree")
    os.makedirs(tree)
    data = os.urandom(MIB << 20)
    with open(os.path.join(tree, "big.bin"), "wb") as f:
        f.write(data)
    img = mkimage(t, "bulk.img", "--size", f"{MIB * 4 + 96}M", "--fs", tree)
    return img, hashlib.sha256(data).hexdigest()


def answer(s):
    """Status, and the sha256 and length of the body, of one answer."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        if not chunk:
            raise harness.Fail(f"closed after {got[:80]!r}")
        got += chunk
    head, body = got.split(b"\r\n\r\n", 1)
    m = re.search(rb"\r\nContent-Length: (\d+)", head)
    want = int(m[1]) if m else 0
    h, n = hashlib.sha256(body), len(body)
    while n < want:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    return int(head[9:12]), h.hexdigest(), n


def transfers(connect, want):
    """GET /big.bin, PUT /up.bin, GET /up.bin: every hash as it must be.
    connect() gives a socket to the server."""
    s = connect()
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: u\r\n\r\n")
    st, h, n = answer(s)
    if st != 200 or n != MIB << 20 or h != want:
        raise harness.Fail(f"GET /big.bin: {st}, {n} bytes, sha256 {h}")
    body = os.urandom(MIB << 20)
    s.sendall(f"PUT /up.bin HTTP/1.1\r\nHost: u\r\nAuthorization: Bearer "
              f"{TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    s.sendall(body)
    st, _, _ = answer(s)
    if st not in (201, 204):	# made, or replaced (a boot before)
        raise harness.Fail(f"PUT /up.bin: {st}")
    s.sendall(b"GET /up.bin HTTP/1.1\r\nHost: u\r\n\r\n")
    st, h, n = answer(s)
    if st != 200 or h != hashlib.sha256(body).hexdigest():
        raise harness.Fail(f"GET /up.bin: {st}, {n} bytes, not as sent")
    s.close()


def parallel(connect, want, n):
    """n GETs of /big.bin at once (more than the file buffers of all
    connections hold: some of it goes by copy): every body exact."""
    out = [None] * n

    def one(i):
        try:
            s = connect()
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: u\r\n\r\n")
            out[i] = answer(s)
            s.close()
        except (OSError, harness.Fail) as e:
            out[i] = e
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for r in out:
        if r != (200, want, MIB << 20):
            raise harness.Fail(f"{n} GETs at once: {r}")


def checksums(ns):
    """Two SYNs from the namespace's raw socket (frames the device vouches
    nothing for: umbra checks their TCP checksum itself): the right one
    is answered, the wrong one is not."""
    def run():
        r = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                          socket.IPPROTO_TCP)
        r.settimeout(0.2)
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                          socket.IPPROTO_RAW)
        bad = bytearray(netns.syn(netns.HOST, netns.GUEST, 40002, 80, 7))
        bad[20 + 16] ^= 0x5a		# TCP's checksum, behind 20 of IP
        s.sendto(bytes(bad), (netns.GUEST, 0))
        s.sendto(netns.syn(netns.HOST, netns.GUEST, 40001, 80, 7),
                 (netns.GUEST, 0))
        answered, end = set(), time.monotonic() + 5
        while time.monotonic() < end and 40001 not in answered:
            try:
                pkt = r.recv(128)
            except socket.timeout:
                continue
            ihl = (pkt[0] & 15) * 4
            sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
            if sport == 80 and pkt[ihl + 13] & 0x12 == 0x12:
                answered.add(dport)
        time.sleep(1)	# the wrong one had its time too
        r.close()
        s.close()
        return answered
    answered = ns.call(run)
    if answered != {40001}:
        raise harness.Fail(f"SYNs answered: {answered}, wanted 40001 only")


def counters(vm):
    """Ctrl-C ends serve; the script's `net` then prints the device, and
    umbra powers off: the console."""
    vm.send("\x03")
    if vm.wait_exit(seconds=60) != 0:
        raise harness.Fail(f"status after Ctrl-C: {vm.text()[-300:]!r}")
    return vm.text()


def over_tap(t, img, want, device):
    ns = netns.Netns()
    try:
        vm = t.start(prefix=ns.prefix(), cmd=f"net up {netns.GUEST}/24 "
                     f"{netns.HOST} {netns.HOST}; serve --token {TOKEN} /; "
                     f"net; poweroff", disks=[img], machine="microvm",
                     mmio_version=2, extra=ns.nic("virtio-net-device" +
                                                  device))
        vm.until("serve: http://", seconds=60)
        connect = lambda: ns.connect(80, timeout=120)
        transfers(connect, want)
        if not device:
            ns.call(parallel, connect, want, 8)
            checksums(ns)
        out = counters(vm)
    finally:
        for live in t.live:
            live.stop()
        ns.delete()
    return out


@case("net: 64 MiB GET and PUT hash exactly over a tap device, with the "
      "offloads (64 KiB segments both ways, checksums; 8 GETs at once; a "
      "bad TCP checksum dropped) and without; through the user network "
      "(plain frames)", timeout=600)
def bulk(t):
    img, want = volume(t)
    out = over_tap(t, img, want, "")
    m = re.search(r"offloads tx-csum tso4( tso6)? rx-csum rx-tso4"
                  r"( rx-tso6)?;.*\n(.*\n)*?net0: offloads: tx (?P<segs>\d+) "
                  r"segments in (?P<frames>\d+) frames, (?P<gso>\d+) "
                  r"segmented by the device; rx (?P<large>\d+) large "
                  r"frames, 1 bad checksums", out)
    if not m or int(m["gso"]) == 0 or int(m["large"]) == 0 or \
            int(m["segs"]) < 2 * int(m["frames"]):
        raise harness.Fail(f"with the offloads: {out[-600:]!r}")
    print(f"tap, offloads: {m['segs']} segments in {m['frames']} frames, "
          f"{m['gso']} segmented, {m['large']} large frames in")
    out = over_tap(t, img, want, OFF)
    if re.search(r"offloads", out) or \
            not re.search(r"net0: virtio-net mmio v2, split ring, "
                          r"mergeable buffers; ", out):
        raise harness.Fail(f"without the offloads: {out[-600:]!r}")
    print(f"tap, no offloads: {frames(out)}")
    port = harness_port()
    vm = t.start(cmd=f"net up; serve --token {TOKEN} /; net; poweroff",
                 disks=[img], machine="microvm", mmio_version=2,
                 extra=["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:"
                        f"{port}-:80", "-device",
                        "virtio-net-device,netdev=n0"])
    vm.until("serve: http://", seconds=60)
    transfers(lambda: socket.create_connection(("127.0.0.1", port),
                                               timeout=120), want)
    out = counters(vm)
    if "offloads" in out:
        raise harness.Fail(f"the user network offered offloads: {out!r}")
    print(f"user network: {frames(out)}")


def frames(out):
    """The frame counters of `net`: plain frames carry at most 1514."""
    m = re.search(r"net0: rx (\d+) frames (\d+) bytes, tx (\d+) frames "
                  r"(\d+) bytes", out)
    if not m or int(m[4]) > int(m[3]) * 1514 or \
            int(m[2]) > int(m[1]) * 1514:
        raise harness.Fail(f"frame counters: {out[-400:]!r}")
    return m[0]


def harness_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
