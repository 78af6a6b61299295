/* Virtqueues, split and packed; see virtq.h. The rings are written with
 * explicit little-endian stores (x86 is little-endian, and legacy devices
 * use guest order, so these are plain stores). Memory-order comments say
 * which accesses each barrier keeps apart. */
#include "virtq.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"

#define LOW4G (1ull << 32)
#define ALIGN4K(x) (((x) + 4095) & ~4095ull)

/* §2.7.5 descriptor flags; §2.8 adds AVAIL and USED. */
#define DESC_NEXT 1
#define DESC_WRITE 2
#define DESC_INDIRECT 4
#define DESC_AVAIL (1u << 7)
#define DESC_USED (1u << 15)
#define AVAIL_NO_INTERRUPT 1	/* §2.7.7 */
#define USED_NO_NOTIFY 1	/* §2.7.10 */
#define EVENT_ENABLE 0		/* §2.8.10 */
#define EVENT_DISABLE 1

/* Ring memory is shared with the device: volatile accesses of exactly
 * the width the layout gives (x86 is little-endian, as the rings are). */
#define st16(p, v) mmio_write16(p, 0, v)
#define st32(p, v) mmio_write32(p, 0, v)
#define st64(p, v) mmio_write64(p, 0, v)
#define ld16(p) mmio_read16(p, 0)
#define ld32(p) mmio_read32(p, 0)

/* A descriptor: addr, len, flags, next (split) or id (packed). */
static void put_desc(volatile uint8_t *d, const struct virtq_buf *b,
		     uint16_t flags, uint16_t next_or_id, int packed)
{
	st64(d, b->addr);
	st32(d + 8, b->len);
	if (packed) {
		st16(d + 12, next_or_id);
		st16(d + 14, flags);
	} else {
		st16(d + 12, flags);
		st16(d + 14, next_or_id);
	}
}

static int alloc_state(struct virtq *q)
{
	uint32_t n = q->size;
	q->token = calloc(n, sizeof(*q->token));
	q->chain = calloc(n, sizeof(*q->chain));
	q->writable = calloc(n, sizeof(*q->writable));
	q->next = calloc(n, sizeof(*q->next));
	if (!q->token || !q->chain || !q->writable || !q->next)
		return VIRTIO_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++)
		q->next[i] = (uint16_t)(i + 1);
	q->free = q->size;
	if (q->indirect) {
		uint64_t bytes = (uint64_t)n * q->segs * 16;
		uint64_t p = page_alloc_below((bytes + 4095) / 4096, LOW4G);
		if (!p)
			return VIRTIO_ERR_NOMEM;
		q->itab = (uint8_t *)(uintptr_t)p;
	}
	return 0;
}

/* §2.7.2 (split) and §2.8.10 (packed) layouts in one zeroed block; the
 * split one is also the legacy layout (used ring on a 4 KiB boundary). */
static int alloc_rings(struct virtq *q)
{
	uint64_t n = q->size, desc = 16 * n, bytes;
	if (q->packed)
		bytes = desc + 8;
	else
		bytes = ALIGN4K(desc + 6 + 2 * n) + 6 + 8 * n;
	q->mem_pages = (uint32_t)((bytes + 4095) / 4096);
	q->mem = page_alloc_below(q->mem_pages, LOW4G);
	if (!q->mem)
		return VIRTIO_ERR_NOMEM;
	memset((void *)(uintptr_t)q->mem, 0, q->mem_pages * 4096ull);
	q->desc = (volatile uint8_t *)(uintptr_t)q->mem;
	if (q->packed) {
		q->drv_event = q->desc + desc;
		q->dev_event = q->drv_event + 4;
		/* No used-buffer notifications until someone asks. */
		st16(q->drv_event + 2, EVENT_DISABLE);
	} else {
		q->avail = q->desc + desc;
		q->used = q->desc + ALIGN4K(desc + 6 + 2 * n);
		st16(q->avail, AVAIL_NO_INTERRUPT);
	}
	return 0;
}

/* §2.7.10: with event idx, the device interrupts when it writes used
 * entry used_event; "far away" means never. */
static void set_used_event(struct virtq *q)
{
	st16(q->avail + 4 + 2u * q->size,
	     (uint16_t)(q->last_used + (q->irq_on ? 0 : 0x7fff)));
	/* The store before our next look at the used index: the device
	 * must see it or we must see its entry (store-load: a fence). */
	cpu_mfence();
}

void virtq_interrupts(struct virtq *q, int on)
{
	q->irq_on = (uint8_t)on;
	if (q->packed)		/* §2.8.10 driver event suppression */
		st16(q->drv_event + 2, on ? EVENT_ENABLE : EVENT_DISABLE);
	else if (q->event_idx)
		set_used_event(q);
	else			/* §2.7.7 */
		st16(q->avail, on ? 0 : AVAIL_NO_INTERRUPT);
	cpu_mfence();
}

int virtq_pending(const struct virtq *q)
{
	if (!q->packed)
		return ld16(q->used + 2) != q->last_used;
	uint16_t f = ld16(q->desc + 16u * q->next_used + 14);
	int avail = !!(f & DESC_AVAIL), used = !!(f & DESC_USED);
	return avail == used && used == q->used_wrap;
}

