/* ACPI tables umbra reads (ACPI 6.5 spec sections cited in acpi.c): the
 * FADT for the PM timer, sleep control, reset register, SCI and PM1
 * events, the MCFG for PCI ECAM, the MADT for the CPUs, the local APIC,
 * the IOAPICs and the ISA interrupt overrides, and \_S5 from the DSDT. */
#ifndef UMBRA_ACPI_H
#define UMBRA_ACPI_H

#include <stdint.h>

#define ACPI_MAX_IOAPICS 4
#define ACPI_INTI_POLARITY_LOW 3	/* INTI flags bits 1:0 */
#define ACPI_INTI_TRIGGER_LEVEL 0xc	/* INTI flags bits 3:2 */

struct acpi_info {
	int valid;			/* an RSDP with a good checksum */
	uint16_t pm_tmr_port;		/* 0: none */
	int pm_tmr_32bit;		/* FADT flag TMR_VAL_EXT */
	uint16_t pm1a_cnt, pm1b_cnt;	/* 0: none */
	int has_s5;
	uint8_t slp_typa, slp_typb;
	int has_reset;			/* FADT RESET_REG, in I/O space */
	uint16_t reset_port;
	uint64_t reset_mmio;		/* ... or in memory space; 0: none */
	uint8_t reset_value;
	uint64_t ecam_base;		/* MCFG segment 0; 0 when absent */
	uint8_t ecam_bus_start, ecam_bus_end;
	unsigned cpus;			/* enabled local APICs in the MADT */

	/* Interrupts (MADT, ACPI §5.2.12; FADT SCI and PM1 events). */
	uint64_t lapic_addr;		/* xAPIC registers; 0: not given */
	struct acpi_ioapic {
		uint8_t id;
		uint32_t addr, gsi_base;
	} ioapic[ACPI_MAX_IOAPICS];
	unsigned nioapics;
	/* ISA IRQ i: the GSI it arrives on and MPS INTI flags (bits 1:0
	 * polarity, 3:2 trigger; 0 = the bus default: edge, active high). */
	uint32_t isa_gsi[16];
	uint16_t isa_flags[16];
	uint16_t sci_irq;		/* an ISA IRQ number (FADT SCI_INT) */
	uint32_t smi_cmd;		/* 0: ACPI mode is always on */
	uint8_t acpi_enable;
	uint16_t pm1a_evt, pm1b_evt;	/* PM1 event blocks; 0: none */
	uint8_t pm1_evt_len;
	int hw_reduced;			/* FADT HW_REDUCED_ACPI */
	uint8_t sleep_ctl_space;	/* FADT SLEEP_CONTROL_REG: GAS space */
	uint64_t sleep_ctl;		/* ... and address; 0: none */
	const uint8_t *dsdt;		/* the DSDT (checksum good), or 0 */
	uint32_t dsdt_len;
};


extern struct acpi_info acpi;

/* ISA IRQ irq's GSI and MPS INTI flags (the MADT override, or the
 * identity with the bus defaults). */
static inline uint32_t acpi_isa_gsi(unsigned irq)
{
	return irq < 16 ? acpi.isa_gsi[irq] : irq;
}

static inline uint16_t acpi_isa_flags(unsigned irq)
{
	return irq < 16 ? acpi.isa_flags[irq] : 0;
}

/* Parses the tables reachable from the RSDP at physical address rsdp.
 * Bad checksums or lengths make a table count as absent; never faults on
 * a malformed table (every length is bounded before use). */
void acpi_init(uint64_t rsdp);

/* The RSDP in [base, base + len) (ACPI §5.2.5.1: on a 16-byte boundary,
 * checksum good), as legacy BIOS areas hold it; 0 when there is none. */
uint64_t acpi_find_rsdp(uint64_t base, uint64_t len);

#endif
