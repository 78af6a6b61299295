"""The QEMU guest agent on virtio-serial, driven from the host as libvirt
and Proxmox drive it (tests/qemu/qga_client.py over QEMU's socket
chardev): every command, its answer checked against what umbra prints
(net, df, lsblk, date, ports); freeze while a shell write waits, while
serve takes a PUT (a copy of the disk taken while frozen passes the host
tool's fsck and efs-rules; the PUT completes after thaw), a freeze that
ends at its deadline; guest-shutdown (powerdown with an unsynced write
read back on the host, halt, reboot); a hostile host. PVH kernels: q35
-kernel with virtio-serial-pci (modern, MSI-X shared by the queues;
legacy, INTx) and microvm with virtio-serial-device (mmio v1 and v2).
libvirt's daemon is not installed here (libvirt-clients only), so virsh
is not run against a domain."""

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import threading
import time

import harness
import test_net
from harness import case
from qga_client import Agent
from test_shell import gpt_start, host
from test_virtio import EFS
import umbra_deploy as ud

TOKEN = "agent-token"
COMMANDS = ["guest-sync-delimited", "guest-sync", "guest-ping", "guest-info",
            "guest-shutdown", "guest-fsfreeze-status",
            "guest-fsfreeze-freeze", "guest-fsfreeze-freeze-list",
            "guest-fsfreeze-thaw", "guest-network-get-interfaces",
            "guest-get-time", "guest-set-time", "guest-get-host-name",
            "guest-get-osinfo", "guest-get-timezone", "guest-get-fsinfo",
            "guest-get-disks", "guest-get-vcpus", "guest-get-users"]


def shell(vm, line, seconds=60):
    """Types a command at the prompt; returns what it printed."""
    vm.send(line + "\r")
    out = vm.until("umbra> ", seconds)
    return out.split("\n", 1)[1] if "\n" in out else out


def want(cond, what):
    if not cond:
        raise harness.Fail(what)


def error_class(reply):
    return reply.get("error", {}).get("class")


def agent_vm(t, disk, microvm=False, mmio_version=1, device_extra="",
             extra=(), **kw):
    sock = t.path("qga.sock")
    vm = t.start(kernel=None if microvm else harness.KERNEL,
                 machine="microvm" if microvm else "q35",
                 mmio_version=mmio_version, disks=[disk],
                 extra=ud.agent_args(sock, microvm, device_extra) +
                 list(extra), **kw)
    return vm, Agent(sock).connect()


