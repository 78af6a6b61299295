/* SMBIOS: OEM strings, identity strings, the UUID; see smbios.h. */
#include "smbios.h"

#include <string.h>

#include "le.h"

#define MAX_TABLE (1u << 20)
#define TYPE_SYSTEM 1
#define SYSTEM_UUID 8	/* DSP0134 §7.2: 16 bytes */
#define TYPE_OEM_STRINGS 11
#define TYPE_END 127

static const uint8_t *table;
static uint32_t table_len;

/* DSP0134 §5.2.2 (64-bit "_SM3_": length at 6, table max size at 12,
 * address at 16) and §5.2.1 (32-bit "_SM_": the "_DMI_" part at 16,
 * length at 22, address at 24). */
void smbios_init(uint64_t smbios3, uint64_t smbios)
{
	const uint8_t *e3 = (const uint8_t *)(uintptr_t)smbios3;
	const uint8_t *e = (const uint8_t *)(uintptr_t)smbios;
	uint32_t len;
	uint64_t addr;
	if (e3 && !memcmp(e3, "_SM3_", 5) && e3[6] >= 24 &&
	    !byte_sum(e3, e3[6])) {
		len = le32_get(e3 + 12);
		addr = le64_get(e3 + 16);
	} else if (e && !memcmp(e, "_SM_", 4) && e[5] >= 31 &&
		   !byte_sum(e, e[5]) && !memcmp(e + 16, "_DMI_", 5)) {
		len = le16_get(e + 22);
		addr = le32_get(e + 24);
	} else {
		return;
	}
	if (!addr || len > MAX_TABLE)
		return;
	table = (const uint8_t *)(uintptr_t)addr;
	table_len = len;
}

void smbios_scan(uint64_t base, uint64_t len, uint64_t *smbios3,
		 uint64_t *smbios)
{
	for (uint64_t a = (base + 15) & ~15ull; a + 16 <= base + len; a += 16) {
		const char *p = (const char *)(uintptr_t)a;
		if (*p != '_')		/* one load for most of the 4096 */
			continue;
		if (!*smbios3 && !memcmp(p, "_SM3_", 5))
			*smbios3 = a;
		else if (!*smbios && !memcmp(p, "_SM_", 4))
			*smbios = a;
	}
}

/* The end of a structure's string set (past its double NUL), or 0. */
static uint32_t strings_end(uint32_t at)
{
	for (uint32_t p = at; p + 1 < table_len; p++)
		if (!table[p] && !table[p + 1])
			return p + 2;
	return 0;
}

/* Walks the structures (DSP0134 §6.1.2: a formatted area of `len` bytes,
 * then strings up to a double NUL): the offset of the first of `type`
 * and its formatted length and string set end, or -1. Every length is
 * checked against the table. */
static long find(uint8_t want, uint32_t from, uint8_t *len_out,
		 uint32_t *end_out)
{
	for (uint32_t p = from; table && p + 4 <= table_len;) {
		uint8_t type = table[p], len = table[p + 1];
		if (len < 4 || p + len > table_len)
			return -1;
		uint32_t end = strings_end(p + len);
		if (!end)
			return -1;
		if (type == want) {
			*len_out = len;
			*end_out = end;
			return p;
		}
		if (type == TYPE_END)
			return -1;
		p = end;
	}
	return -1;
}

long smbios_oem_value(const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	uint8_t len;
	uint32_t end;
	for (long p = find(TYPE_OEM_STRINGS, 0, &len, &end); p >= 0;
	     p = find(TYPE_OEM_STRINGS, end, &len, &end)) {
		for (uint32_t s = (uint32_t)p + len; s < end - 1;) {
			const char *str = (const char *)table + s;
			size_t n = strnlen(str, end - s);
			if (n > klen && !memcmp(str, key, klen) &&
			    str[klen] == '=') {
				size_t v = n - klen - 1;
				size_t c = v < size - 1 ? v : size - 1;
				memcpy(buf, str + klen + 1, c);
				buf[c] = 0;
				return (long)v;
			}
			s += (uint32_t)n + 1;
		}
	}
	return -1;
}

long smbios_string(unsigned type, unsigned field, char *buf, size_t size)
{
	uint8_t len;
	uint32_t end;
	long p = find((uint8_t)type, 0, &len, &end);
	if (p < 0 || field >= len || !table[p + field])
		return -1;
	unsigned want = table[p + field];	/* strings count from 1 */
	uint32_t s = (uint32_t)p + len;
	for (unsigned i = 1; s < end - 1; i++) {
		const char *str = (const char *)table + s;
		size_t n = strnlen(str, end - s);
		if (!n)		/* the set's end */
			break;
		if (i == want) {
			while (n && str[n - 1] == ' ')	/* as Linux's dmi */
				n--;
			size_t c = n < size - 1 ? n : size - 1;
			memcpy(buf, str, c);
			buf[c] = 0;
			return (long)n;
		}
		s += (uint32_t)n + 1;
	}
	return -1;
}

int smbios_uuid(uint8_t uuid[16])
{
	uint8_t len;
	uint32_t end;
	long p = find(TYPE_SYSTEM, 0, &len, &end);
	if (p < 0 || len < SYSTEM_UUID + 16)
		return -1;
	memcpy(uuid, table + p + SYSTEM_UUID, 16);
	return 0;
}