int virtq_init(struct virtq *q, struct virtio_dev *d, uint16_t index,
	       uint16_t want)
{
	return virtq_init_segs(q, d, index, want, VIRTQ_MAX_SEGS);
}

int virtq_init_segs(struct virtq *q, struct virtio_dev *d, uint16_t index,
		    uint16_t want, uint16_t segs)
{
	int fixed;
	memset(q, 0, sizeof(*q));
	q->dev = d;
	q->index = index;
	q->packed = (uint8_t)virtio_has(d, VIRTIO_F_RING_PACKED);
	q->indirect = (uint8_t)virtio_has(d, VIRTIO_F_INDIRECT_DESC);
	q->event_idx = (uint8_t)virtio_has(d, VIRTIO_F_EVENT_IDX);
	q->avail_wrap = q->used_wrap = 1;	/* §2.8.1: both start at 1 */
	uint16_t max = d->ops->queue_max(d, index, &fixed);
	if (!max)
		return VIRTIO_ERR_QUEUE;
	q->size = fixed || max < want ? max : want;
	/* Split rings need a power of two (§2.7); a device saying
	 * otherwise is refused rather than trusted. */
	if (!q->packed && (q->size & (q->size - 1)))
		return VIRTIO_ERR_DEVICE;
	q->segs = segs ? segs : 1;
	if (!q->indirect && q->segs > q->size)
		q->segs = q->size;
	int err = alloc_state(q);
	if (!err)
		err = alloc_rings(q);
	if (err)
		return err;
	uint64_t drv = q->packed ? (uint64_t)(uintptr_t)q->drv_event
				 : (uint64_t)(uintptr_t)q->avail;
	uint64_t dev = q->packed ? (uint64_t)(uintptr_t)q->dev_event
				 : (uint64_t)(uintptr_t)q->used;
	return d->ops->queue_enable(d, index, q->size, q->mem, drv, dev);
}

void virtq_free(struct virtq *q)
{
	free(q->token);
	free(q->chain);
	free(q->writable);
	free(q->next);
	if (q->itab)
		page_free((uintptr_t)q->itab,
			  ((uint64_t)q->size * q->segs * 16 + 4095) / 4096);
	if (q->mem)
		page_free(q->mem, q->mem_pages);
	memset(q, 0, sizeof(*q));
}

/* Points an indirect table for id at the buffers; returns its buffer. */
static struct virtq_buf indirect(struct virtq *q, uint16_t id,
				 const struct virtq_buf *b, unsigned n)
{
	volatile uint8_t *t = q->itab + (uint32_t)id * q->segs * 16;
	for (unsigned i = 0; i < n; i++) {
		uint16_t f = b[i].device_writes ? DESC_WRITE : 0;
		/* Split tables chain with NEXT; packed ones are implicit. */
		if (!q->packed && i + 1 < n)
			f |= DESC_NEXT;
		put_desc(t + 16 * i, &b[i], f, (uint16_t)(i + 1), q->packed);
	}
	return (struct virtq_buf){ (uint64_t)(uintptr_t)t, 16 * n, 0 };
}

static int add_split(struct virtq *q, const struct virtq_buf *b, unsigned n,
		     void *token, uint32_t writable)
{
	uint16_t head = q->free_head, id = head, cur = head, last = head;
	int ind = q->indirect && n > 1;
	struct virtq_buf one;
	if (ind) {
		one = indirect(q, id, b, n);
		b = &one;
	}
	unsigned slots = ind ? 1 : n;
	for (unsigned i = 0; i < slots; i++) {
		uint16_t f = ind ? DESC_INDIRECT
				 : b[i].device_writes ? DESC_WRITE : 0;
		last = cur;
		cur = q->next[cur];
		if (i + 1 < slots)
			f |= DESC_NEXT;
		put_desc(q->desc + 16u * last, &b[i], f, cur, 0);
	}
	q->free_head = cur;
	q->chain[id] = (uint16_t)slots;
	q->token[id] = token;
	q->writable[id] = writable;
	q->free -= (uint16_t)slots;
	volatile uint8_t *ring = q->avail + 4;
	st16(ring + 2u * (q->avail_idx & (q->size - 1)), head);
	/* The descriptors and ring entry before the index that publishes
	 * them (x86 keeps stores in order; stop the compiler). */
	cpu_barrier();
	st16(q->avail + 2, ++q->avail_idx);
	return 0;
}

