/* The device's side of a split virtqueue (virtio 1.2 §2.7) for the
 * device models in tests/host: walking a descriptor chain as a device
 * reads it, and publishing a used entry. Addresses are the driver's DMA
 * addresses, identity-mapped in the host tests. */
#ifndef UMBRA_EMU_RING_H
#define UMBRA_EMU_RING_H

#include <stdint.h>

struct emu_seg {
	uint64_t addr;
	uint32_t len;
	int writes;		/* device-writable */
};

/* The chain from head in the descriptor table at desc (size entries),
 * at most max segments, no indirect tables (§2.7.5); how many, or 0 when
 * it is malformed (an index out of range, longer than max). */
unsigned emu_ring_chain(uint64_t desc, uint16_t size, uint16_t head,
			struct emu_seg *s, unsigned max);

/* The next available head at avail_seen (0 when there is none; then
 * *head is untouched), advancing avail_seen. */
int emu_ring_take(uint64_t avail, uint16_t size, uint16_t *avail_seen,
		  uint16_t *head);

/* Puts {id, len} in the used ring at used, then the index after it. */
void emu_ring_used(uint64_t used, uint16_t size, uint32_t id, uint32_t len);

#endif
