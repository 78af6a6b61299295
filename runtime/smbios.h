/* SMBIOS (DMTF DSP0134 3.x): the OEM strings of type 11, where QEMU's
 * `-smbios type=11,value=...`, libvirt's <sysinfo> and some clouds put
 * per-instance settings. */
#ifndef UMBRA_SMBIOS_H
#define UMBRA_SMBIOS_H

#include <stddef.h>
#include <stdint.h>

/* Remembers the entry points boot/ found (0 when absent). */
void smbios_init(uint64_t smbios3, uint64_t smbios);

/* The 64-bit ("_SM3_") and 32-bit ("_SM_") entry point anchors on the
 * 16-byte boundaries of [base, base + len), as a legacy BIOS places them
 * (DSP0134 §5.2); each stays 0 when absent. smbios_init checks them. */
void smbios_scan(uint64_t base, uint64_t len, uint64_t *smbios3,
		 uint64_t *smbios);

/* Copies the value of the first type-11 string starting with `key=` into
 * buf (NUL-terminated, at most size-1 bytes). Returns its length, or -1
 * when there is none. Every length in the table is checked. */
long smbios_oem_value(const char *key, char *buf, size_t size);

#endif