static int add_packed(struct virtq *q, const struct virtq_buf *b, unsigned n,
		      void *token, uint32_t writable)
{
	uint16_t id = q->free_id;
	int ind = q->indirect && n > 1;
	struct virtq_buf one;
	if (ind) {
		one = indirect(q, id, b, n);
		b = &one;
	}
	unsigned slots = ind ? 1 : n;
	uint16_t first = q->next_avail, first_flags = 0;
	uint16_t pos = first;
	for (unsigned i = 0; i < slots; i++) {
		uint16_t f = ind ? DESC_INDIRECT
				 : b[i].device_writes ? DESC_WRITE : 0;
		if (i + 1 < slots)
			f |= DESC_NEXT;
		/* §2.8.1: AVAIL = wrap counter, USED = its inverse. */
		f |= q->avail_wrap ? DESC_AVAIL : DESC_USED;
		if (i == 0) {
			first_flags = f;
			/* everything but the flags now; the flags last */
			put_desc(q->desc + 16u * pos, &b[i],
				 ld16(q->desc + 16u * pos + 14), id, 1);
		} else {
			put_desc(q->desc + 16u * pos, &b[i], f, id, 1);
		}
		if (++pos == q->size) {
			pos = 0;
			q->avail_wrap ^= 1;
		}
	}
	q->next_avail = pos;
	q->free_id = q->next[id];
	q->chain[id] = (uint16_t)slots;
	q->token[id] = token;
	q->writable[id] = writable;
	q->free -= (uint16_t)slots;
	/* The rest of the chain before the first descriptor's flags, which
	 * hand it all to the device (§2.8.6). */
	cpu_barrier();
	st16(q->desc + 16u * first + 14, first_flags);
	return 0;
}

int virtq_add(struct virtq *q, const struct virtq_buf *b, unsigned n,
	      void *token)
{
	uint32_t writable = 0;
	if (!n || !token || !virtq_room(q, n))
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (b[i].device_writes)
			writable += b[i].len;
	return q->packed ? add_packed(q, b, n, token, writable)
			 : add_split(q, b, n, token, writable);
}

/* §2.7.10 vring_need_event: did idx move past the event index? */
static int need_event(uint16_t event, uint16_t now, uint16_t old)
{
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

void virtq_kick(struct virtq *q)
{
	/* Our index/flag stores must be visible before we read whether the
	 * device wants a notification: a store-load order, so a full fence. */
	cpu_mfence();
	int notify;
	if (q->packed) {
		notify = (ld16(q->dev_event + 2) & 3) != EVENT_DISABLE;
	} else if (q->event_idx) {
		uint16_t ev = ld16(q->used + 4 + 8u * q->size);
		notify = need_event(ev, q->avail_idx, q->kicked_idx);
	} else {
		notify = !(ld16(q->used) & USED_NO_NOTIFY);
	}
	if (q->packed || q->avail_idx != q->kicked_idx) {
		if (notify)
			q->dev->ops->notify(q->dev, q->index);
	}
	q->kicked_idx = q->avail_idx;
}

/* Returns a finished id's ring descriptors and bookkeeping. */
static void release(struct virtq *q, uint16_t id)
{
	q->free += q->chain[id];
	q->token[id] = 0;
	if (q->packed) {
		q->next[id] = q->free_id;
		q->free_id = id;
		return;
	}
	uint16_t last = id;
	for (uint16_t i = 1; i < q->chain[id]; i++)
		last = ld16(q->desc + 16u * last + 14);
	q->next[last] = q->free_head;
	q->free_head = id;
}

static int get_split(struct virtq *q, uint16_t *id, uint32_t *len)
{
	if (ld16(q->used + 2) == q->last_used)
		return 0;
	/* The used index before the entry it covers (loads stay in order on
	 * x86; stop the compiler). */
	cpu_barrier();
	volatile uint8_t *e = q->used + 4 + 8u * (q->last_used & (q->size - 1));
	uint32_t raw = ld32(e);
	*len = ld32(e + 4);
	if (raw >= q->size)
		return VIRTIO_ERR_DEVICE;
	*id = (uint16_t)raw;
	q->last_used++;
	if (q->event_idx)	/* the next entry, or never */
		set_used_event(q);
	return 1;
}

static int get_packed(struct virtq *q, uint16_t *id, uint32_t *len)
{
	volatile uint8_t *d = q->desc + 16u * q->next_used;
	uint16_t f = ld16(d + 14);
	int avail = !!(f & DESC_AVAIL), used = !!(f & DESC_USED);
	if (avail != used || used != q->used_wrap)
		return 0;
	/* The flags before the id and length the device wrote with them. */
	cpu_barrier();
	*id = ld16(d + 12);
	*len = ld32(d + 8);
	if (*id >= q->size || !q->token[*id])
		return VIRTIO_ERR_DEVICE;
	uint32_t pos = q->next_used + q->chain[*id];
	if (pos >= q->size) {
		pos -= q->size;
		q->used_wrap ^= 1;
	}
	q->next_used = (uint16_t)pos;
	return 1;
}

int virtq_get(struct virtq *q, void **token, uint32_t *len)
{
	uint16_t id;
	int r = q->packed ? get_packed(q, &id, len) : get_split(q, &id, len);
	if (r <= 0)
		return r;
	if (!q->token[id] || (*len > q->writable[id] && !q->loose_len))
		return VIRTIO_ERR_DEVICE;	/* not ours, or too long */
	if (*len > q->writable[id])
		*len = q->writable[id];
	*token = q->token[id];
	release(q, id);
	return 1;
}
