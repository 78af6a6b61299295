/* drivers/blk.c and blk_bytes.c, the request engine, against a driver
 * played by this test: every request kind through the same checks
 * (read-only, supported, in range), the one deadline rule, a queue that
 * says "busy" with nothing in flight, failures reported once with the
 * device's name, bounce buffers for devices with a DMA limit, and values
 * a driver read from a device that would overflow byte arithmetic. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../drivers/blk.h"
#include "../../runtime/page.h"
#include "check.h"
#include "hostcon.h"

#define SECTORS 4096

struct fake {
	struct blk_dev blk;
	uint8_t *disk;		/* SECTORS * sector_size bytes */
	int mode;		/* one of the MODE_* below */
	unsigned queue;		/* requests it holds at most */
	struct blk_req *held[64];
	unsigned nheld, done_now;
	unsigned ops[5];	/* requests seen, per op */
	uint64_t max_addr_end;	/* highest DMA end seen */
	int failed_calls;
};

enum { MODE_OK, MODE_NEVER, MODE_BUSY, MODE_IOERR, MODE_LIE };

static struct fake *F(struct blk_dev *d)
{
	return (struct fake *)d;
}

/* Completes what it holds: data moved at poll time, like real DMA. */
static void finish(struct fake *f, struct blk_req *r)
{
	uint32_t ss = f->blk.sector_size;
	uint8_t *at = f->disk + r->lba * ss;
	if (r->op == BLK_READ)
		memcpy((void *)(uintptr_t)r->addr, at, (size_t)r->count * ss);
	else if (r->op == BLK_WRITE)
		memcpy(at, (void *)(uintptr_t)r->addr, (size_t)r->count * ss);
	r->status = f->mode == MODE_IOERR ? BLK_ERR_IO : 0;
	if (f->mode == MODE_IOERR)
		blk_detail(&f->blk, "medium error, sense 03/11/00");
	r->done = 1;
}

static int f_submit(struct blk_dev *d, struct blk_req *r)
{
	struct fake *f = F(d);
	if (f->mode == MODE_BUSY || f->nheld == f->queue)
		return BLK_ERR_BUSY;
	f->ops[r->op]++;
	if (r->addr && r->addr + (uint64_t)r->count * d->sector_size >
			       f->max_addr_end)
		f->max_addr_end = r->addr + (uint64_t)r->count * d->sector_size;
	f->held[f->nheld++] = r;
	return 0;
}

static void f_kick(struct blk_dev *d)
{
	(void)d;
}

static int f_poll(struct blk_dev *d)
{
	struct fake *f = F(d);
	if (f->mode == MODE_NEVER)
		return 0;
	if (f->mode == MODE_LIE) {
		blk_detail(d, "a completion for no request");
		return BLK_ERR_DEVICE;
	}
	int n = (int)f->nheld;
	for (unsigned i = 0; i < f->nheld; i++)
		finish(f, f->held[i]);
	f->nheld = 0;
	return n;
}

static int f_fail(struct blk_dev *d)
{
	F(d)->failed_calls++;
	return 0;
}

static const struct blk_ops fake_ops = { f_submit, f_kick, f_poll, f_fail, 0 };

