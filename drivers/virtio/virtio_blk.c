/* virtio-blk (virtio 1.2 §5.2) as a block device. Knows its queue and its
 * transport's interface, not which transport it is on. */
#include "virtio_blk.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/fmt.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "virtq.h"

/* §5.2.3 feature bits */
#define F_SIZE_MAX 1
#define F_SEG_MAX 2
#define F_RO 5
#define F_BLK_SIZE 6
#define F_FLUSH 9
#define F_TOPOLOGY 10
#define F_CONFIG_WCE 11
#define F_MQ 12
#define F_DISCARD 13
#define F_WRITE_ZEROES 14

/* §5.2.4 configuration layout */
#define CFG_CAPACITY 0		/* le64, 512-byte sectors */
#define CFG_SIZE_MAX 8		/* le32 */
#define CFG_SEG_MAX 12		/* le32 */
#define CFG_BLK_SIZE 20		/* le32 */
#define CFG_WRITEBACK 32	/* u8 */
#define CFG_NUM_QUEUES 34	/* le16 */
#define CFG_MAX_DISCARD 36	/* le32 sectors */
#define CFG_MAX_WZEROES 48	/* le32 sectors */

/* §5.2.6 requests */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define ID_BYTES 20

#define MAX_REQ_BYTES (8u << 20)	/* one request moves at most this */
#define QUEUE_WANT 256

/* Per in-flight request: header, discard segment and status, in DMA
 * memory the device reads and writes. */
struct slot {
	uint8_t hdr[16];
	uint8_t seg[16];
	uint8_t status;
	uint8_t pad[7];
	struct blk_req *req;
	uint32_t next_free;
};

struct vblk {
	struct virtio_dev *dev;
	struct virtq q;
	struct blk_dev blk;
	struct slot *slots;
	uint32_t nslots, free_slot;
	uint16_t num_queues;
	uint8_t writeback;
	char name[8];
};

static unsigned count;
/* Devices whose reset never completed: their memory stays theirs (they
 * may still write it), kept here rather than lost. */
static struct vblk *stuck[VBLK_MAX];
static unsigned nstuck;

static uint32_t cfg32(struct virtio_dev *d, uint32_t off)
{
	uint8_t b[4];
	d->ops->read_config(d, off, b, 4);
	return le32_get(b);
}

static int submit(struct blk_dev *bd, struct blk_req *r)
{
	struct vblk *v = bd->priv;
	if (v->free_slot == UINT32_MAX || !virtq_room(&v->q, 3))
		return BLK_ERR_BUSY;
	uint32_t si = v->free_slot;
	struct slot *s = &v->slots[si];
	uint32_t mul = bd->sector_size / 512;	/* sectors are 512 bytes */
	uint32_t type = r->op == BLK_READ ? T_IN : r->op == BLK_WRITE ? T_OUT
		      : r->op == BLK_FLUSH ? T_FLUSH : r->op == BLK_DISCARD
		      ? T_DISCARD : T_WRITE_ZEROES;
	le32_put(s->hdr, type);
	le32_put(s->hdr + 4, 0);
	le64_put(s->hdr + 8, r->op == BLK_FLUSH ? 0 : r->lba * mul);
	s->status = 0xff;
	struct virtq_buf b[3];
	unsigned n = 0;
	b[n++] = (struct virtq_buf){ (uintptr_t)s->hdr, 16, 0 };
	if (r->op == BLK_READ || r->op == BLK_WRITE) {
		b[n++] = (struct virtq_buf){ r->addr, r->count * bd->sector_size,
					     r->op == BLK_READ };
	} else if (r->op != BLK_FLUSH) {
		/* §5.2.6: sector, num_sectors, flags (unmap = 0). */
		le64_put(s->seg, r->lba * mul);
		le32_put(s->seg + 8, r->count * mul);
		le32_put(s->seg + 12, 0);
		b[n++] = (struct virtq_buf){ (uintptr_t)s->seg, 16, 0 };
	}
	b[n++] = (struct virtq_buf){ (uintptr_t)&s->status, 1, 1 };
	if (virtq_add(&v->q, b, n, s))
		return BLK_ERR_BUSY;
	v->free_slot = s->next_free;
	s->req = r;
	return 0;
}

static void kick(struct blk_dev *bd)
{
	struct vblk *v = bd->priv;
	virtq_kick(&v->q);
}

