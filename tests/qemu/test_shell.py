"""The shell: every command's success and failure, script sources and
their precedence, persistence across a reboot, and the interactive line
editor over a socket."""

import os
import subprocess

import harness
from harness import case, ud
from test_virtio import mkimage, EFS, ROOTFS


@case("shell: file commands succeed and fail clearly")
def file_commands(t):
    cmds = [
        "set +e",
        "write /etc/note hello world", "cat /etc/note",
        "append /etc/note again", "cat /etc/note",
        "mkdir /data", "mkdir /data", "mkdir -p /data/a/b/c",
        "cp /etc/note /data", "cat /data/note",
        "cp /etc/note /data/copy", "mv /data/copy /data/moved",
        "ln -s /data/moved /link", "cat /link", "ls -l /",
        "tree /data", "stat /data/moved",
        "rm /data/moved", "cat /data/moved", "rmdir /data",
        "rmdir /data/a/b/c", "rm /nope", "cat", "ln /a /b",
        "mv /nope /x", "df", "sync", "fsck", "compact",
        "write 'quoted name' \"two words\"", "cat '/quoted name'",
        "sha256 /etc/note",
    ]
    r = t.boot(cmd="; ".join(cmds))
    r.expect_status(1)	# the first failure's status
    r.expect(r"^hello world\nhello world\nagain\n")
    r.expect(r"^mkdir: /data: already exists$")
    r.expect(r"^lrwxrwxrwx +1 +0 +0 +11 link -> /data/moved$")
    r.expect(r"^/data\n  a/\n    b/\n      c/\n  note\n  moved\n")
    r.expect(r"^kind: file\nmode: 100644\n")
    r.expect(r"^cat: /data/moved: no such file or directory$")
    r.expect(r"^rmdir: /data: directory not empty$")
    r.expect(r"^rm: /nope: no such file or directory$")
    r.expect(r"^cat: usage: cat PATH\.\.\.$")
    r.expect(r"^ln: usage: ln -s TARGET PATH")
    r.expect(r"^mv: /nope -> /x: no such file or directory$")
    r.expect(r"^df: \d+ \d+ \d+ \d+ \d+ \d+$")
    r.expect(r"^fsck: .* 0 errors, 0 repaired$")
    r.expect(r"^compact: \d+ records moved \(\d+ bytes\) in \d+ "
             r"transactions; largest free piece \d+ -> \d+ bytes")
    r.expect(r"^two words$")
    import hashlib
    want = hashlib.sha256(b"hello world\nagain\n").hexdigest()
    r.expect(rf"^{want}  /etc/note$")


def gpt_start(path, index, sector=512):
    """Byte offset of GPT partition `index` (from 1) of a disk image."""
    with open(path, "rb") as f:
        f.seek(2 * sector + (index - 1) * 128 + 32)
        return int.from_bytes(f.read(8), "little") * sector


def host(*argv):
    p = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


@case("shell: an image from the original tools, table full, takes 1000 "
      "files")
def original_image(t):
    img = mkimage(t, "orig.img", "--fs", ROOTFS)
    # Reformat the volume exactly as the original writer would: no spare
    # slot, no journal, no umbra sector.
    rc, out = host(EFS, "mkfs", img, "--part", "2", "--plain", "--from",
                   ROOTFS)
    if rc:
        raise harness.Fail("mkfs --plain: " + out)
    for start, end in ((0, 334), (334, 667), (667, 1000)):
        cmds = ["mkdir -p /out"] + [f"write /out/f{i} {i}"
                                    for i in range(start, end)]
        r = t.boot(cmd="; ".join(cmds + ["fsck"]), disks=[img])
        r.expect(r"^fsck: .* 0 errors, 0 repaired$")
        r.expect_status(0)
    rc, out = host(EFS, "fsck", img)
    if rc or " 0 errors" not in out:
        raise harness.Fail("eclipsefs fsck: " + out)
    rc, out = host(EFS, "ls", img, "/out")
    if len(out.split()) != 1000:
        raise harness.Fail(f"/out holds {len(out.split())} files")
    rc, out = host(EFS, "cat", img, "/out/f777")
    if out != "777\n":
        raise harness.Fail(f"/out/f777 holds {out!r}")
    rc, out = host(os.path.join(harness.BUILD, "efs-rules"), img,
                   gpt_start(img, 2))
    if not out.startswith("rules: ok (8-byte"):
        raise harness.Fail(out)


