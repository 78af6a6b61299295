"""build/umbra.elf as a PVH kernel: QEMU microvm with virtio-mmio disks
(version 1 and 2; found through ACPI, the command line QEMU writes, or
the microvm window), q35 -kernel with virtio-blk-pci, AHCI and NVMe;
scripts from fw_cfg and from -append; power-off through isa-debug-exit and
through ACPI; a calibrated TSC without a PM timer; bad virtio_mmio.device=
words. Under KVM when configure found KVM usable for PVH kernels."""

import hashlib
import os
import random
import subprocess

import harness
from harness import case, ud
from test_virtio import mkimage, expect_rootfs, EFS

TIMEOUT = 60
KERNEL = harness.KERNEL
CMDS = "lsblk; lsmmio; ls -l /; cat /etc/motd"


def pvh_disk(t, name="pvh.img", size_mib=16):
    """A raw GPT image (ESP and EclipseFS) with the default tree plus
    /big.bin of size_mib random bytes; returns (path, its sha256)."""
    tree = t.path("tree")
    if not os.path.exists(tree):
        subprocess.run(["cp", "-r", os.path.join(harness.TOP, "deploy",
                                                 "rootfs"), tree], check=True)
        data = random.Random(size_mib).randbytes(size_mib << 20)
        with open(os.path.join(tree, "big.bin"), "wb") as f:
            f.write(data)
        t.big_sha = hashlib.sha256(data).hexdigest()
    return mkimage(t, name, "--fs", tree), t.big_sha


def host_cat(img, path):
    return subprocess.run([EFS, "cat", img, path], capture_output=True,
                          text=True).stdout


def microvm_disk(t, version):
    img, sha = pvh_disk(t)
    r = t.boot(machine="microvm", mmio_version=version, disks=[img],
               cmd=CMDS + "; sha256 /big.bin; write /note written by "
               f"microvm v{version}; sync", timeout=TIMEOUT)
    r.expect_status(0)
    r.expect(r"^timeline: pvh_entry=0us runtime=\d+us .*app_ready=\d+us$")
    r.expect(rf'^vda +virtio +128\.0M +512 rw model="virtio-blk mmio '
             rf'v{version}, split ring, indirect"')
    r.expect(r"^vda2 +part .*\(root\)$")
    r.expect(r"^0xfeb02e00 size 0x200 irq 47 \(ACPI\) type 2: vda$")
    expect_rootfs(r)
    r.expect(rf"^{sha}  /big.bin$")
    got = host_cat(img, "/note")
    if got != f"written by microvm v{version}\n":
        raise harness.Fail(f"/note on the host reads {got!r}")


@case("pvh: microvm, virtio-mmio v1: root, 16 MiB sha256, write read back "
      "on the host", timeout=TIMEOUT)
def microvm_v1(t):
    microvm_disk(t, 1)


@case("pvh: microvm, virtio-mmio v2: root, 16 MiB sha256, write read back "
      "on the host", timeout=TIMEOUT)
def microvm_v2(t):
    microvm_disk(t, 2)


@case("pvh: microvm without ACPI: devices from the command line QEMU writes, "
      "or found in the window", timeout=TIMEOUT)
def microvm_no_acpi(t):
    second = t.fresh_disk(name="second.qcow2")
    r = t.boot(machine="microvm,acpi=off", cmd="lsmmio; lsblk",
               disks=[t.fresh_disk(), second])
    r.expect_status(0)
    r.expect(r"^0xfeb00e00 size 0x200 irq 12 \(command line\) type 2: vda$")
    r.expect(r"^0xfeb00c00 size 0x200 irq 11 \(command line\) type 2: vdb$")
    r.expect(r"^machine: 1 CPU, \d+ MiB usable RAM, TSC \d+ MHz \((PIT|"
             r"kvmclock)\)")
    r = t.boot(machine="microvm,acpi=off,auto-kernel-cmdline=off",
               cmd="lsmmio", disks=[t.fresh_disk(), second])
    r.expect_status(0)
    r.expect(r"^0xfeb00e00 size 0x200 \(microvm window\) type 2: vda$")
    r.expect(r"^0xfeb00c00 size 0x200 \(microvm window\) type 2: vdb$")
    r.expect(r"^root: vda2 mounted")


@case("pvh: bad virtio_mmio.device= words are refused clearly; the boot "
      "goes on", timeout=TIMEOUT)
