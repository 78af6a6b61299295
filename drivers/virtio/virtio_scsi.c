/* virtio-scsi (virtio 1.2 §5.6) as block devices: one request queue shared
 * by every logical unit of the HBA, the event queue kept populated, the
 * control queue set up. What the SCSI commands mean is drivers/scsi/'s;
 * this file carries them, and knows its transport only through the
 * virtio_ops (PCI or MMIO alike).
 *
 * Every LUN is a block device with its own engine; completions arrive on
 * the shared queue in any order, so whichever LUN polls reaps them all
 * and each is counted to its own LUN (blk.h: "count it at the next
 * poll"). Each LUN may have depth requests in flight, the depths adding
 * up to no more than the ring holds, so one LUN never waits on another's
 * slots. */
#include "virtio_scsi.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "../../runtime/time.h"
#include "../scsi/scsi.h"
#include "virtq.h"

/* §5.6.4 configuration layout */
#define CFG_NUM_QUEUES 0	/* le32 */
#define CFG_MAX_SECTORS 8	/* le32, a hint, 512-byte units */
#define CFG_CMD_PER_LUN 12	/* le32 */
#define CFG_EVENT_INFO_SIZE 16	/* le32 */
#define CFG_SENSE_SIZE 20	/* le32 */
#define CFG_CDB_SIZE 24		/* le32 */
#define CFG_MAX_TARGET 30	/* le16 */
#define CFG_MAX_LUN 32		/* le32 */

/* §5.6.2 virtqueues */
#define Q_CONTROL 0
#define Q_EVENT 1
#define Q_REQUEST 2

/* §5.6.6.1 virtio_scsi_req_cmd: the device-readable header ... */
#define REQ_LUN 0		/* u8[8] */
#define REQ_ID 8		/* le64, the tag */
#define REQ_CDB 19		/* u8[cdb_size], after task_attr, prio, crn */
/* ... and the device-writable response */
#define RESP_SENSE_LEN 0	/* le32 */
#define RESP_RESIDUAL 4		/* le32 */
#define RESP_STATUS 10		/* u8 */
#define RESP_RESPONSE 11	/* u8 */
#define RESP_SENSE 12		/* u8[sense_size] */
/* §5.6.6.1 response values */
#define S_OK 0
#define S_OVERRUN 1
#define S_ABORTED 2
#define S_BAD_TARGET 3
#define S_RESET 4
#define S_BUSY 5
#define S_TRANSPORT_FAILURE 6
#define S_TARGET_FAILURE 7
#define S_NEXUS_FAILURE 8
#define S_FAILURE 9
/* §5.6.6.3 events */
#define EVT_MISSED 0x80000000u

#define CDB_SIZE_MAX 64		/* the config's cdb_size we accept */
#define SENSE_SIZE_MAX SCSI_SENSE_MAX
#define EVENTS 8		/* event buffers kept posted */
#define EVENT_BYTES 64		/* each; §5.6.6.3 events are 16 bytes */
#define QUEUE_WANT 256
#define SMALL_QUEUE 16		/* control and event queues */
#define MAX_REQ_BYTES (8u << 20)	/* one request moves at most this */
#define EXEC_US 5000000ull	/* a probe command's deadline */
#define RETRIES 3		/* unit attention, BUSY, ... */
#define NONE UINT32_MAX

struct vscsi_lun;

/* Per command in flight: header and response in DMA memory, and what
 * the device was given (to post it again on a retry). */
struct slot {
	uint8_t req[REQ_CDB + CDB_SIZE_MAX];
	uint8_t resp[RESP_SENSE + SENSE_SIZE_MAX];
	uint8_t param[SCSI_UNMAP_PARAM];
	struct virtq_buf b[3];
	uint8_t nbuf, retries, probe;
	uint32_t data_len;	/* bytes of data-in or data-out */
	struct blk_req *r;	/* 0 and !probe: free */
	struct vscsi_lun *lun;
	uint32_t next_free;
};

struct vscsi {
	struct virtio_dev *dev;
	struct virtq ctl, evt, req;
	struct slot *slots;
	uint32_t nslots, free_slot;
	uint8_t *events;	/* EVENTS buffers of EVENT_BYTES */
	uint32_t cdb_size, sense_size, event_size, cmd_per_lun, cfg_max;
	uint32_t max_target, max_lun;
	struct vscsi_lun *lun[VSCSI_MAX_LUNS];
	unsigned nluns, index;
	uint8_t dead, kick;
	char dead_why[80];
	uint64_t events_seen, events_missed;
	char irq_name[12];
	/* the probe: one command at a time, before any LUN is registered */
	struct scsi_result probe;
	uint8_t probe_done;
	char probe_why[80];
};