static int poll(struct blk_dev *bd)
{
	struct vblk *v = bd->priv;
	int n = 0;
	for (;;) {
		void *tok;
		uint32_t len;
		int r = virtq_get(&v->q, &tok, &len);
		if (r == 0)
			return n;
		if (r < 0) {
			blk_detail(bd, "a used buffer that was not posted");
			return BLK_ERR_DEVICE;
		}
		struct slot *s = tok;
		uint32_t si = (uint32_t)(s - v->slots);
		if (si >= v->nslots || !s->req) {
			blk_detail(bd, "a completion for no request");
			return BLK_ERR_DEVICE;
		}
		switch (s->status) {
		case S_OK: s->req->status = 0; break;
		case S_IOERR:
			blk_detail(bd, "VIRTIO_BLK_S_IOERR");
			s->req->status = BLK_ERR_IO;
			break;
		case S_UNSUPP: s->req->status = BLK_ERR_UNSUPP; break;
		default:
			blk_detail(bd, "status byte 0x%02x is not a virtio-blk "
				   "status", s->status);
			return BLK_ERR_DEVICE;
		}
		s->req->done = 1;
		s->req = 0;
		s->next_free = v->free_slot;
		v->free_slot = si;
		n++;
	}
}

static int fail(struct blk_dev *bd)
{
	struct vblk *v = bd->priv;
	virtio_fail(v->dev);
	/* reset: stops all DMA */
	return virtio_reset(v->dev) ? BLK_ERR_TIMEOUT : 0;
}

/* §5.2.6.4: GET_ID returns up to 20 bytes of serial, NUL-padded. A
 * request of its own: asked for when someone wants the serial
 * (blk_serial), not at boot. */
static void read_serial(struct blk_dev *d)
{
	struct vblk *v = d->priv;
	uint8_t *id = (uint8_t *)(uintptr_t)page_alloc_zero(1);
	if (!id)
		return;
	struct slot *s = &v->slots[v->free_slot];
	le32_put(s->hdr, T_GET_ID);
	le32_put(s->hdr + 4, 0);
	le64_put(s->hdr + 8, 0);
	s->status = 0xff;
	struct virtq_buf b[3] = { { (uintptr_t)s->hdr, 16, 0 },
				  { (uintptr_t)id, ID_BYTES, 1 },
				  { (uintptr_t)&s->status, 1, 1 } };
	struct blk_req r = { 0 };
	if (!virtq_add(&v->q, b, 3, s)) {
		v->free_slot = s->next_free;
		s->req = &r;
		blk_wait(&v->blk, &r);
	}
	if (r.done && !r.status) {
		size_t k = 0;
		for (size_t i = 0; i < ID_BYTES && id[i]; i++)
			if (id[i] >= 0x20 && id[i] < 0x7f)
				v->blk.serial[k++] = (char)id[i];
		v->blk.serial[k] = 0;
	}
	page_free((uintptr_t)id, 1);
}

static const struct blk_ops vblk_ops = { submit, kick, poll, fail,
					 read_serial };

/* The queue's interrupt: the waiter reaps; this only says whether there
 * was anything to reap. */
static int vblk_irq(void *ctx)
{
	struct vblk *v = ctx;
	return virtq_pending(&v->q);
}


static void read_geometry(struct vblk *v)
{
	struct virtio_dev *d = v->dev;
	struct blk_dev *b = &v->blk;
	uint64_t cap = (uint64_t)cfg32(d, CFG_CAPACITY + 4) << 32 |
		       cfg32(d, CFG_CAPACITY);
	uint32_t bs = virtio_has(d, F_BLK_SIZE) ? cfg32(d, CFG_BLK_SIZE) : 512;
	if (bs != 512 && bs != 4096)
		bs = 512;	/* anything else: address it in 512s */
	b->sector_size = bs;
	b->sectors = cap / (bs / 512);
	uint32_t max = MAX_REQ_BYTES;
	if (virtio_has(d, F_SIZE_MAX)) {
		/* one data segment per request: its size bounds the request */
		uint32_t sm = cfg32(d, CFG_SIZE_MAX);
		if (sm >= bs && sm < max)
			max = sm;
	}
	b->max_sectors = max / bs;
	b->read_only = (uint8_t)virtio_has(d, F_RO);
	b->can_flush = (uint8_t)virtio_has(d, F_FLUSH);
	b->can_discard = virtio_has(d, F_DISCARD) &&
			 cfg32(d, CFG_MAX_DISCARD) >= b->max_sectors *
							      (bs / 512);
	b->can_write_zeroes = virtio_has(d, F_WRITE_ZEROES) &&
			      cfg32(d, CFG_MAX_WZEROES) >= b->max_sectors *
								   (bs / 512);
	if (virtio_has(d, F_CONFIG_WCE)) {
		uint8_t wb;
		d->ops->read_config(d, CFG_WRITEBACK, &wb, 1);
		v->writeback = wb;
	} else {
		v->writeback = b->can_flush;
	}
	if (virtio_has(d, F_MQ)) {
		uint8_t nq[2];
		d->ops->read_config(d, CFG_NUM_QUEUES, nq, 2);
		v->num_queues = (uint16_t)(nq[0] | nq[1] << 8);
	} else {
		v->num_queues = 1;
	}
}

