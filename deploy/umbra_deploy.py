"""Shared by deploy/run, deploy/mkimage, the QEMU tests and the benchmark:
the tool paths configure found, disk images made with sgdisk and mtools,
and QEMU command lines for umbra."""

import os
import shutil
import subprocess
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
KERNEL = os.path.join(TOP, "build", "umbra.elf")
SECTOR = 512
MIB = 1 << 20
ESP_START = 1 * MIB


class DeployError(Exception):
    """A clear, one-line error for the user."""


def config():
    """The key = value pairs of config.ninja (written by ./configure)."""
    path = os.path.join(TOP, "config.ninja")
    if not os.path.exists(path):
        raise DeployError("config.ninja is missing: run ./configure first")
    cfg = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                cfg[k.strip()] = v.strip()
    return cfg


def tool(cfg, name):
    path = cfg.get(name, "")
    if not path:
        raise DeployError(f"{name} was not found by ./configure")
    return path


def run_tool(argv, what):
    """Runs a helper tool; raises DeployError with its stderr on failure."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        msg = (p.stderr or p.stdout).strip().splitlines()
        raise DeployError(f"{what} failed: {msg[-1] if msg else argv[0]}")
    return p.stdout


def parse_size(s):
    """'64M', '2G', '512K', '1048576' -> bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    s = s.strip().upper().removesuffix("IB").removesuffix("B")
    try:
        if s and s[-1] in units:
            return int(float(s[:-1]) * units[s[-1]])
        return int(s)
    except ValueError:
        raise DeployError(f"not a size: {s!r} (use e.g. 64M or 2G)")


