/* Time: the TSC. Its rate as the hypervisor's timing leaf (0x40000010)
 * or CPUID 0x15 states it, or kvmclock gives it; else measured against
 * the ACPI PM timer (3.579545 MHz, ACPI 6.5 §4.8.3.3) or, without one
 * (hardware-reduced ACPI: microvm, Firecracker), the 8254 PIT: over a
 * short window at boot, then again over the boot's own (time_refine).
 * Under TCG the CPU states no rate, so a measurement is the truth and
 * CPUID 0x16's nominal base frequency only a cross-check (and the last
 * resort). */
#ifndef UMBRA_TIME_H
#define UMBRA_TIME_H

#include <stdint.h>

/* Finds the rate without waiting more than ~100 us; tsc_zero is the TSC
 * value that time_us() reports as 0 (the TSC at the entry, efi_main or
 * PVH). Needs acpi_init first. */
void time_init(uint64_t tsc_zero);

/* A rate measured over a short window at time_init is measured again
 * over the window since (milliseconds of boot): off the critical path,
 * as the app gets ready. Harmless when the rate was final. */
void time_refine(void);

/* Starts the 8254 PIT's channel 0 as a reference for time_init, when
 * the machine may have no ACPI PM timer (the PVH entry calls it first
 * thing): the runtime's own bring-up then runs inside the calibration
 * window instead of a wait. */
void time_pit_begin(void);

/* Microseconds since the entry. */
uint64_t time_us(void);

/* The TSC value at which time_us() reaches us. */
uint64_t time_us_to_tsc(uint64_t us);

/* TSC ticks to microseconds; the TSC frequency in Hz. */
uint64_t time_tsc_to_us(uint64_t ticks);
uint64_t time_tsc_hz(void);

/* Where the frequency came from ("hypervisor", "CPUID", "kvmclock", "PM
 * timer", "PIT"),
 * and what CPUID claims (0 when it claims nothing). */
const char *time_source(void);
uint64_t time_cpuid_hz(void);

/* Busy-waits at least us microseconds. */
void time_delay_us(uint64_t us);

#endif
