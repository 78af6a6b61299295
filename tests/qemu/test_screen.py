"""The screen console and the keyboards: QEMU's screendump (PPM) decoded
cell by cell against the font's own bitmaps (the PSF file configure
found, read by runtime/psf2c as the build does) and compared with what
umbra printed on the serial line, replayed on a grid of the screen's size
(wrapping and scrolling as the console does); typing through QMP send-key
on the PS/2 or virtio keyboard, with Shift, Ctrl-C and the arrows. One
boot per display: OVMF with the standard VGA (GOP), OVMF with
virtio-gpu-pci and a virtio keyboard, the PVH kernel on microvm with
virtio-gpu-device and virtio-keyboard-device, and on pc with PS/2; a
machine without a display says so and draws nothing."""

import importlib.machinery
import os
import time

import harness
from harness import case, ud

PSF2C = importlib.machinery.SourceFileLoader(
    "psf2c", os.path.join(harness.TOP, "runtime", "psf2c")).load_module()
OVMF_TIMEOUT = 240
PVH_TIMEOUT = 90
BANNER = "umbra 0.1: unikernel appliance"
UP = "\x1e"		# stands for the up arrow in keys()
QCODES = {" ": "spc", "\r": "ret", "-": "minus", ".": "dot", "/": "slash",
          ",": "comma", ";": "semicolon", "'": "apostrophe", "=": "equal"}
SHIFTED = {"!": "1", "@": "2", "#": "3", "$": "4", "%": "5", "^": "6",
           "&": "7", "*": "8", "(": "9", ")": "0", "_": "minus",
           "+": "equal", ":": "semicolon", '"': "apostrophe", "?": "slash",
           "<": "comma", ">": "dot"}


def font():
    return PSF2C.load(ud.config()["font"])


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(maxsplit=4)
    if parts[0] != b"P6" or parts[3] != b"255":
        raise harness.Fail(f"screendump is not a P6 PPM: {parts[:4]}")
    return int(parts[1]), int(parts[2]), parts[4]


def screen_text(path, f):
    """The text on the screen: every cell matched exactly against the
    font's glyphs of printable ASCII (the cursor's cell inverted); a cell
    that matches none reads as NUL."""
    w, h, px = read_ppm(path)
    cols, rows = w // f.width, h // f.height
    left, top = (w - cols * f.width) // 2, (h - rows * f.height) // 2
    lit = bytes(0x30 if v > 0x60 else 0x2e for v in range(256))
    green = px[1::3].translate(lit)	# "0"/"." per pixel
    shift = f.row_bytes * 8 - f.width
    table = {}
    for c in range(0x20, 0x7f):
        key = tuple(b >> shift for b in
                    (int.from_bytes(f.glyph(c)[r * f.row_bytes:
                                               (r + 1) * f.row_bytes], "big")
                     for r in range(f.height)))
        table.setdefault(key, chr(c))
    full = (1 << f.width) - 1
    lines = []
    for r in range(rows):
        out = []
        for c in range(cols):
            key = []
            for y in range(f.height):
                at = (top + r * f.height + y) * w + left + c * f.width
                bits = green[at:at + f.width].replace(b"0", b"1") \
                    .replace(b".", b"0")
                key.append(int(bits, 2))
            key = tuple(key)
            ch = table.get(key) or table.get(tuple(k ^ full for k in key))
            out.append(ch or "\0")
        lines.append("".join(out).rstrip())
    return lines, cols, rows


def replay(text, cols, rows):
    """What the console shows after printing text on an empty grid."""
    grid, cx, cy = [[" "] * cols for _ in range(rows)], 0, 0

    def newline():
        nonlocal cx, cy
        cx = 0
        if cy + 1 < rows:
            cy += 1
        else:
            grid.pop(0)
            grid.append([" "] * cols)
    for ch in text:
        if ch == "\n":
            newline()
        elif ch == "\r":
            cx = 0
        elif ch == "\b":
            cx = max(0, cx - 1)
        elif " " <= ch <= "~":
            if cx >= cols:
                newline()
            grid[cy][cx] = ch
            cx += 1
    return ["".join(row).rstrip() for row in grid]


def check_screen(t, vm, f, what):
    """The screen against the serial output since the banner."""
    time.sleep(0.5)		# the console draws within 8 ms of idling
    path = t.path(f"{what}.ppm")
    reply = vm.qmp("screendump", {"filename": path})
    if "error" in reply:
        raise harness.Fail(f"screendump: {reply['error']}")
    got, cols, rows = screen_text(path, f)
    serial = vm.seen.decode("utf-8", "replace").replace("\r\n", "\n")
    if BANNER not in serial:
        raise harness.Fail("no banner on the serial line")
    want = replay(serial[serial.index(BANNER):], cols, rows)
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            raise harness.Fail(f"{what}: screen row {i} reads {g!r}, the "
                               f"serial line says {w!r}")
    return got


def keys(vm, text):
    """Types text on the VM's keyboard (QMP send-key, as a person)."""
    for ch in text:
        if ch in SHIFTED or ch.isupper():
            ks = ["shift", SHIFTED.get(ch, ch.lower())]
        elif ch == "\x03":
            ks = ["ctrl", "c"]
        elif ch == UP:
            ks = ["up"]
        else:
            ks = [QCODES.get(ch, ch)]
        reply = vm.qmp("send-key", {"keys": [{"type": "qcode", "data": k}
                                             for k in ks], "hold-time": 20})
        if "error" in reply:
            raise harness.Fail(f"send-key {ks}: {reply['error']}")