def make_esp(cfg, img, offset, size, efi_path, sector=SECTOR):
    """Formats [offset, offset+size) of img as FAT32 with `sector`-byte
    sectors and puts efi_path at EFI/BOOT/BOOTX64.EFI (the UEFI
    removable-media path, UEFI 2.10 §3.5.1.1)."""
    where = f"{img}@@{offset}"
    argv = [tool(cfg, "mformat"), "-i", where, "-F", "-c", "1",
            "-H", str(offset // sector), "-T", str(size // sector),
            "-h", "64", "-s", "32", "-v", "UMBRA"]
    if sector == 4096:
        argv += ["-S", "5", "-M", "4096"]	# sector size 128 << 5
    run_tool(argv + ["::"], "mformat")
    mmd = os.path.join(os.path.dirname(tool(cfg, "mcopy")), "mmd")
    run_tool([mmd, "-i", where, "::/EFI", "::/EFI/BOOT"], "mmd")
    run_tool([tool(cfg, "mcopy"), "-i", where, efi_path,
              "::/EFI/BOOT/BOOTX64.EFI"], "mcopy")


def ovmf_vars_copy(cfg, directory, secure=False):
    """A fresh copy of the OVMF variable store (one per VM)."""
    dst = os.path.join(directory, "OVMF_VARS.fd")
    shutil.copyfile(tool(cfg, "ovmf_vars_sb" if secure else "ovmf_vars"),
                    dst)
    return dst


def disk_format(path):
    """QEMU's format name for an image, by its extension."""
    ext = os.path.splitext(path)[1].lower()
    return {".qcow2": "qcow2", ".vmdk": "vmdk", ".vhd": "vpc"}.get(ext, "raw")


def accel(cfg, want="auto", pvh=False):
    """'kvm' or 'tcg'. auto takes configure's probe of /dev/kvm: the one
    that boots OVMF, or with pvh the one that boots a PVH kernel (a nested
    KVM can run the second and not the first)."""
    if want in ("kvm", "tcg"):
        return want
    if pvh:
        return cfg.get("accel_pvh", "tcg") or "tcg"
    return cfg.get("accel", "tcg") or "tcg"


def disk_args(path, bus, index, fmt="raw", readonly=False, extra=""):
    """-drive/-device arguments for one disk on the given bus
    (virtio-mmio: a virtio-blk device on microvm's MMIO transports; scsi,
    scsi-mmio: a scsi-hd on a virtio-scsi HBA over PCI or MMIO)."""
    ro = ",readonly=on" if readonly else ""
    drive = f"if=none,id=disk{index},format={fmt},file={path}{ro}"
    if bus == "virtio":
        dev = f"virtio-blk-pci,drive=disk{index}"
    elif bus == "virtio-mmio":
        dev = f"virtio-blk-device,drive=disk{index}"
    elif bus == "ahci":
        dev = f"ide-hd,drive=disk{index},bus=ide.{index}"
    elif bus == "ide":
        dev = f"ide-hd,drive=disk{index},bus=ide.{index // 2},unit={index % 2}"
    elif bus == "nvme":
        dev = f"nvme,id=nvme{index},drive=disk{index},serial=umbra{index}"
    elif bus in ("scsi", "scsi-mmio"):
        # one virtio-scsi HBA; each disk a target of its own, LUN 0
        dev = f"scsi-hd,drive=disk{index},bus=scsi0.0,scsi-id={index},lun=0"
    else:
        raise DeployError(f"unknown disk bus {bus!r}")
    if extra:
        dev += "," + extra
    hba = []
    if bus.startswith("scsi") and index == 0:
        kind = "device" if bus == "scsi-mmio" else "pci"
        hba = ["-device", f"virtio-scsi-{kind},id=scsi0"]
    return hba + ["-drive", drive, "-device", dev]


AGENT_PORT = "org.qemu.guest_agent.0"


def agent_args(path, microvm=False, device_extra=""):
    """The QEMU guest agent's channel: a virtio-serial controller (PCI,
    or virtio-mmio on microvm) with a port named org.qemu.guest_agent.0
    on a unix socket at path that QEMU serves (what libvirt's
    <channel type='unix'> and Proxmox's agent: 1 give)."""
    kind = "virtio-serial-device" if microvm else "virtio-serial-pci"
    extra = "," + device_extra if device_extra else ""
    return ["-chardev", f"socket,id=qga0,path={path},server=on,wait=off",
            "-device", f"{kind},id=vser0{extra}",
            "-device", "virtserialport,bus=vser0.0,chardev=qga0,"
            f"name={AGENT_PORT}"]


def qemu_argv(cfg, vars_path, machine="q35", accel_name="tcg", memory="256M",
              cmd=None, extra=(), secure=False, kernel=None, append=None,
              mmio_version=1):
    """The QEMU command line for umbra (without disks). secure: the
    Secure Boot firmware, which needs SMM and a secure flash. kernel: boot
    that PVH kernel (build/umbra.elf) with -kernel instead of OVMF (always
    on microvm), with append as its command line; mmio_version 2 makes
    microvm's virtio-mmio transports modern (QEMU's default is 1)."""
    if machine.split(",")[0] == "microvm" and kernel is None:
        kernel = KERNEL
    if kernel is not None and not os.path.exists(kernel):
        raise DeployError(f"{kernel}: no such file (run ninja)")
    if secure:
        machine += ",smm=on"
    argv = [tool(cfg, "qemu"), "-machine", machine, "-accel", accel_name,
            "-m", memory, "-nodefaults", "-display", "none"]
    if kernel is not None:
        argv += ["-kernel", kernel]
        if append:
            argv += ["-append", append]
        if mmio_version == 2:
            argv += ["-global", "virtio-mmio.force-legacy=false"]
    else:
        code = tool(cfg, "ovmf_code_sb" if secure else "ovmf_code")
        if secure:
            argv += ["-global",
                     "driver=cfi.pflash01,property=secure,value=on"]
        argv += ["-drive", f"if=pflash,format=raw,readonly=on,file={code}",
                 "-drive", f"if=pflash,format=raw,file={vars_path}"]
    argv += DEBUG_EXIT
    if cmd is not None:
        if "," in cmd:
            # QEMU's option parser splits on ','; ',,' is a literal comma.
            cmd = cmd.replace(",", ",,")
        argv += ["-fw_cfg", f"name=opt/umbra/cmdline,string={cmd}"]
    argv += list(extra)
    return argv


def decode_status(rc):
    """QEMU's exit code after isa-debug-exit is (status << 1) | 1."""
    if rc > 0 and rc & 1:
        return rc >> 1
    return None


def tempdir():
    return tempfile.mkdtemp(prefix="umbra-")


def _guid(seed):
    import hashlib
    return hashlib.sha256(seed.encode()).digest()[:16]


def write_gpt(path, sector, parts, disk_seed="umbra"):
    """A GPT (UEFI 2.10 §5.3) with `sector`-byte logical sectors on the
    existing file at path: protective MBR, primary and backup headers and
    entry arrays. sgdisk cannot write 4096-byte-sector tables into a plain
    file, so this exists for those. parts: (first_lba, last_lba, type_guid
    bytes, name)."""
    import struct
    import zlib
    size = os.path.getsize(path)
    n = size // sector
    nent, esize = 128, 128
    esecs = (nent * esize + sector - 1) // sector
    entries = bytearray(nent * esize)
    for i, (first, last, tguid, name) in enumerate(parts):
        e = struct.pack("<16s16sQQQ", tguid, _guid(f"{disk_seed}{i}"),
                        first, last, 0) + name.encode("utf-16-le")
        entries[i * esize:i * esize + len(e)] = e
    ecrc = zlib.crc32(entries)

    def header(my, alt, elba):
        h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0,
                        my, alt, 2 + esecs, n - 2 - esecs,
                        _guid(disk_seed), elba, nent, esize, ecrc)
        crc = zlib.crc32(h)
        return h[:16] + struct.pack("<I", crc) + h[20:]

    mbr = bytearray(512)
    mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\0\x02\0", 0xEE,
                               b"\xff\xff\xff", 1, min(n - 1, 0xFFFFFFFF))
    mbr[510:512] = b"\x55\xaa"
    with open(path, "r+b") as f:
        f.write(mbr)
        f.seek(sector)
        f.write(header(1, n - 1, 2))
        f.seek(2 * sector)
        f.write(entries)
        f.seek((n - 1 - esecs) * sector)
        f.write(entries)
        f.seek((n - 1) * sector)
        f.write(header(n - 1, 1, n - 1 - esecs).ljust(sector, b"\0"))


LINUX_FS_GUID = bytes.fromhex("af3dc60f838472478e793d69d8477de4")
