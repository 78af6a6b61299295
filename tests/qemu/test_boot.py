"""Foundation cases: boot, timeline, status through isa-debug-exit, the
command loop's errors, and the exception report."""

import harness
from harness import case

TIMELINE = (r"^timeline: efi_main=0us exit_bs=\d+us runtime=\d+us "
            r"pci=\d+us .*app_ready=\d+us$")


@case("boot: banner, timeline, machine summary")
def boot_banner(t):
    r = t.boot(cmd="poweroff 0")
    r.expect_status(0)
    r.expect(r"^umbra \S+: unikernel appliance$")
    r.expect(TIMELINE)
    r.expect(r"^machine: 1 CPU, \d+ MiB usable RAM, TSC \d+ MHz")
    r.expect(r"^machine: \d+ PCI functions \(ECAM\), ACPI yes, "
             r"isa-debug-exit at 0xf4$")


@case("boot: mem then poweroff 0 exits 0")
def mem_poweroff(t):
    r = t.boot(cmd="mem; poweroff 0")
    r.expect_status(0)
    r.expect(r"^mem: usable \d+ KiB, firmware \d+ KiB")
    r.expect(r"^mem: pages \d+ KiB, used \d+ KiB, free \d+ KiB")


@case("boot: poweroff 3 exits 3")
def poweroff_3(t):
    r = t.boot(cmd="poweroff 3")
    r.expect_status(3)
    r.expect(r"^power: off, status 3$")


@case("boot: script ends with status 0 after the last command")
def script_end(t):
    r = t.boot(cmd="echo one 'two  three'; timeline; echo \"a;b\"")
    r.expect_status(0)
    r.expect(r"^one two  three$")
    r.expect(r"^a;b$")
    r.expect(r"^script: exit status 0$")


@case("boot: unknown command fails clearly, non-zero, stops the script")
def unknown_command(t):
    r = t.boot(cmd="frobnicate now; echo not-reached")
    r.expect(r"^frobnicate: unknown command \(try 'help'\)$")
    r.expect_status(127)
    r.expect_not(r"^not-reached$")


@case("boot: bad arguments give a usage line and status 2")
def bad_args(t):
    r = t.boot(cmd="poweroff lots")
    r.expect(r"^poweroff: usage: poweroff \[STATUS\]")
    r.expect_status(2)


@case("boot: set +e runs on after a failure, status of the first")
def set_plus_e(t):
    r = t.boot(cmd="set +e; nosuch; echo still-here; poweroff")
    r.expect(r"^still-here$")
    r.expect_status(0)
    r2 = t.boot(cmd="set +e; sleep x; echo after")
    r2.expect(r"^after$")
    r2.expect_status(2)


@case("boot: NULL dereference prints the exception report")
def null_fault(t):
    r = t.boot(cmd="fault")
    r.expect(r"^exception: vector 14 \(#PF page fault\) error 0x0$")
    r.expect(r"cr2=0000000000000000$")
    r.expect(r"^rax=[0-9a-f]{16} rbx=")
    r.expect(r"^stack:( [0-9a-f]+)+$")
    r.expect_status(101)


@case("boot: lspci lists the host bridge and the virtio disk")
def lspci(t):
    r = t.boot(cmd="lspci")
    r.expect_status(0)
    r.expect(r"^00:00\.0 8086:29c0 class 06:00:00 bridge$")
    r.expect(r"^00:0\d\.0 1af4:1001 class 01:00:00 mass storage$")
    r.expect(r"^    BAR\d m64 0x[0-9a-f]+ size 0x4000 prefetchable$")


@case("paging: writing our code faults (read-only .text)")
def write_code(t):
    r = t.boot(cmd="fault write-code")
    r.expect(r"^exception: vector 14 \(#PF page fault\) error 0x3$")
    r.expect_status(101)


@case("paging: executing data faults (NX)")
def exec_data(t):
    r = t.boot(cmd="fault exec-data")
    r.expect(r"^exception: vector 14 \(#PF page fault\) error 0x11$")
    r.expect_status(101)


@case("paging: stack overflow hits the guard page and is reported")
def stack_overflow(t):
    r = t.boot(cmd="fault stack")
    r.expect(r"^exception: vector 14 \(#PF page fault\) error 0x2$")
    r.expect(r"^stack overflow \(hit the guard page\)$")
    r.expect_status(101)


@case("ssp: a smashed stack cookie panics with file:line")
def stack_smash(t):
    r = t.boot(cmd="fault smash")
    r.expect(r"^panic: runtime/panic\.c:\d+: stack smashing detected")
    r.expect_status(100)


@case("panic: ASSERT prints file:line and the expression")
def assert_fails(t):
    r = t.boot(cmd="fault assert")
    r.expect(r"^panic: app/cmd_sys\.c:\d+: assertion failed: zero == 1$")
    r.expect_status(100)


@case("power: poweroff without isa-debug-exit uses ACPI S5")
def acpi_poweroff(t):
    r = t.boot(cmd="poweroff 4", debug_exit=False)
    r.expect(r"^machine: .*no isa-debug-exit$")
    r.expect(r"^power: off, status 4$")
    if r.rc != 0:
        raise harness.Fail(f"QEMU rc {r.rc}, wanted 0 (ACPI S5)")


@case("power: reboot resets the machine")
def reboot(t):
    # -no-reboot turns the guest's reset into a clean QEMU exit (rc 0).
    r = t.boot(cmd="reboot", extra=["-no-reboot"])
    r.expect_not(r"^power: off")
    if r.rc != 0:
        raise harness.Fail(f"QEMU rc {r.rc}, wanted 0 (reset)")


@case("pc machine: PCI through ports 0xCF8/0xCFC, two CPUs from the MADT")
def pc_ports(t):
    r = t.boot(cmd="lspci", machine="pc", bus="ide", extra=["-smp", "2"])
    r.expect_status(0)
    r.expect(r"^machine: 2 CPUs, ")
    r.expect(r"^lspci: \d+ functions \(ports\)$")
    r.expect(r"^00:01\.1 8086:7010 class 01:01:80 mass storage$")


@case("boot: runs in a 64 MiB guest (reads, writes, sync)")
def small_guest(t):
    r = t.boot(cmd="mem; write /x small; sync; cat /x", memory="64M")
    r.expect_status(0)
    r.expect(r"^mem: pages \d+ KiB, used \d+ KiB, free \d+ KiB")
    r.expect(r"^small$")
