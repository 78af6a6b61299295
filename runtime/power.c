/* Power control; see power.h. */
#include "power.h"

#include "acpi.h"
#include "console.h"
#include "cpu.h"
#include "irq.h"
#include "paging.h"
#include "time.h"

#define SLP_EN (1u << 13)	/* ACPI §4.8.3.2.1 PM1 control: SLP_EN */
#define SLP_TYP_SHIFT 10
/* ACPI §4.8.3.7 sleep control register (hardware-reduced ACPI):
 * SLP_TYPx in bits 4:2, SLP_EN bit 5. */
#define SLEEP_CTL_EN (1u << 5)
#define SLEEP_CTL_TYP_SHIFT 2
#define CF9_PORT 0xcf9		/* PIIX/ICH reset control register */
#define KBC_CMD 0x64
#define SETTLE_US 100000	/* how long to wait for each method */
#define SCI_EN 1		/* §4.8.3.2.1 PM1 control: SCI_EN */
#define PWRBTN (1u << 8)	/* §4.8.3.1 PM1 status/enable: power button */
#define ACPI_ENABLE_US 1000000

static efi_runtime_services *rt;
static int debug_exit;
static volatile enum power_req request;
static const char *button_how = "no ACPI PM1 event block";

/* §4.8.3.1: the PM1 status and enable registers of one event block. */
static uint16_t pm1_en(uint16_t evt)
{
	return (uint16_t)(evt + acpi.pm1_evt_len / 2);
}

/* The SCI: a press of the fixed-hardware power button sets PWRBTN_STS;
 * writing it back clears it (and with it the level-triggered SCI). */
static int sci(void *ctx)
{
	(void)ctx;
	int claimed = 0;
	uint16_t blk[2] = { acpi.pm1a_evt, acpi.pm1b_evt };
	for (int i = 0; i < 2 && blk[i]; i++) {
		uint16_t st = inw(blk[i]) & inw(pm1_en(blk[i]));
		if ((st & PWRBTN) && !request)
			request = POWER_REQ_BUTTON;
		if (st) {
			outw(blk[i], st);
			claimed = 1;
		}
	}
	return claimed;
}

/* §16.3.1 (legacy/ACPI mode): an OS turns ACPI mode on by writing
 * ACPI_ENABLE to SMI_CMD and waits for SCI_EN. */
static int acpi_mode_on(void)
{
	if (!acpi.pm1a_cnt)
		return 0;
	if (inw(acpi.pm1a_cnt) & SCI_EN)
		return 1;
	if (!acpi.smi_cmd || !acpi.acpi_enable)
		return 0;
	outb((uint16_t)acpi.smi_cmd, acpi.acpi_enable);
	uint64_t end = time_us() + ACPI_ENABLE_US;
	while (!(inw(acpi.pm1a_cnt) & SCI_EN))
		if (time_us() > end)
			return 0;
	return 1;
}

void power_button_init(void)
{
	if (acpi.hw_reduced || !acpi.pm1a_evt || acpi.pm1_evt_len < 4)
		return;
	button_how = "ACPI mode could not be turned on";
	if (!acpi_mode_on())
		return;
	int vec = irq_alloc("acpi-sci", sci, 0);
	button_how = "no interrupt vector for the SCI";
	if (!vec || irq_route_isa(vec, acpi.sci_irq))
		return;
	uint16_t blk[2] = { acpi.pm1a_evt, acpi.pm1b_evt };
	for (int i = 0; i < 2 && blk[i]; i++) {
		outw(blk[i], PWRBTN);			/* clear a stale press */
		outw(pm1_en(blk[i]), inw(pm1_en(blk[i])) | PWRBTN);
	}
	button_how = "ACPI fixed power button";
}

int power_button_pressed(void)
{
	return request != POWER_REQ_NONE;
}

void power_request(enum power_req what)
{
	if (!request)
		request = what;
}

enum power_req power_requested(void)
{
	return request;
}

void power_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

const char *power_button_source(void)
{
	return button_how;
}

void power_init(efi_runtime_services *services)
{
	rt = services;
	/* QEMU's debug-exit port reads as 0; an unclaimed ISA port floats
	 * to all ones. */
	debug_exit = inl(POWER_DEBUG_EXIT_PORT) == 0;
	if (acpi.sleep_ctl && acpi.sleep_ctl_space == 0 &&
	    paging_map_mmio(acpi.sleep_ctl, 1))
		acpi.sleep_ctl = 0;
	if (acpi.reset_mmio && paging_map_mmio(acpi.reset_mmio, 1))
		acpi.reset_mmio = 0;
}

int power_has_debug_exit(void)
{
	return debug_exit;
}

static void settle(void)
{
	uint64_t end = time_us() + SETTLE_US;
	while (time_us() < end)
		cpu_pause();
}

static void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void power_exit(int status)
{
	con_printf("power: off, status %d\n", status);
	con_flush();
	if (debug_exit)
		outl(POWER_DEBUG_EXIT_PORT, (uint32_t)status);
	if (acpi.has_s5 && acpi.pm1a_cnt) {
		outw(acpi.pm1a_cnt,
		     (uint16_t)(acpi.slp_typa << SLP_TYP_SHIFT | SLP_EN));
		if (acpi.pm1b_cnt)
			outw(acpi.pm1b_cnt, (uint16_t)(acpi.slp_typb
						       << SLP_TYP_SHIFT |
						       SLP_EN));
		settle();
	}
	if (acpi.has_s5 && acpi.sleep_ctl) {
		uint8_t v = (uint8_t)((acpi.slp_typa & 7) << SLEEP_CTL_TYP_SHIFT |
				      SLEEP_CTL_EN);
		if (acpi.sleep_ctl_space == 1)
			outb((uint16_t)acpi.sleep_ctl, v);
		else
			*(volatile uint8_t *)(uintptr_t)acpi.sleep_ctl = v;
		settle();
	}
	if (rt)
		rt->reset_system(EFI_RESET_SHUTDOWN, 0, 0, 0);
	/* Firecracker ends the VM on a keyboard-controller reset; a PC would
	 * reboot instead, so only where ACPI has no way to power off. */
	if (!acpi.valid || acpi.hw_reduced) {
		outb(KBC_CMD, 0xfe);
		settle();
	}
	con_puts("power: could not power off; halted\n");
	halt_forever();
}

void power_reboot(void)
{
	if (acpi.has_reset) {
		outb(acpi.reset_port, acpi.reset_value);
		settle();
	} else if (acpi.reset_mmio) {
		*(volatile uint8_t *)(uintptr_t)acpi.reset_mmio = acpi.reset_value;
		settle();
	}
	outb(CF9_PORT, 0x02);	/* prepare a hard reset ... */
	outb(CF9_PORT, 0x06);	/* ... and start it */
	settle();
	if (rt)
		rt->reset_system(EFI_RESET_COLD, 0, 0, 0);
	outb(KBC_CMD, 0xfe);	/* pulse the reset line */
	settle();
	con_puts("power: could not reboot; halted\n");
	halt_forever();
}
