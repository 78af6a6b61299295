"""The QEMU test harness: each case boots build/umbra.efi under QEMU+OVMF
on fresh disk images with a timeout, reads the serial log and the status
umbra left through isa-debug-exit, and keeps the log of a failing case in
build/test-logs/. Cases run two at a time (one per core)."""

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "deploy"))
import umbra_deploy as ud  # noqa: E402

BUILD = os.path.join(TOP, "build")
LOGS = os.path.join(BUILD, "test-logs")
BASE_IMAGE = os.path.join(BUILD, "umbra.img")
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


class Test:
    """One case's sandbox: a temp dir, disks, and QEMU runs."""

    def __init__(self, name, timeout):
        self.name = name
        self.timeout = timeout
        self.cfg = ud.config()
        self.dir = ud.tempdir()
        self.logs = []

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

    def boot(self, cmd=None, disks=None, machine="q35", bus="virtio",
             memory="256M", extra=(), timeout=None, disk_extra="",
             disk_extras=None, debug_exit=True):
        """Boots once; disks are (path, fmt) or paths; the default is a
        fresh overlay of build/umbra.img. Returns a Result."""
        if disks is None:
            disks = [self.fresh_disk()]
        vars_path = ud.ovmf_vars_copy(self.cfg, self.dir)
        argv = ud.qemu_argv(self.cfg, vars_path, machine=machine,
                            accel_name=ud.accel(self.cfg), memory=memory,
                            cmd=cmd, extra=extra)
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
        argv += ["-serial", "stdio"]
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

    def keep_logs(self):
        os.makedirs(LOGS, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name)
        path = os.path.join(LOGS, safe + ".log")
        with open(path, "w") as f:
            for argv, log in self.logs:
                f.write("$ " + " ".join(argv) + "\n" + log + "\n")
        return path

    def cleanup(self):
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