struct vscsi_lun {
	struct vscsi *h;
	struct blk_dev blk;
	uint8_t addr[8];	/* §5.6.6.1 LUN format */
	uint32_t target, number;
	uint32_t depth, inflight, completed;
	struct scsi_disk info;
};

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

/* --- slots ------------------------------------------------------------------ */

static struct slot *slot_get(struct vscsi *h)
{
	if (h->free_slot == NONE)
		return 0;
	struct slot *s = &h->slots[h->free_slot];
	h->free_slot = s->next_free;
	s->retries = 0;
	s->probe = 0;
	s->r = 0;
	s->lun = 0;
	return s;
}

static void slot_put(struct vscsi *h, struct slot *s)
{
	s->r = 0;
	s->probe = 0;
	s->next_free = h->free_slot;
	h->free_slot = (uint32_t)(s - h->slots);
}

/* Header and buffers for cdb on LUN addr: the header, data-out, the
 * response, data-in, in that order (§5.6.6.1). Exactly cdb_size and
 * sense_size: the data follows them in the chain. */
static void slot_fill(struct vscsi *h, struct slot *s, const uint8_t *addr,
		      const uint8_t *cdb, unsigned clen, uint64_t data,
		      uint32_t len, int write)
{
	memset(s->req, 0, REQ_CDB + h->cdb_size);
	memcpy(s->req + REQ_LUN, addr, 8);
	le64_put(s->req + REQ_ID, (uint64_t)(s - h->slots));
	memcpy(s->req + REQ_CDB, cdb, clen);
	memset(s->resp, 0, RESP_SENSE + h->sense_size);
	s->resp[RESP_RESPONSE] = 0xff;	/* not yet answered */
	s->data_len = len;
	unsigned n = 0;
	s->b[n++] = (struct virtq_buf){ (uintptr_t)s->req, REQ_CDB + h->cdb_size,
					0 };
	if (len && write)
		s->b[n++] = (struct virtq_buf){ data, len, 0 };
	s->b[n++] = (struct virtq_buf){ (uintptr_t)s->resp,
					RESP_SENSE + h->sense_size, 1 };
	if (len && !write)
		s->b[n++] = (struct virtq_buf){ data, len, 1 };
	s->nbuf = (uint8_t)n;
}

static int slot_post(struct vscsi *h, struct slot *s)
{
	if (virtq_add(&h->req, s->b, s->nbuf, s))
		return -1;
	h->kick = 1;
	return 0;
}

/* --- responses ----------------------------------------------------------------- */

static const char *response_words(uint8_t resp)
{
	switch (resp) {
	case S_OVERRUN: return "data overrun (VIRTIO_SCSI_S_OVERRUN)";
	case S_ABORTED: return "aborted (VIRTIO_SCSI_S_ABORTED)";
	case S_BAD_TARGET: return "no such target (VIRTIO_SCSI_S_BAD_TARGET)";
	case S_RESET: return "reset (VIRTIO_SCSI_S_RESET)";
	case S_BUSY: return "busy (VIRTIO_SCSI_S_BUSY)";
	case S_TRANSPORT_FAILURE:
		return "transport failure (VIRTIO_SCSI_S_TRANSPORT_FAILURE)";
	case S_TARGET_FAILURE:
		return "target failure (VIRTIO_SCSI_S_TARGET_FAILURE)";
	case S_NEXUS_FAILURE:
		return "nexus failure (VIRTIO_SCSI_S_NEXUS_FAILURE)";
	default: return "failure (VIRTIO_SCSI_S_FAILURE)";
	}
}

/* The response of s, checked: every length the device wrote lies inside
 * what it was given. 0, or BLK_ERR_DEVICE with why. */
