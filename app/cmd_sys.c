/* Machine commands: timeline, mem, lspci, echo, sleep, poweroff, reboot,
 * fault. */
#include <stdint.h>
#include <string.h>

#include "../drivers/ata/ide.h"
#include "../drivers/blk.h"
#include "../drivers/net.h"
#include "../drivers/virtio/virtio_console.h"
#include "../runtime/console.h"
#include "../runtime/irq.h"
#include "../runtime/heap.h"
#include "../runtime/idle.h"
#include "../runtime/page.h"
#include "../runtime/panic.h"
#include "../runtime/pci.h"
#include "../runtime/power.h"
#include "../runtime/rtc.h"
#include "../runtime/runtime.h"
#include "../runtime/time.h"
#include "../runtime/timeline.h"
#include "app.h"
#include "loop.h"
#include "shell.h"
#include "storage.h"

/* The clock (UTC): what file times and the guest agent's guest-get-time
 * use. */
static int cmd_date(int argc, char **argv)
{
	char iso[24];
	if (argc != 1)
		return shell_err(argv[0], SHELL_USAGE, "usage: date");
	uint64_t us = rtc_now_us();
	if (!us)
		return shell_err(argv[0], 1, "the machine's clock is not set");
	rtc_iso(us / 1000000, iso);
	con_printf("date: %s (%llu.%06llu)\n", iso,
		   (unsigned long long)(us / 1000000),
		   (unsigned long long)(us % 1000000));
	return 0;
}

static int cmd_timeline(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char buf[256];
	timeline_format(buf, sizeof(buf));
	con_printf("%s\n", buf);
	return 0;
}

static int cmd_mem(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	uint64_t total = page_total() * PAGE_SIZE, freeb = page_free_count() *
							  PAGE_SIZE;
	con_printf("mem: usable %llu KiB, firmware %llu KiB, reserved %llu "
		   "KiB\n",
		   (unsigned long long)(runtime_mem.usable >> 10),
		   (unsigned long long)(runtime_mem.firmware >> 10),
		   (unsigned long long)(runtime_mem.reserved >> 10));
	con_printf("mem: pages %llu KiB, used %llu KiB, free %llu KiB, heap "
		   "%llu bytes in use\n",
		   (unsigned long long)(total >> 10),
		   (unsigned long long)((total - freeb) >> 10),
		   (unsigned long long)(freeb >> 10),
		   (unsigned long long)heap_in_use());
	con_printf("mem: image %llu KiB at 0x%llx\n",
		   (unsigned long long)(runtime_image_size >> 10),
		   (unsigned long long)runtime_image_base);
	return 0;
}

static void print_bar(const struct pci_bar *b, int i)
{
	if (!b->size)
		return;
	con_printf("    BAR%d %s 0x%llx size 0x%llx%s\n", i,
		   b->io ? "io " : b->is64 ? "m64" : "m32",
		   (unsigned long long)b->base, (unsigned long long)b->size,
		   b->prefetch ? " prefetchable" : "");
}

static int cmd_lspci(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (unsigned i = 0; i < pci_count(); i++) {
		const struct pci_dev *d = pci_get(i);
		con_printf("%02x:%02x.%x %04x:%04x class %02x:%02x:%02x %s\n",
			   d->bus, d->dev, d->fn, d->vendor, d->device,
			   d->cls, d->subcls, d->progif, pci_class_name(d));
		for (int b = 0; b < 6; b++)
			print_bar(&d->bar[b], b);
	}
	con_printf("lspci: %u functions (%s)\n", pci_count(), pci_method());
	return 0;
}

static int cmd_lsmmio(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	unsigned i = 0;
	for (const struct storage_mmio *m; (m = storage_mmio_get(i)); i++) {
		con_printf("0x%llx size 0x%llx ", (unsigned long long)m->loc.base,
			   (unsigned long long)m->loc.size);
		if (m->loc.has_irq)
			con_printf("irq %u ", m->loc.irq);
		con_printf("(%s) type %u: %s\n", m->loc.from, m->type,
			   m->state);
	}
	con_printf("lsmmio: %u virtio-mmio transports\n", i);
	return 0;
}

