/* Time: the TSC, calibrated against the ACPI PM timer (3.579545 MHz, ACPI
 * 6.5 §4.8.3.3). Under TCG the CPU advertises no TSC frequency, so the
 * measurement is the truth and CPUID 0x15/0x16 only a cross-check. */
#ifndef UMBRA_TIME_H
#define UMBRA_TIME_H

#include <stdint.h>

/* Calibrates; tsc_zero is the TSC value that time_us() reports as 0 (the
 * TSC at efi_main). Needs acpi_init first. */
void time_init(uint64_t tsc_zero);

/* Microseconds since efi_main. */
uint64_t time_us(void);

/* The TSC value at which time_us() reaches us. */
uint64_t time_us_to_tsc(uint64_t us);

/* TSC ticks to microseconds; the TSC frequency in Hz. */
uint64_t time_tsc_to_us(uint64_t ticks);
uint64_t time_tsc_hz(void);

/* Where the frequency came from ("PM timer", "CPUID 0x15", ...), and what
 * CPUID claims (0 when it claims nothing). */
const char *time_source(void);
uint64_t time_cpuid_hz(void);

/* Busy-waits at least us microseconds. */
void time_delay_us(uint64_t us);

#endif