static uint64_t slot_pages(const struct vblk *v)
{
	uint64_t bytes = (uint64_t)v->nslots * sizeof(struct slot);
	return (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
}

static int setup_slots(struct vblk *v)
{
	v->nslots = v->q.indirect ? v->q.size : v->q.size / 3;
	v->slots = page_alloc_zero(slot_pages(v));
	if (!v->slots)
		return VIRTIO_ERR_NOMEM;
	for (uint32_t i = 0; i < v->nslots; i++)
		v->slots[i].next_free = i + 1 < v->nslots ? i + 1 : UINT32_MAX;
	v->free_slot = 0;
	return 0;
}

/* Gives back what attach took, once the device does no more DMA. */
static void drop(struct vblk *v)
{
	if (v->slots)
		page_free((uintptr_t)v->slots, slot_pages(v));
	virtq_free(&v->q);
	free(v);
}

int vblk_attach(struct virtio_dev *dev, const char **why)
{
	*why = "too many virtio-blk devices";
	if (count == VBLK_MAX)
		return VIRTIO_ERR_NOMEM;
	struct vblk *v = calloc(1, sizeof(*v));
	*why = "out of memory";
	if (!v)
		return VIRTIO_ERR_NOMEM;
	v->dev = dev;
	int err = 0;
	uint64_t want = VIRTIO_BIT(F_SIZE_MAX) | VIRTIO_BIT(F_SEG_MAX) |
			VIRTIO_BIT(F_RO) | VIRTIO_BIT(F_BLK_SIZE) |
			VIRTIO_BIT(F_FLUSH) | VIRTIO_BIT(F_TOPOLOGY) |
			VIRTIO_BIT(F_CONFIG_WCE) | VIRTIO_BIT(F_MQ) |
			VIRTIO_BIT(F_DISCARD) | VIRTIO_BIT(F_WRITE_ZEROES) |
			VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
			VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	err = virtio_negotiate(v->dev, want);
	*why = virtio_strerror(err);
	if (!err) {
		err = virtq_init(&v->q, v->dev, 0, QUEUE_WANT);
		*why = "request queue: missing or unusable";
	}
	if (!err) {
		err = setup_slots(v);
		*why = "out of memory";
	}
	if (err) {
		if (!virtio_give_up(v->dev, why))
			drop(v);
		else if (nstuck < VBLK_MAX)	/* it may still write there */
			stuck[nstuck++] = v;
		return err;
	}
	struct blk_dev *b = &v->blk;
	fmt_snprintf(b->name, sizeof(b->name), "vd%c", 'a' + count);
	if (v->dev->ops->irq &&
	    (b->irq_vec = v->dev->ops->irq(v->dev, 0, b->name, vblk_irq, v)))
		virtq_interrupts(&v->q, 1);
	virtio_ready(v->dev);
	fmt_snprintf(b->model, sizeof(b->model), "virtio-blk %s%s%s",
		     v->dev->transport_name, v->q.packed ? ", packed ring"
							 : ", split ring",
		     v->q.indirect ? ", indirect" : "");
	b->transport = "virtio";
	b->pci = v->dev->pci;
	b->ops = &vblk_ops;
	b->priv = v;
	b->queue_depth = v->nslots;
	b->dma_align = 1;
	read_geometry(v);
	b->cache = v->writeback ? "write-back" : "write-through";
	count++;
	if (blk_register(b)) {
		*why = 0;	/* blk_register said why */
		if (!fail(b))	/* reset: the rings are ours again */
			drop(v);
		return VIRTIO_ERR_DEVICE;
	}
	return 0;
}
