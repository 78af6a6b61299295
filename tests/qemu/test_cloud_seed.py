"""Seed drives: a NoCloud seed (label cidata) or an OpenStack config drive
(label config-2), ISO 9660 made by genisoimage or xorriso, FAT made by
mkfs.vfat and mtools, as a whole disk or a partition; its user data runs
as the script after fw_cfg, the kernel command line and SMBIOS, before
/etc/rc. User data in cloud-init's formats is refused; hostile images are
reported and the boot goes on. The PVH kernel on microvm (virtio-mmio),
which boots in tens of milliseconds."""

import os
import shutil
import subprocess

import harness
from harness import case, ud
from test_virtio import EFS

TIMEOUT = 60
TIMELINE = (r"^timeline: pvh_entry=0us runtime=\d+us pci=\d+us blk=\d+us "
            r"mount=\d+us screen=\d+us app_ready=\d+us$")


def tool(name):
    for d in ("", "/usr/sbin/", "/sbin/"):
        path = shutil.which(d + name) if not d else d + name
        if path and os.path.exists(path):
            return path
    raise harness.Fail(f"{name} is not installed (./configure --deps)")


def tree(t, name, files):
    """files ({path: bytes or str}) under a fresh directory; its path."""
    top = t.path(name + ".d")
    for rel, body in files.items():
        path = os.path.join(top, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body.encode() if isinstance(body, str) else body)
    return top


