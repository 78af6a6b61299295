"""The QEMU test harness: each case boots build/umbra.efi under QEMU+OVMF
(or build/umbra.elf as a PVH kernel: microvm, q35/pc -kernel)
on fresh disk images with a timeout, reads the serial log and the status
umbra left through isa-debug-exit, and keeps the log of a failing case in
build/test-logs/. Cases run two at a time (one per core)."""

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "deploy"))
import umbra_deploy as ud  # noqa: E402

BUILD = os.path.join(TOP, "build")
LOGS = os.path.join(BUILD, "test-logs")
BASE_IMAGE = os.path.join(BUILD, "umbra.img")
KERNEL = ud.KERNEL
DEFAULT_TIMEOUT = 90

CASES = []


class Fail(Exception):
    pass


def case(name, timeout=DEFAULT_TIMEOUT):
    """Registers a test case: fn(t) with t a Test."""
    def wrap(fn):
        CASES.append((name, fn, timeout))
        return fn
    return wrap


class Result:
    def __init__(self, rc, log, argv, elapsed):
        self.rc = rc
        self.log = log
        self.argv = argv
        self.elapsed = elapsed
        self.status = ud.decode_status(rc) if rc is not None else None

    def expect_status(self, want):
        if self.rc is None:
            raise Fail(f"timed out; wanted status {want}")
        if self.status != want:
            raise Fail(f"status {self.status} (QEMU rc {self.rc}), "
                       f"wanted {want}")

    def expect(self, pattern, flags=re.M):
        m = re.search(pattern, self.log, flags)
        if not m:
            raise Fail(f"serial output lacks /{pattern}/")
        return m

    def expect_not(self, pattern, flags=re.M):
        m = re.search(pattern, self.log, flags)
        if m:
            raise Fail(f"serial output has /{pattern}/: {m.group(0)!r}")


