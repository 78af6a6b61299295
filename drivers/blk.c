/* The block registry and the generic request engine; see blk.h. */
#include "blk.h"

#include <stdlib.h>
#include <string.h>

#include "../runtime/cpu.h"
#include "../runtime/fmt.h"
#include "../runtime/page.h"
#include "../runtime/time.h"

#define BOUNCE_BYTES (256u << 10)
#define SMALL_READ (128u << 10)	/* unaligned reads this small: one request */

static struct blk_dev *devs[BLK_MAX_DEVS];
static unsigned ndevs;

const char *blk_strerror(int err)
{
	switch (err) {
	case BLK_OK: return "success";
	case BLK_ERR_IO: return "I/O error reported by the device";
	case BLK_ERR_TIMEOUT: return "the device did not answer in time";
	case BLK_ERR_RANGE: return "past the end of the device";
	case BLK_ERR_RO: return "the device is read-only";
	case BLK_ERR_UNSUPP: return "not supported by the device";
	case BLK_ERR_NOMEM: return "out of memory";
	case BLK_ERR_BUSY: return "queue full";
	case BLK_ERR_DEVICE: return "the device broke the protocol (failed)";
	case BLK_ERR_INVALID: return "invalid request";
	default: return "unknown error";
	}
}

int blk_register(struct blk_dev *d)
{
	if (ndevs == BLK_MAX_DEVS)
		return BLK_ERR_NOMEM;
	devs[ndevs++] = d;
	return 0;
}

unsigned blk_count(void)
{
	return ndevs;
}

struct blk_dev *blk_get(unsigned i)
{
	return i < ndevs ? devs[i] : 0;
}

struct blk_dev *blk_find(const char *name)
{
	for (unsigned i = 0; i < ndevs; i++)
		if (!strcmp(devs[i]->name, name))
			return devs[i];
	return 0;
}

struct blk_dev *blk_add_partition(struct blk_dev *disk, uint32_t partno,
				  uint64_t first, uint64_t count)
{
	if (disk->parent || first > disk->sectors ||
	    count > disk->sectors - first || !count)
		return 0;
	struct blk_dev *p = calloc(1, sizeof(*p));
	if (!p)
		return 0;
	*p = *disk;
	size_t n = strlen(disk->name);
	int digit = n && disk->name[n - 1] >= '0' && disk->name[n - 1] <= '9';
	fmt_snprintf(p->name, sizeof(p->name), "%s%s%u", disk->name,
		     digit ? "p" : "", partno);
	p->parent = disk;
	p->start = first;
	p->sectors = count;
	p->partno = partno;
	if (blk_register(p)) {
		free(p);
		return 0;
	}
	return p;
}

struct blk_dev *blk_disk(struct blk_dev *d, uint64_t *first)
{
	*first = d->parent ? d->start : 0;
	return d->parent ? d->parent : d;
}

static void fail_device(struct blk_dev *disk)
{
	if (!disk->failed && disk->ops->fail)
		disk->ops->fail(disk);
	disk->failed = 1;
}

int blk_submit(struct blk_dev *d, struct blk_req *req)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	if (disk->failed)
		return BLK_ERR_DEVICE;
	if (req->lba > d->sectors || req->count > d->sectors - req->lba)
		return BLK_ERR_RANGE;
	req->done = 0;
	req->status = 0;
	req->lba += first;
	int err = disk->ops->submit(disk, req);
	if (err)
		req->lba -= first;
	return err;
}

int blk_poll(struct blk_dev *d)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	if (disk->failed)
		return BLK_ERR_DEVICE;
	disk->ops->kick(disk);
	int n = disk->ops->poll(disk);
	if (n < 0)
		fail_device(disk);
	return n;
}

/* Polls until req is done, with a deadline while nothing completes. */
int blk_wait(struct blk_dev *d, struct blk_req *req)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	uint64_t deadline = time_us() + BLK_TIMEOUT_US;
	disk->ops->kick(disk);
	while (!req->done) {
		int n = disk->ops->poll(disk);
		if (n < 0) {
			fail_device(disk);
			return n;
		}
		if (n > 0)
			deadline = time_us() + BLK_TIMEOUT_US;
		else if (time_us() > deadline) {
			fail_device(disk);
			return BLK_ERR_TIMEOUT;
		}
		else
			cpu_pause();
	}
	return req->status;
}

static int check(struct blk_dev *d, int op, uint64_t lba, uint64_t count)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	if (disk->failed)
		return BLK_ERR_DEVICE;
	if (op > BLK_WRITE_ZEROES)
		return BLK_ERR_INVALID;
	if (op != BLK_FLUSH &&
	    (lba > d->sectors || count > d->sectors - lba))
		return BLK_ERR_RANGE;
	if (op != BLK_READ && disk->read_only)
		return BLK_ERR_RO;
	if ((op == BLK_DISCARD && !disk->can_discard) ||
	    (op == BLK_WRITE_ZEROES && !disk->can_write_zeroes))
		return BLK_ERR_UNSUPP;
	return 0;
}

/* A piece of a transfer: sectors [lba, lba + count) to or from addr. */
struct seg {
	uint64_t lba, count, addr;
};

