/* ACPI table parsing; see acpi.h. */
#include "acpi.h"

#include <stdint.h>
#include <string.h>

#include "le.h"

#define MAX_TABLE (16u << 20)	/* sanity bound on a table's length */

struct acpi_info acpi;


/* ACPI §5.2.6 system description table header: 36 bytes, length at 4. */
static const uint8_t *table_at(uint64_t addr, uint32_t *len)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;
	if (!addr)
		return 0;
	uint32_t n = le32_get(t + 4);
	if (n < 36 || n > MAX_TABLE || byte_sum(t, n))
		return 0;
	*len = n;
	return t;
}

/* ACPI §5.2.9 FADT. Offsets: DSDT 40, SCI_INT 46, SMI_CMD 48,
 * ACPI_ENABLE 52, PM1a_EVT_BLK 56, PM1b_EVT_BLK 60, PM1a_CNT_BLK 64,
 * PM1b_CNT_BLK 68, PM_TMR_BLK 76, PM1_EVT_LEN 88, PM_TMR_LEN 91,
 * Flags 112 (HW_REDUCED_ACPI bit 20), RESET_REG 116 (GAS), RESET_VALUE
 * 128, X_DSDT 140, X_PM1a_EVT_BLK 148, X_PM1a_CNT_BLK 172, X_PM_TMR_BLK
 * 208, SLEEP_CONTROL_REG 244 (GAS: space id at +0, address at +4). */
static uint64_t parse_fadt(const uint8_t *f, uint32_t len)
{
	uint64_t dsdt = len >= 44 ? le32_get(f + 40) : 0;
	if (len >= 89) {
		acpi.sci_irq = le16_get(f + 46);
		acpi.smi_cmd = le32_get(f + 48);
		acpi.acpi_enable = f[52];
		acpi.pm1a_evt = (uint16_t)le32_get(f + 56);
		acpi.pm1b_evt = (uint16_t)le32_get(f + 60);
		acpi.pm1_evt_len = f[88];
	}
	if (len >= 116)
		acpi.hw_reduced = (le32_get(f + 112) >> 20) & 1;
	if (len >= 160 && f[148] == 1 && le64_get(f + 152))
		acpi.pm1a_evt = (uint16_t)le64_get(f + 152);
	if (len >= 72) {
		acpi.pm1a_cnt = (uint16_t)le32_get(f + 64);
		acpi.pm1b_cnt = (uint16_t)le32_get(f + 68);
	}
	if (len >= 92 && f[91] == 4)
		acpi.pm_tmr_port = (uint16_t)le32_get(f + 76);
	if (len >= 116)
		acpi.pm_tmr_32bit = (le32_get(f + 112) >> 8) & 1;
	/* RESET_REG_SUP (flag bit 10); GAS space 1 = system I/O, 0 = memory
	 * (hardware-reduced machines such as microvm). */
	if (len >= 129 && (le32_get(f + 112) >> 10 & 1) && f[116] == 1) {
		acpi.has_reset = 1;
		acpi.reset_port = (uint16_t)le64_get(f + 120);
		acpi.reset_value = f[128];
	} else if (len >= 129 && (le32_get(f + 112) >> 10 & 1) &&
		   f[116] == 0 && le64_get(f + 120)) {
		acpi.reset_mmio = le64_get(f + 120);
		acpi.reset_value = f[128];
	}
	if (len >= 148 && le64_get(f + 140))
		dsdt = le64_get(f + 140);
	if (len >= 184 && f[172] == 1 && le64_get(f + 176))
		acpi.pm1a_cnt = (uint16_t)le64_get(f + 176);
	if (len >= 220 && f[208] == 1 && le64_get(f + 212))
		acpi.pm_tmr_port = (uint16_t)le64_get(f + 212);
	/* §4.8.3.7: a hardware-reduced machine sleeps through this. */
	if (len >= 256 && f[244] <= 1 && le64_get(f + 248)) {
		acpi.sleep_ctl_space = f[244];
		acpi.sleep_ctl = le64_get(f + 248);
	}
	return dsdt;
}

/* ACPI §7.4.2.4 \_S5 is a Package of (SLP_TYPa, SLP_TYPb, ...). Finding
 * the name in the AML byte stream and decoding the first two integers is
 * what every small kernel does instead of running an interpreter. */
static void parse_s5(const uint8_t *d, uint32_t len)
{
	for (uint32_t i = 36; i + 4 < len; i++) {
		if (d[i] != '_' || memcmp(d + i, "_S5_", 4) != 0)
			continue;
		uint32_t p = i + 4;
		if (p >= len || d[p] != 0x12)		/* PackageOp */
			continue;
		p++;
		if (p >= len)
			return;
		p += 1 + (d[p] >> 6);			/* PkgLength bytes */
		p++;					/* NumElements */
		uint8_t v[2];
		for (int k = 0; k < 2; k++) {
			if (p >= len)
				return;
			if (d[p] == 0x0a) {		/* BytePrefix */
				if (p + 1 >= len)
					return;
				v[k] = d[p + 1];
				p += 2;
			} else if (d[p] <= 1) {		/* ZeroOp, OneOp */
				v[k] = d[p++];
			} else {
				return;
			}
		}
		acpi.slp_typa = v[0];
		acpi.slp_typb = v[1];
		acpi.has_s5 = 1;
		return;
	}
}

