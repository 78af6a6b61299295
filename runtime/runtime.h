/* What runtime/ offers the application beyond the single-purpose headers:
 * the entry contract and a summary of the machine. */
#ifndef UMBRA_RUNTIME_H
#define UMBRA_RUNTIME_H

#include <stdint.h>

/* The application's entry, provided by app/. Called once the runtime is up
 * (console on the UART, allocator, paging, IDT, clock, ACPI). Its return
 * value is the exit status (power_exit). */
int app_main(void);

/* Where our PE image was loaded (for reports). */
extern uint64_t runtime_image_base, runtime_image_size;

/* Memory seen in the UEFI map: usable RAM (conventional + boot services),
 * and what the firmware keeps (runtime services, ACPI, reserved). */
struct runtime_mem {
	uint64_t usable, firmware, reserved;
};
extern struct runtime_mem runtime_mem;

/* Nonzero when any of [base, base + len) is RAM in the boot memory map
 * (anything but device and reserved ranges): drivers told of a device
 * there (by a command line, say) refuse it rather than write into RAM. */
int runtime_is_ram(uint64_t base, uint64_t len);

#endif