/* The engine: keeps up to queue_depth requests of max_sectors in flight
 * until every segment is done. Buffers are already aligned. */
static int run(struct blk_dev *d, int op, const struct seg *sg, int nseg)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	uint32_t depth = disk->queue_depth ? disk->queue_depth : 1;
	uint32_t per = disk->max_sectors ? disk->max_sectors : 8;
	uint64_t need = 0;
	for (int i = 0; i < nseg; i++)
		need += (sg[i].count + per - 1) / per;
	if (need < depth)	/* no more slots than it needs */
		depth = (uint32_t)need;
	struct blk_req *reqs = calloc(depth ? depth : 1, sizeof(*reqs));
	uint8_t *busy = calloc(depth ? depth : 1, 1);
	uint64_t next = 0;	/* sectors queued within segment cur */
	int cur = 0, err = reqs && busy ? 0 : BLK_ERR_NOMEM;
	uint32_t inflight = 0;
	uint64_t deadline = time_us() + BLK_TIMEOUT_US;

	while (!err && (cur < nseg || inflight)) {
		int queued = 0;
		for (uint32_t i = 0; i < depth && cur < nseg; i++) {
			if (busy[i])
				continue;
			const struct seg *g = &sg[cur];
			uint64_t n = g->count - next < per ? g->count - next : per;
			reqs[i] = (struct blk_req){
				.op = (uint8_t)op, .lba = first + g->lba + next,
				.count = (uint32_t)n,
				.addr = g->addr ? g->addr + next * disk->sector_size
						: 0,
			};
			int r = disk->ops->submit(disk, &reqs[i]);
			if (r == BLK_ERR_BUSY)
				break;
			if (r) {
				err = r;
				break;
			}
			busy[i] = 1;
			inflight++;
			queued++;
			next += n;
			if (next == g->count) {
				cur++;
				next = 0;
			}
		}
		if (queued)
			disk->ops->kick(disk);
		if (err || !inflight)
			break;
		int n = disk->ops->poll(disk);
		if (n < 0) {
			err = n;
			fail_device(disk);
			break;
		}
		if (!n) {
			if (time_us() > deadline) {
				err = BLK_ERR_TIMEOUT;
				fail_device(disk);
				break;
			}
			cpu_pause();
			continue;
		}
		deadline = time_us() + BLK_TIMEOUT_US;
		for (uint32_t i = 0; i < depth; i++) {
			if (!busy[i] || !reqs[i].done)
				continue;
			busy[i] = 0;
			inflight--;
			if (reqs[i].status && !err)
				err = reqs[i].status;
		}
	}
	/* On an error, let what is in flight finish before the caller's
	 * buffer goes away (a failed device was reset: nothing is). */
	while (inflight && !disk->failed) {
		int n = disk->ops->poll(disk);
		if (n < 0 || time_us() > deadline) {
			fail_device(disk);
			break;
		}
		for (uint32_t i = 0; i < depth; i++)
			if (busy[i] && reqs[i].done) {
				busy[i] = 0;
				inflight--;
			}
	}
	free(reqs);
	free(busy);
	return err;
}

static int run1(struct blk_dev *d, int op, uint64_t lba, uint64_t count,
		uint64_t addr)
{
	struct seg g = { lba, count, addr };
	return count ? run(d, op, &g, 1) : 0;
}

/* rbuf receives a read; wbuf is written from. */
static int io(struct blk_dev *d, int op, uint64_t lba, uint64_t count,
	      uint8_t *rbuf, const uint8_t *wbuf)
{
	int err = check(d, op, lba, count);
	if (err)
		return err;
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	uint32_t align = disk->dma_align ? disk->dma_align : 1;
	if (op == BLK_FLUSH) {
		if (!disk->can_flush)
			return 0;	/* write-through: nothing to do */
		struct blk_req r = { .op = BLK_FLUSH };
		err = blk_submit(disk, &r);
		return err ? err : blk_wait(disk, &r);
	}
	uintptr_t a = rbuf ? (uintptr_t)rbuf : (uintptr_t)wbuf;
	if (!count)
		return 0;
	if (a % align == 0)	/* identity-mapped: the pointer is the address */
		return run1(d, op, lba, count, a);
	/* A buffer the device cannot address: through a bounce buffer. */
	uint64_t per = BOUNCE_BYTES / disk->sector_size;
	uint8_t *b = page_alloc_zero(BOUNCE_BYTES / PAGE_SIZE);
	if (!b)
		return BLK_ERR_NOMEM;
	for (uint64_t done = 0; !err && done < count;) {
		uint64_t n = count - done < per ? count - done : per;
		uint64_t at = done * disk->sector_size;
		if (wbuf)
			memcpy(b, wbuf + at, n * disk->sector_size);
		err = run1(d, op, lba + done, n, (uintptr_t)b);
		if (!err && rbuf)
			memcpy(rbuf + at, b, n * disk->sector_size);
		done += n;
	}
	page_free((uint64_t)(uintptr_t)b, BOUNCE_BYTES / PAGE_SIZE);
	return err;
}

