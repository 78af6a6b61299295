/* virtio-scsi bring-up (virtio 1.2 §5.6.5): features, the configuration,
 * the three kinds of queue, then a scan of targets and LUNs, each unit
 * brought up by drivers/scsi/ one polled command at a time, and the
 * disks registered. */
#include "virtio_scsi_int.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "../../runtime/time.h"

/* §5.6.4 configuration layout */
#define CFG_NUM_QUEUES 0	/* le32 */
#define CFG_MAX_SECTORS 8	/* le32, a hint, 512-byte units */
#define CFG_CMD_PER_LUN 12	/* le32 */
#define CFG_EVENT_INFO_SIZE 16	/* le32 */
#define CFG_SENSE_SIZE 20	/* le32 */
#define CFG_CDB_SIZE 24		/* le32 */
#define CFG_MAX_TARGET 30	/* le16 */
#define CFG_MAX_LUN 32		/* le32 */

#define QUEUE_WANT 256
#define SMALL_QUEUE 16		/* control and event queues */
#define MAX_REQ_BYTES (8u << 20)	/* one request moves at most this */
#define EXEC_US 5000000ull	/* a probe command's deadline */

static unsigned nhbas, ndisks;

static uint32_t cfg32(struct virtio_dev *d, uint32_t off)
{
	uint8_t b[4];
	d->ops->read_config(d, off, b, 4);
	return le32_get(b);
}

/* §5.6.6.1: 1, target, a single-level LUN (flat space, SAM-5 §4.7.7)
 * and four zero bytes. */
static void lun_addr(uint8_t *a, uint32_t target, uint32_t lun)
{
	memset(a, 0, 8);
	a[0] = 1;
	a[1] = (uint8_t)target;
	a[2] = (uint8_t)(0x40 | (lun >> 8));
	a[3] = (uint8_t)lun;
}

/* --- the probe ------------------------------------------------------------ */

struct probe_ctx {
	struct vscsi *h;
	uint8_t addr[8];
};

/* scsi_exec's run: one command, polled to its end with a deadline. */
static int probe_run(void *ctx, const uint8_t *cdb, unsigned clen, void *buf,
		     uint32_t len, int write, struct scsi_result *r)
{
	struct probe_ctx *p = ctx;
	struct vscsi *h = p->h;
	struct slot *s = vscsi_slot_get(h);
	if (!s || clen > h->cdb_size) {
		fmt_snprintf(h->probe_why, sizeof(h->probe_why), "%s", !s
			     ? "no free slot" : "CDB longer than cdb_size");
		return BLK_ERR_DEVICE;
	}
	vscsi_slot_fill(h, s, p->addr, cdb, clen, (uintptr_t)buf, len, write);
	s->probe = 1;
	h->probe_done = 0;
	if (vscsi_slot_post(h, s)) {
		vscsi_slot_put(h, s);
		fmt_snprintf(h->probe_why, sizeof(h->probe_why), "queue full");
		return BLK_ERR_DEVICE;
	}
	uint64_t end = time_us() + EXEC_US;
	virtq_kick(&h->req);
	h->kick = 0;
	while (!h->probe_done) {
		int err = vscsi_drain(h, h->probe_why, sizeof(h->probe_why));
		if (err)
			return err;
		if (!h->probe_done && time_us() > end) {
			fmt_snprintf(h->probe_why, sizeof(h->probe_why),
				     "no answer within %llu s",
				     EXEC_US / 1000000);
			return BLK_ERR_TIMEOUT;
		}
		cpu_pause();
	}
	*r = h->probe;
	return 0;
}

/* Brings up LUN `lun` of `target`; a new vscsi_lun, or 0 (not a disk, or
 * broken: then said). *fatal when the HBA itself failed. */
static struct vscsi_lun *probe_lun(struct vscsi *h, struct scsi_exec *x,
				   struct probe_ctx *p, uint32_t target,
				   uint32_t lun, int *fatal)
{
	struct vscsi_lun *l = calloc(1, sizeof(*l));
	char where[16];
	fmt_snprintf(where, sizeof(where), "vscsi%u:%u:%u", h->index, target,
		     lun);
	if (!l) {
		blk_broken(where, "virtio-scsi", "out of memory");
		return 0;
	}
	lun_addr(p->addr, target, lun);
	h->probe_why[0] = 0;
	int err = scsi_disk_probe(x, &l->info);
	*fatal = err < 0 && h->probe_why[0];
	if (err) {
		if (err < 0 && !*fatal)
			blk_broken(where, "virtio-scsi", "%s", l->info.why);
		free(l);
		return 0;
	}
	memcpy(l->addr, p->addr, 8);
	l->h = h;
	l->target = target;
	l->number = lun;
	return l;
}