def check_machine(vm, a):
    """The answers that describe the machine, against the console."""
    net = shell(vm, "net")
    mac = re.search(r"^net0: .*; MAC ([0-9a-f:]{17});", net, re.M)[1]
    rx = int(re.search(r"^net0: rx (\d+) frames", net, re.M)[1])
    ifs = a.ret("guest-network-get-interfaces")
    want(len(ifs) == 1 and ifs[0]["name"] == "net0" and
         ifs[0]["hardware-address"] == mac, f"interfaces: {ifs}")
    want(ifs[0]["ip-addresses"] == [{"ip-address": "10.0.2.15",
                                     "ip-address-type": "ipv4",
                                     "prefix": 24}], f"addresses: {ifs}")
    want(ifs[0]["statistics"]["rx-packets"] >= rx and
         set(ifs[0]["statistics"]) == {
             "rx-bytes", "rx-packets", "rx-errs", "rx-dropped", "tx-bytes",
             "tx-packets", "tx-errs", "tx-dropped"}, f"counters: {ifs}")
    df = re.search(r"^df: (\d+) (\d+) ", shell(vm, "df"), re.M)
    fs = a.ret("guest-get-fsinfo")
    want(len(fs) == 1 and fs[0]["name"] == "vda2" and
         fs[0]["mountpoint"] == "/" and fs[0]["type"] == "eclipsefs" and
         fs[0]["total-bytes"] == int(df[1]) and
         fs[0]["used-bytes"] == int(df[2]), f"fsinfo {fs} vs df {df[0]}")
    addr = fs[0]["disk"][0]
    lspci = shell(vm, "lspci")
    slot = re.search(r"^00:(\w\w)\.(\d) (1af4:1001|1af4:1042) ",
                     lspci, re.M | re.I)
    want(addr["bus-type"] == "virtio" and addr["dev"] == "vda" and
         slot and addr["pci-controller"]["slot"] == int(slot[1], 16),
         f"disk address {addr} vs lspci {lspci!r}")
    names = re.findall(r"^(vd\w+) ", shell(vm, "lsblk"), re.M)
    disks = a.ret("guest-get-disks")
    want([d["name"] for d in disks] == names and
         all(d["partition"] == (d["name"] != "vda") for d in disks) and
         disks[1].get("dependencies") == ["vda"], f"disks {disks} vs "
         f"lsblk {names}")
    vcpus = a.ret("guest-get-vcpus")
    want([(c["logical-id"], c["online"]) for c in vcpus] ==
         [(0, True), (1, False)], f"vcpus: {vcpus}")
    want(a.ret("guest-get-host-name") == {"host-name": "umbra"}, "host name")
    version = re.search(r"umbra (\S+): unikernel", vm.seen.decode())[1]
    os_ = a.ret("guest-get-osinfo")
    want(os_["id"] == "umbra" and os_["version"] == version and
         os_["machine"] == "x86_64", f"osinfo: {os_}")
    want(a.ret("guest-get-timezone") == {"zone": "UTC", "offset": 0}, "tz")
    want(a.ret("guest-get-users") == [], "users")


def date(vm):
    return float(re.search(r"^date: \S+ \((\d+\.\d+)\)$", shell(vm, "date"),
                           re.M)[1])


def check_time(vm, a):
    """guest-get-time against `date`; guest-set-time with a time, then
    back to the host's, then from the RTC."""
    got = a.ret("guest-get-time") / 1e9
    want(abs(got - date(vm)) < 10 and abs(got - time.time()) < 120,
         f"guest-get-time {got}")
    want(a.ret("guest-set-time", {"time": 1000000000 * 10**9}) == {}, "set")
    vm.until("agent: clock set to 1000000000 (Unix seconds)")
    d = date(vm)
    want(1000000000 <= d < 1000000010, f"date after set-time: {d}")
    a.ret("guest-set-time", {"time": int(time.time() * 1e9)})
    a.ret("guest-set-time")		# from the RTC, which holds it now
    want(abs(date(vm) - time.time()) < 10, "date after set-time from RTC")
    err = a.cmd("guest-set-time", {"time": -1})
    want(error_class(err) == "GenericError", f"negative time: {err}")


def check_freeze_shell(vm, a):
    """A shell write while frozen waits (the agent still answers), and
    is done at the thaw; a freeze-list without / freezes nothing."""
    want(a.ret("guest-fsfreeze-status") == "thawed", "status")
    want(a.ret("guest-fsfreeze-freeze-list", {"mountpoints": ["/x"]}) == 0,
         "freeze-list of another mount point")
    want(a.ret("guest-fsfreeze-freeze-list", {"mountpoints": ["/"]}) == 1,
         "freeze-list /")
    vm.until("agent: froze vda2: writes wait until the thaw, at most 600 s")
    want(a.ret("guest-fsfreeze-status") == "frozen", "status frozen")
    for name in ("guest-shutdown", "guest-get-fsinfo",
                 "guest-fsfreeze-freeze"):
        r = a.cmd(name)
        want(error_class(r) == "CommandNotFound" and "after fsfreeze" in
             r["error"]["desc"], f"{name} while frozen: {r}")
    enabled = {c["name"]: c["enabled"]
               for c in a.ret("guest-info")["supported_commands"]}
    want(enabled["guest-fsfreeze-thaw"] and not enabled["guest-shutdown"],
         f"guest-info while frozen: {enabled}")
    vm.send("write /held made while frozen\r")
    vm.until("the change waits for the thaw")
    for _ in range(3):		# the loop runs while the shell waits
        want(a.ret("guest-ping") == {}, "ping while a write waits")
    want(a.ret("guest-fsfreeze-thaw") == 1, "thaw")
    vm.until("agent: thawed vda2")
    vm.until("umbra> ")
    want("made while frozen" in shell(vm, "cat /held"), "the held write")
    want(a.ret("guest-fsfreeze-thaw") == 0, "a second thaw")


