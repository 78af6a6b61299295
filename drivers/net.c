/* The network device registry and the checks and the wait every driver
 * shares; see net.h. */
#include "net.h"

#include <stdarg.h>

#include "../runtime/console.h"
#include "../runtime/fmt.h"
#include "../runtime/idle.h"
#include "../runtime/irq.h"
#include "../runtime/time.h"

static struct net_dev *devs[NET_MAX_DEVS];
static unsigned ndevs;

const char *net_strerror(int err)
{
	switch (err) {
	case NET_OK: return "success";
	case NET_ERR_BUSY: return "transmit ring full";
	case NET_ERR_SIZE: return "not an Ethernet frame size";
	case NET_ERR_DEVICE: return "the device broke the protocol (stopped)";
	case NET_ERR_DOWN: return "the device is stopped";
	default: return "unknown error";
	}
}

void net_detail(struct net_dev *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
}

int net_register(struct net_dev *d)
{
	if (ndevs == NET_MAX_DEVS)
		return NET_ERR_BUSY;
	fmt_snprintf(d->name, sizeof(d->name), "net%u", ndevs);
	devs[ndevs++] = d;
	return 0;
}

unsigned net_count(void)
{
	return ndevs;
}

struct net_dev *net_get(unsigned i)
{
	return i < ndevs ? devs[i] : 0;
}

struct net_dev *net_find(const char *name)
{
	for (unsigned i = 0; i < ndevs; i++) {
		const char *a = devs[i]->name, *b = name;
		while (*a && *a == *b)
			a++, b++;
		if (!*a && !*b)
			return devs[i];
	}
	return 0;
}

/* A protocol error stops the device for good. */
static int stop(struct net_dev *d, int err)
{
	if (err == NET_ERR_DEVICE && !d->failed) {
		d->failed = 1;
		d->ops->stop(d);
	}
	return err;
}

/* An offload the device does, within the copied bytes of a frame of
 * len bytes; segmentation only with a checksum and the headers copied,
 * of at least one segment's payload. */
static int offload_ok(const struct net_dev *d, const struct net_tx *t,
		      size_t len)
{
	const struct net_offload *o = t->off;
	if (!o)
		return len <= NET_FRAME_MAX;
	if (o->csum && (!d->tx_csum || o->csum_start > t->copy ||
			t->copy - o->csum_start < (size_t)o->csum_offset + 2))
		return 0;
	if (o->gso == NET_GSO_NONE)
		return len <= NET_FRAME_MAX;
	return o->gso < 8 && (d->tx_gso >> o->gso & 1) && o->csum &&
	       o->gso_size && o->hdr_len <= t->copy && len <= NET_GSO_MAX &&
	       len > o->hdr_len;
}

int net_send(struct net_dev *d, const struct net_tx *t)
{
	size_t len = 0;
	if (d->failed)
		return NET_ERR_DOWN;
	for (unsigned i = 0; i < t->n; i++)
		len += t->frags[i].len;
	if (len < NET_FRAME_MIN || t->copy > NET_COPY_MAX || t->copy > len ||
	    (t->copy < len && !t->token) || (t->token && !d->tx_done) ||
	    !offload_ok(d, t, len))
		return NET_ERR_SIZE;
	int err = d->ops->send(d, t);
	if (err == NET_ERR_BUSY)
		d->stats.tx_busy++;
	if (err)
		return stop(d, err);
	d->stats.tx_frames++;
	d->stats.tx_bytes += len;
	if (t->off && t->off->gso)
		d->stats.tx_gso++;
	return 0;
}

void net_flush(struct net_dev *d)
{
	if (!d->failed)
		d->ops->flush(d);
}

int net_reap(struct net_dev *d)
{
	if (d->failed)
		return NET_ERR_DOWN;
	int n = d->ops->reap(d);
	return n < 0 ? stop(d, n) : n;
}

struct counted {
	struct net_dev *d;
	net_rx_fn *fn;
	void *ctx;
};

static void count_rx(void *ctx, const struct net_frag *f, unsigned n,
		     size_t len, const struct net_rx_info *info)
{
	struct counted *c = ctx;
	c->d->stats.rx_frames++;
	c->d->stats.rx_bytes += len;
	if (len > NET_FRAME_MAX)
		c->d->stats.rx_large++;
	c->fn(c->ctx, f, n, len, info);
}

int net_recv(struct net_dev *d, net_rx_fn *fn, void *ctx, unsigned budget)
{
	if (d->failed)
		return NET_ERR_DOWN;
	struct counted c = { d, fn, ctx };
	int n = d->ops->recv(d, count_rx, &c, budget);
	return n < 0 ? stop(d, n) : n;
}

static int use_irq(const struct net_dev *d)
{
	return d->irq_vec && !d->polling && irq_ready();
}

const char *net_wait_mode(const struct net_dev *d)
{
	return use_irq(d) ? "interrupt" : d->irq_vec && !d->polling
		? "polling (no interrupts)" : "polling";
}

struct wait_ctx {
	struct net_dev *d;
	int want_tx;
	int (*ready)(void *ctx);
	void *ctx;
	int device;	/* the device had something */
};

/* idle_wait's check, interrupts off. */
static int wait_ready(void *ctx)
{
	struct wait_ctx *w = ctx;
	w->device = !w->d->failed && w->d->ops->pending(w->d, w->want_tx);
	return w->device || (w->ready && w->ready(w->ctx));
}

/* A frame found by a tick rather than by its interrupt: after a few the
 * interrupt is taken for broken and the device polled. */
static void lost_irq(struct net_dev *d)
{
	if (++d->lost_irqs < NET_LOST_IRQS)
		return;
	d->polling = 1;
	con_printf("%s: frames arrive without their interrupt (vector %d); "
		   "polling from now on\n", d->name, d->irq_vec);
}

uint64_t net_watch(struct net_dev *d, int want_tx, uint64_t *irqs)
{
	int irq = use_irq(d);
	*irqs = irq ? irq_count(want_tx ? d->tx_vec : d->irq_vec) : 0;
	return irq ? NET_TICK_US : NET_POLL_US;
}

/* (A pending interrupt would have been taken when idle_wait turned
 * interrupts back on, before the count is read: see
 * drivers/blk.c:halt_for.) */
void net_woke(struct net_dev *d, int irq_came)
{
	d->stats.halts++;
	if (irq_came || !use_irq(d) || d->failed)
		return;
	int on = irq_save();
	int frame = d->ops->pending(d, 0);
	irq_restore(on);
	if (frame)
		lost_irq(d);
}

int net_wait(struct net_dev *d, int want_tx, int (*ready)(void *ctx),
	     void *ctx, uint64_t deadline_us)
{
	struct wait_ctx w = { d, want_tx, ready, ctx, 0 };
	int irq = use_irq(d), r = 0;
	if (want_tx && irq)
		d->ops->tx_irq(d, 1);
	while (!r && time_us() < deadline_us) {
		uint64_t seen, irqs;
		uint64_t tick = time_us() + net_watch(d, want_tx, &seen);
		uint64_t slept = idle_halted_tsc();
		r = idle_wait(wait_ready, &w,
			      tick < deadline_us ? tick : deadline_us);
		if (idle_halted_tsc() == slept)
			continue;
		d->stats.halts++;
		/* Frames found after a halt, however the CPU woke (the tick,
		 * or something the caller's ready() reports), with no
		 * interrupt counted: they came without it. */
		net_watch(d, want_tx, &irqs);
		if (r && w.device && irq && irqs == seen)
			lost_irq(d);
	}
	if (want_tx && irq)
		d->ops->tx_irq(d, 0);
	return r || wait_ready(&w);
}
