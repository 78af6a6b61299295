/* DSDT devices by _HID; see acpi_dev.h. AML encodings from ACPI 6.5
 * §20.2 (AML grammar) and resource descriptors from §6.4. */
#include "acpi_dev.h"

#include <string.h>

#include "le.h"

#define HEADER 36		/* §5.2.6 table header */
#define EXT_OP 0x5b		/* §20.2.5.2 DeviceOp = ExtOpPrefix 0x82 */
#define DEVICE_OP 0x82
#define NAME_OP 0x08
#define BUFFER_OP 0x11
#define STRING_PREFIX 0x0d
#define BYTE_PREFIX 0x0a
#define WORD_PREFIX 0x0b
#define DWORD_PREFIX 0x0c
#define DUAL_NAME 0x2e
#define MULTI_NAME 0x2f
#define RES_END 0x79		/* §6.4.2.9 End Tag, small item */
#define RES_MEM32_FIXED 0x86	/* §6.4.3.4, large item, 9 bytes */
#define RES_EXT_IRQ 0x89	/* §6.4.3.6, large item */
#define RES_IRQ 0x04		/* §6.4.2.1, small item type */

/* §20.2.4 PkgLength at p (before end): its value, which counts its own
 * bytes; *n = those bytes. 0 when it runs past end. */
static uint32_t pkg_length(const uint8_t *a, uint32_t p, uint32_t end,
			   uint32_t *n)
{
	if (p >= end)
		return 0;
	uint32_t extra = a[p] >> 6, v;
	if (p + 1 + extra > end)
		return 0;
	if (!extra) {
		v = a[p] & 0x3f;
	} else {
		v = a[p] & 0x0f;
		for (uint32_t i = 0; i < extra; i++)
			v |= (uint32_t)a[p + 1 + i] << (4 + 8 * i);
	}
	*n = 1 + extra;
	return v;
}

/* §20.2.2 NameString at p: the offset past it, or end when malformed. */
static uint32_t skip_name(const uint8_t *a, uint32_t p, uint32_t end)
{
	while (p < end && (a[p] == '\\' || a[p] == '^'))
		p++;
	if (p >= end)
		return end;
	if (a[p] == 0)
		return p + 1;
	if (a[p] == DUAL_NAME)
		return p + 9 <= end ? p + 9 : end;
	if (a[p] == MULTI_NAME)
		return p + 2 <= end && p + 2 + 4u * a[p + 1] <= end
			       ? p + 2 + 4u * a[p + 1] : end;
	return p + 4 <= end ? p + 4 : end;
}

/* The end of the Device object whose DeviceOp is at p, and where its body
 * (after the name) starts; 0 when malformed. */
static uint32_t device_end(const uint8_t *a, uint32_t p, uint32_t end,
			   uint32_t *body)
{
	uint32_t n, len = pkg_length(a, p + 2, end, &n);
	if (len < n || len > end - (p + 2))
		return 0;
	uint32_t e = p + 2 + len;
	*body = skip_name(a, p + 2 + n, e);
	return e;
}

/* The offset just past "Name (seg," inside [p, end), skipping nested
 * devices so that a child's names are not taken for the parent's; 0 when
 * absent. */
static uint32_t find_name(const uint8_t *a, uint32_t p, uint32_t end,
			  const char *seg)
{
	while (p + 5 <= end) {
		uint32_t body, e;
		if (a[p] == EXT_OP && p + 2 < end && a[p + 1] == DEVICE_OP &&
		    (e = device_end(a, p, end, &body)) != 0) {
			p = e;
			continue;
		}
		if (a[p] == NAME_OP && !memcmp(a + p + 1, seg, 4))
			return p + 5;
		p++;
	}
	return 0;
}

static int hid_is(const uint8_t *a, uint32_t p, uint32_t end, const char *hid)
{
	size_t n = strlen(hid);
	return p && p + 2 + n <= end && a[p] == STRING_PREFIX &&
	       !memcmp(a + p + 1, hid, n) && a[p + 1 + n] == 0;
}

/* §6.4 resource descriptors in [p, end): the first fixed memory range
 * and the first interrupt. Returns 1 when a memory range was found. */
static int parse_resources(const uint8_t *a, uint32_t p, uint32_t end,
			   struct acpi_dev *d)
{
	int mem = 0;
	while (p < end && a[p] != RES_END) {
		uint32_t len, hdr;
		if (a[p] & 0x80) {		/* large item */
			if (p + 3 > end)
				break;
			len = le16_get(a + p + 1);
			hdr = 3;
		} else {
			len = a[p] & 7;
			hdr = 1;
		}
		if (len > end - p - hdr)
			break;
		const uint8_t *b = a + p + hdr;
		if (a[p] == RES_MEM32_FIXED && len >= 9 && !mem) {
			d->base = le32_get(b + 1);
			d->len = le32_get(b + 5);
			mem = 1;
		} else if (a[p] == RES_EXT_IRQ && len >= 6 && b[1] >= 1 &&
			   !d->has_irq) {
			d->irq = le32_get(b + 2);
			d->has_irq = 1;
		} else if (!(a[p] & 0x80) && (a[p] >> 3 & 15) == RES_IRQ &&
			   len >= 2 && le16_get(b) && !d->has_irq) {
			d->irq = (uint32_t)__builtin_ctz(le16_get(b));
			d->has_irq = 1;
		}
		p += hdr + len;
	}
	return mem && d->len;
}

/* _CRS as "Name (_CRS, Buffer (size) {...})" at p (just past the name). */
static int parse_crs(const uint8_t *a, uint32_t p, uint32_t end,
		     struct acpi_dev *d)
{
	uint32_t n;
	if (!p || p >= end || a[p] != BUFFER_OP)
		return 0;
	uint32_t len = pkg_length(a, p + 1, end, &n);
	if (len < n || len > end - (p + 1))
		return 0;
	uint32_t bend = p + 1 + len, q = p + 1 + n, size;
	if (q + 2 > bend)
		return 0;
	switch (a[q]) {				/* §20.2.3 BufferSize */
	case BYTE_PREFIX: size = a[q + 1]; q += 2; break;
	case WORD_PREFIX:
		if (q + 3 > bend)
			return 0;
		size = le16_get(a + q + 1); q += 3; break;
	case DWORD_PREFIX:
		if (q + 5 > bend)
			return 0;
		size = le32_get(a + q + 1); q += 5; break;
	default: return 0;
	}
	if (size > bend - q)
		size = bend - q;
	return parse_resources(a, q, q + size, d);
}

unsigned acpi_dev_find(const uint8_t *aml, uint32_t len, const char *hid,
		       struct acpi_dev *out, unsigned max)
{
	unsigned found = 0;
	for (uint32_t p = HEADER; p + 2 < len && found < max; p++) {
		uint32_t body, end;
		if (aml[p] != EXT_OP || aml[p + 1] != DEVICE_OP ||
		    !(end = device_end(aml, p, len, &body)))
			continue;
		if (!hid_is(aml, find_name(aml, body, end, "_HID"), end, hid))
			continue;
		struct acpi_dev d = { 0 };
		if (parse_crs(aml, find_name(aml, body, end, "_CRS"), end, &d))
			out[found++] = d;
	}
	return found;
}