def check_deadline(vm, a):
    shell(vm, "agent freeze-limit 2")
    want(a.ret("guest-fsfreeze-freeze") == 1, "freeze with a 2 s limit")
    vm.until("storage: vda2: the freeze ended at its deadline (2 s); "
             "writes go on", 30)
    want(a.ret("guest-fsfreeze-status") == "thawed", "status at deadline")
    want(a.ret("guest-fsfreeze-thaw") == 0, "thaw after the deadline")
    vm.until("agent: thaw after the freeze ended at its deadline: 0 thawed")
    shell(vm, "agent freeze-limit 600")


@case("agent: every command on q35 (virtio-serial-pci, MSI-X shared), "
      "answers against the console; a frozen write waits; shutdown syncs",
      timeout=240)
def every_command(t):
    disk = t.copy_disk()
    vm, a = agent_vm(t, disk, extra=test_net.nic() + ["-smp", "2"])
    vm.until("umbra> ")
    shell(vm, "net up")
    a.sync()
    info = a.ret("guest-info")
    names = [c["name"] for c in info["supported_commands"]]
    want(sorted(names) == sorted(COMMANDS) and
         not [c for c in info["supported_commands"]
              if c["success-response"] != (c["name"] != "guest-shutdown")],
         f"guest-info: {info}")
    want(a.ret("guest-ping") == {}, "ping")
    a.send(b'\xff{"execute":"guest-sync-delimited","arguments":{"id":42}}\n')
    line = a.read_line()
    want(line == b'\xff{"return": 42}', f"sync-delimited: {line!r}")
    want(a.ret("guest-sync", {"id": 7}) == 7, "sync")
    r = a.cmd("guest-exec", {"path": "/bin/sh"})
    want(r == {"error": {"class": "CommandNotFound", "desc": "The command "
                         "guest-exec has not been found"}}, f"exec: {r}")
    check_machine(vm, a)
    check_time(vm, a)
    check_freeze_shell(vm, a)
    check_deadline(vm, a)
    ports = shell(vm, "ports")
    want(re.search(r'^vport0p1 "org\.qemu\.guest_agent\.0" host open, guest '
                   r"open; rx [1-9]\d* bytes", ports, re.M) and
         "waits by interrupt" in ports, f"ports: {ports}")
    shell(vm, "write /agent-note written before guest-shutdown")
    a.send(b'{"execute":"guest-shutdown"}\n')
    want(vm.wait_exit(60) == 0, "status after guest-shutdown")
    want("power: the guest agent asked to power off, syncing" in vm.text(),
         "power line")
    rc, out = host(EFS, "cat", disk, "/agent-note")
    want(rc == 0 and out == "written before guest-shutdown\n",
         f"the unsynced write on the host: {rc} {out!r}")


def put(port, path, body, result):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        c.request("PUT", path, body=body,
                  headers={"Authorization": f"Bearer {TOKEN}"})
        r = c.getresponse()
        r.read()
        result["status"] = r.status
        c.close()
    except Exception as e:	# noqa: BLE001 (reported by the case)
        result["error"] = repr(e)


@case("agent: freeze while serve takes a PUT on microvm (virtio-mmio v2): "
      "the PUT waits, a copy taken frozen is clean, the PUT ends after "
      "thaw; halt", timeout=240)