/* §5.6.4: targets up to max_target, LUNs from REPORT LUNS (LUN 0 when a
 * target has no list); direct-access and CD/DVD units only (an empty
 * drive is passed over). 0, or the HBA's failure. */
static int scan(struct vscsi *h, void *buf)
{
	struct probe_ctx p = { h, { 0 } };
	struct scsi_exec x = { probe_run, &p, buf, h->probe_why };
	uint16_t luns[SCSI_LUNS_MAX];
	for (uint32_t t = 0; t <= h->max_target && t < 256; t++) {
		lun_addr(p.addr, t, 0);
		h->probe_why[0] = 0;
		int n = scsi_report_luns(&x, luns, SCSI_LUNS_MAX);
		if (h->probe_why[0])
			return BLK_ERR_DEVICE;
		if (n == SCSI_NO_TARGET)
			continue;
		if (n < 0) {
			luns[0] = 0;
			n = 1;
		}
		for (int i = 0; i < n && h->nluns < VSCSI_MAX_LUNS; i++) {
			int fatal = 0;
			if (luns[i] > h->max_lun)
				continue;
			struct vscsi_lun *l = probe_lun(h, &x, &p, t, luns[i],
							&fatal);
			if (fatal)
				return BLK_ERR_DEVICE;
			if (l)
				h->lun[h->nluns++] = l;
		}
	}
	return 0;
}

/* --- setup ---------------------------------------------------------------- */

static int read_config(struct vscsi *h, const char **why)
{
	struct virtio_dev *d = h->dev;
	h->cdb_size = cfg32(d, CFG_CDB_SIZE);
	h->sense_size = cfg32(d, CFG_SENSE_SIZE);
	h->event_size = cfg32(d, CFG_EVENT_INFO_SIZE);
	h->cmd_per_lun = cfg32(d, CFG_CMD_PER_LUN);
	h->cfg_max = cfg32(d, CFG_MAX_SECTORS);
	h->max_lun = cfg32(d, CFG_MAX_LUN);
	uint8_t mt[2];
	d->ops->read_config(d, CFG_MAX_TARGET, mt, 2);
	h->max_target = le16_get(mt);
	/* §5.6.4: 32 and 96 after a reset; umbra's CDBs take 16 */
	*why = "cdb_size outside 16..64";
	if (h->cdb_size < SCSI_CDB_MAX || h->cdb_size > CDB_SIZE_MAX)
		return VIRTIO_ERR_DEVICE;
	*why = "sense_size beyond 252";
	if (h->sense_size > SENSE_SIZE_MAX)
		return VIRTIO_ERR_DEVICE;
	if (h->event_size < 16 || h->event_size > EVENT_BYTES)
		h->event_size = EVENT_BYTES;
	return 0;
}

static uint64_t slot_pages(const struct vscsi *h)
{
	return ((uint64_t)h->nslots * sizeof(struct slot) + PAGE_SIZE - 1) /
	       PAGE_SIZE;
}

static int setup_memory(struct vscsi *h)
{
	/* a read or write is 3 buffers: 3 descriptors, or 1 indirect */
	h->nslots = h->req.indirect ? h->req.size : h->req.size / 3u;
	h->slots = page_alloc_zero(slot_pages(h));
	h->events = page_alloc_zero(1);
	if (!h->slots || !h->events)
		return VIRTIO_ERR_NOMEM;
	for (uint32_t i = 0; i < h->nslots; i++)
		h->slots[i].next_free = i + 1 < h->nslots ? i + 1 : NONE;
	h->free_slot = 0;
	for (uint32_t i = 0; i < EVENTS && virtq_room(&h->evt, 1); i++) {
		struct virtq_buf b = { (uintptr_t)(h->events + i * EVENT_BYTES),
				       h->event_size, 1 };
		virtq_add(&h->evt, &b, 1, h->events + i * EVENT_BYTES);
	}
	return 0;
}

static int setup(struct vscsi *h, const char **why)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
			VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	int err = virtio_negotiate(h->dev, want);
	*why = virtio_strerror(err);
	if (!err)
		err = read_config(h, why);
	if (!err && (err = virtq_init(&h->ctl, h->dev, Q_CONTROL, SMALL_QUEUE)))
		*why = "control queue: missing or unusable";
	if (!err && (err = virtq_init(&h->evt, h->dev, Q_EVENT, SMALL_QUEUE)))
		*why = "event queue: missing or unusable";
	if (!err && (err = virtq_init(&h->req, h->dev, Q_REQUEST, QUEUE_WANT)))
		*why = "request queue: missing or unusable";
	h->req.loose_len = 1;
	if (!err && (err = setup_memory(h)))
		*why = "out of memory";
	return err;
}