def typed(vm, text, until):
    keys(vm, text)
    return vm.until(until, 60)


def keyboard_session(t, vm, f, keyboard, at_prompt=False):
    """Commands typed on the keyboard run and are drawn: Shift, Ctrl-C
    dropping a line, the up arrow recalling one; then a screenful and
    more scrolls."""
    if not at_prompt:
        vm.until("umbra> ", 180)
    out = typed(vm, "screen\r", "umbra> ")
    if keyboard not in out:
        raise harness.Fail(f"`screen` lacks {keyboard!r}: {out!r}")
    check_screen(t, vm, f, "after-screen")
    out = typed(vm, "echo Hello, World! (x_y) 1+2=3 \"q\"\r", "umbra> ")
    if "\nHello, World! (x_y) 1+2=3 q\n" not in out:
        raise harness.Fail(f"typed echo: {out!r}")
    keys(vm, "echo dropped")
    out = typed(vm, "\x03", "umbra> ")
    if "^C" not in out or "\ndropped" in out:
        raise harness.Fail(f"Ctrl-C: {out!r}")
    keys(vm, UP)
    out = typed(vm, "\r", "umbra> ")
    if "\nHello, World! (x_y) 1+2=3 q\n" not in out:
        raise harness.Fail(f"up arrow did not recall the echo: {out!r}")
    out = typed(vm, "screen lines 70\r", "umbra> ")
    if "line 70 of 70:" not in out:
        raise harness.Fail(f"screen lines: {out!r}")
    rows = check_screen(t, vm, f, "scrolled")
    if not any(r.startswith("line 70 of 70:") for r in rows) or \
            any(r.startswith("line 1 of 70:") for r in rows):
        raise harness.Fail("the screen did not scroll past line 1")
    out = typed(vm, "poweroff\r", "power: off")
    status = vm.wait_exit(60)
    if status != 0:
        raise harness.Fail(f"status {status}")


@case("screen: OVMF, standard VGA (GOP): banner and output drawn glyph by "
      "glyph; typed on PS/2 (Shift, Ctrl-C, up arrow); scrolling",
      timeout=OVMF_TIMEOUT)
def ovmf_gop(t):
    f = font()
    vm = t.start(extra=["-device", "VGA"])
    vm.until("umbra> ", 180)
    vm.send("screen\r")
    out = vm.until("umbra> ", 30)
    for pat in ("screen: GOP mode ", "screen: 1280x800, 160x50 text in ",
                "keyboard: PS/2 (i8042, set 2 translated to set 1"):
        if pat not in out:
            raise harness.Fail(f"`screen` lacks {pat!r}: {out!r}")
    keyboard_session(t, vm, f, "keyboard: PS/2", at_prompt=True)


@case("screen: OVMF with virtio-gpu-pci (its GOP is Blt-only) and a "
      "virtio keyboard on PCI", timeout=OVMF_TIMEOUT)
def ovmf_virtio_gpu(t):
    f = font()
    vm = t.start(extra=["-device", "virtio-gpu-pci",
                        "-device", "virtio-keyboard-pci"])
    keyboard_session(t, vm, f, "keyboard: virtio-input modern: QEMU "
                     "Virtio Keyboard")
    text = vm.text()
    if "screen: virtio-gpu modern: display 1280x800, resource 1280x800" \
            not in text:
        raise harness.Fail("`screen` does not name virtio-gpu")


@case("screen: PVH kernel on microvm, virtio-gpu-device and "
      "virtio-keyboard-device", timeout=PVH_TIMEOUT)
def microvm(t):
    f = font()
    vm = t.start(machine="microvm", mmio_version=2,
                 extra=["-device", "virtio-gpu-device",
                        "-device", "virtio-keyboard-device"])
    keyboard_session(t, vm, f, "keyboard: virtio-input mmio v2: QEMU "
                     "Virtio Keyboard")
    text = vm.text()
    for pat in ("screen: virtio-gpu mmio v2: display 1280x800",
                "keyboard: virtio-input mmio v2"):
        if pat not in text:
            raise harness.Fail(f"no {pat!r}")


@case("screen: PVH kernel on pc, PS/2 keyboard, virtio-gpu-pci",
      timeout=PVH_TIMEOUT)
def pc_ps2(t):
    f = font()
    vm = t.start(machine="pc", kernel=harness.KERNEL,
                 extra=["-device", "virtio-gpu-pci"])
    keyboard_session(t, vm, f, "keyboard: PS/2 (i8042")


@case("screen: no display (-display none -vga none): nothing drawn, the "
      "boot unchanged", timeout=PVH_TIMEOUT)
def no_display(t):
    r = t.boot(kernel=harness.KERNEL, extra=["-vga", "none"],
               cmd="screen; lsmmio")
    r.expect_status(0)
    r.expect(r"^screen: none \(no GOP; no virtio-gpu\)$")
    r.expect(r"^keyboard: PS/2 \(i8042, set 2 translated to set 1")
    r.expect(r"^timeline: pvh_entry=0us runtime=\d+us pci=\d+us blk=\d+us "
             r"mount=\d+us screen=\d+us app_ready=\d+us$")
    r.expect_not(r"^screen: .*\(ignored\)$")
    r = t.boot(machine="microvm", cmd="screen")
    r.expect_status(0)
    r.expect(r"^screen: none \(no GOP; no virtio-gpu\)$")
    r.expect(r"^keyboard: none \(no i8042")