int blk_io(struct blk_dev *d, int op, uint64_t lba, uint64_t count,
	   void *buf)
{
	if (op == BLK_WRITE)
		return io(d, op, lba, count, 0, buf);
	return io(d, op, lba, count, op == BLK_READ ? buf : 0, 0);
}

int blk_write(struct blk_dev *d, uint64_t lba, uint64_t count,
	      const void *buf)
{
	return io(d, BLK_WRITE, lba, count, 0, buf);
}

int blk_flush(struct blk_dev *d)
{
	return blk_io(d, BLK_FLUSH, 0, 0, 0);
}

/* One sector's worth of bytes at the edges of a byte range. */
static int edge(struct blk_dev *d, uint64_t lba, uint32_t in, uint8_t *buf,
		size_t n, int write, const uint8_t *src)
{
	uint8_t *sec = malloc(d->sector_size);
	if (!sec)
		return BLK_ERR_NOMEM;
	int err = io(d, BLK_READ, lba, 1, sec, 0);
	if (!err && write) {
		memcpy(sec + in, src, n);
		err = io(d, BLK_WRITE, lba, 1, 0, sec);
	} else if (!err) {
		memcpy(buf, sec + in, n);
	}
	free(sec);
	return err;
}

/* A small unaligned read: one request for the sectors around it. */
static int small_read(struct blk_dev *d, uint64_t off, uint8_t *buf,
		      size_t len)
{
	uint32_t ss = d->sector_size;
	uint64_t lba = off / ss, n = (off + len + ss - 1) / ss - lba;
	uint8_t *tmp = malloc(n * ss);
	if (!tmp)
		return BLK_ERR_NOMEM;
	int err = io(d, BLK_READ, lba, n, tmp, 0);
	if (!err)
		memcpy(buf, tmp + off % ss, len);
	free(tmp);
	return err;
}

/* A large unaligned read (more than SMALL_READ, so the two ends are in
 * different sectors): the partial sectors at both ends into a bounce
 * buffer, the middle straight into buf, all in flight together. Returns
 * BLK_ERR_INVALID, having done nothing, when the device cannot address
 * the middle. */
static int big_read(struct blk_dev *d, uint64_t off, uint8_t *buf,
		    size_t len)
{
	uint64_t first;
	uint32_t ss = d->sector_size, align = blk_disk(d, &first)->dma_align;
	uint64_t lba = off / ss, end = (off + len + ss - 1) / ss;
	uint64_t mid0 = (off + ss - 1) / ss, mid1 = (off + len) / ss;
	uint8_t *mid = buf + (mid0 * ss - off);
	if (align > 1 && (uintptr_t)mid % align)
		return BLK_ERR_INVALID;	/* caller falls back */
	uint8_t *edge = malloc(2 * ss);
	if (!edge)
		return BLK_ERR_NOMEM;
	struct seg g[3];
	int n = 0;
	if (mid0 > lba)
		g[n++] = (struct seg){ lba, 1, (uintptr_t)edge };
	if (mid1 > mid0)
		g[n++] = (struct seg){ mid0, mid1 - mid0, (uintptr_t)mid };
	if (end > mid1)
		g[n++] = (struct seg){ end - 1, 1, (uintptr_t)(edge + ss) };
	int err = run(d, BLK_READ, g, n);
	if (!err && mid0 > lba) {
		uint64_t k = mid0 * ss - off < len ? mid0 * ss - off : len;
		memcpy(buf, edge + off % ss, k);
	}
	if (!err && end > mid1)
		memcpy(buf + (mid1 * ss - off), edge + ss, off + len - mid1 * ss);
	free(edge);
	return err;
}

static int bytes(struct blk_dev *d, uint64_t off, uint8_t *rbuf,
		 const uint8_t *wbuf, size_t len)
{
	uint32_t ss = d->sector_size;
	int write = wbuf != 0;
	if (off > d->sectors * ss || len > d->sectors * ss - off)
		return BLK_ERR_RANGE;
	if (!write && len <= SMALL_READ && (off % ss || len % ss))
		return small_read(d, off, rbuf, len);
	if (!write && (off % ss || len % ss)) {
		int err = big_read(d, off, rbuf, len);
		if (err != BLK_ERR_INVALID)
			return err;
	}
	while (len) {
		uint64_t lba = off / ss;
		uint32_t in = (uint32_t)(off % ss);
		size_t n;
		int err;
		if (in || len < ss) {
			n = ss - in < len ? ss - in : len;
			err = edge(d, lba, in, rbuf, n, write, wbuf);
		} else {
			n = len / ss * ss;
			err = io(d, write ? BLK_WRITE : BLK_READ, lba, n / ss,
				 rbuf, wbuf);
		}
		if (err)
			return err;
		off += n;
		len -= n;
		if (rbuf)
			rbuf += n;
		if (wbuf)
			wbuf += n;
	}
	return 0;
}

int blk_read_bytes(struct blk_dev *d, uint64_t off, void *buf, size_t len)
{
	return bytes(d, off, buf, 0, len);
}

int blk_write_bytes(struct blk_dev *d, uint64_t off, const void *buf,
		    size_t len)
{
	return bytes(d, off, 0, buf, len);
}
