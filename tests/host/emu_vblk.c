/* The virtio-blk PCI device model; see emu_vblk.h. */
#include "emu_vblk.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/le.h"
#include "emu_ring.h"

/* §4.1.4.3 common configuration, at EMU_VBLK_COMMON */
#define C_DF 0x04
#define C_NUMQ 0x12
#define C_STATUS 0x14
#define C_QSIZE 0x18
#define C_QENABLE 0x1c
#define C_QNOFF 0x1e
#define C_QDESC 0x20
#define C_QDRIVER 0x28
#define C_QDEVICE 0x30
#define DRIVER_OK 4
#define FAILED 128

#define CAP_VENDOR 0x09
#define MAX_SEGS 8
#define STORED_MAX 2048

/* §4.1.4 virtio_pci_cap (+ the notify multiplier): from cap_len on. */
static void add_cap(struct emu_vblk *e, uint8_t type, uint32_t off,
		    uint32_t len, uint32_t mult)
{
	uint8_t b[18] = { 0 };
	b[0] = type == 2 ? 20 : 16;	/* cap_len */
	b[1] = type;
	b[2] = 4;			/* BAR 4 */
	le32_put(b + 6, off);
	le32_put(b + 10, len);
	le32_put(b + 14, mult);
	fakepci_cap(&e->pci, CAP_VENDOR, b, b[0]);
}

void emu_vblk_init(struct emu_vblk *e, uint8_t slot, uint64_t capacity,
		   uint16_t qnoff, uint32_t mult, uint32_t notify_len)
{
	memset(e, 0, sizeof(*e));
	fakepci_init(&e->pci, slot, 0x1af4, 0x1042, 1, 0, 0);
	e->pci.pci.subsys = 2;
	e->bar = fakepci_bar(&e->pci, 4, EMU_VBLK_BAR);
	add_cap(e, 1, EMU_VBLK_COMMON, 0x38, 0);
	add_cap(e, 2, EMU_VBLK_NOTIFY, notify_len, mult);
	add_cap(e, 3, EMU_VBLK_ISR, 4, 0);
	add_cap(e, 4, EMU_VBLK_DEVICE, 0x40, 0);
	volatile uint8_t *c = e->bar + EMU_VBLK_COMMON;
	mmio_write32(c, C_DF, 1u << 0 | 1u << 9);
	mmio_write16(c, C_NUMQ, 1);
	mmio_write16(c, C_QSIZE, EMU_VBLK_QSIZE);
	mmio_write16(c, C_QNOFF, qnoff);
	mmio_write64(e->bar + EMU_VBLK_DEVICE, 0, capacity);
	e->stored = capacity < STORED_MAX ? capacity : STORED_MAX;
	e->data = calloc(e->stored, 512);
}

/* §5.2.6: one request; the status byte, and the bytes written. */
static uint8_t serve(struct emu_vblk *e, const struct emu_seg *s, unsigned n,
		     uint32_t *written)
{
	uint32_t type = le32_get(fakepci_dma(s[0].addr));
	uint64_t sector = le64_get(fakepci_dma(s[0].addr) + 8), at = 0;
	for (unsigned k = 1; k + 1 < n; k++) {
		uint64_t len = s[k].len;
		if (type == 8 && s[k].writes) {	/* GET_ID */
			char id[20] = EMU_VBLK_SERIAL;
			memcpy(fakepci_dma(s[k].addr), id, len < 20 ? len : 20);
			*written += len < 20 ? (uint32_t)len : 20;
			continue;
		}
		if (type > 1)
			continue;
		uint64_t room = sector < e->stored
					? (e->stored - sector) * 512 : 0;
		if (at + len > room)
			return 1;	/* IOERR: past what is stored */
		uint8_t *m = e->data + sector * 512 + at;
		if (type == 0 && s[k].writes) {
			memcpy(fakepci_dma(s[k].addr), m, len);
			*written += (uint32_t)len;
		} else if (type == 1 && !s[k].writes) {
			memcpy(m, fakepci_dma(s[k].addr), len);
		} else {
			e->bad++;	/* data the wrong way */
		}
		at += len;
	}
	return type <= 1 || type == 4 || type == 8 ? 0 : 2;	/* UNSUPP */
}

/* Takes the queue as the driver programmed it, once it is enabled and
 * the driver said DRIVER_OK. */
static int go_live(struct emu_vblk *e, volatile uint8_t *c)
{
	if (!(c[C_STATUS] & DRIVER_OK) || mmio_read16(c, C_QENABLE) != 1)
		return 0;
	e->size = mmio_read16(c, C_QSIZE);
	e->desc = mmio_read64(c, C_QDESC);
	e->avail = mmio_read64(c, C_QDRIVER);
	e->used = mmio_read64(c, C_QDEVICE);
	e->last_avail = 0;
	e->live = 1;
	return 1;
}

static int step(void *ctx)
{
	struct emu_vblk *e = ctx;
	volatile uint8_t *c = e->bar + EMU_VBLK_COMMON;
	uint8_t status = c[C_STATUS];
	if (!status || (status & FAILED)) {	/* reset: the queue is gone */
		if (e->live)
			mmio_write16(c, C_QENABLE, 0);
		e->live = 0;
		return 0;
	}
	if (!e->live)
		return go_live(e, c);
	int n = 0;
	uint16_t head;
	for (; emu_ring_take(e->avail, e->size, &e->last_avail, &head); n++) {
		struct emu_seg s[MAX_SEGS];
		unsigned k = emu_ring_chain(e->desc, e->size, head, s, MAX_SEGS);
		uint32_t written = 0;
		e->requests++;
		if (k < 2 || s[0].len < 16 || !s[k - 1].writes) {
			e->bad++;
		} else {
			*fakepci_dma(s[k - 1].addr) = serve(e, s, k, &written);
			written++;
		}
		emu_ring_used(e->used, e->size, head, written);
	}
	return n;
}

int emu_vblk_start(struct emu_vblk *e)
{
	return fakepci_run(&e->pci, step, e);
}

void emu_vblk_free(struct emu_vblk *e)
{
	fakepci_free(&e->pci);
	free(e->data);
}
