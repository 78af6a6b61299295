/* The block registry and the request engine; see blk.h. Every request
 * kind, on every path, is validated by check() and waited for by reap():
 * one rule for deadlines, one place that reports failures. */
#include "blk.h"
#include "blk_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/console.h"
#include "../runtime/cpu.h"
#include "../runtime/fmt.h"
#include "../runtime/idle.h"
#include "../runtime/irq.h"
#include "../runtime/page.h"
#include "../runtime/time.h"

#define BOUNCE_BYTES (256u << 10)

static struct blk_dev *devs[BLK_MAX_DEVS];
static unsigned ndevs;
static struct blk_broken broken[BLK_MAX_BROKEN];
static unsigned nbroken;

static const char *const op_names[] = {
	"read", "write", "flush", "discard", "write-zeroes",
};

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

/* --- the registry --------------------------------------------------------- */

void blk_broken(const char *where, const char *transport, const char *fmt,
		...)
{
	va_list ap;
	struct blk_broken b = { .transport = transport };
	fmt_snprintf(b.where, sizeof(b.where), "%s", where);
	va_start(ap, fmt);
	fmt_vsnprintf(b.why, sizeof(b.why), fmt, ap);
	va_end(ap);
	con_printf("%s: %s: not used: %s\n", b.where, transport, b.why);
	if (nbroken < BLK_MAX_BROKEN)
		broken[nbroken++] = b;
}

unsigned blk_broken_count(void)
{
	return nbroken;
}

const struct blk_broken *blk_broken_get(unsigned i)
{
	return i < nbroken ? &broken[i] : 0;
}

void blk_detail(struct blk_dev *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
}

void blk_note(struct blk_dev *d, const char *fmt, ...)
{
	char words[160];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(words, sizeof(words), fmt, ap);
	va_end(ap);
	con_printf("%s: %s\n", d->name, words);
}

static int add(struct blk_dev *d)
{
	if (ndevs == BLK_MAX_DEVS) {
		blk_broken(d->name, d->transport, "more than %u block devices",
			   BLK_MAX_DEVS);
		return BLK_ERR_NOMEM;
	}
	devs[ndevs++] = d;
	return 0;
}