static int parse(struct vscsi *h, const struct slot *s, uint32_t used,
		 struct scsi_result *r, char *why, size_t n)
{
	const uint8_t *p = s->resp;
	uint32_t sense_len = le32_get(p + RESP_SENSE_LEN);
	uint32_t resid = le32_get(p + RESP_RESIDUAL);
	uint8_t resp = p[RESP_RESPONSE];
	memset(r, 0, sizeof(*r) - sizeof(r->sense));
	/* §5.6.6.1 legacy: the used length means nothing */
	if (!h->dev->legacy && used < RESP_SENSE) {
		fmt_snprintf(why, n, "a response of %u bytes (the header "
			     "alone is %u)", used, RESP_SENSE);
		return BLK_ERR_DEVICE;
	}
	if (resp > S_FAILURE) {
		fmt_snprintf(why, n, "response code 0x%02x is not a "
			     "virtio-scsi response", resp);
		return BLK_ERR_DEVICE;
	}
	if (resp == S_OK && sense_len > h->sense_size) {
		fmt_snprintf(why, n, "sense length %u beyond the %u-byte "
			     "sense buffer", sense_len, h->sense_size);
		return BLK_ERR_DEVICE;
	}
	if (resp == S_OK && resid > s->data_len) {
		fmt_snprintf(why, n, "residual %u beyond the %u-byte data "
			     "buffer", resid, s->data_len);
		return BLK_ERR_DEVICE;
	}
	r->host = resp == S_OK ? SCSI_HOST_OK
		: resp == S_BAD_TARGET ? SCSI_HOST_NO_TARGET
		: resp == S_BUSY || resp == S_RESET || resp == S_ABORTED
		? SCSI_HOST_RETRY : SCSI_HOST_FAILED;
	r->host_why = resp == S_OK ? 0 : response_words(resp);
	r->status = p[RESP_STATUS];
	r->resid = resp == S_OK ? resid : s->data_len;
	r->sense_len = resp == S_OK ? sense_len : 0;
	memcpy(r->sense, p + RESP_SENSE, r->sense_len);
	return 0;
}

/* A block request's outcome: done, or posted again (a unit attention,
 * BUSY, a reset: SPC-4 §5.14 lets the same command through next time). */
static void finish(struct vscsi *h, struct slot *s,
		   const struct scsi_result *res)
{
	struct vscsi_lun *l = s->lun;
	struct blk_req *req = s->r;
	char words[96];
	if (scsi_result_retry(res) && s->retries < RETRIES) {
		s->retries++;
		if (!slot_post(h, s))
			return;
	}
	int err = scsi_result_error(res, words, sizeof(words));
	if (!err && res->resid && (req->op == BLK_READ || req->op == BLK_WRITE)) {
		fmt_snprintf(words, sizeof(words), "short transfer: %u of %u "
			     "bytes not moved", res->resid, s->data_len);
		err = BLK_ERR_IO;
	}
	if (err)
		blk_detail(&l->blk, "%s", words);
	req->status = err;
	req->done = 1;
	l->inflight--;
	l->completed++;
	slot_put(h, s);
}

/* §5.6.6.3: events are counted (no hotplug or parameter changes were
 * negotiated) and their buffers given back. */
static int drain_events(struct vscsi *h, char *why, size_t n)
{
	void *tok;
	uint32_t len;
	int got;
	while ((got = virtq_get(&h->evt, &tok, &len)) > 0) {
		uint8_t *e = tok;
		uint64_t off = (uint64_t)(e - h->events);
		if (e < h->events || off % EVENT_BYTES ||
		    off / EVENT_BYTES >= EVENTS) {
			fmt_snprintf(why, n, "an event in no buffer of ours");
			return BLK_ERR_DEVICE;
		}
		h->events_seen++;
		if (le32_get(e) & EVT_MISSED)
			h->events_missed++;
		struct virtq_buf b = { (uintptr_t)e, h->event_size, 1 };
		memset(e, 0, EVENT_BYTES);
		virtq_add(&h->evt, &b, 1, e);
		virtq_kick(&h->evt);
	}
	if (got < 0)
		fmt_snprintf(why, n, "an event buffer that was not posted");
	return got < 0 ? BLK_ERR_DEVICE : 0;
}

/* Reaps the request queue: each completion to its LUN (or to the probe);
 * BLK_ERR_DEVICE with why when the device broke the protocol. */
static int drain(struct vscsi *h, char *why, size_t n)
{
	void *tok;
	uint32_t used;
	int got, err = 0;
	while (!err && (got = virtq_get(&h->req, &tok, &used)) != 0) {
		struct slot *s = tok;
		uint64_t si = (uint64_t)(s - h->slots);
		if (got < 0) {
			fmt_snprintf(why, n, "a used buffer that was not posted");
			return BLK_ERR_DEVICE;
		}
		if (s < h->slots || si >= h->nslots || (!s->r && !s->probe)) {
			fmt_snprintf(why, n, "a completion for no command");
			return BLK_ERR_DEVICE;
		}
		struct scsi_result res;
		err = parse(h, s, used, s->probe ? &h->probe : &res, why, n);
		if (err)
			break;
		if (s->probe) {
			h->probe_done = 1;
			slot_put(h, s);
		} else {
			finish(h, s, &res);
		}
	}
	if (!err)
		err = drain_events(h, why, n);
	if (h->kick) {
		h->kick = 0;
		virtq_kick(&h->req);
	}
	return err;
}

/* --- block operations -------------------------------------------------------- */