static void arena(void)
{
	void *mem = mmap(0, 8 << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (mem == MAP_FAILED)
		abort();
	page_reset();
	page_add((uintptr_t)mem, (8 << 20) / 4096);
}

static struct fake *make(const char *name, uint32_t ss, unsigned queue)
{
	struct fake *f = calloc(1, sizeof(*f));
	f->disk = calloc(SECTORS, ss);
	for (size_t i = 0; i < (size_t)SECTORS * ss; i++)
		f->disk[i] = (uint8_t)(i * 7 + i / 511);
	f->queue = queue;
	struct blk_dev *b = &f->blk;
	strcpy(b->name, name);
	b->transport = "fake";
	b->sectors = SECTORS;
	b->sector_size = ss;
	b->max_sectors = 16;
	b->queue_depth = queue;
	b->dma_align = 1;
	b->can_flush = 1;
	b->timeout_us = 200000;		/* 0.2 s: tests need not wait 15 s */
	b->ops = &fake_ops;
	CHECK_INT(blk_register(b), 0);
	return f;
}

/* Every op through the same checks, on the blk_io and blk_submit paths. */
static void test_validation(void)
{
	struct fake *f = make("fa", 512, 8);
	struct blk_dev *d = &f->blk;
	static uint8_t buf[64 * 512];
	CHECK_INT(blk_io(d, BLK_READ, SECTORS - 1, 2, buf), BLK_ERR_RANGE);
	CHECK_INT(blk_io(d, BLK_READ, ~0ull, 2, buf), BLK_ERR_RANGE);
	CHECK_INT(blk_io(d, BLK_DISCARD, 0, 8, 0), BLK_ERR_UNSUPP);
	CHECK_INT(blk_io(d, BLK_WRITE_ZEROES, 0, 8, 0), BLK_ERR_UNSUPP);
	CHECK_INT(blk_io(d, 9, 0, 8, buf), BLK_ERR_INVALID);
	d->can_discard = 1;
	CHECK_INT(blk_io(d, BLK_DISCARD, 8, 40, 0), 0);
	CHECK_INT(f->ops[BLK_DISCARD], 3);	/* split at max_sectors */
	/* A flush is a request through the engine like any other. */
	CHECK_INT(blk_flush(d), 0);
	CHECK_INT(f->ops[BLK_FLUSH], 1);
	d->can_flush = 0;
	CHECK_INT(blk_flush(d), 0);		/* write-through: nothing */
	CHECK_INT(f->ops[BLK_FLUSH], 1);

	/* Read-only: every kind of change refused before the device. */
	d->read_only = 1;
	unsigned writes = f->ops[BLK_WRITE];
	CHECK_INT(blk_io(d, BLK_WRITE, 0, 1, buf), BLK_ERR_RO);
	CHECK_INT(blk_write_bytes(d, 3, buf, 10), BLK_ERR_RO);
	CHECK_INT(blk_io(d, BLK_DISCARD, 0, 1, 0), BLK_ERR_RO);
	struct blk_req r = { .op = BLK_WRITE, .lba = 0, .count = 1,
			     .addr = (uintptr_t)buf };
	CHECK_INT(blk_submit(d, &r), BLK_ERR_RO);	/* bench randwrite */
	CHECK_INT(f->ops[BLK_WRITE], writes);
	CHECK_INT(blk_io(d, BLK_READ, 0, 1, buf), 0);
	d->read_only = 0;

	/* The queued path: submit to depth, reap, wait. */
	struct blk_req q[8];
	for (int i = 0; i < 8; i++) {
		q[i] = (struct blk_req){ .op = BLK_READ, .lba = (uint64_t)i * 2,
					 .count = 2,
					 .addr = (uintptr_t)(buf + i * 1024) };
		CHECK_INT(blk_submit(d, &q[i]), 0);
	}
	struct blk_req extra = q[0];
	CHECK_INT(blk_submit(d, &extra), BLK_ERR_BUSY);	/* reap first */
	CHECK_INT(blk_reap(d), 8);
	CHECK_INT(blk_reap(d), 0);	/* nothing in flight: no wait */
	CHECK(!memcmp(buf, f->disk, 16 * 512));
	CHECK_INT(blk_wait(d, &q[3]), 0);
}

/* Partitions are views: bounds are theirs, the disk's engine serves. */
static void test_partition(void)
{
	struct fake *f = make("fb", 4096, 4);
	struct blk_dev *p = blk_add_partition(&f->blk, 2, 100, 50);
	CHECK(p != 0);
	CHECK_STR(p->name, "fb2");
	static uint8_t buf[8 * 4096];
	CHECK_INT(blk_io(p, BLK_READ, 49, 2, buf), BLK_ERR_RANGE);
	CHECK_INT(blk_io(p, BLK_READ, 48, 2, buf), 0);
	CHECK(!memcmp(buf, f->disk + 148 * 4096, 2 * 4096));
	CHECK_INT(blk_read_bytes(p, 50 * 4096 - 4, buf, 5), BLK_ERR_RANGE);
	CHECK_INT(blk_read_bytes(p, 4095, buf, 3), 0);
	CHECK(!memcmp(buf, f->disk + 101 * 4096 - 1, 3));
	CHECK(blk_add_partition(&f->blk, 3, SECTORS - 1, 2) == 0);
	CHECK(blk_add_partition(&f->blk, 3, ~0ull, 2) == 0);
}

/* Byte-granular writes: read-modify-write at both edges, exact. */
static void test_bytes(void)
{
	struct fake *f = make("fc", 512, 16);
	struct blk_dev *d = &f->blk;
	uint8_t *want = malloc(SECTORS * 512), *got = malloc(300000);
	memcpy(want, f->disk, SECTORS * 512);
	static const struct { uint64_t off; size_t len; } c[] = {
		{ 3, 10 }, { 510, 4 }, { 512, 512 }, { 1000, 200000 },
		{ 7, 1 }, { 512 * 4095 + 100, 412 },
	};
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (size_t k = 0; k < c[i].len; k++)
			got[k] = (uint8_t)(k + i);
		memcpy(want + c[i].off, got, c[i].len);
		CHECK_INT(blk_write_bytes(d, c[i].off, got, c[i].len), 0);
	}
	CHECK(!memcmp(f->disk, want, SECTORS * 512));
	CHECK_INT(blk_read_bytes(d, 999, got + 1, 200002), 0);
	CHECK(!memcmp(got + 1, want + 999, 200002));
	free(want);
	free(got);
}