static int cmd_echo(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		con_printf("%s%s", argv[i], i + 1 < argc ? " " : "");
	con_puts("\n");
	return 0;
}

static int cmd_sleep(int argc, char **argv)
{
	unsigned long long ms;
	if (argc != 2 || shell_parse_u64(argv[1], &ms) || ms > 3600000)
		return shell_err(argv[0], SHELL_USAGE, "usage: sleep MS "
			"(0 to 3600000)");
	/* halts, the loop's sources running (the network, the guest
	 * agent); the power button ends it early (the script then stops) */
	loop_wait(0, 0, time_us() + ms * 1000);
	return 0;
}

static int cmd_poweroff(int argc, char **argv)
{
	unsigned long long st = 0;
	if (argc > 2 || (argc == 2 && (shell_parse_u64(argv[1], &st) ||
					st > 127)))
		return shell_err(argv[0], SHELL_USAGE,
				 "usage: poweroff [STATUS] (0 to 127)");
	app_shutdown();
	power_exit((int)st);
}

static int cmd_reboot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	app_shutdown();
	power_reboot();
}

/* Each of these must end in a report and a non-zero exit; they exist so
 * the tests can prove the protections work. */
static int __attribute__((noinline)) recurse(volatile uint8_t *prev)
{
	volatile uint8_t frame[512];
	frame[0] = prev ? prev[0] + 1 : 0;
	if (frame[0] == 0xff && prev == frame)	/* never: defeats the warning */
		return 0;
	return recurse(frame) + frame[1];
}

static void __attribute__((noinline)) smash(volatile size_t n)
{
	char buf[16];
	for (size_t i = 0; i < n; i++)
		((volatile char *)buf)[i] = 'x';
}

/* The interrupt of disk, network or virtio-serial device `name`; 0
 * (said) if none. */
static int device_vec(const char *name)
{
	struct blk_dev *d = blk_find(name);
	struct net_dev *n = net_find(name);
	int vec = d ? d->irq_vec : n ? n->irq_vec : 0;
	for (unsigned i = 0; !d && !n && i < vcon_count(); i++)
		if (!strcmp(vcon_get(i)->name, name))
			vec = vcon_get(i)->irq_vec;
	if (!vec)
		shell_err("fault", 1, "%s: no such device with an interrupt",
			  name);
	return vec;
}

/* `fault irq DEV`: silences DEV's interrupt at its source behind the
 * driver's back (as a broken MSI-X table or a masked device would); the
 * block layer (or the network's wait) must notice and poll. */
static int lose_irq(const char *name)
{
	int vec = device_vec(name);
	if (vec)
		irq_mask(vec);
	return vec ? 0 : 1;
}

static int never_clears(void *ctx)
{
	(void)ctx;
	return 0;	/* leaves a level-triggered line asserted */
}

/* `fault irq-storm DEV`: DEV's handler stops clearing its device, so a
 * level-triggered interrupt fires again and again. */
static int storm(const char *name)
{
	int vec = device_vec(name);
	if (vec)
		irq_replace(vec, never_clears, 0);
	return vec ? 0 : 1;
}

/* `fault dma DEV`: DEV's next DMA transfer gets a PRD table 256 bytes
 * short, an error its controller reports; the driver must fall back to
 * PIO with the data intact. */
static int short_prd(const char *name)
{
	struct blk_dev *d = blk_find(name);
	if (!d || ide_fault_dma(d))
		return shell_err("fault", 1, "%s: no such IDE disk doing DMA",
				 name);
	return 0;
}

