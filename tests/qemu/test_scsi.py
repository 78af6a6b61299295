"""virtio-scsi: the root volume on it, several LUNs and targets, 4096-byte
logical blocks, a medium error with its sense key, a write-protected LUN,
interrupts on the modern and the legacy transport."""

import hashlib
import os
import subprocess

import harness
from harness import case
from test_virtio import mkimage, data_disk, expect_rootfs, ROOTFS, EFS

README_SHA = hashlib.sha256(open(os.path.join(ROOTFS, "README.txt"),
                                 "rb").read()).hexdigest()
HBA = ["-device", "virtio-scsi-pci,id=scsi0"]


def scsi_disk(path, index, target, lun, fmt="raw", drive_extra="",
              dev_extra=""):
    """A drive as scsi-hd at target:lun on the HBA scsi0."""
    return ["-drive", f"if=none,id=d{index},format={fmt},file={path}"
            f"{drive_extra}", "-device", f"scsi-hd,drive=d{index},"
            f"bus=scsi0.0,scsi-id={target},lun={lun}{dev_extra}"]


@case("scsi: root volume on virtio-scsi; write, sync, reboot, read back")
def persist(t):
    img = t.copy_disk()
    r = t.boot(cmd="lsblk; write /etc/scsi saved via scsi; sync; reboot",
               bus="scsi", disks=[img], extra=["-no-reboot"])
    if r.rc != 0:
        raise harness.Fail(f"reboot: QEMU rc {r.rc}")
    r.expect(r'^vsa +virtio-scsi +128\.0M +512 rw model="QEMU QEMU HARDDISK '
             r'\(virtio-scsi 0:0\)" .*cache=write-back queue=\d+ discard$')
    r.expect(r"^vsa2 +part .*\(root\)$")
    r = t.boot(cmd="cat /etc/scsi; cat /etc/motd; sha256 /README.txt; fsck",
               bus="scsi",
               disks=[img])
    r.expect_status(0)
    expect_rootfs(r)
    r.expect(r"^saved via scsi$")
    r.expect(rf"^{README_SHA}  /README.txt$")
    r.expect(r"^fsck: .* 0 errors")
    out = subprocess.run([EFS, "cat", img, "/etc/scsi"],
                         capture_output=True, text=True).stdout
    if out != "saved via scsi\n":
        raise harness.Fail(f"host tool read {out!r}")


@case("scsi: two LUNs on a target, a second target, an empty CD-ROM left "
      "alone")
def luns(t):
    boot = mkimage(t, "boot.img")
    data = data_disk(t, "data.img", 32 << 20, 512, ROOTFS)
    third = data_disk(t, "third.img", 16 << 20, 512, ROOTFS)
    extra = HBA + scsi_disk(boot, 0, 0, 0) + scsi_disk(data, 1, 0, 1) + \
        scsi_disk(third, 2, 5, 0) + \
        ["-drive", "if=none,id=cd,media=cdrom", "-device",
         "scsi-cd,drive=cd,bus=scsi0.0,scsi-id=2,lun=0"]
    r = t.boot(cmd="lsblk; bench -s 4 seqwrite vsc; bench -s 4 seqread "
               "vsc; bench -n 200 -d 16 randread vsa; cat /etc/motd",
               disks=[], extra=extra)
    r.expect_status(0)
    r.expect(r'^vsa +virtio-scsi +128\.0M .*\(virtio-scsi 0:0\)')
    r.expect(r'^vsb +virtio-scsi +32\.0M .*\(virtio-scsi 0:1\)')
    r.expect(r'^vsc +virtio-scsi +16\.0M .*\(virtio-scsi 5:0\)')
    r.expect(r"^vsb1 +part .*\(root\)$")	# the boot disk has no volume
    r.expect_not(r"^vsd ")		# a drive without a disc is not listed
    r.expect(r"^bench: seqread vsc: 4194304 bytes in \d+ us")
    r.expect(r"^bench: randread vsa bs=4096 depth=16: 200 ops")
    expect_rootfs(r)


@case("scsi: 4096-byte logical blocks, GPT with 4 KiB LBAs")
def blocks_4k(t):
    boot = mkimage(t, "boot.img")
    data = data_disk(t, "data.img", 64 << 20, 4096, ROOTFS)
    extra = HBA + scsi_disk(boot, 0, 0, 0) + scsi_disk(
        data, 1, 1, 0, dev_extra=",logical_block_size=4096,"
        "physical_block_size=4096")
    r = t.boot(cmd="lsblk; cat /etc/motd; sha256 /README.txt; write /x "
               "four k; sync; cat /x; fsck", disks=[], extra=extra)
    r.expect_status(0)
    r.expect(r"^vsb +virtio-scsi +64\.0M +4096 rw")
    r.expect(r"^vsb1 +part +\S+ +4096 rw start=256 .*\(root\)$")
    r.expect(rf"^{README_SHA}  /README.txt$")
    r.expect(r"^four k$")
    expect_rootfs(r)