class Live:
    """A VM left running: its serial console on a socket (until, send),
    QMP on another (qmp), QEMU's own CPU time (cpu_seconds), and its end
    (wait_exit). Made by Test.start; killed at cleanup if still up.

    A thread reads the console all the time: QEMU writes it a byte per
    write, and a few hundred bytes left unread fill the socket, after
    which the guest's UART gives up waiting and drops characters."""

    def __init__(self, argv, directory):
        self.con_path = os.path.join(directory, "serial.sock")
        self.qmp_path = os.path.join(directory, "qmp.sock")
        argv = argv + [
            "-chardev", f"socket,id=con,path={self.con_path},server=on,"
            "wait=on", "-serial", "chardev:con",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.con = self._connect(self.con_path)
        self.log = b""		# read by until, not yet returned
        self.seen = b""		# everything read
        self.closed = False
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                chunk = self.con.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                chunk = b""
            with self.cond:
                if not chunk:
                    self.closed = True
                    self.cond.notify_all()
                    return
                self.log += chunk
                self.seen += chunk
                self.cond.notify_all()

    @staticmethod
    def _connect(path):
        s = socket.socket(socket.AF_UNIX)
        for _ in range(200):
            try:
                s.connect(path)
                s.settimeout(0.5)
                return s
            except OSError:
                time.sleep(0.05)
        raise Fail(f"cannot connect to {path}")

    def until(self, pattern, seconds=60):
        """Reads the console until pattern (a string); returns what came
        up to its end (CR LF as LF)."""
        end = time.time() + seconds
        with self.cond:
            while pattern.encode() not in self.log:
                if self.closed:
                    raise Fail(f"console closed before {pattern!r}")
                if time.time() > end:
                    raise Fail(f"no {pattern!r} on the console")
                self.cond.wait(0.5)
            i = self.log.index(pattern.encode()) + len(pattern)
            out, self.log = self.log[:i], self.log[i:]
        return out.decode("utf-8", "replace").replace("\r\n", "\n")

    def send(self, keys):
        for k in keys:	# one key at a time, as a person types
            self.con.send(k.encode())
            time.sleep(0.01)

    def qmp(self, command, arguments=None):
        """Runs one QMP command (after the capabilities handshake), with
        its arguments (a dict) when given."""
        s = self._connect(self.qmp_path)
        s.settimeout(30)
        f = s.makefile("rw")
        f.readline()	# the greeting
        for cmd, args in (("qmp_capabilities", None), (command, arguments)):
            msg = {"execute": cmd}
            if args is not None:
                msg["arguments"] = args
            f.write(json.dumps(msg) + "\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "return" in reply or "error" in reply:
                    break
        s.close()
        return reply

    def cpu_seconds(self):
        """User + system CPU time QEMU has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / \
            os.sysconf("SC_CLK_TCK")

    def wait_exit(self, seconds=60):
        """Waits for QEMU to end; returns umbra's status, reading the
        console's rest into self.seen."""
        try:
            rc = self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise Fail(f"QEMU still running after {seconds} s")
        self.reader.join(10)	# the console's rest
        return ud.decode_status(rc)

    def text(self):
        with self.cond:
            seen = self.seen
        return seen.decode("utf-8", "replace").replace("\r\n", "\n")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(10)
        self.con.close()


class Test:
    """One case's sandbox: a temp dir, disks, and QEMU runs."""

    def __init__(self, name, timeout):
        self.name = name
        self.timeout = timeout
        self.cfg = ud.config()
        self.dir = ud.tempdir()
        self.logs = []
        self.live = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def fresh_disk(self, base=BASE_IMAGE, name="boot.qcow2"):
        """A qcow2 overlay on base: the case's writes never reach base."""
        out = self.path(name)
        ud.run_tool([self.cfg["qemu_img"], "create", "-q", "-f", "qcow2",
                     "-b", os.path.abspath(base), "-F", "raw", out],
                    "qemu-img create")
        return out

    def copy_disk(self, base=BASE_IMAGE, name="boot.img"):
        """A sparse raw copy of base."""
        out = self.path(name)
        subprocess.run(["cp", "--sparse=always", base, out], check=True)
        return out

    def blkdebug(self, image, event, iotype, errno, sector=None):
        """image behind QEMU's blkdebug driver, which fails the requests
        of `event` and `iotype` ("read"/"write") with errno (at `sector`
        only, when given): what -drive file= takes."""
        conf = self.path(f"blkdebug{len(os.listdir(self.dir))}.conf")
        with open(conf, "w") as f:
            f.write(f'[inject-error]\nevent = "{event}"\niotype = '
                    f'"{iotype}"\nerrno = "{errno}"\n')
            if sector is not None:
                f.write(f'sector = "{sector}"\n')
        return f"blkdebug:{conf}:{image}"

    def put_random(self, image, path, size):
        """A file of `size` random bytes put at `path` on the volume in
        image (with the host tool); returns its sha256."""
        data = os.urandom(size)
        local = self.path(os.path.basename(path) + ".data")
        with open(local, "wb") as f:
            f.write(data)
        ud.run_tool([os.path.join(BUILD, "eclipsefs"), "put", image, local,
                     path], "eclipsefs put")
        return hashlib.sha256(data).hexdigest()

    def argv(self, cmd=None, disks=None, machine="q35", bus=None,
             memory="256M", extra=(), disk_extra="", disk_extras=None,
             debug_exit=True, kernel=None, append=None, mmio_version=1):
        """The QEMU command line of a boot (without the serial console);
        disks are (path, fmt[, readonly]) or paths; the default is a
        fresh overlay of build/umbra.img. With kernel (or on microvm,
        where bus defaults to virtio-mmio) the PVH kernel boots instead of
        OVMF, under the accelerator configure found for PVH kernels."""
        microvm = machine.split(",")[0] == "microvm"
        pvh = microvm or kernel is not None
        if bus is None:
            bus = "virtio-mmio" if microvm else "virtio"
        if disks is None:
            disks = [self.fresh_disk()]
        vars_path = None if pvh else ud.ovmf_vars_copy(self.cfg, self.dir)
        argv = ud.qemu_argv(self.cfg, vars_path, machine=machine,
                            accel_name=ud.accel(self.cfg, pvh=pvh),
                            memory=memory, cmd=cmd, extra=extra,
                            kernel=kernel, append=append,
                            mmio_version=mmio_version)
        if not debug_exit:
            i = argv.index(ud.DEBUG_EXIT[1])
            del argv[i - 1:i + 1]
        for i, d in enumerate(disks):
            if not isinstance(d, tuple):
                d = (d, "qcow2" if d.endswith(".qcow2") else "raw")
            path, fmt = d[0], d[1]
            ro = len(d) > 2 and d[2]
            extra = disk_extras[i] if disk_extras else disk_extra
            argv += ud.disk_args(path, bus, i, fmt, readonly=ro,
                                 extra=extra)
        return argv

    def boot(self, timeout=None, **kw):
        """Boots once and waits for the end (see argv for the options).
        Returns a Result."""
        argv = self.argv(**kw) + ["-serial", "stdio"]
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               timeout=timeout or self.timeout)
            rc, out = p.returncode, p.stdout
        except subprocess.TimeoutExpired as e:
            rc, out = None, e.stdout or b""
        log = out.decode("utf-8", "replace").replace("\r\n", "\n")
        self.logs.append((argv, log))
        return Result(rc, log, argv, time.monotonic() - t0)

    def start(self, prefix=(), **kw):
        """Boots without waiting: a Live VM (serial and QMP on sockets);
        prefix goes before QEMU's command (`ip netns exec NAME`)."""
        argv = list(prefix) + self.argv(**kw)
        live = Live(argv, self.dir)
        self.live.append(live)
        return live

    def keep_logs(self):
        os.makedirs(LOGS, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name)
        path = os.path.join(LOGS, safe + ".log")
        with open(path, "w") as f:
            for argv, log in self.logs:
                f.write("$ " + " ".join(argv) + "\n" + log + "\n")
            for live in self.live:
                f.write("$ " + " ".join(live.argv) + "\n" + live.text() +
                        "\n")
        return path

    def cleanup(self):
        for live in self.live:
            live.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_case(name, fn, timeout):
    t = Test(name, timeout)
    t0 = time.monotonic()
    try:
        fn(t)
        return name, True, "", time.monotonic() - t0
    except Fail as e:
        return name, False, f"{e} (log: {t.keep_logs()})", \
            time.monotonic() - t0
    except Exception:
        return name, False, traceback.format_exc().strip() + \
            f" (log: {t.keep_logs()})", time.monotonic() - t0
    finally:
        t.cleanup()


def main(argv):
    pattern = argv[1] if len(argv) > 1 else ""
    chosen = [c for c in CASES if pattern in c[0]]
    jobs = max(1, min(len(chosen), os.cpu_count() or 1))
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        futs = [ex.submit(run_case, *c) for c in chosen]
        for f in concurrent.futures.as_completed(futs):
            name, ok, why, secs = f.result()
            if ok:
                passed += 1
                print(f"ok   {name} ({secs:.1f}s)", flush=True)
            else:
                failed += 1
                print(f"FAIL {name} ({secs:.1f}s): {why}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
