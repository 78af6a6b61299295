#define _GNU_SOURCE
/* drivers/virtio/virtq.c and virtio_blk.c against a device played by this
 * test: a well-behaved one first (split and packed rings, with and
 * without indirect descriptors), then a hostile one returning ids out of
 * range, ids not in flight, lengths beyond what was posted, and status
 * bytes that mean nothing. Each must be a clear error, never a write
 * outside a posted buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../drivers/blk.h"
#include "../../drivers/virtio/virtio_blk.h"
#include "../../drivers/virtio/virtq.h"
#include "../../runtime/page.h"
#include "check.h"
#include "fakevirtio.h"

/* --- the transport ------------------------------------------------------- */

struct fake {
	struct fakevirtio v;	/* first */
	int serve;		/* 0: passive; 1: answer; 2: bad status */
};

static void serve(struct fake *f);

static void notified(struct fakevirtio *v, uint16_t q)
{
	struct fake *f = (struct fake *)v;
	(void)q;
	if (f->serve)
		serve(f);
}

static void fake_init(struct fake *f, uint64_t features)
{
	memset(f, 0, sizeof(*f));
	fakevirtio_init(&f->v, features | (1ull << 32), 0);
	f->v.on_notify = notified;
}

/* --- the device side of a split ring -------------------------------------- */



static uint16_t dev_avail_seen;

/* Takes the next available head (split), returns it. */
static int split_take(struct fake *f, uint16_t *head)
{
	uint16_t idx = r16(f->v.driver[0] + 2);
	if (idx == dev_avail_seen)
		return 0;
	*head = r16(f->v.driver[0] + 4 +
		    2 * (dev_avail_seen % f->v.size[0]));
	dev_avail_seen++;
	return 1;
}

static void split_used(struct fake *f, uint32_t id, uint32_t len)
{
	uint16_t idx = r16(f->v.device[0] + 2);
	uint64_t e = f->v.device[0] + 4 + 8 * (idx % f->v.size[0]);
	w32(e, id);
	w32(e + 4, len);
	w16(f->v.device[0] + 2, (uint16_t)(idx + 1));
}

/* The status byte of a virtio-blk request: the last descriptor (through
 * an indirect table when there is one). */
static uint8_t *status_of(struct fake *f, uint16_t head, uint32_t *datalen)
{
	uint64_t d = f->v.desc[0] + 16 * head;
	uint16_t flags = r16(d + 12);
	uint64_t tab = d;
	int n = 1;
	if (flags & 4) {	/* indirect */
		uint32_t len;
		memcpy(&len, P(d + 8), 4);
		memcpy(&tab, P(d), 8);
		n = (int)(len / 16);
		uint64_t last = tab + 16 * (n - 1);
		memcpy(datalen, P(tab + 16 + 8), 4);
		uint64_t a;
		memcpy(&a, P(last), 8);
		return P(a);
	}
	uint64_t cur = d;
	for (int i = 0; i < 8 && (r16(cur + 12) & 1); i++) {
		if (i == 0)
			memcpy(datalen,
			       P(f->v.desc[0] + 16 * r16(cur + 14) + 8), 4);
		cur = f->v.desc[0] + 16 * r16(cur + 14);
	}
	uint64_t a;
	memcpy(&a, P(cur), 8);
	return P(a);
}

/* --- the tests ------------------------------------------------------------ */

static void arena(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	/* Below 4 GiB, as the rings must be (the legacy transport). */
	void *mem = mmap(0, 16 << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (mem == MAP_FAILED)
		abort();
	page_reset();
	page_add((uintptr_t)mem, (16 << 20) / 4096);
}

static uint8_t pattern(uint64_t pos)
{
	return (uint8_t)(pos ^ (pos >> 9) ^ 0x5a);
}

static int matches(const uint8_t *buf, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(off + i))
			return 0;
	return 1;
}

/* A device that answers in notify: fills reads with a pattern, sets
 * the status (a meaningless one when serve == 2). Split rings. */