int blk_register(struct blk_dev *d)
{
	/* 2048: CD/DVD media (MMC-6 §4.2); 1024: some magneto-optical */
	if (d->sector_size != 512 && d->sector_size != 1024 &&
	    d->sector_size != 2048 && d->sector_size != 4096) {
		blk_broken(d->name, d->transport, "sector size %u (only 512, "
			   "1024, 2048 and 4096 are addressed)",
			   d->sector_size);
		return BLK_ERR_DEVICE;
	}
	if (!d->sectors || d->sectors > BLK_MAX_BYTES / d->sector_size) {
		blk_broken(d->name, d->transport, "capacity of %llu sectors "
			   "is not usable", (unsigned long long)d->sectors);
		return BLK_ERR_DEVICE;
	}
	uint32_t depth = d->queue_depth ? d->queue_depth : 1;
	d->slots = calloc(depth, sizeof(*d->slots));
	if (!d->slots) {
		blk_broken(d->name, d->transport, "out of memory");
		return BLK_ERR_NOMEM;
	}
	int err = add(d);
	if (err) {
		free(d->slots);
		d->slots = 0;
	}
	return err;
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
	p->slots = 0;		/* the disk's engine serves its partitions */
	if (add(p)) {
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

void blk_ident_string(char *out, const uint8_t *in, unsigned n, int swapped)
{
	unsigned k = n;
	for (unsigned i = 0; i < n; i++)
		out[i] = (char)in[swapped ? i ^ 1 : i];
	while (k > 0 && (out[k - 1] == ' ' || out[k - 1] == 0))
		k--;
	out[k] = 0;
	for (unsigned i = 0; i < k; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = '?';
}

const char *blk_serial(struct blk_dev *d)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	/* (not while queued requests hold its slots: asked again later) */
	if (!disk->identified && !disk->inflight) {
		if (disk->ops->ident && !disk->failed)
			disk->ops->ident(disk);
		disk->identified = 1;
	}
	return disk->serial;
}

const char *blk_last_error(struct blk_dev *d)
{
	uint64_t first;
	return blk_disk(d, &first)->error;
}

/* --- failures ----------------------------------------------------------- */

/* Records and prints what went wrong on disk: one sentence that names
 * the device. */
static void say(struct blk_dev *disk, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct blk_dev *disk, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(disk->error, sizeof(disk->error), fmt, ap);
	va_end(ap);
	con_printf("%s\n", disk->error);
}

static uint64_t timeout(const struct blk_dev *disk)
{
	return disk->timeout_us ? disk->timeout_us : BLK_TIMEOUT_US;
}

/* Stops disk for good: after a timeout or a protocol error. */
static int fail_device(struct blk_dev *disk, int err)
{
	if (disk->failed)
		return BLK_ERR_DEVICE;
	int reset = disk->ops->fail ? disk->ops->fail(disk) : 0;
	disk->failed = 1;
	disk->inflight = 0;
	const char *how = reset ? "; its reset did not complete" : "";
	uint64_t ms = timeout(disk) / 1000;
	if (err == BLK_ERR_TIMEOUT && ms % 1000)
		say(disk, "timeout on %s after %llu ms (device stopped%s)",
		    disk->name, (unsigned long long)ms, how);
	else if (err == BLK_ERR_TIMEOUT)
		say(disk, "timeout on %s after %llu s (device stopped%s)",
		    disk->name, (unsigned long long)ms / 1000, how);
	else
		say(disk, "%s failed: %s (device stopped%s)", disk->name,
		    disk->detail[0] ? disk->detail : blk_strerror(err), how);
	return err;
}

/* A request that completed with an error. */
static void report(struct blk_dev *disk, const struct blk_req *r)
{
	const char *op = r->op < 5 ? op_names[r->op] : "request";
	if (r->op == BLK_FLUSH)
		say(disk, "%s error on %s: %s%s%s", op, disk->name,
		    blk_strerror(r->status), disk->detail[0] ? ": " : "",
		    disk->detail);
	else
		say(disk, "%s error on %s at LBA %llu (+%u): %s%s%s", op,
		    disk->name, (unsigned long long)r->lba, r->count,
		    blk_strerror(r->status), disk->detail[0] ? ": " : "",
		    disk->detail);
	disk->detail[0] = 0;
}

/* --- the engine ---------------------------------------------------------- */

/* Every request kind, every path: the device works, the op is one it
 * can do, writes are allowed, the range is inside d. */
static int check(struct blk_dev *d, int op, uint64_t lba, uint64_t count)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	if (disk->failed)
		return BLK_ERR_DEVICE;	/* disk->error says why */
	disk->error[0] = 0;	/* a new request: no sentence of an old one */
	if (op < BLK_READ || op > BLK_WRITE_ZEROES)
		return BLK_ERR_INVALID;
	if (op != BLK_READ && disk->read_only)
		return BLK_ERR_RO;
	if ((op == BLK_DISCARD && !disk->can_discard) ||
	    (op == BLK_WRITE_ZEROES && !disk->can_write_zeroes))
		return BLK_ERR_UNSUPP;
	if (op == BLK_FLUSH)
		return count ? BLK_ERR_INVALID : 0;
	if (lba > d->sectors || count > d->sectors - lba)
		return BLK_ERR_RANGE;
	return 0;
}

/* Hands req (disk-relative) to the driver. A full queue with nothing in
 * flight would never drain: that is the device's fault, not a wait. */
static int submit(struct blk_dev *disk, struct blk_req *req)
{
	req->done = 0;
	req->status = 0;
	int err = disk->ops->submit(disk, req);
	if (!err)
		disk->inflight++;
	else if (err == BLK_ERR_BUSY && !disk->inflight) {
		blk_detail(disk, "queue full with nothing in flight");
		err = fail_device(disk, BLK_ERR_DEVICE);
	} else if (err == BLK_ERR_DEVICE) {
		err = fail_device(disk, err);	/* e.g. its controller died */
	}
	return err;
}

static int use_irq(const struct blk_dev *disk)
{
	return disk->irq_vec && !disk->polling && irq_ready();
}

void blk_set_polling(struct blk_dev *d, int on)
{
	uint64_t first;
	blk_disk(d, &first)->polling = (uint8_t)on;
}

const char *blk_wait_mode(struct blk_dev *d)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	return use_irq(disk) ? "interrupt" : disk->irq_vec && !disk->polling
		? "polling (no interrupts)" : "polling";
}

struct poll_ctx {
	struct blk_dev *disk;
	int n;
};

/* idle_wait's check: reaps once (interrupts off; never waits). */
static int polled(void *ctx)
{
	struct poll_ctx *p = ctx;
	p->n = p->disk->ops->poll(p->disk);
	return p->n != 0;
}

/* A completion found by the tick rather than by its interrupt: after a
 * few, the interrupt is taken for broken and the device polled. */
