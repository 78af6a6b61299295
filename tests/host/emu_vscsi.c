/* The virtio-scsi device model; see emu_vscsi.h. */
#include "emu_vscsi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/le.h"
#include "emu_ring.h"

#define REQ_BYTES 51		/* §5.6.6.1: 19 + cdb_size 32 */
#define RESP_BYTES 108		/* 12 + sense_size 96 */
#define MAX_BUFS 8

/* One command as the driver laid it out (§5.6.6.1). */
struct cmd {
	const uint8_t *req;
	uint8_t *resp;
	uint8_t *in, *out;	/* data-in, data-out (0: none) */
	uint32_t in_len, out_len, written;
	uint8_t status, sense[18];
	uint32_t sense_len, resid;
	uint8_t response;
};

static struct emu_vscsi *E(struct virtio_dev *d)
{
	return (struct emu_vscsi *)d;
}

static uint8_t *P(uint64_t a)
{
	return (uint8_t *)(uintptr_t)a;
}

static void be_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t be_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* --- SCSI ----------------------------------------------------------------- */

static void check(struct emu_vscsi *e, struct cmd *c, uint8_t key,
		  uint8_t asc, uint8_t ascq)
{
	c->status = 2;	/* CHECK CONDITION */
	memset(c->sense, 0, sizeof(c->sense));
	if (e->descriptor_sense) {	/* SPC-4 §4.5.2 */
		c->sense[0] = 0x72;
		c->sense[1] = key;
		c->sense[2] = asc;
		c->sense[3] = ascq;
		c->sense_len = 8;
	} else {			/* §4.5.3 */
		c->sense[0] = 0x70;
		c->sense[2] = key;
		c->sense[7] = 10;
		c->sense[12] = asc;
		c->sense[13] = ascq;
		c->sense_len = 18;
	}
}

/* Copies n bytes of reply into data-in, no more than it holds. */
static void reply(struct cmd *c, const uint8_t *src, uint32_t n)
{
	uint32_t k = n < c->in_len ? n : c->in_len;
	if (c->in)
		memcpy(c->in, src, k);
	c->written = k;
	c->resid = c->in_len - k;
}

static void inquiry(struct emu_vscsi *e, struct cmd *c, const uint8_t *cdb,
		    uint32_t target, uint32_t lun)
{
	uint8_t d[64] = { 0 };
	uint32_t n = 36;
	if (e->inq_empty) {
		reply(c, d, 0);
		return;
	}
	if (!(cdb[1] & 1)) {
		d[0] = lun < e->luns ? e->inq_type : 0x7f;
		d[2] = 5;
		d[4] = 31;
		memcpy(d + 8, "EMU     VSCSI DISK      0001", 28);
	} else if (cdb[2] == 0x00) {
		const uint8_t pages[] = { 0x00, 0x80, 0xb0, 0xb2 };
		d[3] = sizeof(pages);
		memcpy(d + 4, pages, sizeof(pages));
		n = 4 + sizeof(pages);
	} else if (cdb[2] == 0x80) {
		d[1] = 0x80;
		n = 4 + (uint32_t)snprintf((char *)d + 4, 40, "EMU-T%u-L%u",
					   target, lun);
		d[3] = (uint8_t)(n - 4);
	} else if (cdb[2] == 0xb0) {
		d[1] = 0xb0;
		d[3] = 0x3c;
		be_put(d + 20, 1u << 20, 4);	/* max unmap LBA count */
		be_put(d + 24, 1, 4);		/* one descriptor */
		n = 64;
	} else if (cdb[2] == 0xb2) {
		d[1] = 0xb2;
		d[3] = 4;
		d[5] = 0x80;			/* LBPU */
		n = 8;
	} else {
		check(e, c, 5, 0x24, 0);
		return;
	}
	reply(c, d, n);
}

static void report_luns(struct emu_vscsi *e, struct cmd *c)
{
	uint8_t d[8 + 8 * 64] = { 0 };
	uint32_t n = e->luns < 64 ? e->luns : 64;
	be_put(d, e->report_luns_len ? e->report_luns_len : 8 * n, 4);
	for (uint32_t i = 0; i < n; i++) {
		d[8 + 8 * i] = (uint8_t)(i >= 256 ? 0x40 | i >> 8 : 0);
		d[9 + 8 * i] = (uint8_t)i;
	}
	reply(c, d, 8 + 8 * n);
}

static void capacity(struct emu_vscsi *e, struct cmd *c, int sixteen)
{
	uint8_t d[32] = { 0 };
	if (sixteen && e->rc16_refused) {
		check(e, c, 5, 0x24, 0);
		return;
	}
	if (sixteen) {
		be_put(d, e->last_lba, 8);
		be_put(d + 8, e->block_size, 4);
		d[14] = 0x80;	/* LBPME */
		reply(c, d, 32);
		return;
	}
	be_put(d, e->last_lba > 0xffffffffu ? 0xffffffffu : e->last_lba, 4);
	be_put(d + 4, e->block_size, 4);
	reply(c, d, 8);
}