static void serve(struct fake *f)
{
	uint16_t head;
	while (split_take(f, &head)) {
		uint32_t datalen = 0;
		uint8_t *st = status_of(f, head, &datalen);
		*st = f->serve == 2 ? 7 : 0;
		/* the data buffer: second descriptor */
		uint64_t d = f->v.desc[0] + 16 * head, tab = d, a;
		if (r16(d + 12) & 4)
			memcpy(&tab, P(d), 8);
		else
			tab = f->v.desc[0] + 16 * r16(d + 14);
		uint64_t hdr;
		memcpy(&hdr, P(d), 8);
		if (r16(d + 12) & 4)
			memcpy(&hdr, P(tab), 8), tab += 16;
		uint32_t type;
		uint64_t sector;
		memcpy(&type, P(hdr), 4);
		memcpy(&sector, P(hdr + 8), 8);
		memcpy(&a, P(tab), 8);
		if (type == 0)	/* IN: each byte tells where it came from */
			for (uint32_t k = 0; k < datalen; k++)
				P(a)[k] = pattern(sector * 512 + k);
		split_used(f, head, type == 0 ? datalen + 1 : 1);
	}
}

/* virtio-blk against the answering device, then a lying one. */
static void test_vblk(void)
{
	static struct fake f;
	const char *why;
	fake_init(&f, 1ull << 28);
	f.v.config[1] = 0x10;	/* capacity: 4096 sectors */
	f.v.qmax[0] = 64;
	f.serve = 1;
	dev_avail_seen = 0;
	unsigned before = blk_count();
	CHECK_INT(vblk_attach(&f.v.dev, &why), 0);
	CHECK_INT(blk_count(), before + 1);
	struct blk_dev *d = blk_get(before);
	CHECK_INT(d->sectors, 4096);
	CHECK_INT(d->queue_depth, 64);
	static uint8_t buf[8 * 512 + 1];
	static uint8_t big[400000];
	CHECK_INT(blk_io(d, BLK_READ, 8, 8, buf), 0);
	CHECK(matches(buf, 8 * 512, 8 * 512));
	CHECK(buf[8 * 512] == 0);	/* nothing past the buffer */
	CHECK_INT(blk_io(d, BLK_READ, 4090, 8, buf), BLK_ERR_RANGE);
	/* Byte ranges: small and large, aligned and not, exact. */
	static const struct { uint64_t off; size_t len; } r[] = {
		{ 100, 1000 }, { 512, 4096 }, { 0, 8192 }, { 777, 300000 },
		{ 1024, 300001 }, { 3, 399990 }, { 512 * 4000 + 5, 2000 },
	};
	for (unsigned i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		memset(big, 0, sizeof(big));
		CHECK_INT(blk_read_bytes(d, r[i].off, big + 1, r[i].len), 0);
		CHECK(matches(big + 1, r[i].off, r[i].len));
		CHECK(big[0] == 0 && big[r[i].len + 1] == 0);
	}
	CHECK_INT(blk_read_bytes(d, 4096 * 512 - 10, big, 11), BLK_ERR_RANGE);
	/* A status byte that means nothing: the device is failed. */
	f.serve = 2;
	CHECK_INT(blk_io(d, BLK_READ, 0, 1, buf), BLK_ERR_DEVICE);
	CHECK(d->failed);
	CHECK(f.v.status & VIRTIO_STATUS_FAILED || f.v.status == 0);
	f.serve = 1;
	CHECK_INT(blk_io(d, BLK_READ, 0, 1, buf), BLK_ERR_DEVICE);
}

