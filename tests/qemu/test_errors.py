"""Errors that say why: an unreadable record named by ls and tree, a
script holding a NUL byte refused, a refused GPT with its reason, a path
too long refused before anything is made, a device a driver claimed but
could not use listed by lsblk, writes to a read-only disk refused on every
path."""

import os
import struct
import subprocess

import harness
from harness import case, ud
from test_virtio import mkimage, data_disk, EFS


def efs_part_offset(img):
    """Byte offset of the second GPT partition (mkimage's EclipseFS)."""
    with open(img, "rb") as f:
        f.seek(2 * 512 + 128 + 32)
        first, = struct.unpack("<Q", f.read(8))
    return first * 512


def record_offset(img, base, path):
    """Absolute offset of the record of `path` in the volume at base."""
    out = subprocess.run([EFS, "stat", img, path], check=True,
                         capture_output=True, text=True).stdout
    ino = int(next(l for l in out.splitlines()
                   if l.startswith("inode:")).split()[1])
    with open(img, "rb") as f:
        f.seek(base + 13)
        table, size = struct.unpack("<QQ", f.read(16))
        f.seek(base + table + (ino - 1) * 8 + 4)
        rel, = struct.unpack("<I", f.read(4))
    return base + table + size + rel


@case("errors: ls -l and tree name an unreadable entry and fail")
def unreadable_record(t):
    tree = t.path("tree")
    os.makedirs(tree)
    for name in ("alpha.txt", "hello.txt", "zeta.txt"):
        with open(os.path.join(tree, name), "w") as f:
            f.write(name + "\n")
    img = mkimage(t, "disk.img", "--fs", tree)
    base = efs_part_offset(img)
    at = record_offset(img, base, "/hello.txt")
    with open(img, "r+b") as f:	# the record's inode field lies
        f.seek(at)
        f.write(struct.pack("<I", 0x7777))
    r = t.boot(cmd="set +e; ls -l /; tree /; echo done", disks=[img])
    r.expect(r"^ls: hello\.txt: corrupt filesystem$")
    r.expect(r"^-rw-r--r-- .* zeta\.txt$")	# the others still listed
    r.expect(r"^tree: hello\.txt: corrupt filesystem$")
    r.expect(r"^  zeta\.txt$")
    r.expect_not(r"^hello\.txt$")
    r.expect(r"^done$")
    r.expect_status(1)


@case("errors: a script holding a NUL byte is refused")
def nul_in_script(t):
    script = t.path("script")
    with open(script, "wb") as f:
        f.write(b"echo before\0; echo after; poweroff 5")
    r = t.boot(extra=["-fw_cfg", f"name=opt/umbra/cmdline,file={script}"])
    r.expect(r"^script: fw_cfg opt/umbra/cmdline holds a NUL byte at "
             r"offset 11: refused$")
    r.expect_not(r"^before$")
    r.expect_status(2)


