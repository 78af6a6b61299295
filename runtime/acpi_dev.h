/* Devices the DSDT declares by _HID, with the resources of their _CRS:
 * enough AML to find platform devices such as virtio-mmio (_HID
 * "LNRO0005") on machines without PCI, without an AML interpreter. */
#ifndef UMBRA_ACPI_DEV_H
#define UMBRA_ACPI_DEV_H

#include <stdint.h>

struct acpi_dev {
	uint64_t base, len;	/* the first Memory32Fixed range */
	uint32_t irq;		/* the first interrupt (GSI) ... */
	int has_irq;		/* ... when there is one */
};

/* Scans the AML of a DSDT (or SSDT) of len bytes, header included, for
 * Device objects whose _HID is the string hid and whose _CRS buffer holds
 * a Memory32Fixed descriptor; fills up to max of them into out in table
 * order and returns how many were filled. Every length in the AML is
 * checked against the table: a malformed table yields fewer devices,
 * never a read outside it. */
unsigned acpi_dev_find(const uint8_t *aml, uint32_t len, const char *hid,
		       struct acpi_dev *out, unsigned max);

#endif