@case("scsi: a medium error is reported with its sense key; the app goes on")
def medium_error(t):
    # ENODATA from the host's read becomes MEDIUM ERROR, unrecovered read
    # error (QEMU's scsi_sense_from_errno)
    data = data_disk(t, "data.img", 16 << 20, 512, ROOTFS)
    extra = HBA + scsi_disk(t.fresh_disk(), 0, 0, 0, "qcow2") + \
        scsi_disk(t.blkdebug(data, "read_aio", "read", 61, 4000), 1, 1, 0)
    r = t.boot(cmd="set +e; bench -s 4 seqread vsb; cat /etc/motd; "
               "sha256 /README.txt; lsblk", disks=[], extra=extra)
    r.expect(r"^read error on vsb at LBA \d+ \(\+\d+\): I/O error reported "
             r"by the device: medium error: unrecovered read error \(sense "
             r"key 3, ASC/ASCQ 11/00\)$")
    r.expect(r"^bench: read error on vsb at LBA \d+ \(\+\d+\): I/O error "
             r"reported by the device: medium error")
    r.expect(r"^Welcome to umbra")
    r.expect(rf"^{README_SHA}  /README.txt$")
    r.expect(r"^vsb +virtio-scsi +16\.0M +512 rw ")
    r.expect_not(r"FAILED")
    r.expect_status(1)


@case("scsi: a write-protected LUN is read-only and refuses writes")
def write_protected(t):
    img = t.copy_disk()
    r = t.boot(cmd="set +e; lsblk; cat /etc/motd; write /x y; bench -s 1 "
               "seqwrite vsa1; sha256 /README.txt", bus="scsi",
               disks=[(img, "raw", True)])
    r.expect(r"^vsa +virtio-scsi +128\.0M +512 ro ")
    r.expect(r"^root: vsa2 mounted \(EclipseFS, read-only\)$")
    r.expect(r"^write: /x: read-only$")
    r.expect(r"^bench: vsa1: the device is read-only$")
    r.expect(rf"^{README_SHA}  /README.txt$")
    r.expect_status(1)


def scsi_irq(t, extra, source):
    r = t.boot(cmd="sha256 /README.txt; irq", bus="scsi", disk_extra=extra)
    m = r.expect(rf"^ +\d+ +(\d+)  {source} +vscsi0$")
    if int(m.group(1)) == 0:
        raise harness.Fail("no interrupts counted")
    r.expect(r"^irq: vsa waits by interrupt ")
    r.expect(r"^irq: spurious 0, unexpected 0")
    r.expect(rf"^{README_SHA}  /README.txt$")
    r.expect_status(0)


@case("scsi: modern virtio-scsi completes by interrupt (MSI-X)")
def irq_msix(t):
    scsi_irq(t, "", "MSI")


@case("scsi: legacy virtio-scsi (disable-modern=on) by INTx")
def irq_legacy(t):
    r = t.boot(cmd="sha256 /README.txt; irq; lsblk", disks=[],
               extra=["-device", "virtio-scsi-pci,id=scsi0,"
                      "disable-modern=on"] +
               scsi_disk(t.fresh_disk(), 0, 0, 0, "qcow2"))
    m = r.expect(r"^ +\d+ +(\d+)  GSI \d+ level +vscsi0$")
    if int(m.group(1)) == 0:
        raise harness.Fail("no INTx interrupts counted")
    r.expect(rf"^{README_SHA}  /README.txt$")
    r.expect(r"^vsa +virtio-scsi ")
    r.expect_status(0)


@case("scsi: virtio-scsi on virtio-mmio (microvm, the PVH kernel), v1 and "
      "v2", timeout=90)
def on_mmio(t):
    for version in (1, 2):
        img = t.copy_disk(name=f"mmio{version}.img")
        r = t.boot(machine="microvm", mmio_version=version, bus="scsi-mmio",
                   disks=[img], cmd="lsblk; lsmmio; irq; cat /etc/motd; "
                   "write /x over mmio; sync; sha256 /README.txt")
        r.expect_status(0)
        r.expect(r'^vsa +virtio-scsi +128\.0M +512 rw model="QEMU QEMU '
                 r'HARDDISK \(virtio-scsi 0:0\)"')
        r.expect(r"^vsa2 +part .*\(root\)$")
        r.expect(r"^0x\w+ size 0x200 irq \d+ \(\w+\) type 8: vsa$")
        r.expect(r"^irq: vsa waits by interrupt ")
        r.expect(rf"^{README_SHA}  /README.txt$")
        expect_rootfs(r)
        out = subprocess.run([EFS, "cat", img, "/x"], capture_output=True,
                             text=True).stdout
        if out != "over mmio\n":
            raise harness.Fail(f"v{version}: the host reads {out!r}")