/* MADT type 2, interrupt source override (§5.2.12.5): bus 0 (ISA),
 * source IRQ at +3, GSI at +4, MPS INTI flags at +8. */
static void madt_override(const uint8_t *e)
{
	if (e[2] != 0 || e[3] >= 16)
		return;
	acpi.isa_gsi[e[3]] = le32_get(e + 4);
	acpi.isa_flags[e[3]] = le16_get(e + 8);
}

/* ACPI §5.2.12 MADT: the local APIC address at 36, entries from 44;
 * type 0 = processor local APIC (flags at +4), 1 = I/O APIC (id +2,
 * address +4, GSI base +8), 2 = interrupt source override, 5 = local
 * APIC address override (+4, u64), 9 = local x2APIC (flags at +8). */
static void parse_madt(const uint8_t *m, uint32_t len)
{
	unsigned n = 0;
	acpi.lapic_addr = le32_get(m + 36);
	for (uint32_t p = 44; p + 2 <= len;) {
		const uint8_t *e = m + p;
		uint8_t type = e[0], elen = e[1];
		if (elen < 2 || p + elen > len)
			break;
		if (type == 0 && elen >= 8 && (le32_get(e + 4) & 3))
			n++;
		else if (type == 9 && elen >= 16 && (le32_get(e + 8) & 3))
			n++;
		else if (type == 1 && elen >= 12 &&
			 acpi.nioapics < ACPI_MAX_IOAPICS)
			acpi.ioapic[acpi.nioapics++] = (struct acpi_ioapic){
				e[2], le32_get(e + 4), le32_get(e + 8) };
		else if (type == 2 && elen >= 10)
			madt_override(e);
		else if (type == 5 && elen >= 12)
			acpi.lapic_addr = le64_get(e + 4);
		p += elen;
	}
	if (n)
		acpi.cpus = n;
}

/* PCI Firmware spec 3.2 §4.1.2 MCFG: allocations from offset 44, 16 bytes
 * each: base u64, segment u16, start bus u8, end bus u8. */
static void parse_mcfg(const uint8_t *m, uint32_t len)
{
	for (uint32_t p = 44; p + 16 <= len; p += 16) {
		if (le16_get(m + p + 8) != 0)
			continue;
		acpi.ecam_base = le64_get(m + p);
		acpi.ecam_bus_start = m[p + 10];
		acpi.ecam_bus_end = m[p + 11];
		return;
	}
}

static void parse_table(const uint8_t *t, uint32_t len)
{
	uint32_t dlen;
	if (!memcmp(t, "FACP", 4)) {
		const uint8_t *d = table_at(parse_fadt(t, len), &dlen);
		if (d && !memcmp(d, "DSDT", 4)) {
			parse_s5(d, dlen);
			acpi.dsdt = d;
			acpi.dsdt_len = dlen;
		}
	} else if (!memcmp(t, "APIC", 4)) {
		parse_madt(t, len);
	} else if (!memcmp(t, "MCFG", 4)) {
		parse_mcfg(t, len);
	}
}

/* ACPI §5.2.5 RSDP: checksum over 20 bytes; revision >= 2 adds the XSDT
 * address at 24 and an extended checksum over `length` bytes. */
void acpi_init(uint64_t rsdp_addr)
{
	const uint8_t *r = (const uint8_t *)(uintptr_t)rsdp_addr;
	uint64_t root;
	unsigned width;
	uint32_t len;

	acpi.cpus = 1;
	for (int i = 0; i < 16; i++)	/* identity unless overridden */
		acpi.isa_gsi[i] = (uint32_t)i;
	if (!rsdp_addr || memcmp(r, "RSD PTR ", 8) || byte_sum(r, 20))
		return;
	if (r[15] >= 2 && le64_get(r + 24) && !byte_sum(r, 36)) {
		root = le64_get(r + 24);
		width = 8;
	} else {
		root = le32_get(r + 16);
		width = 4;
	}
	const uint8_t *t = table_at(root, &len);
	if (!t)
		return;
	acpi.valid = 1;
	for (uint32_t p = 36; p + width <= len; p += width) {
		uint32_t tlen;
		uint64_t at = width == 8 ? le64_get(t + p) : le32_get(t + p);
		const uint8_t *s = table_at(at, &tlen);
		if (s)
			parse_table(s, tlen);
	}
}

uint64_t acpi_find_rsdp(uint64_t base, uint64_t len)
{
	for (uint64_t a = (base + 15) & ~15ull; a + 20 <= base + len; a += 16) {
		const uint8_t *r = (const uint8_t *)(uintptr_t)a;
		if (r[0] == 'R' && !memcmp(r, "RSD PTR ", 8) && !byte_sum(r, 20))
			return a;
	}
	return 0;
}
