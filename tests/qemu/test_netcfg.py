"""The network's configuration: IPv6 from QEMU's user network (its
router advertisement gives a SLAAC address; ping6 of the host), and, on
a tap device in a private network namespace, what QEMU's DHCP cannot
send, from dnsmasq: option 26 (the MTU), option 121 (routes, among them
OpenStack's to its metadata server), router advertisements with
stateless DHCPv6 (DNS) and an AAAA-only name, a GET over IPv6 from the
namespace; and a metadata server that does not answer ARP (reached
through the gateway) or answers nothing but ARP. The namespace case is
skipped, with the reason printed, where the host cannot make namespaces
or taps or has no dnsmasq."""

import json
import os
import re
import shutil
import subprocess
import time

import harness
from harness import case, ud
from test_cloud import rc_disk

HERE = os.path.dirname(os.path.abspath(__file__))
MDSERVER = os.path.join(HERE, "mdserver.py")
TIMEOUT = 240
GUEST6_USER = "fec0::5054:ff:fe12:3456"	# EUI-64 of QEMU's default MAC


@case("net: IPv6 from the user network's router advertisement (SLAAC), "
      "ping6 of the host, ping by either family", timeout=TIMEOUT)
def ipv6_user(t):
    # the addresses' duplicate detection takes a second each (RFC 4862)
    r = t.boot(machine="microvm", cmd="net up; sleep 5000; net; "
               "ping fec0::2 2; ping 10.0.2.2 1; set +e; ping fec0::99 1",
               extra=["-netdev", "user,id=n0", "-device",
                      "virtio-net-device,netdev=n0"])
    r.expect(r"^net0: 10\.0\.2\.15/24 gateway 10\.0\.2\.2 dns 10\.0\.2\.3 "
             r"\(DHCP\)$")
    r.expect(r"^net0: inet6 fe80::5054:ff:fe12:3456 \(link-local\)$")
    r.expect(rf"^net0: inet6 {GUEST6_USER} \(SLAAC\)$")
    r.expect(r"^64 bytes from fec0::2: icmp_seq=2 time=\d+\.\d+ ms$")
    r.expect(r"^ping: fec0::2: 2 sent, 2 received, 0% loss$")
    r.expect(r"^ping: 10\.0\.2\.2: 1 sent, 1 received, 0% loss$")
    r.expect(r"^ping: fec0::99: 1 sent, 0 received, 100% loss$")
    r.expect_status(1)