/* A device that never completes: the one deadline fails it, the message
 * names it, and later requests fail at once. */
static void test_timeout(void)
{
	struct fake *f = make("fd", 512, 4);
	struct blk_dev *d = &f->blk;
	static uint8_t buf[4096];
	f->mode = MODE_NEVER;
	hostcon_clear();
	CHECK_INT(blk_read_bytes(d, 100, buf, 10), BLK_ERR_TIMEOUT);
	CHECK(d->failed);
	CHECK_INT(f->failed_calls, 1);
	CHECK(strstr(hostcon_log, "timeout on fd after 200 ms") != 0);
	CHECK_STR(blk_last_error(d),
		  "timeout on fd after 200 ms (device stopped)");
	CHECK_INT(blk_flush(d), BLK_ERR_DEVICE);
	CHECK_INT(blk_io(d, BLK_READ, 0, 1, buf), BLK_ERR_DEVICE);
	CHECK_INT(f->failed_calls, 1);

	/* Flush takes the same path and the same deadline. */
	f = make("fe", 512, 4);
	f->mode = MODE_NEVER;
	CHECK_INT(blk_flush(&f->blk), BLK_ERR_TIMEOUT);
	CHECK(f->blk.failed);
}

/* "Busy" with nothing in flight would never drain: an error, never a
 * short success (the small-read path copied an uninitialised buffer). */
static void test_stuck_queue(void)
{
	struct fake *f = make("ff", 512, 1);
	struct blk_dev *d = &f->blk;
	static uint8_t buf[4096];
	memset(buf, 0xee, sizeof(buf));
	f->mode = MODE_BUSY;
	hostcon_clear();
	CHECK_INT(blk_read_bytes(d, 3, buf, 100), BLK_ERR_DEVICE);
	CHECK(buf[0] == 0xee);
	CHECK(strstr(hostcon_log, "queue full with nothing in flight") != 0);
	CHECK(d->failed);
	f = make("fg", 512, 1);
	f->mode = MODE_BUSY;
	struct blk_req r = { .op = BLK_READ, .lba = 0, .count = 1,
			     .addr = (uintptr_t)buf };
	CHECK_INT(blk_submit(&f->blk, &r), BLK_ERR_DEVICE);
}

/* An error the device reports: the request fails, the sentence names the
 * op, the device, the place and the driver's words; the device lives. */