def freeze_put(t):
    disk = t.copy_disk()
    port = test_net.free_port()
    vm, a = agent_vm(t, disk, microvm=True, mmio_version=2,
                     cmd=f"net up; serve --token {TOKEN} /",
                     extra=test_net.nic(port, model="virtio-net-device"))
    vm.until("serve: http://")
    a.sync()
    r, _ = test_net.request(port, "PUT", "/before.txt", body=b"before\n",
                            headers={"Authorization": f"Bearer {TOKEN}"})
    want(r.status == 201, f"PUT before the freeze: {r.status}")
    want(a.ret("guest-fsfreeze-freeze") == 1, "freeze")
    vm.until("agent: froze vda2")
    body = os.urandom(3 << 20)
    result = {}
    th = threading.Thread(target=put, args=(port, "/during.bin", body,
                                            result))
    th.start()
    time.sleep(3)
    want(th.is_alive() and not result, f"the PUT did not wait: {result}")
    r, data = test_net.request(port, "GET", "/before.txt")
    want(r.status == 200 and data == b"before\n", "a read while frozen")
    frozen = t.path("frozen.img")
    shutil.copyfile(disk, frozen)
    want(a.ret("guest-fsfreeze-status") == "frozen", "still frozen")
    want(a.ret("guest-fsfreeze-thaw") == 1, "thaw")
    th.join(120)
    want(result.get("status") == 201, f"the PUT after thaw: {result}")
    r, data = test_net.request(port, "GET", "/during.bin")
    want(r.status == 200 and hashlib.sha256(data).digest() ==
         hashlib.sha256(body).digest(), "the PUT's data")
    rc, out = host(EFS, "fsck", frozen)
    want(rc == 0 and " 0 errors" in out, f"fsck of the frozen copy: {out}")
    rc, out = host(os.path.join(harness.BUILD, "efs-rules"), frozen,
                   gpt_start(frozen, 2))
    want(out.startswith("rules: ok"), f"efs-rules: {out}")
    rc, out = host(EFS, "ls", frozen, "/")
    want("before.txt" in out and "during.bin" not in out and
         ".umbra-put" not in out, f"the frozen copy holds: {out}")
    a.send(b'{"execute":"guest-shutdown","arguments":{"mode":"halt"}}\n')
    vm.until("power: halted", 30)
    time.sleep(1)
    want(vm.proc.poll() is None, "QEMU ended after halt")
    rc, out = host(EFS, "ls", disk, "/")
    want("during.bin" in out, f"after halt the disk holds: {out}")


def hostile(a, vm):
    """What a broken or hostile host sends: each is an error answer or
    dropped, and the agent answers the next good request."""
    def ok():
        want(a.ret("guest-ping") == {}, "ping after hostile input")

    r = a.raw(b'{"execute":"guest-ping"\n}\n{"x": "\xc3\x28"}\n')
    want(r == {"return": {}}, f"a request over two lines: {r}")
    r = json.loads(a.read_line())
    want(error_class(r) == "GenericError" and "UTF-8" in
         r["error"]["desc"], f"invalid UTF-8: {r}")
    r = a.raw(b"[" * 200 + b"]" * 200 + b"\n")
    want(error_class(r) == "GenericError", f"deep nesting: {r}")
    r = a.raw(b'{"execute":"guest-ping","id":"' + b"x" * 100000 + b'"}\n')
    want(error_class(r) == "GenericError" and "longer than 65536" in
         r["error"]["desc"], f"oversized: {r}")
    ok()
    a.send(b"{" * 300000)			# endless, then 0xFF
    r = json.loads(a.read_line())
    want(error_class(r) == "GenericError", f"endless: {r}")
    a.send(b"\xff")
    ok()
    for name in ("guest-exec", "guest-file-open", "guest-suspend-ram"):
        want(error_class(a.cmd(name)) == "CommandNotFound", name)
    r = a.raw(b'{"execute":"guest-sync","arguments":{"id":"7"}}\n')
    want(error_class(r) == "GenericError", f"wrong type: {r}")
    # a flood without reading, then every answer read in order
    n = 3000
    a.send(b"".join(b'{"execute":"guest-sync","arguments":{"id":%d}}\n' % i
                    for i in range(n)))
    vm.send("echo alive\r")		# the shell goes on meanwhile
    vm.until("\nalive\r\n")
    vm.until("umbra> ")
    for i in range(n):
        r = json.loads(a.read_line())
        if r != {"return": i}:
            raise harness.Fail(f"flood answer {i}: {r}")
    # a host that asks and does not read: the agent waits for room and
    # the CPU halts meanwhile (no spinning on the requests it cannot
    # take yet: more than its buffer and the port's); then every answer
    # arrives
    n = 600
    a.send(b'{"execute":"guest-info","id":"%s"}\n' % (b"p" * 200) * n)
    time.sleep(2)			# the socket's buffers fill
    cpu0, t0 = vm.cpu_seconds(), time.time()
    time.sleep(3)
    busy = (vm.cpu_seconds() - cpu0) / (time.time() - t0)
    print(f"agent blocked on the host: {busy:.1%} of a core")
    want(busy < 0.25, f"{busy:.0%} of a core while the host does not read")
    vm.send("echo still\r")
    vm.until("\nstill\r\n")
    vm.until("umbra> ")
    for i in range(n):
        line = a.read_line()
        try:
            r = json.loads(line)
        except ValueError:
            raise harness.Fail(f"guest-info answer {i}: {line[:80]!r} ... "
                               f"{line[1400:1500]!r} ({len(line)} bytes)")
        if "supported_commands" not in r.get("return", {}):
            raise harness.Fail(f"guest-info answer {i}: {r}")
    # closed mid-request, reopened: the new peer starts clean
    a.send(b'{"execute":"guest-sy')
    a.close()
    time.sleep(0.5)
    a.connect()
    a.sync()
    ok()