def seed_iso(t, name, files, label="cidata", xorriso=False):
    """An ISO 9660 seed with Joliet and Rock Ridge names, as cloud-init's
    documentation makes one (genisoimage, or xorriso's mkisofs mode)."""
    out = t.path(name)
    argv = ([tool("xorriso"), "-as", "mkisofs"] if xorriso else
            [tool("genisoimage")])
    subprocess.run(argv + ["-quiet", "-o", out, "-V", label, "-J", "-R",
                           tree(t, name, files)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def seed_fat(t, name, files, label="CIDATA", bits=12, size=2 << 20,
             gpt=False):
    """A FAT seed (mkfs.vfat, files by mtools with their long names): the
    whole disk, or partition 1 of a GPT disk."""
    fat = t.path(name + ".fat")
    with open(fat, "wb") as f:
        f.truncate(size)
    subprocess.run([tool("mkfs.vfat"), "-F", str(bits), "-n", label, fat],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    src = tree(t, name, files)
    for rel in sorted(files):
        parts = rel.split("/")
        for i in range(1, len(parts)):
            subprocess.run([tool("mmd"), "-D", "s", "-i", fat,
                            "::/" + "/".join(parts[:i])],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        subprocess.run([tool("mcopy"), "-i", fat, os.path.join(src, rel),
                        "::/" + rel], check=True)
    if not gpt:
        return fat
    out = t.path(name)
    with open(out, "wb") as f:
        f.truncate(size + (2 << 20))
    ud.write_gpt(out, 512, [(2048, 2047 + size // 512,
                             ud.LINUX_FS_GUID, "seed")])
    with open(fat, "rb") as src_f, open(out, "r+b") as f:
        f.seek(2048 * 512)
        f.write(src_f.read())
    return out


def rc_disk(t, script):
    """A raw copy of the default image with /etc/rc = script."""
    img = t.copy_disk()
    rc = t.path("rc")
    with open(rc, "w") as f:
        f.write(script)
    subprocess.run([EFS, "put", img, rc, "/etc/rc"], check=True)
    return img


def host_cat(img, path):
    return subprocess.run([EFS, "cat", img, path], capture_output=True,
                          text=True).stdout


def boot(t, disks, cmd=None):
    return t.boot(machine="microvm", disks=disks, cmd=cmd, timeout=TIMEOUT)


META = "instance-id: iid-seed-01\nlocal-hostname: umbra\n"


@case("seed: NoCloud ISO (Joliet, Rock Ridge): its user-data runs and "
      "writes the volume; fw_cfg still wins", timeout=TIMEOUT)
def nocloud_iso(t):
    user = ("# umbra script from a NoCloud seed\necho seed ran\n"
            "write /from-seed written by the seed\nsync\npoweroff 7\n")
    iso = seed_iso(t, "seed.iso", {"user-data": user, "meta-data": META})
    img = t.copy_disk()
    r = boot(t, [img, (iso, "raw", True)])
    r.expect_status(7)
    r.expect(TIMELINE)
    r.expect(r"^seed: vdb: NoCloud seed \(label cidata, ISO 9660, Rock "
             rf"Ridge names\); user-data {len(user)} bytes; instance-id "
             r"iid-seed-01$")
    r.expect(r"^script: from NoCloud seed vdb user-data$")
    r.expect(r"^seed ran$")
    got = host_cat(img, "/from-seed")
    if got != "written by the seed\n":
        raise harness.Fail(f"/from-seed on the host reads {got!r}")
    # A script from fw_cfg comes first: the seed is not even looked at.
    r = boot(t, [t.fresh_disk(), (iso, "raw", True)], cmd="poweroff 3")
    r.expect_status(3)
    r.expect(r"^script: from fw_cfg opt/umbra/cmdline$")
    r.expect_not(r"^seed")


@case("seed: NoCloud FAT partition (long names), config-2 ISO (xorriso): "
      "each one's user data runs", timeout=TIMEOUT)
def fat_and_config2(t):
    user = "echo from the FAT seed\npoweroff 5\n"
    fat = seed_fat(t, "fat.img", {
        "user-data": user, "meta-data": "instance-id: 'iid-fat'\n"},
        label="cidata", gpt=True)
    r = boot(t, [t.fresh_disk(), fat])
    r.expect_status(5)
    r.expect(r"^seed: vdb1: NoCloud seed \(label cidata, FAT12, long names "
             rf"\(VFAT\)\); user-data {len(user)} bytes; instance-id "
             r"iid-fat$")
    r.expect(r"^script: from NoCloud seed vdb1 user-data$")
    r.expect(r"^from the FAT seed$")

    uuid = "83679162-1378-4288-a2d4-70e13ec132aa"
    user = "echo from the config drive\npoweroff 6\n"
    iso = seed_iso(t, "config2.iso", {
        "openstack/latest/user_data": user,
        "openstack/latest/meta_data.json":
            f'{{"name": "vm1", "uuid": "{uuid}", "hostname": "vm1"}}',
        "ec2/latest/user-data": "echo not this one\npoweroff 1\n"},
        label="config-2", xorriso=True)
    r = boot(t, [t.fresh_disk(), (iso, "raw", True)])
    r.expect_status(6)
    r.expect(rf"^seed: vdb: config drive \(label config-2, ISO 9660, Rock "
             rf"Ridge names\); openstack/latest/user_data {len(user)} bytes; "
             rf"instance-id {uuid}$")
    r.expect(r"^script: from config drive vdb openstack/latest/user_data$")
    r.expect(r"^from the config drive$")


@case("seed: #cloud-config, #! and MIME user data are refused with status "
      "2, never run", timeout=TIMEOUT)
def refused(t):
    for body, what in (
            ("#cloud-config\nruncmd:\n - [poweroff, 9]\n",
             "cloud-init's #cloud-config"),
            ("#!/bin/sh\necho hi\n", r"a #! script \(#!/bin/sh\)"),
            ('Content-Type: multipart/mixed; boundary="b"\nMIME-Version: '
             '1.0\n\n--b\n', "a MIME multipart message")):
        iso = seed_iso(t, "r.iso", {"user-data": body, "meta-data": META})
        r = boot(t, [t.fresh_disk(), (iso, "raw", True)])
        r.expect_status(2)
        r.expect(rf"^script: NoCloud seed vdb user-data is {what}, not an "
                 rf"umbra script: refused$")
        r.expect_not(r"^script: from")
        os.remove(iso)


def corrupt_iso(t, name):
    """A seed whose volume descriptor set never ends (all primaries)."""
    iso = seed_iso(t, name, {"user-data": "poweroff 1\n"})
    with open(iso, "r+b") as f:
        f.seek(16 * 2048)
        pvd = f.read(2048)
        for i in range(17, 16 + 64):
            f.seek(i * 2048)
            f.write(pvd)
    return iso


def corrupt_fat(t, name):
    """A FAT seed whose user-data's first cluster points at a free one."""
    fat = seed_fat(t, name, {"user-data": "echo x\n" * 2000})
    with open(fat, "r+b") as f:
        rsvd = int.from_bytes(f.read(16)[14:16], "little")
        f.seek(rsvd * 512 + 3)	# FAT12 entries 2 and 3 in 3 bytes:
        f.write(b"\x03\x00\x00")	# 2 -> 3, and 3 free
    return fat


@case("seed: hostile seed images are reported, the boot goes on to "
      "/etc/rc", timeout=TIMEOUT)
def hostile(t):
    img = rc_disk(t, "echo rc ran\npoweroff 4\n")
    r = boot(t, [img, corrupt_iso(t, "bad.iso"), corrupt_fat(t, "bad.fat")])
    r.expect_status(4)
    r.expect(r"^seed: vdb: ISO 9660 volume refused: corrupt filesystem: no "
             r"volume descriptor set terminator within 64 descriptors$")
    r.expect(r"^seed: vdc: NoCloud seed \(FAT12\) refused: user-data: "
             r"corrupt filesystem: a cluster chain leads to a free, bad or "
             r"out-of-range cluster$")
    r.expect(r"^script: from /etc/rc$")
    r.expect(r"^rc ran$")


@case("seed: no seed, other disks: no seed line, the same timeline",
      timeout=TIMEOUT)
def no_seed(t):
    img = rc_disk(t, "echo rc ran\npoweroff 4\n")
    data = seed_fat(t, "data.fat", {"notes.txt": "not a seed\n"},
                    label="DATA", bits=16, size=16 << 20)
    blank = t.path("blank.img")
    with open(blank, "wb") as f:
        f.truncate(1 << 20)
    r = boot(t, [img, data, blank])
    r.expect_status(4)
    r.expect(TIMELINE)
    r.expect(r"^script: from /etc/rc$")
    r.expect_not(r"^seed")


def cdrom(path, bus, extra=()):
    """-drive/-device arguments for a CD-ROM drive holding path on bus
    (ide.1 of pc's PIIX IDE or q35's AHCI; or a virtio-scsi HBA)."""
    drive = ["-drive", f"if=none,id=cd0,format=raw,media=cdrom,file={path}"]
    if bus == "scsi":
        return ["-device", "virtio-scsi-device,id=scsi0"] + drive + [
            "-device", "scsi-cd,drive=cd0,bus=scsi0.0"]
    return drive + ["-device", f"ide-cd,drive=cd0,bus={bus}"] + list(extra)


@case("seed: on a CD-ROM: IDE ATAPI (pc), AHCI ATAPI (q35), virtio-scsi "
      "(microvm); a read error is reported, the boot goes on",
      timeout=TIMEOUT)
def cdroms(t):
    # ~300 KiB: reads of many commands (IDE PIO: 31 sectors each) and
    # data blocks; one wrong byte would break the script
    user = "".join(f"# padding line {i:06d}\n" for i in range(14000))
    user += "echo the big seed ran\npoweroff 7\n"
    iso = seed_iso(t, "cd.iso", {"user-data": user, "meta-data": META})
    for machine, bus, dev, kind in (("pc", "ide", "hdb", "IDE secondary "
                                     "master, ATAPI, PIO"),
                                    ("q35", "ahci", "sr0", "AHCI port 1, "
                                     "ATAPI"),
                                    ("microvm", None, "vsa",
                                     "virtio-scsi 0:0")):
        r = t.boot(machine=machine, bus=bus, timeout=TIMEOUT,
                   kernel=None if machine == "microvm" else harness.KERNEL,
                   extra=cdrom(iso, "scsi" if bus is None else "ide.1"),
                   disks=[t.fresh_disk()])
        r.expect_status(7)
        r.expect(rf"^seed: {dev}: NoCloud seed \(label cidata, ISO 9660, "
                 rf"Rock Ridge names\); user-data {len(user)} bytes; "
                 r"instance-id iid-seed-01$")
        r.expect(rf"^script: from NoCloud seed {dev} user-data$")
        r.expect(r"^the big seed ran$")
    r = t.boot(machine="q35", bus="ahci", kernel=harness.KERNEL,
               cmd="lsblk; irq", disks=[t.fresh_disk()],
               extra=cdrom(iso, "ide.1"), timeout=TIMEOUT)
    r.expect_status(0)
    r.expect(r'^sr0 +ahci +\d+\.\dK +2048 ro model="QEMU QEMU DVD-ROM '
             r'\(AHCI port 1, ATAPI\)" serial="" cache=none queue=1$')
    r.expect(r"^irq: sr0 waits by interrupt")
    # the volume descriptor (2048-byte sector 16) fails: QEMU's ATAPI
    # reports it (as LBA out of range, whatever the error); umbra says so
    # and goes on to /etc/rc
    img = rc_disk(t, "echo rc ran\npoweroff 4\n")
    bad = t.blkdebug(iso, "read_aio", "read", 5, sector=64)
    r = t.boot(machine="pc", bus="ide", kernel=harness.KERNEL, disks=[img],
               extra=cdrom(bad, "ide.1"), timeout=TIMEOUT)
    r.expect_status(4)
    r.expect(r"^read error on hdb at LBA 16 \(\+1\): .*: illegal request: "
             r"LBA out of range \(sense key 5, ASC/ASCQ 21/00\)$")
    r.expect(r"^seed: hdb: not read: I/O error$")
    r.expect(r"^script: from /etc/rc$")
