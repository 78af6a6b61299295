"""The ATA fallback: IDE on -machine pc (master, slave, secondary
channel) by bus-master DMA, falling back to PIO when a DMA transfer
fails; AHCI on q35, LBA48 past 128 GiB, a drive that refuses writes, and
data that survives a reboot on each."""

import hashlib
import os
import re
import subprocess

import harness
from harness import case, ud
from test_virtio import mkimage, data_disk, expect_rootfs, ROOTFS, EFS

CMDS = "lsblk; ls -l /; cat /etc/motd; sha256 /README.txt"
README_SHA = hashlib.sha256(open(os.path.join(ROOTFS, "README.txt"),
                                 "rb").read()).hexdigest()


def ide_drive(path, bus, unit, index, fmt="raw", extra=""):
    return ["-drive", f"if=none,id=ide{index},format={fmt},file={path}"
            f"{extra}", "-device", f"ide-hd,drive=ide{index},bus=ide.{bus},"
            f"unit={unit}"]


def expect_ata(r, name, where):
    r.expect_status(0)
    r.expect(rf"^{name} +{where}")
    expect_rootfs(r)
    r.expect(rf"^{README_SHA}  /README.txt$")


def expect_dma(r, name, where):
    """The disk moved its data by DMA (PIIX3: multiword DMA 2), and no
    transfer failed."""
    expect_ata(r, name, rf'ide +128\.0M +512 rw model="QEMU HARDDISK \(IDE '
               rf'{where}, MWDMA2, LBA48\)"')
    r.expect_not(r"DMA (read|write) failed")


def ide_position(channel, unit, where):
    """A case: the volume on the drive at channel:unit, moved by DMA."""
    def run(t):
        r = t.boot(cmd=CMDS, machine="pc", disks=[],
                   extra=ide_drive(t.fresh_disk(), channel, unit, 0,
                                   "qcow2"))
        expect_dma(r, "hda", where)
    case(f"ide: -machine pc, {where}, DMA")(run)


for channel, unit, where in ((0, 0, "primary master"),
                             (0, 1, "primary slave"),
                             (1, 0, "secondary master"),
                             (1, 1, "secondary slave")):
    ide_position(channel, unit, where)


@case("ide: four drives on both channels, each by DMA; the volume on the "
      "last", timeout=120)
def ide_four(t):
    blank = [t.path(f"blank{i}.img") for i in range(3)]
    for b in blank:
        with open(b, "wb") as f:
            f.truncate(128 << 20)
    drives = ide_drive(blank[0], 0, 0, 0) + ide_drive(blank[1], 0, 1, 1) + \
        ide_drive(blank[2], 1, 0, 2) + ide_drive(t.copy_disk(), 1, 1, 3)
    r = t.boot(cmd="lsblk; bench -s 2 seqwrite hda; bench -s 2 seqread hdb; "
               "bench -n 100 -d 1 randwrite hdc; write /x by dma; sync; "
               "cat /x; cat /etc/motd; sha256 /README.txt", machine="pc",
               disks=[], extra=drives)
    r.expect_status(0)
    for name, where in (("hda", "primary master"), ("hdb", "primary slave"),
                        ("hdc", "secondary master"),
                        ("hdd", "secondary slave")):
        r.expect(rf'^{name} +ide +128\.0M .*\(IDE {where}, MWDMA2, LBA48\)')
    r.expect(r"^hdd2 +part .*\(root\)$")
    r.expect(r"^bench: seqread hdb: 2097152 bytes")
    r.expect(r"^by dma$")
    r.expect(rf"^{README_SHA}  /README.txt$")
    r.expect_not(r"DMA (read|write) failed")
    # what the first drive got by DMA is what bench wrote: not zeros
    with open(blank[0], "rb") as f:
        if f.read(1 << 20).count(0) == 1 << 20:
            raise harness.Fail("hda: nothing written by DMA")


def fallback_image(t):
    img = t.copy_disk()
    return img, t.put_random(img, "/big", 3 << 20)


@case("ide: a failed DMA read falls back to PIO, the data still right")
def ide_dma_fails_read(t):
    img, want = fallback_image(t)
    r = t.boot(cmd="fault dma hda; sha256 /big; lsblk; fault dma hda",
               machine="pc", disks=[], extra=ide_drive(img, 0, 0, 0))
    r.expect(r"^hda: DMA read failed \(the PRD table ended before the "
             r"transfer, bus master status 0x\w+\); PIO from now on$")
    r.expect(rf"^{want}  /big$")
    r.expect(r'^hda +ide .*\(IDE primary master, PIO, DMA failed, LBA48\)')
    # once PIO, there is no DMA left to break
    r.expect(r"^fault: hda: no such IDE disk doing DMA$")
    r.expect_status(1)
    if len(re.findall(r"DMA (?:read|write) failed", r.log)) != 1:
        raise harness.Fail("the fallback was said more than once")


@case("ide: a failed DMA write falls back to PIO, the data still right")
def ide_dma_fails_write(t):
    img, want = fallback_image(t)
    r = t.boot(cmd="cp /big /copy; fault dma hda; sync; sha256 /copy",
               machine="pc", disks=[], extra=ide_drive(img, 1, 0, 0))
    r.expect(r"^hda: DMA write failed \(the PRD table ended")
    r.expect(rf"^{want}  /copy$")
    r.expect_status(0)
    out = subprocess.run([EFS, "cat", img, "/copy"], capture_output=True)
    if hashlib.sha256(out.stdout).hexdigest() != want:
        raise harness.Fail("the host reads another /copy")
    check = subprocess.run([EFS, "fsck", img], capture_output=True,
                           text=True)
    if check.returncode != 0:
        raise harness.Fail(f"fsck: {check.stdout}{check.stderr}")