static void rw(struct emu_vscsi *e, struct cmd *c, const uint8_t *cdb,
	       uint32_t lun)
{
	int sixteen = cdb[0] == 0x88 || cdb[0] == 0x8a;
	int write = cdb[0] == 0x2a || cdb[0] == 0x8a;
	uint64_t lba = be_get(cdb + 2, sixteen ? 8 : 4);
	uint64_t n = be_get(cdb + (sixteen ? 10 : 7), sixteen ? 4 : 2);
	uint64_t bytes = n * e->block_size;
	uint8_t *disk = e->data[lun & 3];
	if (lba > e->last_lba || n > e->last_lba + 1 - lba) {
		check(e, c, 5, 0x21, 0);
		return;
	}
	if (bytes != (write ? c->out_len : c->in_len))
		e->bad++;	/* the CDB and the buffer disagree */
	if (write && e->write_protect) {
		check(e, c, 7, 0x27, 0);
		return;
	}
	if (!write && e->medium_error >= 0 && (uint64_t)e->medium_error >= lba &&
	    (uint64_t)e->medium_error < lba + n) {
		check(e, c, 3, 0x11, 0);
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t at = (lba + i) * e->block_size, k = i * e->block_size;
		int stored = lba + i < EMU_VSCSI_BLOCKS;
		if (write && stored && k + e->block_size <= c->out_len)
			memcpy(disk + at, c->out + k, e->block_size);
		else if (!write && k + e->block_size <= c->in_len)
			memcpy(c->in + k, stored ? disk + at : disk, e->block_size);
	}
	if (write) {
		e->writes++;
	} else {
		e->reads++;
		c->written = (uint32_t)(bytes < c->in_len ? bytes : c->in_len);
		if (e->resid)
			c->resid = e->resid;
	}
}

static void execute(struct emu_vscsi *e, struct cmd *c)
{
	const uint8_t *lun = c->req, *cdb = c->req + 19;
	uint32_t target = lun[1], l = (uint32_t)(lun[2] & 0x3f) << 8 | lun[3];
	e->commands++;
	if (lun[0] != 1 || target >= 32 || !(e->targets >> target & 1)) {
		c->response = 3;	/* VIRTIO_SCSI_S_BAD_TARGET */
		return;
	}
	if (cdb[0] == 0x12) {
		inquiry(e, c, cdb, target, l);
		return;
	}
	if (cdb[0] == 0xa0) {
		report_luns(e, c);
		return;
	}
	if (l >= e->luns) {
		check(e, c, 5, 0x25, 0);	/* LUN not supported */
		return;
	}
	if (e->unit_attention) {
		e->unit_attention--;
		check(e, c, 6, 0x29, 0);
		return;
	}
	switch (cdb[0]) {
	case 0x00:
		if (e->never_ready)
			check(e, c, 2, 0x3a, 0);
		break;
	case 0x1a: {
		uint8_t d[16] = { 7, 0, (uint8_t)(e->write_protect ? 0x80 : 0),
				  0, 0x08, 0x12, 0x04 };
		reply(c, d, 16);
		break;
	}
	case 0x25: capacity(e, c, 0); break;
	case 0x9e: capacity(e, c, 1); break;
	case 0x28: case 0x2a: case 0x88: case 0x8a: rw(e, c, cdb, l); break;
	case 0x35: e->syncs++; break;
	case 0x42: e->unmaps++; break;
	default: check(e, c, 5, 0x20, 0); break;
	}
}

/* --- the queues ----------------------------------------------------------- */

/* Lays the chain out as a command; 0, or -1 when it breaks §5.6.6.1. */
static int layout(struct emu_seg *b, unsigned n, struct cmd *c)
{
	unsigned i = 1;
	memset(c, 0, sizeof(*c));
	if (n < 2 || b[0].writes || b[0].len < REQ_BYTES)
		return -1;
	c->req = P(b[0].addr);
	if (i < n && !b[i].writes) {
		c->out = P(b[i].addr);
		c->out_len = b[i++].len;
	}
	if (i >= n || !b[i].writes || b[i].len < RESP_BYTES)
		return -1;
	c->resp = P(b[i++].addr);
	if (i < n) {
		c->in = P(b[i].addr);
		c->in_len = b[i++].len;
	}
	return i == n ? 0 : -1;
}

static void answer(struct emu_vscsi *e, struct cmd *c)
{
	uint8_t *r = c->resp;
	memset(r, 0, RESP_BYTES);
	le32_put(r, c->status == 2 && e->sense_len ? e->sense_len
						   : c->sense_len);
	le32_put(r + 4, c->resid);
	r[10] = c->status;
	r[11] = e->response ? e->response : c->response;
	memcpy(r + 12, c->sense, c->sense_len);
}