static void test_io_error(void)
{
	struct fake *f = make("fh", 512, 4);
	struct blk_dev *d = &f->blk;
	static uint8_t buf[4096];
	f->mode = MODE_IOERR;
	CHECK_INT(blk_io(d, BLK_READ, 40, 2, buf), BLK_ERR_IO);
	CHECK_STR(blk_last_error(d), "read error on fh at LBA 40 (+2): I/O "
		  "error reported by the device: medium error, sense 03/11/00");
	CHECK(!d->failed);
	/* A later request that fails before the device (past the end) has
	 * no sentence: the old one is not its cause. */
	f->mode = MODE_OK;
	CHECK_INT(blk_io(d, BLK_READ, d->sectors, 1, buf), BLK_ERR_RANGE);
	CHECK_STR(blk_last_error(d), "");
	f->mode = MODE_IOERR;
	CHECK_INT(blk_io(d, BLK_READ, 40, 2, buf), BLK_ERR_IO);
	f->mode = MODE_OK;
	CHECK_INT(blk_io(d, BLK_READ, 40, 2, buf), 0);
	CHECK_STR(blk_last_error(d), "");	/* cleared by the success */
	/* A protocol error fails the device, with the driver's words. */
	f->mode = MODE_LIE;
	CHECK_INT(blk_io(d, BLK_READ, 0, 1, buf), BLK_ERR_DEVICE);
	CHECK_STR(blk_last_error(d), "fh failed: a completion for no request "
		  "(device stopped)");
}

/* A device that cannot reach above a limit: buffers beyond it bounce. */
static void test_dma_limit(void)
{
	struct fake *f = make("fi", 512, 4);
	struct blk_dev *d = &f->blk;
	uint8_t *high = malloc(64 * 512);	/* the heap: above 4 GiB */
	CHECK((uintptr_t)high > (1ull << 32));
	d->dma_limit = 1ull << 32;
	CHECK_INT(blk_io(d, BLK_READ, 8, 64, high), 0);
	CHECK(!memcmp(high, f->disk + 8 * 512, 64 * 512));
	CHECK_INT(blk_read_bytes(d, 5000, high + 1, 30000), 0);
	CHECK(!memcmp(high + 1, f->disk + 5000, 30000));
	CHECK_INT(blk_write_bytes(d, 3, high, 5000), 0);
	CHECK(f->max_addr_end <= 1ull << 32);
	free(high);
}

/* Values a driver read from its device, checked at registration. */
static void test_register_checks(void)
{
	static struct blk_dev bad[3];
	uint64_t sectors[3] = { 1ull << 62, 0, 100 };
	uint32_t ss[3] = { 512, 512, 520 };
	unsigned before = blk_count(), broken = blk_broken_count();
	for (int i = 0; i < 3; i++) {
		bad[i] = (struct blk_dev){ .sectors = sectors[i],
					   .sector_size = ss[i],
					   .transport = "fake", .ops = &fake_ops };
		strcpy(bad[i].name, "bad");
		CHECK_INT(blk_register(&bad[i]), BLK_ERR_DEVICE);
	}
	CHECK_INT(blk_count(), before);
	CHECK_INT(blk_broken_count(), broken + 3);
	CHECK(strstr(blk_broken_get(broken)->why, "capacity") != 0);
	CHECK(strstr(blk_broken_get(broken + 2)->why, "sector size 520") != 0);
	/* The largest capacity allowed still does exact byte math. */
	struct fake *f = make("fj", 4096, 2);
	f->blk.sectors = BLK_MAX_BYTES / 4096;
	static uint8_t buf[16];
	CHECK_INT(blk_read_bytes(&f->blk, BLK_MAX_BYTES - 8, buf, 9),
		  BLK_ERR_RANGE);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	arena();
	RUN(test_validation);
	RUN(test_partition);
	RUN(test_bytes);
	RUN(test_timeout);
	RUN(test_stuck_queue);
	RUN(test_io_error);
	RUN(test_dma_limit);
	RUN(test_register_checks);
	return check_done();
}
