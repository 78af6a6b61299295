"""Interrupts and the sleeping idle loop: QEMU's own CPU time while umbra
waits (at the prompt, in `sleep`), typing after a long idle, the ACPI
power button during idle and during a script (a change not yet synced
is synced), interrupts on every disk transport, the polling fallback
when a device's interrupt is lost, and the `irq` listing."""

import subprocess
import time

import harness
from harness import case
from test_virtio import EFS

IDLE_SECONDS = 10
IDLE_SHARE = 0.02	# of one host core


def idle_share(vm, seconds):
    c0, t0 = vm.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (vm.cpu_seconds() - c0) / (time.monotonic() - t0)


@case("irq: idle at the prompt costs at most 2% of a core; typing wakes it",
      timeout=120)
def idle_prompt(t):
    vm = t.start()
    vm.until("umbra> ")
    time.sleep(1)	# let the boot's last output drain
    share = idle_share(vm, IDLE_SECONDS)
    print(f"idle at the prompt: {share * 100:.2f}% of a core")
    if share > IDLE_SHARE:
        raise harness.Fail(f"idle at the prompt used {share * 100:.1f}% "
                           f"of a core (limit {IDLE_SHARE * 100:.0f}%)")
    vm.send("echo awake\r")
    out = vm.until("umbra> ", seconds=10)
    if "\nawake\n" not in out:
        raise harness.Fail(f"after the idle: {out!r}")
    # sleep halts too: about its wall time, and little CPU
    vm.send("sleep 2000\r")
    c0, t0 = vm.cpu_seconds(), time.monotonic()
    vm.until("umbra> ", seconds=10)
    wall = time.monotonic() - t0
    share = (vm.cpu_seconds() - c0) / wall
    print(f"sleep 2000: {wall:.3f} s, {share * 100:.2f}% of a core")
    if not 1.8 <= wall <= 2.2:
        raise harness.Fail(f"sleep 2000 took {wall:.3f} s")
    if share > IDLE_SHARE:
        raise harness.Fail(f"sleep used {share * 100:.1f}% of a core")
    vm.send("poweroff 0\r")
    vm.wait_exit()


def host_cat(img, path):
    r = subprocess.run([EFS, "cat", img, path], capture_output=True)
    return r.stdout if r.returncode == 0 else None


@case("irq: the power button at the prompt syncs and powers off")
def button_idle(t):
    img = t.copy_disk()
    vm = t.start(disks=[img])
    vm.until("umbra> ")
    vm.send("write /unsynced made before the button\r")
    vm.until("umbra> ")
    time.sleep(0.5)
    vm.qmp("system_powerdown")	# what `virsh shutdown` sends
    status = vm.wait_exit(seconds=30)
    text = vm.text()
    if "power: button pressed, syncing" not in text:
        raise harness.Fail("no 'power: button pressed, syncing'")
    if status != 0:
        raise harness.Fail(f"status {status}, wanted 0")
    got = host_cat(img, "/unsynced")
    if got != b"made before the button\n":
        raise harness.Fail(f"host reads /unsynced as {got!r}")


@case("irq: the power button stops a script between two commands")
def button_script(t):
    img = t.copy_disk()
    vm = t.start(disks=[img], cmd="write /a one; sleep 20000; write /b two")
    vm.until("script: from")
    time.sleep(2)		# inside the sleep
    vm.qmp("system_powerdown")
    status = vm.wait_exit(seconds=30)
    text = vm.text()
    if "power: button pressed, syncing" not in text or status != 0:
        raise harness.Fail(f"status {status}; console: {text[-300:]!r}")
    if host_cat(img, "/a") != b"one\n":
        raise harness.Fail("/a is not on the disk")
    if host_cat(img, "/b") is not None:
        raise harness.Fail("the command after the press ran")


def disk_irq(t, bus, machine, disk, vector, source):
    """Reads on the disk, then `irq`: its vector counted interrupts."""
    r = t.boot(cmd="sha256 /README.txt; cat /etc/motd; irq", bus=bus,
               machine=machine)
    m = r.expect(rf"^ +\d+ +(\d+)  {source} +{vector}$")
    if int(m.group(1)) == 0:
        raise harness.Fail(f"{vector}: no interrupts counted")
    r.expect(rf"^irq: {disk} waits by interrupt ")
    r.expect(r"^irq: spurious 0, unexpected 0")
    r.expect_status(0)


@case("irq: virtio-blk modern (MSI-X) completes by interrupt")
def virtio_msix(t):
    disk_irq(t, "virtio", "q35", "vda", "vda", "MSI")


@case("irq: AHCI (MSI) completes by interrupt")
def ahci_msi(t):
    disk_irq(t, "ahci", "q35", "sda", "ahci0", "MSI")


@case("irq: NVMe (MSI-X on the I/O queue) completes by interrupt")
def nvme_msix(t):
    disk_irq(t, "nvme", "q35", "nvme0n1", "nvme0", "MSI")