def bad_words(t):
    words = ["virtio_mmio.device=junk", "virtio_mmio.device=512@0xfeb00e00",
             "virtio_mmio.device=4K@0x200000:5",	# RAM
             "virtio_mmio.device=512@0x1000:5",	# below 1 MiB
             "virtio_mmio.device=512@0xfeb00000:5",	# an empty slot
             "virtio_mmio.device=64@0xfeb00200:5",	# too small
             "virtio_mmio.device=512@0xfe000000:5",	# nothing there
             "virtio_mmio.device=" + "9" * 70]
    r = t.boot(machine="microvm,acpi=off", append=" ".join(words),
               cmd="lsmmio")
    r.expect_status(0)
    bad = r"^cmdline: virtio-mmio: not used: virtio_mmio.device="
    r.expect(bad + r"junk: not SIZE@BASE:IRQ$")
    r.expect(bad + r"512@0xfeb00e00: not SIZE@BASE:IRQ$")
    r.expect(bad + r"9+: too long$")
    r.expect(r"^0x200000 size 0x1000 irq 5 \(command line\) type 0: "
             r"register range overlaps RAM$")
    r.expect(r"^0x1000 size 0x200 irq 5 \(command line\) type 0: register "
             r"range too small, misplaced or wrapping$")
    r.expect(r"^0xfeb00000 size 0x200 irq 5 \(command line\) type 0: "
             r"empty$")
    r.expect(r"^0xfeb00200 size 0x40 irq 5 \(command line\) type 0: "
             r"register range too small")
    r.expect(r"^0xfe000000 size 0x200 irq 5 \(command line\) type 0: no "
             r"virtio-mmio magic value$")
    r.expect(r"^0xfeb00e00 size 0x200 irq 12 \(command line\) type 2: vda$")
    r.expect(r"^root: vda2 mounted")


@case("pvh: q35 -kernel with virtio-blk-pci", timeout=TIMEOUT)
def q35_virtio(t):
    r = t.boot(kernel=KERNEL, cmd=CMDS + "; lspci")
    r.expect_status(0)
    r.expect(r'^vda +virtio +128\.0M +512 rw model="virtio-blk modern')
    r.expect(r"^lspci: \d+ functions \(ECAM\)$")
    r.expect(r"^lsmmio: 0 virtio-mmio transports$")
    r.expect(r"^machine: 1 CPU, \d+ MiB usable RAM, TSC \d+ MHz \(PM "
             r"timer")
    expect_rootfs(r)


@case("pvh: the protections hold: guard page, read-only code, NX data",
      timeout=TIMEOUT)
def protections(t):
    r = t.boot(machine="microvm", cmd="fault stack")
    r.expect(r"^exception: vector 14 \(#PF page fault\) error 0x2$")
    r.expect(r"^stack overflow \(hit the guard page\)$")
    r.expect_status(101)
    r = t.boot(machine="microvm", cmd="fault write-code")
    r.expect(r"^exception: vector 14 \(#PF page fault\) error 0x3$")
    r.expect_status(101)
    r = t.boot(machine="microvm", cmd="fault exec-data")
    r.expect(r"^exception: vector 14 \(#PF page fault\) error 0x11$")
    r.expect_status(101)


def q35_disk(t, bus, disk, root):
    r = t.boot(kernel=KERNEL, bus=bus, cmd=CMDS)
    r.expect_status(0)
    r.expect(rf"^{disk} +{bus} ")
    r.expect(rf"^{root} +part .*\(root\)$")
    expect_rootfs(r)


@case("pvh: q35 -kernel with AHCI", timeout=TIMEOUT)
def q35_ahci(t):
    q35_disk(t, "ahci", "sda", "sda2")


@case("pvh: q35 -kernel with NVMe", timeout=TIMEOUT)
def q35_nvme(t):
    q35_disk(t, "nvme", "nvme0n1", "nvme0n1p2")


@case("pvh: script from -append umbra.cmdline=; fw_cfg wins over it",
      timeout=TIMEOUT)
def script_append(t):
    append = 'console=ttyS0 umbra.cmdline="echo from append; poweroff 9"'
    r = t.boot(machine="microvm", append=append)
    r.expect(r"^script: from command line umbra\.cmdline$")
    r.expect(r"^from append$")
    r.expect_status(9)
    r = t.boot(machine="microvm", append=append, cmd="echo from fw_cfg")
    r.expect(r"^script: from fw_cfg opt/umbra/cmdline$")
    r.expect_not(r"^from append$")
    r.expect_status(0)


