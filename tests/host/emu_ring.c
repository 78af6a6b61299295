/* The device's side of a split virtqueue; see emu_ring.h. */
#include "emu_ring.h"

#include "../../runtime/cpu.h"
#include "../../runtime/le.h"

#define D_NEXT 1
#define D_WRITE 2

static volatile uint8_t *at(uint64_t addr)
{
	return (volatile uint8_t *)(uintptr_t)addr;
}

unsigned emu_ring_chain(uint64_t desc, uint16_t size, uint16_t head,
			struct emu_seg *s, unsigned max)
{
	unsigned n = 0;
	uint16_t i = head, flags;
	do {
		if (i >= size || n == max)
			return 0;
		volatile uint8_t *d = at(desc + 16ull * i);
		flags = mmio_read16(d, 12);
		s[n++] = (struct emu_seg){ mmio_read64(d, 0), mmio_read32(d, 8),
					   !!(flags & D_WRITE) };
		i = mmio_read16(d, 14);
	} while (flags & D_NEXT);
	return n;
}

int emu_ring_take(uint64_t avail, uint16_t size, uint16_t *avail_seen,
		  uint16_t *head)
{
	if (mmio_read16(at(avail), 2) == *avail_seen)
		return 0;
	/* The index before the ring entry it covers. */
	cpu_barrier();
	*head = mmio_read16(at(avail), 4 + 2u * (*avail_seen % size));
	(*avail_seen)++;
	return 1;
}

void emu_ring_used(uint64_t used, uint16_t size, uint32_t id, uint32_t len)
{
	volatile uint8_t *u = at(used);
	uint16_t ui = mmio_read16(u, 2);
	mmio_write32(u, 4 + 8u * (ui % size), id);
	mmio_write32(u, 8 + 8u * (ui % size), len);
	/* The used entry and the data before the index. */
	cpu_barrier();
	mmio_write16(u, 2, (uint16_t)(ui + 1));
}
