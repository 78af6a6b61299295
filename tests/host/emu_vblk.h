/* A modern virtio-blk PCI device (virtio 1.2 §4.1, §5.2) for host tests:
 * the vendor capabilities (common, notify, ISR, device) point into BAR 4,
 * and a thread serves the split request queue once the driver sets
 * DRIVER_OK (it polls the available ring, so it needs no doorbell; the
 * test reads where the doorbell landed). Requests: IN, OUT, FLUSH and
 * GET_ID, on a disk in memory.
 *
 * Plain memory cannot answer device_feature_select, so device_feature
 * reads the same word for both halves: bit 0 and bit 9, which the driver
 * takes as VERSION_1 (bit 32) and FLUSH (bit 9). */
#ifndef UMBRA_EMU_VBLK_H
#define UMBRA_EMU_VBLK_H

#include <stdint.h>

#include "fakepci.h"

#define EMU_VBLK_BAR 0x4000u
#define EMU_VBLK_COMMON 0x0000u
#define EMU_VBLK_ISR 0x1000u
#define EMU_VBLK_DEVICE 0x2000u
#define EMU_VBLK_NOTIFY 0x3000u	/* the notify region, to the BAR's end */
#define EMU_VBLK_QSIZE 64
#define EMU_VBLK_SERIAL "emu-vblk-0001"

struct emu_vblk {
	struct fakepci pci;
	volatile uint8_t *bar;	/* BAR 4 */
	uint64_t stored;	/* sectors kept in data */
	uint8_t *data;
	/* seen by the device, for the test */
	volatile unsigned requests, bad;
	/* the device's own */
	int live;
	uint16_t size, last_avail;
	uint64_t desc, avail, used;
};

/* A device at PCI slot `slot` claiming `capacity` 512-byte sectors (the
 * first up to 2048 of them stored), whose queue 0 has queue_notify_off
 * `qnoff`, and whose notify capability says `mult` and `notify_len`. */
void emu_vblk_init(struct emu_vblk *e, uint8_t slot, uint64_t capacity,
		   uint16_t qnoff, uint32_t mult, uint32_t notify_len);

/* Starts the device's thread (0, or -1). */
int emu_vblk_start(struct emu_vblk *e);

/* Stops it, frees the disk and the BAR. */
void emu_vblk_free(struct emu_vblk *e);

#endif
