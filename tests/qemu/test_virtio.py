"""virtio-blk on every transport and ring, GPT layouts, the root volume."""

import hashlib
import os
import random
import subprocess

import harness
from harness import case, ud

EFS = os.path.join(harness.BUILD, "eclipsefs")
ROOTFS = os.path.join(harness.TOP, "deploy", "rootfs")


def mkimage(t, name, *args):
    out = t.path(name)
    subprocess.run([os.path.join(harness.TOP, "deploy", "mkimage"),
                    "--efi", os.path.join(harness.BUILD, "umbra.efi"),
                    "-o", out] + list(args), check=True,
                   stdout=subprocess.DEVNULL)
    return out


def data_disk(t, name, size, sector, tree, gpt=True):
    """A second disk: an EclipseFS volume (in a GPT partition, or on the
    whole disk) with `sector`-byte logical sectors."""
    out = t.path(name)
    with open(out, "wb") as f:
        f.truncate(size)
    if gpt:
        first = (1 << 20) // sector
        last = size // sector - 34 * 8
        ud.write_gpt(out, sector, [(first, last, ud.LINUX_FS_GUID, "data")])
        part = ["--offset", str(first * sector)]
    else:
        part = ["--offset", "0"]
    subprocess.run([EFS, "mkfs", out] + part + ["--from", tree], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def expect_rootfs(r):
    r.expect(r"^root: [a-z0-9]+ mounted \(EclipseFS")
    r.expect(r"^Welcome to umbra: one UEFI image")


CMDS = "lsblk; ls -l /; cat /etc/motd"


@case("virtio: default transitional device, modern transport")
def transitional(t):
    r = t.boot(cmd=CMDS)
    r.expect_status(0)
    r.expect(r'^vda +virtio +128\.0M +512 rw model="virtio-blk modern, '
             r'split ring, indirect" .*cache=write-back queue=256 discard write-zeroes$')
    r.expect(r"^vda2 +part .*\(root\)$")
    r.expect(r"^drwxr-xr-x +2 +0 +0 +0 etc$")
    expect_rootfs(r)
    r.expect(r"^timeline: .* blk=\d+us mount=\d+us screen=\d+us "
             r"app_ready=\d+us$")


@case("virtio: legacy-only device (disable-modern=on)")
def legacy(t):
    r = t.boot(cmd=CMDS, disk_extra="disable-modern=on")
    r.expect_status(0)
    r.expect(r'model="virtio-blk legacy, split ring')
    expect_rootfs(r)


@case("virtio: modern-only device (disable-legacy=on)")
def modern_only(t):
    r = t.boot(cmd=CMDS, disk_extra="disable-legacy=on")
    r.expect_status(0)
    r.expect(r'model="virtio-blk modern, split ring')
    expect_rootfs(r)


@case("virtio: packed ring (packed=on)")
def packed(t):
    r = t.boot(cmd=CMDS + "; sha256 /README.txt", disk_extra="packed=on")
    r.expect_status(0)
    r.expect(r'model="virtio-blk modern, packed ring, indirect"')
    expect_rootfs(r)
    want = hashlib.sha256(open(os.path.join(ROOTFS, "README.txt"),
                               "rb").read()).hexdigest()
    r.expect(rf"^{want}  /README.txt$")


@case("virtio: packed ring without indirect descriptors or event index")
def packed_chains(t):
    r = t.boot(cmd=CMDS, disk_extra="packed=on,indirect_desc=off,"
               "event_idx=off")
    r.expect_status(0)
    r.expect(r'model="virtio-blk modern, packed ring" .*queue=85')
    expect_rootfs(r)


@case("virtio: split ring without indirect descriptors or event index")
def split_chains(t):
    r = t.boot(cmd=CMDS, disk_extra="indirect_desc=off,event_idx=off")
    r.expect_status(0)
    r.expect(r'model="virtio-blk modern, split ring" .*queue=85')
    expect_rootfs(r)


@case("virtio: 4 KiB logical sectors, GPT with 4 KiB LBAs")
def sectors_4k(t):
    boot = mkimage(t, "boot.img")
    data = data_disk(t, "data.img", 64 << 20, 4096, ROOTFS)
    r = t.boot(cmd=CMDS, disks=[boot, data], disk_extra=None,
               disk_extras=["", "logical_block_size=4096,"
                                "physical_block_size=4096"])
    r.expect_status(0)
    r.expect(r"^vdb +virtio +64\.0M +4096 rw")
    r.expect(r"^vdb1 +part +\S+ +4096 rw start=256 .*\(root\)$")
    expect_rootfs(r)


@case("virtio: an unpartitioned disk holding EclipseFS is a volume too")
def whole_disk(t):
    boot = mkimage(t, "boot.img")
    data = data_disk(t, "data.img", 16 << 20, 512, ROOTFS, gpt=False)
    r = t.boot(cmd=CMDS, disks=[boot, data])
    r.expect_status(0)
    r.expect(r"^vdb +virtio .*\(root\)$")
    expect_rootfs(r)


@case("virtio: read-only drive (F_RO): mounted read-only, writes refused")
def read_only(t):
    img = t.copy_disk()
    r = t.boot(cmd="set +e; " + CMDS + "; write /x y; bench seqwrite vda1",
               disks=[(img, "raw", True)])
    r.expect(r"^vda +virtio +128\.0M +512 ro ")
    r.expect(r"^root: vda2 mounted \(EclipseFS, read-only\)$")
    r.expect(r"^write: /x: read-only$")
    r.expect(r"^bench: vda1: the device is read-only$")
    r.expect_status(1)


@case("virtio: two disks, both listed, root on the first")
def two_disks(t):
    second = data_disk(t, "data.img", 32 << 20, 512, ROOTFS)
    r = t.boot(cmd=CMDS, disks=[t.fresh_disk(), second])
    r.expect_status(0)
    r.expect(r"^vda +virtio ")
    r.expect(r"^vdb +virtio +32\.0M ")
    r.expect(r"^vdb1 +part ")
    r.expect(r"^vda2 +part .*\(root\)$")


@case("virtio: a disk without EclipseFS: a clear message, the app runs")
def no_efs(t):
    img = mkimage(t, "noefs.img")
    r = t.boot(cmd="lsblk; ls", disks=[img])
    r.expect(r"^root: no EclipseFS volume found; the shell runs without "
             r"one$")
    r.expect(r"^ls: no volume mounted$")
    r.expect_status(1)


@case("virtio: EclipseFS partition at 513 MiB (the Eclipse OS layout)")
def at_513(t):
    img = mkimage(t, "eclipse.img", "--size", "600M", "--fs", ROOTFS,
                  "--fs-start", "513M")
    r = t.boot(cmd=CMDS, disks=[img])
    r.expect_status(0)
    r.expect(r"^vda2 +part .* start=1050624 .*\(root\)$")
    expect_rootfs(r)


@case("virtio: a 64 MiB file reads back exactly (sha256)", timeout=180)
def big_file(t):
    tree = t.path("tree")
    os.makedirs(tree)
    data = random.Random(64).randbytes(64 << 20)
    with open(os.path.join(tree, "big.bin"), "wb") as f:
        f.write(data)
    img = mkimage(t, "big.img", "--size", "160M", "--fs", tree)
    r = t.boot(cmd="sha256 /big.bin", disks=[img])
    r.expect_status(0)
    r.expect(rf"^{hashlib.sha256(data).hexdigest()}  /big.bin$")
