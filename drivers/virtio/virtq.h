/* Virtqueues: split (virtio 1.2 §2.7) and packed (§2.8), behind one
 * interface. The queue knows buffers and tokens, nothing of the device
 * using it. Memory comes from the page allocator below 4 GiB (the legacy
 * transport takes a 32-bit page number). */
#ifndef UMBRA_VIRTQ_H
#define UMBRA_VIRTQ_H

#include <stdint.h>

#include "virtio.h"

#define VIRTQ_MAX_SEGS 4	/* buffers per request, unless the queue
				 * was given its own maximum */

struct virtq_buf {
	uint64_t addr;
	uint32_t len;
	int device_writes;	/* device-writable (else device-readable) */
};

struct virtq {
	struct virtio_dev *dev;
	uint16_t index, size;
	uint8_t packed, indirect, event_idx, irq_on;
	/* Used lengths that count device-readable bytes too are clamped to
	 * the device-writable ones rather than refused (QEMU's virtio-scsi
	 * adds the data-out length: §5.6.6 says a driver may not rely on
	 * them). Set by the driver after virtq_init. */
	uint8_t loose_len;
	uint16_t segs;		/* buffers a request may have */
	uint16_t free;		/* ring descriptors not in use */
	void **token;		/* [size]: per buffer id; 0 = not in flight */
	uint16_t *chain;	/* [size]: ring descriptors the id holds */
	uint32_t *writable;	/* [size]: device-writable bytes posted */
	uint16_t *next;		/* [size]: split free list / packed free ids */
	uint8_t *itab;		/* indirect tables, segs entries each */
	uint64_t mem;		/* the rings */
	uint32_t mem_pages;
	/* split */
	volatile uint8_t *desc, *avail, *used;
	uint16_t free_head, avail_idx, last_used, kicked_idx;
	/* packed */
	uint16_t next_avail, next_used, free_id;
	uint8_t avail_wrap, used_wrap;
	volatile uint8_t *drv_event, *dev_event;
};

/* Sets up queue `index` of d (after virtio_negotiate): the ring kind from
 * the negotiated features, the size min(device max, want), requests of
 * up to VIRTQ_MAX_SEGS buffers. */
int virtq_init(struct virtq *q, struct virtio_dev *d, uint16_t index,
	       uint16_t want);

/* The same for requests of up to segs buffers (an indirect table of segs
 * descriptors per ring entry when the device takes them; without, a
 * request takes segs ring descriptors, so segs is cut to the size). */
int virtq_init_segs(struct virtq *q, struct virtio_dev *d, uint16_t index,
		    uint16_t want, uint16_t segs);

/* Gives back the queue's memory (the device must be reset first). */
void virtq_free(struct virtq *q);

/* Whether a request of n (<= segs) buffers fits now. */
static inline int virtq_room(const struct virtq *q, unsigned n)
{
	return n <= q->segs && q->free >= (q->indirect && n > 1 ? 1 : n);
}

/* Makes n buffers (device-readable ones first) available as one request
 * carrying token (non-NULL). Returns 0, or -1 when the ring is full. */
int virtq_add(struct virtq *q, const struct virtq_buf *b, unsigned n,
	      void *token);

/* Notifies the device if it wants to hear about new buffers. */
void virtq_kick(struct virtq *q);

/* Used-buffer notifications (the device's interrupt) on or off. */
void virtq_interrupts(struct virtq *q, int on);

/* Nonzero when a used buffer is waiting; only reads (for a handler). */
int virtq_pending(const struct virtq *q);

/* One completed request: 1 with *token and *len, 0 when none, or
 * VIRTIO_ERR_DEVICE when the device returned something it was not given
 * (an unknown id, a length beyond what was posted unless loose_len). */
int virtq_get(struct virtq *q, void **token, uint32_t *len);

#endif
