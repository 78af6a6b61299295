"""A private network for one QEMU case: a network namespace holding a
tap device, QEMU (started through `ip netns exec`) and the test's own
sockets (made on a thread that entered the namespace: a socket stays in
the namespace it was made in). Parallel cases never meet on the wire,
and nothing of the host's network is touched. Needs root (the test
machines run as root). Also a raw-socket SYN burst from spoofed
addresses (RFC 9293 §3.1 headers built by hand)."""

import ctypes
import os
import random
import socket
import struct
import subprocess
import threading

CLONE_NEWNET = 0x40000000
HOST = "10.0.3.1"	# the namespace's end of the tap: the guest's gateway
GUEST = "10.0.3.2"


class Netns:
    def __init__(self):
        self.name = f"umbra-{os.getpid()}-{random.randrange(1 << 24):06x}"
        self.tap = "tap0"
        ip = ["ip", "-n", self.name]
        self._run(["ip", "netns", "add", self.name])
        try:
            self._run(ip + ["tuntap", "add", "dev", self.tap, "mode",
                            "tap"])
            self._run(ip + ["addr", "add", HOST + "/24", "dev", self.tap])
            self._run(ip + ["link", "set", self.tap, "up"])
            self._run(ip + ["link", "set", "lo", "up"])
        except Exception:
            self.delete()
            raise

    @staticmethod
    def _run(argv):
        p = subprocess.run(argv, capture_output=True, text=True)
        if p.returncode:
            raise OSError(f"{' '.join(argv)}: {p.stderr.strip()}")

    def prefix(self):
        """What QEMU's command line starts with to run in here."""
        return ["ip", "netns", "exec", self.name]

    def nic(self, model):
        return ["-netdev", f"tap,id=n0,ifname={self.tap},script=no,"
                "downscript=no", "-device", f"{model},netdev=n0"]

    def call(self, fn, *args):
        """fn(*args) on a thread inside the namespace: its result (or its
        exception, raised here)."""
        out = {}

        def inside():
            try:
                with open(f"/run/netns/{self.name}") as f:
                    libc = ctypes.CDLL(None, use_errno=True)
                    if libc.setns(f.fileno(), CLONE_NEWNET):
                        raise OSError(ctypes.get_errno(), "setns")
                out["value"] = fn(*args)
            except BaseException as e:	# handed to the caller
                out["error"] = e
        th = threading.Thread(target=inside)
        th.start()
        th.join()
        if "error" in out:
            raise out["error"]
        return out["value"]

    def connect(self, port, timeout=30, addr=GUEST):
        return self.call(socket.create_connection, (addr, port), timeout)

    def delete(self):
        subprocess.run(["ip", "netns", "delete", self.name],
                       capture_output=True)


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def syn(src, dst, sport, dport, seq):
    """An IPv4 packet holding a TCP SYN (with an MSS option)."""
    opts = struct.pack("!BBH", 2, 4, 1460)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (5 + 1) << 4,
                      0x02, 64240, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp),
                     random.randrange(65536), 0, 64, socket.IPPROTO_TCP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return ip + tcp


def syn_burst(ns, count, port, dst=GUEST):
    """count SYNs to dst:port from as many spoofed addresses in
    198.18.0.0/15 (RFC 2544's benchmarking block: nothing answers
    there; the guest's SYN-ACKs go to its gateway, the namespace, which
    drops them)."""
    def send():
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                          socket.IPPROTO_RAW)
        try:
            for i in range(count):
                src = f"198.18.{i // 250}.{i % 250 + 1}"
                s.sendto(syn(src, dst, 1024 + random.randrange(60000),
                             port, random.randrange(1 << 32)), (dst, 0))
        finally:
            s.close()
    ns.call(send)