static void lost_irq(struct blk_dev *disk)
{
	if (++disk->lost_irqs < BLK_LOST_IRQS)
		return;
	disk->polling = 1;
	con_printf("%s: completions arrive without their interrupt (vector "
		   "%d); polling from now on\n", disk->name, disk->irq_vec);
}

/* Halts until the device's interrupt (or a tick, or the deadline) and
 * reaps; the count, or an error. A completion found after the CPU was
 * woken by something else, with no interrupt from the device counted,
 * came without its interrupt (a pending one would have been taken when
 * idle_wait turned interrupts back on, before the count is read). */
static int halt_for(struct blk_dev *disk, uint64_t deadline)
{
	struct poll_ctx p = { disk, 0 };
	uint64_t tick = time_us() + BLK_TICK_US;
	uint64_t seen = irq_count(disk->irq_vec), slept = idle_halted_tsc();
	disk->halts++;
	idle_wait(polled, &p, tick < deadline ? tick : deadline);
	if (p.n > 0 && irq_count(disk->irq_vec) == seen &&
	    idle_halted_tsc() != slept)
		lost_irq(disk);
	return p.n;
}

/* How long to spin before halting: spin_us when set; else twice the
 * recent wait (so a wait that usually ends soon is not paid for with a
 * halt and a wake-up), from BLK_SPIN_US up to BLK_SPIN_MAX_US. */
static uint64_t spin_for(const struct blk_dev *disk)
{
	if (disk->spin_us)
		return disk->spin_us;
	uint64_t s = 2 * disk->wait_avg_us;
	return s < BLK_SPIN_US ? BLK_SPIN_US : s > BLK_SPIN_MAX_US
		? BLK_SPIN_MAX_US : s;
}

/* The one wait: kicks, then reaps until at least one request completes:
 * polling for a while (spin_for), then (with an interrupt) halting
 * between checks. Deadline: timeout_us without a completion fails the
 * device. */
static int reap(struct blk_dev *disk)
{
	if (disk->failed)
		return BLK_ERR_DEVICE;
	disk->ops->kick(disk);
	uint64_t start = time_us(), now = start;
	uint64_t deadline = now + timeout(disk), spin = now + spin_for(disk);
	for (;;) {
		int n = disk->ops->poll(disk);
		now = time_us();
		if (!n && use_irq(disk) && now >= spin && now < deadline)
			n = halt_for(disk, deadline);
		if (n < 0)
			return fail_device(disk, n);
		if (n > 0) {
			disk->inflight -= (uint32_t)n < disk->inflight
						  ? (uint32_t)n : disk->inflight;
			/* the recent wait, averaged over about 8 */
			int64_t avg = (int64_t)disk->wait_avg_us;
			avg += ((int64_t)(time_us() - start) - avg) / 8;
			disk->wait_avg_us = (uint64_t)avg;
			return n;
		}
		if (time_us() > deadline)
			return fail_device(disk, BLK_ERR_TIMEOUT);
		cpu_pause();
	}
}

int blk_submit(struct blk_dev *d, struct blk_req *req)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	int err = check(d, req->op, req->lba, req->count);
	if (err)
		return err;
	if (req->op == BLK_FLUSH && !disk->can_flush) {
		req->done = 1;	/* write-through: nothing to do */
		req->status = 0;
		return 0;
	}
	req->lba += first;
	err = submit(disk, req);
	if (err)
		req->lba -= first;
	return err;
}

int blk_reap(struct blk_dev *d)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	if (!disk->inflight)
		return disk->failed ? BLK_ERR_DEVICE : 0;
	return reap(disk);
}

int blk_wait(struct blk_dev *d, struct blk_req *req)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	while (!req->done) {
		int n = reap(disk);
		if (n < 0)
			return n;
	}
	return req->status;
}

/* Takes back the engine's requests that are done; the first error. */
static int collect(struct blk_dev *disk, uint32_t depth, uint8_t *busy,
		   uint32_t *mine, int err)
{
	for (uint32_t i = 0; i < depth; i++) {
		struct blk_req *r = &disk->slots[i];
		if (!busy[i] || !r->done)
			continue;
		busy[i] = 0;
		(*mine)--;
		if (r->status && !err) {
			report(disk, r);
			err = r->status;
		}
	}
	return err;
}

/* The engine: keeps up to queue_depth requests of max_sectors in flight
 * until every segment is done (a flush is one segment of no sectors).
 * Buffers are already aligned; the requests are the disk's own. */