static int submit(struct blk_dev *b, struct blk_req *r)
{
	struct vscsi_lun *l = b->priv;
	struct vscsi *h = l->h;
	uint8_t cdb[SCSI_CDB_MAX];
	if (h->dead) {
		blk_detail(b, "%s", h->dead_why);
		return BLK_ERR_DEVICE;
	}
	if (l->inflight >= l->depth)
		return BLK_ERR_BUSY;
	struct slot *s = slot_get(h);
	if (!s)
		return BLK_ERR_BUSY;
	uint32_t bytes = r->count * b->sector_size;
	unsigned clen;
	switch (r->op) {
	case BLK_READ:
	case BLK_WRITE:
		clen = scsi_cdb_rw(cdb, r->op == BLK_WRITE, r->lba, r->count);
		slot_fill(h, s, l->addr, cdb, clen, r->addr, bytes,
			  r->op == BLK_WRITE);
		break;
	case BLK_FLUSH:
		clen = scsi_cdb_sync(cdb);
		slot_fill(h, s, l->addr, cdb, clen, 0, 0, 0);
		break;
	case BLK_DISCARD:
		clen = scsi_cdb_unmap(cdb, s->param, r->lba, r->count);
		slot_fill(h, s, l->addr, cdb, clen, (uintptr_t)s->param,
			  SCSI_UNMAP_PARAM, 1);
		break;
	default:
		slot_put(h, s);
		return BLK_ERR_UNSUPP;
	}
	s->r = r;
	s->lun = l;
	if (slot_post(h, s)) {
		s->r = 0;
		slot_put(h, s);
		return BLK_ERR_BUSY;
	}
	l->inflight++;
	return 0;
}

static void kick(struct blk_dev *b)
{
	struct vscsi *h = ((struct vscsi_lun *)b->priv)->h;
	h->kick = 0;
	virtq_kick(&h->req);
}

static int poll(struct blk_dev *b)
{
	struct vscsi_lun *l = b->priv;
	struct vscsi *h = l->h;
	char why[96];
	if (h->dead) {
		blk_detail(b, "%s", h->dead_why);
		return BLK_ERR_DEVICE;
	}
	int err = drain(h, why, sizeof(why));
	if (err) {
		blk_detail(b, "%s", why);
		return err;
	}
	int n = (int)l->completed;
	l->completed = 0;
	return n;
}

/* A reset stops every LUN of the HBA: the others fail at their next
 * request, at once, with the reason. */
static int fail(struct blk_dev *b)
{
	struct vscsi *h = ((struct vscsi_lun *)b->priv)->h;
	if (!h->dead)
		fmt_snprintf(h->dead_why, sizeof(h->dead_why), "the HBA was "
			     "reset after a failure on %s", b->name);
	h->dead = 1;
	virtio_fail(h->dev);
	return virtio_reset(h->dev) ? BLK_ERR_TIMEOUT : 0;
}

static const struct blk_ops vscsi_ops = { submit, kick, poll, fail };

/* The request queue's interrupt: the waiter reaps. */
static int vscsi_irq(void *ctx)
{
	struct vscsi *h = ctx;
	return virtq_pending(&h->req);
}

/* --- the probe ------------------------------------------------------------------ */

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
	struct slot *s = slot_get(h);
	if (!s || clen > h->cdb_size) {
		fmt_snprintf(h->probe_why, sizeof(h->probe_why), "%s", !s
			     ? "no free slot" : "CDB longer than cdb_size");
		return BLK_ERR_DEVICE;
	}
	slot_fill(h, s, p->addr, cdb, clen, (uintptr_t)buf, len, write);
	s->probe = 1;
	h->probe_done = 0;
	if (slot_post(h, s)) {
		slot_put(h, s);
		fmt_snprintf(h->probe_why, sizeof(h->probe_why), "queue full");
		return BLK_ERR_DEVICE;
	}
	uint64_t end = time_us() + EXEC_US;
	virtq_kick(&h->req);
	h->kick = 0;
	while (!h->probe_done) {
		int err = drain(h, h->probe_why, sizeof(h->probe_why));
		if (err)
			return err;
		if (!h->probe_done && time_us() > end) {
			fmt_snprintf(h->probe_why, sizeof(h->probe_why),
				     "no answer within %llu s", EXEC_US / 1000000);
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
 * target has no list); direct-access units only. 0, or the HBA's
 * failure. */
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

/* --- setup ------------------------------------------------------------------------ */

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
	b->can_flush = !in->cache_known || in->write_cache;
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
		virtio_fail(dev);
		if (virtio_reset(dev))	/* no more DMA */
			*why = virtio_strerror(VIRTIO_ERR_RESET);
		/* with a vector, its handler keeps h: leave it (no DMA, no
		 * interrupts from a reset device) */
		if (!vec)
			drop(h);
	}
	return err;
}
