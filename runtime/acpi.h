/* ACPI tables umbra reads (ACPI 6.5 spec sections cited in acpi.c): the
 * FADT for the PM timer, sleep control and reset register, the MCFG for
 * PCI ECAM, the MADT for the CPU count, and \_S5 from the DSDT. */
#ifndef UMBRA_ACPI_H
#define UMBRA_ACPI_H

#include <stdint.h>

struct acpi_info {
	int valid;			/* an RSDP with a good checksum */
	uint16_t pm_tmr_port;		/* 0: none */
	int pm_tmr_32bit;		/* FADT flag TMR_VAL_EXT */
	uint16_t pm1a_cnt, pm1b_cnt;	/* 0: none */
	int has_s5;
	uint8_t slp_typa, slp_typb;
	int has_reset;			/* FADT RESET_REG, in I/O space */
	uint16_t reset_port;
	uint8_t reset_value;
	uint64_t ecam_base;		/* MCFG segment 0; 0 when absent */
	uint8_t ecam_bus_start, ecam_bus_end;
	unsigned cpus;			/* enabled local APICs in the MADT */
};

extern struct acpi_info acpi;

/* Parses the tables reachable from the RSDP at physical address rsdp.
 * Bad checksums or lengths make a table count as absent; never faults on
 * a malformed table (every length is bounded before use). */
void acpi_init(uint64_t rsdp);

#endif