static int run(struct blk_dev *d, int op, const struct blk_seg *sg, int nseg)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	uint32_t depth = disk->queue_depth ? disk->queue_depth : 1;
	uint32_t per = disk->max_sectors ? disk->max_sectors : 8;
	uint8_t busy[256] = { 0 };
	if (depth > sizeof(busy))
		depth = sizeof(busy);
	uint64_t next = 0;	/* sectors queued within segment cur */
	uint32_t mine = 0;
	int cur = 0, err = 0;

	while (!err && (cur < nseg || mine)) {
		for (uint32_t i = 0; i < depth && cur < nseg && !err; i++) {
			if (busy[i])
				continue;
			const struct blk_seg *g = &sg[cur];
			uint64_t n = g->count - next < per ? g->count - next : per;
			disk->slots[i] = (struct blk_req){
				.op = (uint8_t)op, .lba = first + g->lba + next,
				.count = (uint32_t)n,
				.addr = g->addr ? g->addr + next * disk->sector_size
						: 0,
			};
			int r = submit(disk, &disk->slots[i]);
			if (r == BLK_ERR_BUSY)
				break;	/* something is in flight: reap */
			if (r) {
				err = r;
				break;
			}
			busy[i] = 1;
			mine++;
			next += n;
			if (next == g->count) {
				cur++;
				next = 0;
			}
		}
		if (err)
			break;
		int n = reap(disk);
		if (n < 0)
			err = n;
		err = collect(disk, depth, busy, &mine, err);
	}
	/* On an error, let what is in flight finish before the caller's
	 * buffer goes away (a failed device was reset: nothing is). */
	while (mine && !disk->failed && reap(disk) >= 0)
		collect(disk, depth, busy, &mine, err);
	return err;
}

static int run1(struct blk_dev *d, int op, uint64_t lba, uint64_t count,
		uint64_t addr)
{
	struct blk_seg g = { lba, count, addr };
	return count || op == BLK_FLUSH ? run(d, op, &g, 1) : 0;
}

int blk_dma_ok(struct blk_dev *d, uint64_t addr, uint64_t len)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	uint32_t align = disk->dma_align ? disk->dma_align : 1;
	if (addr % align)
		return 0;
	return !disk->dma_limit || (addr < disk->dma_limit &&
				    len <= disk->dma_limit - addr);
}

/* Through a bounce buffer: for buffers the device cannot address. */
static int bounced(struct blk_dev *d, int op, uint64_t lba, uint64_t count,
		   uint8_t *rbuf, const uint8_t *wbuf)
{
	uint32_t ss = d->sector_size;
	uint64_t per = BOUNCE_BYTES / ss;
	uint64_t first, limit = blk_disk(d, &first)->dma_limit;
	uint8_t *b = (uint8_t *)(uintptr_t)page_alloc_below(
		BOUNCE_BYTES / PAGE_SIZE, limit ? limit : ~0ull);
	if (!b)
		return BLK_ERR_NOMEM;
	int err = 0;
	for (uint64_t done = 0; !err && done < count;) {
		uint64_t n = count - done < per ? count - done : per;
		uint64_t at = done * ss;
		if (wbuf)
			memcpy(b, wbuf + at, n * ss);
		err = run1(d, op, lba + done, n, (uintptr_t)b);
		if (!err && rbuf)
			memcpy(rbuf + at, b, n * ss);
		done += n;
	}
	page_free((uint64_t)(uintptr_t)b, BOUNCE_BYTES / PAGE_SIZE);
	return err;
}

/* rbuf receives a read; wbuf is written from; neither for the others. */
static int io(struct blk_dev *d, int op, uint64_t lba, uint64_t count,
	      uint8_t *rbuf, const uint8_t *wbuf)
{
	int err = check(d, op, lba, count);
	if (err)
		return err;
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	if (op == BLK_FLUSH && !disk->can_flush)
		return 0;	/* write-through: nothing to do */
	uintptr_t a = rbuf ? (uintptr_t)rbuf : (uintptr_t)wbuf;
	if ((op != BLK_READ && op != BLK_WRITE) ||
	    blk_dma_ok(disk, a, count * disk->sector_size))
		return run1(d, op, lba, count, a);	/* identity-mapped */
	return bounced(d, op, lba, count, rbuf, wbuf);
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
	return io(d, BLK_FLUSH, 0, 0, 0, 0);
}

int blk_run(struct blk_dev *d, int op, const struct blk_seg *sg, int nseg)
{
	for (int i = 0; i < nseg; i++) {
		int err = check(d, op, sg[i].lba, sg[i].count);
		if (err)
			return err;
	}
	return run(d, op, sg, nseg);
}