class Netns:
    """A private network namespace holding a tap device (10.9.0.1/24,
    fd00:9::1/64) for QEMU, dnsmasq on it, and a metadata server at
    169.254.169.254; everything made here goes with the namespace."""

    def __init__(self, t):
        self.t = t
        self.name = f"umbra-cloud-{os.getpid()}-{id(t) % 100000}"
        self.procs = {}
        self.made = False

    def ip(self, *args):
        subprocess.run(["ip", "netns", "exec", self.name] + list(args),
                       check=True, capture_output=True)

    def why_not(self):
        """None when this host can run the case, else the reason."""
        if os.geteuid():
            return "not root"
        for tool in ("ip", "dnsmasq"):
            if not shutil.which(tool):
                return f"no {tool}"
        try:
            subprocess.run(["ip", "netns", "add", self.name], check=True,
                           capture_output=True)
            self.made = True
            self.ip("ip", "link", "set", "lo", "up")
            self.ip("ip", "tuntap", "add", "dev", "tap0", "mode", "tap")
        except subprocess.CalledProcessError as e:
            return f"cannot make a namespace and a tap ({e.stderr!r})"
        self.ip("ip", "addr", "add", "10.9.0.1/24", "dev", "tap0")
        self.ip("ip", "-6", "addr", "add", "fd00:9::1/64", "dev", "tap0",
                "nodad")
        self.ip("ip", "link", "set", "tap0", "up")
        # answer ARP only for the tap's own addresses
        self.ip("sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1")
        return None

    def start(self, key, argv):
        self.stop(key)
        log = open(self.t.path(key + ".out"), "w")
        self.procs[key] = subprocess.Popen(
            ["ip", "netns", "exec", self.name] + argv,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self, key):
        p = self.procs.pop(key, None)
        if p and p.poll() is None:
            p.kill()
            p.wait()

    def dnsmasq(self, *options):
        d = self.t.dir
        self.start("dnsmasq", [
            "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
            "--no-resolv", "--no-hosts", "--user=root",
            "--bind-interfaces", "--interface=tap0",
            f"--pid-file={d}/dnsmasq.pid",
            f"--dhcp-leasefile={d}/leases", "--log-dhcp",
            "--log-facility=-",
            "--dhcp-range=10.9.0.50,10.9.0.99,255.255.255.0,1h"] +
            list(options))
        time.sleep(0.5)

    def metadata(self, answers):
        cfg = self.t.path("md.json")
        with open(cfg, "w") as f:
            json.dump({"log": self.t.path("md.log"),
                       "state": self.t.path("md.state"),
                       "answers": answers}, f)
        self.start("md", ["python3", MDSERVER, "--listen",
                          "169.254.169.254:80", cfg])
        time.sleep(0.5)

    def argv(self, kind, cmd=None, disks=None):
        argv = self.t.argv(kernel=ud.KERNEL, cmd=cmd, disks=disks, extra=[
            "-smbios", f"type=1,manufacturer={kind},product=OpenStack Nova"
            if kind == "OpenStack" else f"type=1,manufacturer={kind}",
            "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
            "-device", "virtio-net-pci,netdev=n0"])
        return ["ip", "netns", "exec", self.name] + argv

    def boot(self, kind, disk, timeout=120):
        argv = self.argv(kind, disks=[self.t.fresh_disk(
            base=disk, name=f"b{len(self.t.logs)}.qcow2")]) + \
            ["-serial", "stdio"]
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=timeout)
            rc, out = p.returncode, p.stdout
        except subprocess.TimeoutExpired as e:
            rc, out = None, e.stdout or b""
        log = out.decode("utf-8", "replace").replace("\r\n", "\n")
        self.t.logs.append((argv, log))
        return harness.Result(rc, log, argv, 0)

    def close(self):
        for key in list(self.procs):
            self.stop(key)
        if self.made:
            subprocess.run(["ip", "netns", "del", self.name],
                           capture_output=True)


def get6(ns, addr, path):
    """A GET from inside the namespace over IPv6: (status, body)."""
    code = ("import http.client,sys;c=http.client.HTTPConnection("
            f"'{addr}',80,timeout=30);c.request('GET','{path}');"
            "r=c.getresponse();sys.stdout.write(str(r.status)+' ');"
            "sys.stdout.flush();sys.stdout.buffer.write(r.read())")
    p = subprocess.run(["ip", "netns", "exec", ns.name, "python3", "-c",
                        code], capture_output=True, timeout=60)
    status, _, body = p.stdout.partition(b" ")
    return (int(status) if status else None), body or p.stderr[-200:]


@case("net: dnsmasq on a tap in a namespace: MTU (option 26), routes "
      "(option 121) to the metadata server, DHCPv6 DNS, an AAAA name, a "
      "GET over IPv6; a server that does not answer ARP, one that answers "
      "only ARP", timeout=TIMEOUT)
def dnsmasq_tap(t):
    ns = Netns(t)
    try:
        why = ns.why_not()
        if why:
            print(f"skip: net: dnsmasq on a tap: {why}")
            return
        with_routes(t, ns)
        disk = rc_disk(t)
        through_gateway(t, ns, disk)
        only_arp(t, ns, disk)
    finally:
        ns.close()


def md_local(ns, on):
    """The server's address on the namespace's loopback (the tap answers
    no ARP for it: arp_ignore)."""
    ns.ip("ip", "addr", "add" if on else "del", "169.254.169.254/32",
          "dev", "lo")