@case("agent: a hostile host on q35, legacy virtio-serial-pci (INTx): "
      "garbage, nesting, oversized, endless, a flood, reconnects; reboot",
      timeout=240)
def hostile_legacy(t):
    vm, a = agent_vm(t, t.fresh_disk(), device_extra="disable-modern=on",
                     extra=["-no-reboot"])
    vm.until("umbra> ")
    a.sync()
    hostile(a, vm)
    st = shell(vm, "agent")
    m = re.search(r"^agent: vport0p1 \(org\.qemu\.guest_agent\.0\), host "
                  r"connected; (\d+) requests, (\d+) errors", st, re.M)
    want(m and int(m[1]) > 3000 and int(m[2]) >= 8, f"agent: {st}")
    want("virtio-console legacy" in shell(vm, "ports"), "legacy transport")
    a.send(b'{"execute":"guest-shutdown","arguments":{"mode":"reboot"}}\n')
    vm.wait_exit(60)			# -no-reboot: the reset ends QEMU
    want("power: the guest agent asked to reboot, syncing" in vm.text(),
         "reboot line")


@case("agent: microvm, virtio-mmio v1 (legacy): sync, fsinfo, a lost "
      "interrupt turns the device to polling, guest-shutdown from sleep")
def microvm_legacy(t):
    vm, a = agent_vm(t, t.fresh_disk(), microvm=True,
                     cmd="ports; fault irq vport0; sleep 60000")
    vm.until("ports: 1 virtio-serial devices")
    a.sync()
    for _ in range(6):		# found by the tick while the CPU halts
        time.sleep(0.3)
        want(a.ret("guest-ping") == {}, "ping without the interrupt")
    vm.until("vport0: messages arrive without their interrupt (vector ",
             30)
    vm.until("polling from now on")
    fs = a.ret("guest-get-fsinfo")
    want(fs[0]["name"] == "vda2" and fs[0]["disk"][0]["pci-controller"] ==
         {"domain": -1, "bus": -1, "slot": -1, "function": -1},
         f"fsinfo on virtio-mmio: {fs}")
    a.send(b'{"execute":"guest-shutdown"}\n')
    want(vm.wait_exit(60) == 0, "status")
    text = vm.text()
    want("virtio-console mmio v1" in text and
         "power: the guest agent asked to power off" in text, text[-500:])
