"""NVMe, the disk that clouds give: the root volume on it, 4 KiB LBAs,
two namespaces, and an injected read error."""

import os

import harness
from harness import case, ud
from test_virtio import data_disk, expect_rootfs, mkimage, ROOTFS
from test_ata import README_SHA, persist

CMDS = "lsblk; ls -l /; cat /etc/motd; sha256 /README.txt"


def nvme_args(ctrl, disks, lbs=None):
    """One controller with a namespace per disk: (path, fmt)."""
    args = ["-device", f"nvme,id={ctrl},serial={ctrl}-serial"]
    for i, (path, fmt) in enumerate(disks):
        args += ["-drive", f"if=none,id={ctrl}d{i},format={fmt},file={path}"]
        ns = f"nvme-ns,drive={ctrl}d{i},bus={ctrl},nsid={i + 1}"
        if lbs:
            ns += f",logical_block_size={lbs},physical_block_size={lbs}"
        args += ["-device", ns]
    return args


@case("nvme: root volume on NVMe, read and checked")
def nvme_root(t):
    r = t.boot(cmd=CMDS, bus="nvme")
    r.expect_status(0)
    r.expect(r'^nvme0n1 +nvme +128\.0M +512 rw model="QEMU NVMe Ctrl '
             r'\(namespace 1\)" serial="umbra0" cache=write-back')
    r.expect(r"^nvme0n1p2 +part .*\(root\)$")
    expect_rootfs(r)
    r.expect(rf"^{README_SHA}  /README.txt$")


@case("nvme: write, sync, reboot, read back")
def nvme_persist(t):
    persist(t, "nvme", "q35", "nvme")


@case("nvme: 4 KiB LBA format")
def nvme_4k(t):
    boot = mkimage(t, "boot.img")
    data = data_disk(t, "data.img", 64 << 20, 4096, ROOTFS)
    r = t.boot(cmd=CMDS + "; write /w four k; sync; cat /w", disks=[boot],
               extra=nvme_args("nv", [(data, "raw")], lbs=4096))
    r.expect_status(0)
    r.expect(r"^nvme0n1 +nvme +64\.0M +4096 rw ")
    r.expect(r"^nvme0n1p1 +part .* 4096 rw start=256 .*\(root\)$")
    r.expect(r"^four k$")
    expect_rootfs(r)


@case("nvme: two namespaces on one controller")
def nvme_two(t):
    boot = mkimage(t, "boot.img")
    one = data_disk(t, "one.img", 32 << 20, 512, ROOTFS)
    two = t.path("two.img")
    with open(two, "wb") as f:
        f.truncate(16 << 20)
    r = t.boot(cmd=CMDS + "; bench -n 100 randread nvme0n2", disks=[boot],
               extra=nvme_args("nv", [(one, "raw"), (two, "raw")]))
    r.expect_status(0)
    r.expect(r"^nvme0n1 +nvme +32\.0M .*\(namespace 1\)")
    r.expect(r"^nvme0n2 +nvme +16\.0M .*\(namespace 2\)")
    r.expect(r"^nvme0n1p1 .*\(root\)$")
    r.expect(r"^bench: randread nvme0n2 bs=4096 depth=1: 100 ops")


@case("nvme: an injected read error is reported and the app goes on")
def nvme_read_error(t):
    tree = t.path("tree")
    os.makedirs(tree)
    # The bad sector lies deep inside a file, far from the metadata that
    # mounting reads (and reads ahead).
    marker = b"UMBRA-BAD-SECTOR-MARKER" * 100
    with open(os.path.join(tree, "bad.bin"), "wb") as f:
        f.write(b"\0" * (256 << 10) + marker + b"\0" * (64 << 10))
    with open(os.path.join(tree, "good.txt"), "w") as f:
        f.write("still readable\n")
    boot = mkimage(t, "boot.img")
    data = data_disk(t, "data.img", 16 << 20, 512, tree)
    at = open(data, "rb").read().find(marker)
    conf = t.path("blkdebug.conf")
    with open(conf, "w") as f:
        f.write(f'[inject-error]\nevent = "read_aio"\niotype = "read"\n'
                f'errno = "5"\nsector = "{at // 512 + 1}"\n')
    if at < 0:
        raise harness.Fail("marker not found in the image")
    extra = ["-device", "nvme,id=nv,serial=bad",
             "-drive", f"if=none,id=bad,format=raw,file=blkdebug:{conf}:{data}",
             "-device", "nvme-ns,drive=bad,bus=nv,nsid=1"]
    r = t.boot(cmd="set +e; cat /good.txt; sha256 /bad.bin; echo after; "
               "cat /good.txt", disks=[boot], extra=extra)
    err = (r"read error on nvme0n1 at LBA \d+ \(\+\d+\): I/O error reported "
           r"by the device: (unrecovered read error|internal error|data "
           r"transfer error) \(status 0x\w+\)")
    r.expect(rf"^{err}$")
    r.expect(rf"^sha256: /bad\.bin: {err}$")
    r.expect(r"^after\nstill readable$")
    r.expect_status(1)
