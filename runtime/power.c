/* Power control; see power.h. */
#include "power.h"

#include "acpi.h"
#include "console.h"
#include "cpu.h"
#include "time.h"

#define SLP_EN (1u << 13)	/* ACPI §4.8.3.2.1 PM1 control: SLP_EN */
#define SLP_TYP_SHIFT 10
#define CF9_PORT 0xcf9		/* PIIX/ICH reset control register */
#define KBC_CMD 0x64
#define SETTLE_US 100000	/* how long to wait for each method */

static efi_runtime_services *rt;
static int debug_exit;

void power_init(efi_runtime_services *services)
{
	rt = services;
	/* QEMU's debug-exit port reads as 0; an unclaimed ISA port floats
	 * to all ones. */
	debug_exit = inl(POWER_DEBUG_EXIT_PORT) == 0;
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
	if (rt)
		rt->reset_system(EFI_RESET_SHUTDOWN, 0, 0, 0);
	con_puts("power: could not power off; halted\n");
	halt_forever();
}

void power_reboot(void)
{
	if (acpi.has_reset) {
		outb(acpi.reset_port, acpi.reset_value);
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