/* Gives back what attach took, once the device does no more DMA. */
static void drop(struct vscsi *h)
{
	for (unsigned i = 0; i < h->nluns; i++)
		free(h->lun[i]);
	if (h->slots)
		page_free((uintptr_t)h->slots, slot_pages(h));
	if (h->events)
		page_free((uintptr_t)h->events, 1);
	virtq_free(&h->ctl);
	virtq_free(&h->evt);
	virtq_free(&h->req);
	free(h);
}

/* The LUN as a block device; 0, or -1 when it was not registered. */
static int add_disk(struct vscsi *h, struct vscsi_lun *l, uint32_t depth)
{
	struct blk_dev *b = &l->blk;
	const struct scsi_disk *in = &l->info;
	if (ndisks >= 26) {
		blk_broken("vs?", "virtio-scsi", "more than 26 disks");
		return -1;
	}
	fmt_snprintf(b->name, sizeof(b->name), "vs%c", 'a' + ndisks++);
	fmt_snprintf(b->model, sizeof(b->model), "%s %s (virtio-scsi %u:%u)",
		     in->vendor, in->product, l->target, l->number);
	fmt_snprintf(b->serial, sizeof(b->serial), "%s", in->serial);
	b->transport = "virtio-scsi";
	b->pci = h->dev->pci;
	b->target = l->target;
	b->unit = l->number;
	b->sector_size = in->block_size;
	b->sectors = in->blocks;
	uint64_t bytes = MAX_REQ_BYTES;
	if (h->cfg_max && (uint64_t)h->cfg_max * 512 < bytes)
		bytes = (uint64_t)h->cfg_max * 512;	/* §5.6.4 a hint */
	b->max_sectors = (uint32_t)(bytes / in->block_size);
	if (in->max_blocks && in->max_blocks < b->max_sectors)
		b->max_sectors = in->max_blocks;
	if (!b->max_sectors)
		b->max_sectors = 1;
	b->queue_depth = l->depth = depth;
	b->dma_align = 1;
	b->read_only = in->read_only;
	b->can_flush = !in->read_only && (!in->cache_known || in->write_cache);
	b->can_discard = in->max_unmap >= b->max_sectors && !in->read_only;
	b->cache = !in->cache_known ? "unknown"
		 : in->write_cache ? "write-back" : "write-through";
	b->ops = &vscsi_ops;
	b->priv = l;
	return blk_register(b) ? -1 : 0;
}

/* Registers the LUNs found; how many were. */
static unsigned add_disks(struct vscsi *h, int vec)
{
	if (!h->nluns)
		return 0;
	/* §5.6.4 cmd_per_lun, and the ring shared fairly */
	uint32_t depth = h->nslots / h->nluns, added = 0;
	if (h->cmd_per_lun && h->cmd_per_lun < depth)
		depth = h->cmd_per_lun;
	depth = depth ? (depth < 256 ? depth : 256) : 1;
	for (unsigned i = 0; i < h->nluns; i++) {
		h->lun[i]->blk.irq_vec = vec;
		added += !add_disk(h, h->lun[i], depth);
	}
	return added;
}

int vscsi_attach(struct virtio_dev *dev, const char **why)
{
	struct vscsi *h = calloc(1, sizeof(*h));
	*why = "out of memory";
	if (!h)
		return VIRTIO_ERR_NOMEM;
	h->dev = dev;
	h->index = nhbas++;
	void *buf = 0;
	int err = setup(h, why);
	if (!err && !(buf = page_alloc_zero(1))) {
		*why = "out of memory";
		err = VIRTIO_ERR_NOMEM;
	}
	int vec = 0;
	fmt_snprintf(h->irq_name, sizeof(h->irq_name), "vscsi%u", h->index);
	if (!err && dev->ops->irq &&
	    (vec = dev->ops->irq(dev, Q_REQUEST, h->irq_name, vscsi_irq, h)))
		virtq_interrupts(&h->req, 1);
	if (!err) {
		virtio_ready(dev);
		virtq_kick(&h->evt);
		if (scan(h, buf)) {
			*why = h->probe_why;
			err = VIRTIO_ERR_DEVICE;
		}
	}
	if (buf)
		page_free((uintptr_t)buf, 1);
	if (err) {
		static char words[80];	/* h goes away */
		fmt_snprintf(words, sizeof(words), "%s", *why);
		*why = words;
	}
	if (err || !add_disks(h, vec)) {
		/* with a vector, its handler keeps h: leave it (no DMA, no
		 * interrupts from a reset device); a device whose reset did
		 * not take may still write: leave it too */
		if (!virtio_give_up(dev, why) && !vec)
			drop(h);
	}
	return err;
}