@case("pvh: status through isa-debug-exit; without it, ACPI powers off",
      timeout=TIMEOUT)
def power(t):
    r = t.boot(machine="microvm", cmd="poweroff 7")
    r.expect_status(7)
    # microvm: hardware-reduced ACPI, the sleep control register.
    r = t.boot(machine="microvm", cmd="poweroff 7", debug_exit=False)
    r.expect(r"^power: off, status 7$")
    r.expect(r"^machine: .*no isa-debug-exit$")
    r.expect_not(r"could not power off")
    if r.rc != 0:
        raise harness.Fail(f"QEMU rc {r.rc}, wanted 0 (ACPI power-off)")
    # q35 -kernel: PM1 control with \_S5.
    r = t.boot(kernel=KERNEL, cmd="poweroff 7", debug_exit=False)
    r.expect_not(r"could not power off")
    if r.rc != 0:
        raise harness.Fail(f"QEMU rc {r.rc}, wanted 0 (ACPI power-off)")


@case("pvh: reboot on microvm through the ACPI reset register",
      timeout=TIMEOUT)
def reboot(t):
    # -no-reboot turns the guest's reset into a clean QEMU exit (rc 0).
    r = t.boot(machine="microvm", cmd="reboot", extra=["-no-reboot"])
    r.expect_not(r"^power: off")
    r.expect_not(r"could not reboot")
    if r.rc != 0:
        raise harness.Fail(f"QEMU rc {r.rc}, wanted 0 (reset)")


def tsc_mhz(r):
    return int(r.expect(r"^machine: .*, TSC (\d+) MHz").group(1))


def tsc(t):
    a = t.boot(machine="microvm", cmd="timeline")
    a.expect(r"^machine: .*TSC \d+ MHz \(PIT")
    b = t.boot(kernel=KERNEL, cmd="timeline")
    b.expect(r"^machine: .*TSC \d+ MHz \(PM timer")
    pit, pm = tsc_mhz(a), tsc_mhz(b)
    if abs(pit - pm) * 50 > pm:
        raise harness.Fail(f"PIT says {pit} MHz, PM timer {pm} MHz")


@case("pvh: the timeline on microvm has every stage, in order",
      timeout=TIMEOUT)
def timeline_order(t):
    # How long the stages take is ninja bench's (its PVH rows); a test
    # only checks what the timeline says is whole and in order.
    r = t.boot(machine="microvm", cmd="timeline")
    r.expect_status(0)
    line = r.expect(r"^timeline: (.*)$").group(1)
    stages = [w.split("=") for w in line.split()]
    names = [n for n, _ in stages]
    want = ["pvh_entry", "runtime", "pci", "blk", "mount", "screen",
            "app_ready"]
    if names != want:
        raise harness.Fail(f"stages {names}, wanted {want}")
    us = [int(v[:-2]) for _, v in stages]
    if us[0] != 0 or us != sorted(us):
        raise harness.Fail(f"stages out of order: {line}")


def kvmclock(t):
    r = t.boot(machine="microvm", cmd="timeline")
    r.expect_status(0)
    r.expect(r"^machine: .*TSC \d+ MHz \(kvmclock")


# Under TCG microvm's TSC comes from the PIT, under KVM from kvmclock.
if ud.accel(ud.config(), pvh=True) == "kvm":
    case("pvh: under KVM the TSC rate comes from kvmclock",
         timeout=TIMEOUT)(kvmclock)
else:
    case("pvh: TSC from the PIT on microvm agrees with the PM timer on q35",
         timeout=TIMEOUT)(tsc)


@case("pvh: microvm disks complete by interrupt (IOAPIC GSI, with and "
      "without ACPI)", timeout=TIMEOUT)
def microvm_irq(t):
    for machine in ("microvm", "microvm,acpi=off"):
        r = t.boot(machine=machine, cmd="sha256 /README.txt; irq")
        r.expect_status(0)
        m = r.expect(r"^ +\d+ +(\d+)  GSI \d+ level +vda$")
        if int(m.group(1)) == 0:
            raise harness.Fail(f"{machine}: no interrupts counted")
        r.expect(r"^irq: vda waits by interrupt ")