@case("irq: IDE (ISA IRQ 14) interrupts the driver's waits")
def ide_irq(t):
    disk_irq(t, "ide", "pc", "hda", "ide-primary", r"GSI 14 edge")


@case("irq: virtio-blk legacy (INTx, ISR) completes by interrupt")
def virtio_intx(t):
    r = t.boot(cmd="sha256 /README.txt; irq", disk_extra="disable-modern=on")
    m = r.expect(r"^ +\d+ +(\d+)  GSI \d+ level +vda$")
    if int(m.group(1)) == 0:
        raise harness.Fail("no INTx interrupts counted")
    r.expect(r"^irq: vda waits by interrupt ")
    r.expect_status(0)


@case("irq: virtio-blk legacy on pc (PIIX INTx) completes by interrupt")
def virtio_intx_pc(t):
    r = t.boot(cmd="sha256 /README.txt; irq", machine="pc",
               disk_extra="disable-modern=on")
    m = r.expect(r"^ +\d+ +(\d+)  GSI \d+ level +vda$")
    if int(m.group(1)) == 0:
        raise harness.Fail("no INTx interrupts counted")
    r.expect_status(0)


@case("irq: a lost interrupt is caught and the disk polled", timeout=150)
def lost_irq(t):
    img = t.copy_disk()
    want = t.put_random(img, "/big", 8 << 20)
    # throttled to 10 requests a second: every wait outlasts the ticks
    extra = ["-drive", f"if=none,id=slow,format=raw,file={img},"
             "throttling.iops-total=10", "-device",
             "virtio-blk-pci,drive=slow"]
    r = t.boot(cmd="fault irq vda; sha256 /big; irq", disks=[],
               extra=extra, timeout=120)
    r.expect(r"^vda: completions arrive without their interrupt \(vector "
             r"\d+\); polling from now on$")
    r.expect(rf"^{want}  /big$")
    r.expect(r"^irq: vda waits by polling")
    r.expect_status(0)


@case("irq: the listing names every source")
def listing(t):
    r = t.boot(cmd="irq")
    r.expect(r"^ +VEC +COUNT  SOURCE +NAME$")
    r.expect(r"^ +\d+ +\d+  GSI 9 level +acpi-sci$")
    r.expect(r"^ +\d+ +\d+  GSI 4 edge +com1$")
    r.expect(r"^ +\d+ +\d+  MSI +vda-config$")
    r.expect(r"^ +240 +\d+  local APIC +timer$")
    r.expect(r"^irq: local APIC|^irq: spurious \d+, unexpected \d+; local "
             r"APIC x?2?x?APIC")
    r.expect_status(0)


@case("irq: a line that keeps firing is masked and the system goes on",
      timeout=150)
def storm(t):
    r = t.boot(cmd="fault irq-storm vda; sha256 /README.txt; echo alive; "
               "irq", disk_extra="disable-modern=on")
    r.expect(r"^irq: vector \d+ \(vda\) keeps firing with nothing to do: "
             r"masked; its device is polled$")
    r.expect(r"^[0-9a-f]{64}  /README\.txt$")
    r.expect(r"^alive$")
    r.expect(r"^ +\d+ +\d+  GSI \d+ level +vda \(masked\)$")
    r.expect_status(0)


@case("irq: -smp 4 (the other CPUs stay parked) and -cpu max")
def smp(t):
    r = t.boot(cmd="sha256 /README.txt; sleep 300; irq",
               extra=["-smp", "4", "-cpu", "max"])
    r.expect(r"^machine: 4 CPUs")
    r.expect(r"^[0-9a-f]{64}  /README\.txt$")
    r.expect(r"^irq: vda waits by interrupt ")
    r.expect_status(0)


@case("irq: an NMI is still reported")
def nmi(t):
    vm = t.start()
    vm.until("umbra> ")
    vm.qmp("inject-nmi")
    status = vm.wait_exit(seconds=30)
    if "exception: vector 2 (NMI)" not in vm.text() or status != 101:
        raise harness.Fail(f"status {status}: {vm.text()[-300:]!r}")


@case("irq: pc with virtio-blk modern (MSI-X), idle at the prompt",
      timeout=120)
def pc_modern(t):
    vm = t.start(machine="pc")
    vm.until("umbra> ")
    vm.send("sha256 /README.txt\r")
    vm.until("umbra> ")
    time.sleep(1)
    share = idle_share(vm, 5)
    print(f"idle at the prompt on pc: {share * 100:.2f}% of a core")
    if share > IDLE_SHARE:
        raise harness.Fail(f"idle on pc used {share * 100:.1f}% of a core")
    vm.send("irq\r")
    out = vm.until("umbra> ")
    if "irq: vda waits by interrupt" not in out:
        raise harness.Fail(f"irq: {out!r}")
    vm.send("poweroff 0\r")
    vm.wait_exit()
