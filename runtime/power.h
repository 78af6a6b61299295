/* Shutdown, reboot, and leaving QEMU with a status. */
#ifndef UMBRA_POWER_H
#define UMBRA_POWER_H

#include "uefi.h"

#define POWER_EXIT_PANIC 100	/* panic or failed ASSERT */
#define POWER_EXIT_FAULT 101	/* CPU exception */

/* QEMU's isa-debug-exit device, configured at this port by deploy/run and
 * the tests (its default, 0x501, is not used). */
#define POWER_DEBUG_EXIT_PORT 0xf4

/* Detects isa-debug-exit and remembers the firmware's runtime services
 * (ResetSystem is the fallback for both shutdown and reboot; 0 when booted
 * without UEFI). Needs acpi_init and paging_init first. */
void power_init(efi_runtime_services *rt);

/* The ACPI power button (what `virsh shutdown` and QMP system_powerdown
 * press): turns ACPI mode on, routes the SCI, enables PWRBTN. After
 * irq_init. Then power_button_pressed() turns nonzero at a press; the
 * app syncs and powers off (this room only notes it). */
void power_button_init(void);
int power_button_pressed(void);

/* Software presses the button (the guest agent's guest-shutdown): every
 * wait ends as at a press, the app syncs, then does what was asked. The
 * first request (a press included) is the one kept. */
enum power_req {
	POWER_REQ_NONE,
	POWER_REQ_BUTTON,	/* the ACPI power button: power off */
	POWER_REQ_OFF,
	POWER_REQ_REBOOT,
	POWER_REQ_HALT,
};
void power_request(enum power_req what);
enum power_req power_requested(void);
/* How the button is wired, or why it is not ("ACPI fixed power button"). */
const char *power_button_source(void);

/* Nonzero when isa-debug-exit was found. */
int power_has_debug_exit(void);

/* Powers off. With isa-debug-exit present, QEMU exits with
 * (status << 1) | 1; otherwise ACPI S5 (PM1 control, or the sleep control
 * register of hardware-reduced ACPI), then UEFI ResetSystem, then, where
 * ACPI is absent or hardware-reduced, the keyboard-controller reset that
 * Firecracker takes as the end of the VM. */
void power_exit(int status) __attribute__((noreturn));

/* Stops the CPU for good, the machine left on (interrupts off, halted):
 * what `shutdown -h` leaves. */
void power_halt(void) __attribute__((noreturn));

/* Resets the machine: FADT reset register (I/O or memory space), port
 * 0xCF9, UEFI ResetSystem, the keyboard controller, in that order. */
void power_reboot(void) __attribute__((noreturn));

#endif