static void serve(struct emu_vscsi *e)
{
	struct emu_vscsi_q *q = &e->q[2];
	uint16_t head;
	while (!e->silent && emu_ring_take(q->avail, q->size, &q->seen, &head)) {
		struct emu_seg b[MAX_BUFS];
		struct cmd c;
		unsigned n = emu_ring_chain(q->desc, q->size, head, b, MAX_BUFS);
		if (!n || layout(b, n, &c)) {
			e->bad++;
			emu_ring_used(q->used, q->size, head, 0);
			continue;
		}
		execute(e, &c);
		answer(e, &c);
		uint32_t id = e->bad_id ? (uint32_t)(head + 1) % q->size : head;
		emu_ring_used(q->used, q->size, id, RESP_BYTES + c.written);
	}
}

int emu_vscsi_event(struct emu_vscsi *e, uint32_t event, int bogus)
{
	struct emu_vscsi_q *q = &e->q[1];
	uint16_t head;
	struct emu_seg b;
	if (!emu_ring_take(q->avail, q->size, &q->seen, &head) ||
	    !emu_ring_chain(q->desc, q->size, head, &b, 1) || !b.writes ||
	    b.len < 16)
		return -1;
	uint8_t *p = P(b.addr);
	memset(p, 0, 16);
	le32_put(p, event);
	p[4] = 1;
	p[6] = 0x40;
	/* bogus: the ring's last id, which a driver keeping fewer buffers
	 * posted than the ring holds has not given */
	emu_ring_used(q->used, q->size, bogus ? q->size - 1u : head, 16);
	return 0;
}

/* --- the transport -------------------------------------------------------- */

static uint64_t t_getf(struct virtio_dev *d)
{
	(void)d;
	return VIRTIO_BIT(VIRTIO_F_VERSION_1);
}

static void t_setf(struct virtio_dev *d, uint64_t f)
{
	(void)d;
	(void)f;
}

static uint8_t t_gets(struct virtio_dev *d)
{
	return E(d)->status;
}

static void t_sets(struct virtio_dev *d, uint8_t s)
{
	struct emu_vscsi *e = E(d);
	e->status = s;
	if (!s)		/* reset: the queues are forgotten */
		memset(e->q, 0, sizeof(e->q));
}

static void t_cfg(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	if (off + len <= sizeof(E(d)->config))
		memcpy(buf, E(d)->config + off, len);
	else
		memset(buf, 0, len);
}

static uint16_t t_qmax(struct virtio_dev *d, uint16_t q, int *fixed)
{
	(void)d;
	*fixed = 0;
	return q < 3 ? EMU_VSCSI_QSIZE : 0;
}

static int t_qen(struct virtio_dev *d, uint16_t q, uint16_t size,
		 uint64_t desc, uint64_t drv, uint64_t dev)
{
	if (q >= 3)
		return VIRTIO_ERR_QUEUE;
	E(d)->q[q] = (struct emu_vscsi_q){ size, 0, desc, drv, dev };
	return 0;
}

static void t_notify(struct virtio_dev *d, uint16_t q)
{
	struct emu_vscsi *e = E(d);
	e->notified++;
	if (q == 2 && (e->status & VIRTIO_STATUS_DRIVER_OK))
		serve(e);
}

static const struct virtio_ops emu_ops = { t_getf, t_setf, t_gets, t_sets,
					   t_cfg, t_qmax, t_qen, t_notify, 0,
					   0 };

void emu_vscsi_init(struct emu_vscsi *e, uint32_t targets, uint8_t luns,
		    uint32_t block_size)
{
	memset(e, 0, sizeof(*e));
	e->dev.ops = &emu_ops;
	e->dev.transport_name = "emu";
	e->dev.type = VIRTIO_TYPE_SCSI;
	/* §5.6.4 configuration */
	le32_put(e->config + 0, 1);		/* num_queues */
	le32_put(e->config + 4, 62);		/* seg_max */
	le32_put(e->config + 8, 0xffff);	/* max_sectors */
	le32_put(e->config + 12, 128);		/* cmd_per_lun */
	le32_put(e->config + 16, 16);		/* event_info_size */
	le32_put(e->config + 20, 96);		/* sense_size */
	le32_put(e->config + 24, 32);		/* cdb_size */
	le16_put(e->config + 30, 31);		/* max_target */
	le32_put(e->config + 32, 16383);	/* max_lun */
	e->targets = targets;
	e->luns = luns;
	e->block_size = block_size;
	e->last_lba = EMU_VSCSI_BLOCKS - 1;
	e->medium_error = -1;
	for (int i = 0; i < 4; i++)
		e->data[i] = calloc(EMU_VSCSI_BLOCKS, block_size);
}

void emu_vscsi_free(struct emu_vscsi *e)
{
	for (int i = 0; i < 4; i++)
		free(e->data[i]);
}