/* A raw virtq: add, complete, get back; then hostile completions. */
static void test_ring(int packed, int indirect)
{
	struct fake f;
	struct virtq q;
	uint64_t feat = (packed ? 1ull << 34 : 0) | (indirect ? 1ull << 28 : 0);
	fake_init(&f, feat);
	f.v.dev.features = f.v.features;
	CHECK_INT(virtq_init(&q, &f.v.dev, 0, 16), 0);
	CHECK_INT(q.size, 16);
	uint8_t hdr[16], data[512], st = 0xff;
	struct virtq_buf b[3] = { { (uintptr_t)hdr, 16, 0 },
				  { (uintptr_t)data, 512, 1 },
				  { (uintptr_t)&st, 1, 1 } };
	int tok = 1;
	void *got;
	uint32_t len;
	CHECK_INT(virtq_add(&q, b, 3, &tok), 0);
	virtq_kick(&q);
	CHECK(f.v.notified[0] > 0);
	CHECK_INT(virtq_get(&q, &got, &len), 0);	/* nothing yet */
	if (!packed) {
		uint16_t head;
		dev_avail_seen = 0;
		CHECK(split_take(&f, &head));
		/* A used id beyond the ring. */
		split_used(&f, 999, 1);
		CHECK_INT(virtq_get(&q, &got, &len), VIRTIO_ERR_DEVICE);
		/* Reset the view: a fresh queue for the next checks. */
		virtq_free(&q);
		fake_init(&f, feat);
		f.v.dev.features = f.v.features;
		CHECK_INT(virtq_init(&q, &f.v.dev, 0, 16), 0);
		dev_avail_seen = 0;
		CHECK_INT(virtq_add(&q, b, 3, &tok), 0);
		CHECK(split_take(&f, &head));
		/* A length beyond the device-writable bytes posted (513). */
		split_used(&f, head, 4096);
		CHECK_INT(virtq_get(&q, &got, &len), VIRTIO_ERR_DEVICE);
		virtq_free(&q);
		fake_init(&f, feat);
		f.v.dev.features = f.v.features;
		CHECK_INT(virtq_init(&q, &f.v.dev, 0, 16), 0);
		dev_avail_seen = 0;
		CHECK_INT(virtq_add(&q, b, 3, &tok), 0);
		CHECK(split_take(&f, &head));
		/* An id that is valid but not in flight. */
		split_used(&f, (uint16_t)(head + 1) % 16, 1);
		CHECK_INT(virtq_get(&q, &got, &len), VIRTIO_ERR_DEVICE);
		virtq_free(&q);
		fake_init(&f, feat);
		f.v.dev.features = f.v.features;
		CHECK_INT(virtq_init(&q, &f.v.dev, 0, 16), 0);
		dev_avail_seen = 0;
		/* Correct completions, many times around the ring. */
		for (int i = 0; i < 100; i++) {
			CHECK_INT(virtq_add(&q, b, 3, &tok), 0);
			CHECK(split_take(&f, &head));
			uint32_t dl = 0;
			*status_of(&f, head, &dl) = 0;
			split_used(&f, head, 513);
			CHECK_INT(virtq_get(&q, &got, &len), 1);
			CHECK(got == &tok && len == 513);
		}
		CHECK_INT(q.free, 16);
		virtq_free(&q);
	} else {
		/* Packed: the device marks the first slot used, with an id it
		 * never got. */
		uint64_t d = f.v.desc[0];
		uint16_t flags = r16(d + 14);
		CHECK(flags & (1 << 7));	/* AVAIL set, wrap 1 */
		w16(d + 12, 9);
		w16(d + 14, (1 << 7) | (1 << 15));
		CHECK_INT(virtq_get(&q, &got, &len), VIRTIO_ERR_DEVICE);
		/* Correct completions, around the ring several times. */
		virtq_free(&q);
		fake_init(&f, feat);
		f.v.dev.features = f.v.features;
		CHECK_INT(virtq_init(&q, &f.v.dev, 0, 16), 0);
		uint16_t pos = 0;
		int wrap = 1;
		for (int i = 0; i < 100; i++) {
			CHECK_INT(virtq_add(&q, b, 3, &tok), 0);
			uint64_t e = f.v.desc[0] + 16 * pos;
			uint16_t id = r16(e + 12);
			int chain = indirect ? 1 : 3;
			/* the id sits in the last descriptor of the chain */
			uint16_t lastpos = (uint16_t)((pos + chain - 1) % 16);
			id = r16(f.v.desc[0] + 16 * lastpos + 12);
			w32(e + 8, 513);
			w16(e + 12, id);
			w16(e + 14, wrap ? (1 << 7) | (1 << 15) : 0);
			CHECK_INT(virtq_get(&q, &got, &len), 1);
			CHECK(got == &tok && len == 513);
			pos = (uint16_t)(pos + chain);
			if (pos >= 16) {
				pos -= 16;
				wrap ^= 1;
			}
		}
		CHECK_INT(q.free, 16);
		virtq_free(&q);
	}
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	arena();
	RUN(test_ring, 0, 0);
	RUN(test_ring, 0, 1);
	RUN(test_ring, 1, 0);
	RUN(test_ring, 1, 1);
	RUN(test_vblk);
	return check_done();
}