@case("errors: a refused GPT says why; a long /etc/rc runs")
def gpt_refused(t):
    data = data_disk(t, "data.img", 64 << 20, 512, os.path.join(
        harness.TOP, "deploy", "rootfs"))
    with open(data, "r+b") as f:	# entry size 64, CRCs made good
        for lba in (1, (64 << 20) // 512 - 1):
            f.seek(lba * 512)
            h = bytearray(f.read(92))
            struct.pack_into("<I", h, 84, 64)
            struct.pack_into("<I", h, 16, 0)
            import zlib
            struct.pack_into("<I", h, 16, zlib.crc32(bytes(h)))
            f.seek(lba * 512)
            f.write(h)
    r = t.boot(cmd="lsblk", disks=[t.fresh_disk(), data])
    r.expect(r"^storage: vdb: partition table refused: GPT header refused: "
             r"entry size is not a multiple of 8 from 128 to 4096$")
    r.expect_status(0)

    # A script far over the old 8 KiB limit runs to its end.
    img = t.copy_disk()
    rc = t.path("rc")
    with open(rc, "w") as f:
        f.write("# padding\n" * 2000 + "echo end of a long rc\npoweroff 4\n")
    subprocess.run([EFS, "put", img, rc, "/etc/rc"], check=True)
    r = t.boot(disks=[img])
    r.expect(r"^end of a long rc$")
    r.expect_status(4)


@case("errors: mkdir -p of a path too long makes nothing")
def path_too_long(t):
    path = "/" + "/".join(["d" * 250] * 20)	# 5020 characters
    r = t.boot(cmd=f"set +e; mkdir -p {path}; ls /")
    r.expect(r"^mkdir: /d{39}\.\.\.: path too long \(more than 4096 "
             r"bytes\)$")
    r.expect_not(r"^d{250}$")
    r.expect_status(1)


@case("errors: lsblk lists a device its driver could not use")
def broken_device(t):
    data = t.path("meta.img")
    with open(data, "wb") as f:
        f.truncate(16 << 20)
    extra = ["-device", "nvme,id=nv,serial=meta",
             "-drive", f"if=none,id=m,format=raw,file={data}",
             "-device", "nvme-ns,drive=m,bus=nv,nsid=1,ms=8"]
    r = t.boot(cmd="lsblk", extra=extra)
    r.expect(r"^nvme0n1: nvme: not used: LBA format of 512 bytes with 8 "
             r"metadata bytes$")
    r.expect(r"^nvme0n1 +nvme +- +- +- +broken: LBA format of 512 bytes "
             r"with 8 metadata bytes$")
    r.expect_status(0)


@case("errors: writes to a read-only disk are refused on every path")
def read_only_paths(t):
    data = data_disk(t, "ro.img", 32 << 20, 512, os.path.join(
        harness.TOP, "deploy", "rootfs"))
    r = t.boot(cmd="set +e; bench -n 10 randwrite vdb; bench -s 1 seqwrite "
               "vdb; echo done", disks=[t.fresh_disk(), (data, "raw", True)])
    r.expect(r"^bench: vdb: the device is read-only$")
    r.expect(r"^done$")
    r.expect_status(1)


@case("errors: a script over 1 MiB is refused, an unreadable /etc/rc "
      "powers off with a failure")
def refused_scripts(t):
    big = t.path("big")
    with open(big, "w") as f:	# one byte over the limit
        f.write("#" * (1 << 20) + "\n")
    r = t.boot(machine="microvm",
               extra=["-fw_cfg", f"name=opt/umbra/cmdline,file={big}"])
    r.expect(r"^script: fw_cfg opt/umbra/cmdline is 1048577 bytes, more "
             r"than 1048576: refused$")
    r.expect_status(2)

    # /etc/rc whose record cannot be read: no interactive shell.
    img = t.copy_disk()
    rc = t.path("rc")
    with open(rc, "w") as f:
        f.write("echo from rc\n")
    subprocess.run([EFS, "put", img, rc, "/etc/rc"], check=True)
    base = efs_part_offset(img)
    at = record_offset(img, base, "/etc/rc")
    with open(img, "r+b") as f:	# the record's inode field lies
        f.seek(at)
        f.write(struct.pack("<I", 0x7777))
    r = t.boot(machine="microvm", disks=[img], timeout=60)
    r.expect(r"^script: /etc/rc cannot be read: corrupt filesystem$")
    r.expect_not(r"umbra> ")
    r.expect_status(1)


@case("errors: the final sync and a failed mount give the device's "
      "sentence")
def device_sentences(t):
    # Every write fails: the sync at power-off names the device and LBA.
    img = t.blkdebug(t.copy_disk(), "pwritev", "write", 5)
    r = t.boot(machine="microvm", cmd="write /x hi; poweroff 3",
               disks=[img], timeout=60)
    r.expect(r"^sync: write error on vda at LBA \d+ \(\+\d+\): I/O error "
             r"reported by the device")
    # Reads of the volume fail after its header: the mount says where.
    img = t.copy_disk(name="mnt.img")
    base = efs_part_offset(img)
    img = t.blkdebug(img, "read_aio", "read", 5, base // 512 + 1)
    r = t.boot(machine="microvm", cmd="echo up", disks=[img], timeout=60)
    r.expect(r"^root: vda2: EclipseFS header, but cannot mount: read "
             r"error on vda\d? at LBA \d+ \(\+\d+\)")


@case("errors: bench fails when the device's flush fails")
def bench_flush(t):
    data = t.path("data.img")
    with open(data, "wb") as f:
        f.truncate(8 << 20)
    img = t.blkdebug(data, "flush_to_disk", "flush", 5)
    r = t.boot(machine="microvm", cmd="bench -s 1 seqwrite vdb",
               disks=[t.fresh_disk(), (img, "raw")], timeout=60)
    r.expect(r"^bench: flush error on vdb: I/O error reported by the "
             r"device")
    r.expect_not(r"MB/s")
    r.expect_status(1)