@case("shell: system commands and their errors")
def sys_commands(t):
    r = t.boot(cmd="set +e; help; echo a b; sleep 10; sleep x; mem; "
               "timeline; lspci; lsblk; bench -n 100 randread vda; "
               "bench -n 100 randwrite vda; bench frob vda; poweroff 300")
    r.expect(r"^  poweroff \[STATUS\] +sync and power off")
    r.expect(r"^  bench ")
    r.expect(r"^a b$")
    r.expect(r"^sleep: usage: sleep MS")
    r.expect(r"^bench: randread vda bs=4096 depth=1: 100 ops in \d+ us: "
             r"\d+ IOPS")
    r.expect(r"^bench: vda holds the mounted volume: writing it raw would "
             r"destroy it$")
    r.expect(r"^bench: unknown mode frob$")
    r.expect(r"^poweroff: usage: poweroff \[STATUS\] \(0 to 127\)$")
    r.expect(r"^script: exit status 2$")
    r.expect_status(2)


@case("shell: commands from SMBIOS type 11; fw_cfg wins over it")
def smbios(t):
    r = t.boot(extra=["-smbios", "type=11,value=umbra.cmdline=echo from "
                      "smbios; poweroff 6"])
    r.expect(r"^script: from SMBIOS OEM string umbra\.cmdline$")
    r.expect(r"^from smbios$")
    r.expect_status(6)
    r = t.boot(cmd="echo from fw_cfg", extra=[
        "-smbios", "type=11,value=umbra.cmdline=poweroff 6"])
    r.expect(r"^from fw_cfg$")
    r.expect_status(0)


def rc_image(t, text):
    tree = t.path("rc-tree")
    os.makedirs(os.path.join(tree, "etc"))
    with open(os.path.join(tree, "etc", "rc"), "w") as f:
        f.write(text)
    return mkimage(t, "rc.img", "--fs", tree)


@case("shell: /etc/rc runs when nothing else gives commands")
def etc_rc(t):
    img = rc_image(t, "# comment\necho from rc\nset +e\nnosuch\n"
                      "echo still\n")
    r = t.boot(disks=[img])
    r.expect(r"^script: from /etc/rc$")
    r.expect(r"^from rc\n")
    r.expect(r"^still$")
    r.expect_status(127)
    r = t.boot(disks=[img], extra=[
        "-smbios", "type=11,value=umbra.cmdline=echo smbios wins"])
    r.expect(r"^smbios wins$")
    r.expect_not(r"^from rc$")
    r.expect_status(0)


@case("shell: written data survives sync and a reboot; the host tool "
      "reads it")
def persist(t):
    img = t.copy_disk()
    r = t.boot(cmd="write /etc/saved kept across reboots; "
               "append /etc/saved line two; sync; reboot",
               disks=[img], extra=["-no-reboot"])
    if r.rc != 0:
        raise harness.Fail(f"reboot: QEMU rc {r.rc}")
    r = t.boot(cmd="cat /etc/saved; fsck", disks=[img])
    r.expect_status(0)
    r.expect(r"^kept across reboots\nline two$")
    r.expect(r"^fsck: .* 0 errors, 0 repaired$")
    out = subprocess.run([EFS, "cat", img, "/etc/saved"],
                         capture_output=True, text=True)
    if out.stdout != "kept across reboots\nline two\n":
        raise harness.Fail(f"host tool read {out.stdout!r} {out.stderr}")
    fsck = subprocess.run([EFS, "fsck", img], capture_output=True, text=True)
    if fsck.returncode:
        raise harness.Fail("host fsck: " + fsck.stdout)


@case("shell: interactive over the serial line, with line editing")
def interactive(t):
    vm = t.start()
    vm.until("umbra> ")
    vm.send("ecgo\x7f\x7fho one\r")		# backspace
    out = vm.until("umbra> ")
    if "\none\n" not in out:
        raise harness.Fail(f"backspace: {out!r}")
    vm.send("garbage\x15echo two\r")		# Ctrl-U
    out = vm.until("umbra> ")
    if "two\n" not in out or "garbage:" in out:
        raise harness.Fail(f"Ctrl-U: {out!r}")
    vm.send("never\x03")			# Ctrl-C drops the line
    out = vm.until("umbra> ")
    if "^C" not in out or "never:" in out:
        raise harness.Fail(f"Ctrl-C: {out!r}")
    vm.send("\x1b[A\x1b[A\r")			# history: two lines up
    out = vm.until("umbra> ")
    if "\none\n" not in out:
        raise harness.Fail(f"history: {out!r}")
    vm.send("nosuch\r")
    out = vm.until("umbra> ")
    if "nosuch: unknown command (try 'help')" not in out:
        raise harness.Fail(f"error line: {out!r}")
    vm.send("poweroff 5\r")
    if vm.wait_exit() != 5:
        raise harness.Fail("wanted status 5")
