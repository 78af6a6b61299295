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
 * slots.
 *
 * XXX: the control queue carries no task management yet: a request that
 * times out resets the whole HBA, every LUN on it, where a LOGICAL UNIT
 * RESET (§5.6.6.2) could spare the others. */
#include "virtio_scsi_int.h"

#include <string.h>

#include "../../runtime/fmt.h"
#include "../../runtime/le.h"

#define RETRIES 3		/* unit attention, BUSY, ... */

/* --- slots ---------------------------------------------------------------- */

struct slot *vscsi_slot_get(struct vscsi *h)
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

void vscsi_slot_put(struct vscsi *h, struct slot *s)
{
	s->r = 0;
	s->probe = 0;
	s->next_free = h->free_slot;
	h->free_slot = (uint32_t)(s - h->slots);
}

/* Header and buffers for cdb on LUN addr: the header, data-out, the
 * response, data-in, in that order (§5.6.6.1). Exactly cdb_size and
 * sense_size: the data follows them in the chain. */
void vscsi_slot_fill(struct vscsi *h, struct slot *s, const uint8_t *addr,
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
	s->b[n++] = (struct virtq_buf){ (uintptr_t)s->req,
					REQ_CDB + h->cdb_size, 0 };
	if (len && write)
		s->b[n++] = (struct virtq_buf){ data, len, 0 };
	s->b[n++] = (struct virtq_buf){ (uintptr_t)s->resp,
					RESP_SENSE + h->sense_size, 1 };
	if (len && !write)
		s->b[n++] = (struct virtq_buf){ data, len, 1 };
	s->nbuf = (uint8_t)n;
}

int vscsi_slot_post(struct vscsi *h, struct slot *s)
{
	if (virtq_add(&h->req, s->b, s->nbuf, s))
		return -1;
	h->kick = 1;
	return 0;
}

/* --- responses ------------------------------------------------------------ */

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
		if (!vscsi_slot_post(h, s))
			return;
	}
	int err = scsi_result_error(res, words, sizeof(words));
	int data = req->op == BLK_READ || req->op == BLK_WRITE;
	if (!err && res->resid && data) {
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
	vscsi_slot_put(h, s);
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
int vscsi_drain(struct vscsi *h, char *why, size_t n)
{
	void *tok;
	uint32_t used;
	int got, err = 0;
	while (!err && (got = virtq_get(&h->req, &tok, &used)) != 0) {
		struct slot *s = tok;
		uint64_t si = (uint64_t)(s - h->slots);
		if (got < 0) {
			fmt_snprintf(why, n, "a used buffer that was not "
				     "posted");
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
			vscsi_slot_put(h, s);
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

/* --- block operations ----------------------------------------------------- */

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
	struct slot *s = vscsi_slot_get(h);
	if (!s)
		return BLK_ERR_BUSY;
	uint32_t bytes = r->count * b->sector_size;
	unsigned clen;
	switch (r->op) {
	case BLK_READ:
	case BLK_WRITE:
		clen = scsi_cdb_rw(cdb, r->op == BLK_WRITE, r->lba, r->count);
		vscsi_slot_fill(h, s, l->addr, cdb, clen, r->addr, bytes,
			  r->op == BLK_WRITE);
		break;
	case BLK_FLUSH:
		clen = scsi_cdb_sync(cdb);
		vscsi_slot_fill(h, s, l->addr, cdb, clen, 0, 0, 0);
		break;
	case BLK_DISCARD:
		clen = scsi_cdb_unmap(cdb, s->param, r->lba, r->count);
		vscsi_slot_fill(h, s, l->addr, cdb, clen, (uintptr_t)s->param,
			  SCSI_UNMAP_PARAM, 1);
		break;
	default:
		vscsi_slot_put(h, s);
		return BLK_ERR_UNSUPP;
	}
	s->r = r;
	s->lun = l;
	if (vscsi_slot_post(h, s)) {
		s->r = 0;
		vscsi_slot_put(h, s);
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
	int err = vscsi_drain(h, why, sizeof(why));
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

const struct blk_ops vscsi_ops = { submit, kick, poll, fail, 0 };

/* The request queue's interrupt: the waiter reaps. */
int vscsi_irq(void *ctx)
{
	struct vscsi *h = ctx;
	return virtq_pending(&h->req);
}
