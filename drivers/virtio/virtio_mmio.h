/* The MMIO transport for VirtIO (virtio 1.2 §4.2): version 2 (modern) and
 * version 1 (legacy, §4.2.4), behind the same ops as the PCI transport.
 * MMIO has no discovery of its own (§4.2.1); devices are named by the
 * loader's command line, by the ACPI DSDT, or found in QEMU microvm's
 * fixed window. Drivers poll; the interrupt found is kept for later. */
#ifndef UMBRA_VIRTIO_MMIO_H
#define UMBRA_VIRTIO_MMIO_H

#include <stdint.h>

#include "virtio.h"

#define VIRTIO_MMIO_MAX 32	/* transports looked at */

/* Where one transport is, and who said so. */
struct virtio_mmio_loc {
	uint64_t base, size;
	uint32_t irq;		/* GSI, when has_irq */
	int has_irq;
	const char *from;	/* "command line", "ACPI", "microvm window" */
};

/* Parses the value of a virtio_mmio.device= word, Linux's format
 * SIZE@BASE:IRQ[:ID] (SIZE and BASE in C notation, SIZE with an optional
 * K, M or G; Firecracker writes "4K@0xc0001000:5"). Returns 0, or -1 with
 * *why saying what is wrong. */
int virtio_mmio_parse(const char *s, struct virtio_mmio_loc *loc,
		      const char **why);

/* The transports of this machine, at most max, in the order their source
 * lists them: virtio_mmio.device= words on the command line, then DSDT
 * devices with _HID LNRO0005 (duplicates dropped); when neither names one
 * and there is no PCI, the occupied slots of QEMU microvm's window
 * (0xfeb00000, 512-byte stride; QEMU fills it from the top, so the top
 * slot first). Malformed words are reported (blk_broken, as "cmdline")
 * and skipped. */
unsigned virtio_mmio_find(struct virtio_mmio_loc *out, unsigned max,
			  int have_pci);

/* Sets d up over the transport at loc (d->type from its DeviceID).
 * Returns 0; VIRTIO_ERR_NODEV for an empty slot (DeviceID 0, §4.2.3.1:
 * not an error); VIRTIO_ERR_DEVICE with *why for a range that is not a
 * usable virtio-mmio device (too small, in RAM, bad magic or version);
 * VIRTIO_ERR_NOMEM. Nothing is written to a device that fails the checks. */
int virtio_mmio_attach(const struct virtio_mmio_loc *loc,
		       struct virtio_dev *d, const char **why);

/* Gives back what attach allocated, for a device no driver took. */
void virtio_mmio_release(struct virtio_dev *d);

#endif
