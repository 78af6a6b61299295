/* SMBIOS (DMTF DSP0134 3.x): the OEM strings of type 11, where QEMU's
 * `-smbios type=11,value=...`, libvirt's <sysinfo> and some clouds put
 * per-instance settings; the identity strings and UUID by which a cloud
 * says what it is (type 1 system, 2 baseboard, 3 chassis). */
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

/* String fields (DSP0134 §7.2 type 1: manufacturer 4, product 5,
 * serial 7; §7.3 type 2 and §7.4 type 3: asset tag 8). */
#define SMBIOS_SYSTEM 1
#define SMBIOS_BOARD 2
#define SMBIOS_CHASSIS 3
#define SMBIOS_MANUFACTURER 4
#define SMBIOS_PRODUCT 5
#define SMBIOS_SERIAL 7
#define SMBIOS_ASSET_TAG 8

/* Copies the string that byte `field` of the first structure of `type`
 * names into buf (NUL-terminated, at most size-1 bytes, trailing blanks
 * dropped as Linux's dmi does). Returns its length, or -1 when the
 * structure, the field or the string is absent. */
long smbios_string(unsigned type, unsigned field, char *buf, size_t size);

/* Type 1's UUID, its 16 bytes as the table holds them (the first three
 * fields little-endian since SMBIOS 2.6): 0, or -1 when absent. */
int smbios_uuid(uint8_t uuid[16]);

#endif
