"""deploy/: images in every format, checked by the tools that read them
and booted; the libvirt domain against libvirt's schema; Secure Boot with
Debian's snakeoil keys (the signed image boots, the unsigned one is
refused)."""

import os
import subprocess
import time

import harness
from harness import case, ud
from test_virtio import expect_rootfs, ROOTFS

MKIMAGE = os.path.join(harness.TOP, "deploy", "mkimage")


def mk(t, name, *args):
    out = t.path(name)
    subprocess.run([MKIMAGE, "--efi", os.path.join(harness.BUILD,
                                                   "umbra.efi"),
                    "--fs", ROOTFS, "-o", out] + list(args), check=True,
                   stdout=subprocess.DEVNULL)
    return out


def tool(t, argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


@case("deploy: mkimage raw: sgdisk -v clean, ESP readable by mtools")
def raw_checked(t):
    img = mk(t, "disk.img")
    rc, out = tool(t, [t.cfg["sgdisk"], "-v", img])
    if rc or "No problems found" not in out:
        raise harness.Fail("sgdisk -v: " + out)
    mdir = os.path.join(os.path.dirname(t.cfg["mcopy"]), "mdir")
    rc, out = tool(t, [mdir, "-i", f"{img}@@{1 << 20}", "::/EFI/BOOT"])
    if rc or "BOOTX64  EFI" not in out:
        raise harness.Fail("mdir: " + out)
    rc, out = tool(t, [t.cfg["qemu_img"], "check", "-f", "raw", img])
    r = t.boot(cmd="cat /etc/motd", disks=[img])
    r.expect_status(0)
    expect_rootfs(r)


def boot_format(t, fmt, ext, qfmt):
    img = mk(t, f"disk.{ext}", "--format", fmt)
    rc, out = tool(t, [t.cfg["qemu_img"], "info", "-f", qfmt, img])
    if rc or f"file format: {qfmt}" not in out or "128 MiB" not in out:
        raise harness.Fail("qemu-img info: " + out)
    if qfmt in ("qcow2", "vmdk"):
        rc, out = tool(t, [t.cfg["qemu_img"], "check", "-f", qfmt, img])
        if rc:
            raise harness.Fail("qemu-img check: " + out)
    r = t.boot(cmd="lsblk; cat /etc/motd", disks=[(img, qfmt)],
               extra=["-snapshot"])
    r.expect_status(0)
    expect_rootfs(r)
    return img


@case("deploy: mkimage qcow2 boots")
def qcow2(t):
    boot_format(t, "qcow2", "qcow2", "qcow2")


@case("deploy: mkimage vmdk (stream-optimized) boots")
def vmdk(t):
    img = boot_format(t, "vmdk", "vmdk", "vmdk")
    rc, out = tool(t, [t.cfg["qemu_img"], "info", img])
    if "streamOptimized" not in out:
        raise harness.Fail("not stream-optimized: " + out)


@case("deploy: mkimage vhd (fixed, Azure) boots")
def vhd(t):
    img = boot_format(t, "vhd", "vhd", "vpc")
    size = os.path.getsize(img)
    if size != (128 << 20) + 512:
        raise harness.Fail(f"fixed VHD is {size} bytes, not 128 MiB + 512")
    with open(img, "rb") as f:
        f.seek(-512, 2)
        if f.read(8) != b"conectix":
            raise harness.Fail("no VHD footer")


@case("deploy: mkimage gce tarball holds disk.raw (oldgnu, sparse)")
def gce(t):
    out = mk(t, "image.tar.gz", "--format", "gce", "--size", "1G")
    rc, listing = tool(t, ["tar", "-tvzf", out])
    if rc or "disk.raw" not in listing or "1073741824" not in listing:
        raise harness.Fail("tar: " + listing)
    if os.path.getsize(out) > 8 << 20:
        raise harness.Fail("the tarball is not sparse")
    subprocess.run(["tar", "-xzf", out, "-C", t.dir], check=True)
    rc, out = tool(t, [t.cfg["sgdisk"], "-v", os.path.join(t.dir,
                                                            "disk.raw")])
    if "No problems found" not in out:
        raise harness.Fail("sgdisk -v disk.raw: " + out)


@case("deploy: mkimage with 4 KiB logical sectors boots on a 4K disk")
def sectors_4k(t):
    img = mk(t, "disk4k.img", "--sector", "4096", "--size", "400M")
    r = t.boot(cmd="lsblk; cat /etc/motd", disks=[img],
               disk_extra="logical_block_size=4096,physical_block_size=4096")
    r.expect_status(0)
    r.expect(r"^vda +virtio +400\.0M +4096 rw")
    r.expect(r"^vda2 +part .*4096 rw .*\(root\)$")
    expect_rootfs(r)


@case("deploy: the libvirt domain passes virt-xml-validate")
def libvirt(t):
    xml = os.path.join(harness.TOP, "deploy", "libvirt", "umbra.xml")
    validate = t.cfg.get("virt_xml_validate")
    if not validate:
        raise harness.Fail("virt-xml-validate was not found by configure")
    rc, out = tool(t, [validate, xml, "domain"])
    if rc or "validates" not in out:
        raise harness.Fail("virt-xml-validate: " + out)


def signed_image(t):
    efi = t.path("signed.efi")
    env = dict(os.environ, SNAKEOIL="snakeoil")
    subprocess.run([os.path.join(harness.TOP, "deploy", "sign"),
                    "--key", "/usr/share/ovmf/PkKek-1-snakeoil.key",
                    "--cert", "/usr/share/ovmf/PkKek-1-snakeoil.pem",
                    "--passphrase-env", "SNAKEOIL", "-o", efi],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    img = t.path("signed.img")
    subprocess.run([MKIMAGE, "--efi", efi, "-o", img], check=True,
                   stdout=subprocess.DEVNULL)
    return img


def secure_argv(t, img, cmd):
    vars_path = ud.ovmf_vars_copy(t.cfg, t.dir, secure=True)
    argv = ud.qemu_argv(t.cfg, vars_path, accel_name=ud.accel(t.cfg),
                        cmd=cmd, secure=True)
    return argv + ud.disk_args(img, "virtio", 0) + ["-serial", "stdio"]


@case("deploy: Secure Boot: the signed image boots")
def secure_signed(t):
    argv = secure_argv(t, signed_image(t), "echo secure boot ok")
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    log = p.stdout.decode("utf-8", "replace")
    t.logs.append((argv, log))
    if "secure boot ok" not in log or ud.decode_status(p.returncode) != 0:
        raise harness.Fail(f"signed image did not run (rc {p.returncode})")


@case("deploy: Secure Boot: the unsigned image is refused")
def secure_unsigned(t):
    img = t.path("unsigned.img")
    subprocess.run([MKIMAGE, "--efi", os.path.join(harness.BUILD,
                                                   "umbra.efi"), "-o", img],
                   check=True, stdout=subprocess.DEVNULL)
    argv = secure_argv(t, img, "echo must not run")
    # The firmware says Access Denied and waits: bound it, then stop it.
    q = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.set_blocking(q.stdout.fileno(), False)
    log, end = b"", time.time() + 60
    while time.time() < end and b"Access Denied" not in log:
        chunk = q.stdout.read()
        if chunk:
            log += chunk
        elif q.poll() is not None:
            break
        else:
            time.sleep(0.2)
    q.kill()
    q.wait()
    text = log.decode("utf-8", "replace")
    t.logs.append((argv, text))
    if "Access Denied" not in text:
        raise harness.Fail("no Access Denied from the firmware")
    if "must not run" in text or "umbra " in text:
        raise harness.Fail("the unsigned image ran")
