"""Foundation cases: boot, timeline, status through isa-debug-exit, the
command loop's errors, and the exception report."""

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