@case("ahci: q35 with an AHCI disk")
def ahci(t):
    r = t.boot(cmd=CMDS + "; bench -d 8 -n 200 randread sda2", bus="ahci")
    expect_ata(r, "sda", r'ahci +128\.0M +512 rw model="QEMU HARDDISK '
               r'\(AHCI port 0, NCQ\)" .*queue=32')
    r.expect(r"^bench: randread sda2 bs=4096 depth=8: 200 ops")


def big_disk(t):
    """A sparse 200 GiB disk whose EclipseFS partition starts at 150 GiB:
    reading it needs LBA48."""
    path = t.path("big.img")
    with open(path, "wb") as f:
        f.truncate(200 << 30)
    first = (150 << 30) // 512
    ud.write_gpt(path, 512, [(first, first + (64 << 20) // 512 - 1,
                              ud.LINUX_FS_GUID, "far")])
    subprocess.run([EFS, "mkfs", path, "--part", "1", "--from", ROOTFS],
                   check=True, stdout=subprocess.DEVNULL)
    return path


@case("ide: a 200 GiB disk, the volume past 128 GiB (LBA48)")
def ide_lba48(t):
    boot = mkimage(t, "boot.img")
    r = t.boot(cmd=CMDS, machine="pc", disks=[],
               extra=ide_drive(boot, 0, 0, 0) +
               ide_drive(big_disk(t), 0, 1, 1))
    r.expect_status(0)
    r.expect(r"^hdb +ide +200\.0G +512 rw .*LBA48")
    r.expect(r"^hdb1 +part +64\.0M .* start=314572800 .*\(root\)$")
    expect_rootfs(r)


@case("ahci: a 200 GiB disk, the volume past 128 GiB (LBA48)")
def ahci_lba48(t):
    boot = mkimage(t, "boot.img")
    r = t.boot(cmd=CMDS, bus="ahci", disks=[boot, big_disk(t)])
    r.expect_status(0)
    r.expect(r"^sdb1 +part +64\.0M .* start=314572800 .*\(root\)$")
    expect_rootfs(r)


@case("ide: a drive that refuses writes gives a clear error")
def ide_refuses_writes(t):
    # QEMU will not attach a read-only drive to IDE ("Block node is
    # read-only"), so the device refuses every write instead (blkdebug).
    img = t.blkdebug(t.copy_disk(), "pwritev", "write", 30)
    drive = f"if=none,id=ide0,format=raw,file={img}"
    r = t.boot(cmd="set +e; cat /etc/motd; write /x y; sync; cat /etc/motd",
               machine="pc", disks=[],
               extra=["-drive", drive, "-device", "ide-hd,drive=ide0,bus=ide.0"])
    r.expect(r"^write error on hda at LBA \d+ \(\+\d+\): I/O error reported "
             r"by the device: command aborted \(ABRT\) \(status 0x\w+, "
             r"error 0x04\)$")
    # the shell says why, in the block layer's words
    r.expect(r"^sync: /: write error on hda at LBA \d+")
    r.expect(r"^Welcome to umbra.*\n(.*\n)*Welcome to umbra")
    r.expect_status(1)


@case("ahci: a failed write is reported, the port recovers, reads go on")
def ahci_refuses_writes(t):
    img = t.blkdebug(t.copy_disk(), "pwritev", "write", 30)
    r = t.boot(cmd="set +e; write /x y; sync; cat /etc/motd; sha256 "
               "/README.txt", bus="ahci", disks=[],
               extra=["-drive", f"if=none,id=a0,format=raw,file={img}",
                      "-device", "ide-hd,drive=a0,bus=ide.0"])
    r.expect(r"^write error on sda at LBA \d+ \(\+\d+\): I/O error reported "
             r"by the device: command aborted \(ABRT\) \(status 0x\w+, "
             r"error 0x04, PxIS 0x\w+\)$")
    r.expect(r"^sync: /: write error on sda at LBA \d+")
    r.expect(r"^Welcome to umbra")
    r.expect(rf"^{README_SHA}  /README.txt$")
    r.expect_status(1)


def persist(t, bus, machine, name):
    img = t.copy_disk()
    if bus == "ide":
        args = dict(machine=machine, disks=[],
                    extra=ide_drive(img, 0, 0, 0) + ["-no-reboot"])
        args2 = dict(machine=machine, disks=[], extra=ide_drive(img, 0, 0, 0))
    else:
        args = dict(bus=bus, disks=[img], extra=["-no-reboot"])
        args2 = dict(bus=bus, disks=[img])
    r = t.boot(cmd=f"write /etc/{name} saved via {name}; sync; reboot",
               **args)
    if r.rc != 0:
        raise harness.Fail(f"reboot: QEMU rc {r.rc}")
    r = t.boot(cmd=f"cat /etc/{name}; fsck", **args2)
    r.expect_status(0)
    r.expect(rf"^saved via {name}$")
    out = subprocess.run([EFS, "cat", img, f"/etc/{name}"],
                         capture_output=True, text=True).stdout
    if out != f"saved via {name}\n":
        raise harness.Fail(f"host tool read {out!r}")


@case("ide: write, sync, reboot, read back")
def ide_persist(t):
    persist(t, "ide", "pc", "ide")


@case("ahci: write, sync, reboot, read back")
def ahci_persist(t):
    persist(t, "ahci", "q35", "ahci")