def with_routes(t, ns):
    md_local(ns, True)
    ns.dnsmasq("--dhcp-option=option:mtu,1460",
               "--dhcp-option=121,169.254.169.254/32,10.9.0.1,"
               "0.0.0.0/0,10.9.0.1",
               "--enable-ra", "--dhcp-range=::,constructor:tap0,"
               "ra-stateless",
               "--dhcp-option=option6:dns-server,[fd00:9::1]",
               "--local=/umbra.test/",
               "--host-record=v6only.umbra.test,fd00:9::1")
    ns.metadata({"GET /openstack/latest/user_data": {"body": (
        "cloud; sleep 8000; ping fd00:9::1 1; ping v6only.umbra.test 1; "
        "ping 10.9.0.1 1; net; serve /etc")}})
    vm = harness.Live(ns.argv("OpenStack", disks=[t.fresh_disk()]), t.dir)
    t.live.append(vm)
    vm.until("serve: also http://[", seconds=90)
    guest6 = vm.until("]").rsplit("[", 1)[-1][:-1]
    status, body = get6(ns, guest6, "/motd")
    if status != 200 or not body.startswith(b"Welcome to umbra"):
        raise harness.Fail(f"GET over IPv6 from [{guest6}]: {status} "
                           f"{body[:60]!r}")
    vm.stop()
    text = vm.text()
    for pattern in (
            r"^cloud: OpenStack: \d+ bytes of user data from GET "
            r"/openstack/latest/user_data$",
            r"^cloud: 169\.254\.169\.254 reached by DHCP's route through "
            r"10\.9\.0\.1$",
            r"^net0: virtio-net .* mtu 1460; waits by interrupt$",
            r"^net0: 10\.9\.0\.\d+/24 gateway 10\.9\.0\.1 dns 10\.9\.0\.1 "
            r"\(DHCP\)$",
            r"^net0: inet6 fd00:9::5054:ff:fe12:3456 \(SLAAC\)$",
            r"^net0: dns fd00:9::1 \(second\)$",
            r"^net0: route 169\.254\.169\.254/32 via 10\.9\.0\.1 \(DHCP\)$",
            r"^ping: 10\.9\.0\.1: 1 sent, 1 received"):
        if not re.search(pattern, text, re.M):
            raise harness.Fail(f"console lacks /{pattern}/")
    # fd00:9::1 twice: by its address, and by the AAAA-only name
    if text.count("ping: fd00:9::1: 1 sent, 1 received, 0% loss") != 2:
        raise harness.Fail("ping6 by address and by an AAAA name")
    md_local(ns, False)


def through_gateway(t, ns, disk):
    """No option 121: the server, on the namespace's own address,
    answers no ARP on the tap (arp_ignore): through the gateway."""
    md_local(ns, True)
    ns.dnsmasq()
    ns.metadata({"GET /hetzner/v1/userdata": {"body": "cloud; net; "
                                              "poweroff 7"}})
    r = ns.boot("Hetzner", disk)
    r.expect_status(7)
    r.expect(r"^cloud: 169\.254\.169\.254 reached through the gateway "
             r"10\.9\.0\.1 \(it did not answer ARP\)$")
    r.expect(r"^net0: route 169\.254\.169\.254/32 via 10\.9\.0\.1 "
             r"\(added\)$")
    r.expect(r"^net0: virtio-net .* mtu 1500; ")
    md_local(ns, False)


def only_arp(t, ns, disk):
    """ARP is answered for the server (proxy ARP), and nothing else: its
    packets are forwarded to a second tap nobody reads."""
    ns.stop("md")
    ns.ip("sysctl", "-qw", "net.ipv4.ip_forward=1")
    ns.ip("ip", "tuntap", "add", "dev", "sink0", "mode", "tap")
    ns.ip("ip", "link", "set", "sink0", "up")
    ns.ip("ip", "route", "add", "169.254.169.254/32", "dev", "sink0")
    ns.ip("ip", "neigh", "add", "proxy", "169.254.169.254", "dev", "tap0")
    r = ns.boot("Hetzner", disk)
    r.expect(r"^cloud: Hetzner metadata: GET /hetzner/v1/userdata: no "
             r"answer within 2 s; going on$")
    r.expect(r"^rc ran$")
    r.expect_status(5)
    m = re.search(r"^timeline: .* net=(\d+)us metadata=(\d+)us", r.log,
                  re.M)
    if not m or int(m[2]) - int(m[1]) > 4000000:
        raise harness.Fail(f"held the boot: {m and m.group(0)}")