static int cmd_fault(int argc, char **argv)
{
	static uint8_t ret_insn[16] = { 0xc3 };	/* "ret", in a data page */
	volatile uintptr_t zero = 0;
	const char *kind = argc > 1 ? argv[1] : "null";

	if (!strcmp(kind, "null"))
		return *(volatile int *)zero;
	if (!strcmp(kind, "write-code"))
		*(volatile uint8_t *)(uintptr_t)cmd_fault = 0xc3;
	else if (!strcmp(kind, "exec-data"))
		((void (*)(void))(uintptr_t)ret_insn)();
	else if (!strcmp(kind, "stack"))
		return recurse(0);
	else if (!strcmp(kind, "smash"))
		smash(64);
	else if (!strcmp(kind, "assert"))
		ASSERT(zero == 1);
	else if (!strcmp(kind, "irq") && argc == 3)
		return lose_irq(argv[2]);
	else if (!strcmp(kind, "irq-storm") && argc == 3)
		return storm(argv[2]);
	else if (!strcmp(kind, "dma") && argc == 3)
		return short_prd(argv[2]);
	else
		return shell_err(argv[0], SHELL_USAGE, "usage: fault "
				 "[null|write-code|exec-data|stack|smash|assert|"
				 "irq DEV|irq-storm DEV|dma DEV]");
	return shell_err(argv[0], 1, "%s did not fault", kind);
}

static int cmd_irq(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return shell_err(argv[0], SHELL_USAGE, "usage: irq");
	struct irq_row r;
	con_printf("%4s %12s  %-14s %s\n", "VEC", "COUNT", "SOURCE", "NAME");
	for (unsigned i = 0; irq_row(i, &r); i++)
		con_printf("%4d %12llu  %-14s %s%s\n", r.vector,
			   (unsigned long long)r.count, r.source, r.name,
			   r.masked ? " (masked)" : "");
	con_printf("irq: spurious %llu, unexpected %llu; local APIC %s, "
		   "timer %s\n", (unsigned long long)irq_spurious_count(),
		   (unsigned long long)irq_unexpected_count(), irq_apic_mode(),
		   irq_timer_mode());
	uint64_t all = time_us(), idle = time_tsc_to_us(idle_halted_tsc());
	con_printf("irq: halted %llu%% of the time since the entry\n",
		   (unsigned long long)(all ? idle * 100 / all : 0));
	for (unsigned i = 0; i < blk_count(); i++) {
		struct blk_dev *d = blk_get(i);
		if (!d->parent)
			con_printf("irq: %s waits by %s (%llu halts, %u "
				   "completions without an interrupt)\n",
				   d->name, blk_wait_mode(d),
				   (unsigned long long)d->halts, d->lost_irqs);
	}
	for (unsigned i = 0; i < net_count(); i++) {
		struct net_dev *n = net_get(i);
		con_printf("irq: %s waits by %s (%llu halts, %u frames "
			   "without an interrupt)\n", n->name, net_wait_mode(n),
			   (unsigned long long)n->stats.halts, n->lost_irqs);
	}
	return 0;
}

const struct shell_cmd shell_sys_cmds[] = {
	{ "date", "", "the clock (UTC, and Unix seconds)", cmd_date },
	{ "timeline", "", "boot stages in microseconds since the entry",
	  cmd_timeline },
	{ "mem", "", "memory: firmware map, pages, heap", cmd_mem },
	{ "lspci", "", "PCI functions with class and BARs", cmd_lspci },
	{ "lsmmio", "", "virtio-mmio transports: where, found how, what",
	  cmd_lsmmio },
	{ "echo", "[WORD...]", "print the words", cmd_echo },
	{ "sleep", "MS", "wait MS milliseconds (the CPU halts)", cmd_sleep },
	{ "irq", "", "interrupts per vector and source, waits per disk",
	  cmd_irq },
	{ "poweroff", "[STATUS]", "sync and power off (QEMU exit status)",
	  cmd_poweroff },
	{ "reboot", "", "sync and reset the machine", cmd_reboot },
	{ "fault", "[KIND]", "provoke a fault: null write-code exec-data "
	  "stack smash assert",
	  cmd_fault },
	{ 0, 0, 0, 0 },
};
