/* virtio-net (virtio 1.2 §5.1) as a network device. Knows its two queues
 * and its transport's interface, not which transport it is on.
 *
 * Transmit: each ring entry has a slot, a small buffer for the
 * virtio-net header and the frame's copied bytes (its headers); the rest
 * of the frame is referenced where it lies, through an indirect table
 * (a 64 KiB frame for the device to segment is ~45 pieces), and given
 * back to the stack (tx_done) when the device has used it. Frames queue
 * without a notification; flush tells the device once per burst.
 * Receive: buffers of BUF bytes, the header first; a frame spread over
 * several (mergeable buffers: a large one of up to 64 KiB when the
 * device may hand those in) is handed up as pieces, where the device
 * put them. */
#include "virtio_net.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/fmt.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "../../runtime/random.h"
#include "virtq.h"

/* §5.1.3 feature bits */
#define F_CSUM 0		/* the device completes checksums we start */
#define F_GUEST_CSUM 1		/* ... and hands in partly checksummed */
#define F_MAC 5
#define F_GUEST_TSO4 7		/* the device hands in large TCP frames */
#define F_GUEST_TSO6 8		/* ... over IPv6 too */
#define F_HOST_TSO4 11		/* the device segments large TCP frames */
#define F_HOST_TSO6 12		/* ... over IPv6 too */
#define F_MRG_RXBUF 15
#define F_STATUS 16
#define F_ANY_LAYOUT 27		/* §2.6.4.3: legacy framing rules off */

/* §5.1.4 configuration layout */
#define CFG_MAC 0		/* u8[6] */
#define CFG_STATUS 6		/* le16 */
#define S_LINK_UP 1

/* §5.1.6 struct virtio_net_hdr: flags u8, gso_type u8, hdr_len le16,
 * gso_size le16, csum_start le16, csum_offset le16, num_buffers le16. */
#define HDR_FLAGS 0
#define HDR_GSO_TYPE 1
#define HDR_HDR_LEN 2
#define HDR_GSO_SIZE 4
#define HDR_CSUM_START 6
#define HDR_CSUM_OFFSET 8
#define HDR_NUM_BUFFERS 10
#define NEEDS_CSUM 1
#define DATA_VALID 2
#define HDR_LEN 12		/* with VERSION_1 or MRG_RXBUF */
#define HDR_LEN_LEGACY 10	/* §5.1.6.1: legacy without MRG_RXBUF */

#define RXQ 0			/* §5.1.2: receiveq1 */
#define TXQ 1			/* transmitq1 */
#define BUF 2048		/* §5.1.6.3.1: at least 1526 without
				 * mergeable buffers */
#define SLOT 320		/* a transmit slot: header, copied bytes */
#define TX_SEGS 64		/* descriptors per transmitted frame */
#define QUEUE_WANT 256

_Static_assert(BUF >= HDR_LEN + NET_FRAME_MAX, "a frame fits a buffer");
_Static_assert(SLOT >= HDR_LEN + NET_COPY_MAX, "copied bytes fit a slot");

struct slot {
	void *token;		/* the stack's, for tx_done */
	uint8_t busy;		/* given to the device */
};

struct vnet {
	struct virtio_dev *dev;
	struct virtq rx, tx;
	struct net_dev net;
	uint8_t *rxbuf, *txbuf;		/* nrx buffers of BUF, ntx slots */
	uint32_t nrx, ntx;
	struct slot *slots;
	uint16_t *tx_free;		/* free slots: a stack */
	uint32_t tx_nfree;
	uint32_t hdr_len;
	uint8_t mrg;			/* mergeable receive buffers */
	uint8_t split;			/* header in its own descriptor */
};

static unsigned count;

static struct vnet *vn(struct net_dev *d)
{
	return d->priv;
}

/* Offers receive buffer buf to the device. */
static int post_rx(struct vnet *v, uint8_t *buf)
{
	struct virtq_buf b[2];
	unsigned n = 0;
	if (v->split) {		/* §2.6.4.3: legacy wants them apart */
		b[n++] = (struct virtq_buf){ (uintptr_t)buf, v->hdr_len, 1 };
		b[n++] = (struct virtq_buf){ (uintptr_t)buf + v->hdr_len,
					     BUF - v->hdr_len, 1 };
	} else {
		b[n++] = (struct virtq_buf){ (uintptr_t)buf, BUF, 1 };
	}
	return virtq_add(&v->rx, b, n, buf);
}

/* Takes back what the device has sent: each slot free again, its token
 * to the stack. How many, or an error (a slot never given). */
static int reap(struct net_dev *d)
{
	struct vnet *v = vn(d);
	int n = 0;
	for (;;) {
		void *tok;
		uint32_t len;
		int r = virtq_get(&v->tx, &tok, &len);
		if (r == 0)
			return n;
		uint8_t *buf = tok;
		uint64_t off = (uint64_t)(buf - v->txbuf), i = off / SLOT;
		if (r < 0 || off % SLOT || i >= v->ntx || !v->slots[i].busy) {
			net_detail(d, "a used transmit buffer that was not "
				   "posted");
			return NET_ERR_DEVICE;
		}
		struct slot *s = &v->slots[i];
		s->busy = 0;
		v->tx_free[v->tx_nfree++] = (uint16_t)i;
		if (s->token)
			d->tx_done(d->tx_ctx, s->token);
		s->token = 0;
		n++;
	}
}

/* §5.1.6.2: the header says what the device is to do (a checksum to
 * complete, segments to cut). */
static void put_header(uint8_t *h, uint32_t len, const struct net_offload *o)
{
	memset(h, 0, len);
	if (!o)
		return;
	if (o->csum) {
		h[HDR_FLAGS] = NEEDS_CSUM;
		le16_put(h + HDR_CSUM_START, o->csum_start);
		le16_put(h + HDR_CSUM_OFFSET, o->csum_offset);
	}
	if (o->gso) {
		h[HDR_GSO_TYPE] = o->gso;
		le16_put(h + HDR_HDR_LEN, o->hdr_len);
		le16_put(h + HDR_GSO_SIZE, o->gso_size);
	}
}

/* The frame's descriptors: the header and the copied bytes (one, or two
 * apart for legacy framing), then the pieces past the copied bytes.
 * How many, or 0 when more than the queue takes. */
static unsigned describe(struct vnet *v, uint8_t *buf, const struct net_tx *t,
			 struct virtq_buf *b)
{
	unsigned nb = 0;
	size_t skip = t->copy;
	if (v->split) {
		b[nb++] = (struct virtq_buf){ (uintptr_t)buf, v->hdr_len, 0 };
		if (t->copy)
			b[nb++] = (struct virtq_buf){ (uintptr_t)buf +
						      v->hdr_len,
						      (uint32_t)t->copy, 0 };
	} else {
		b[nb++] = (struct virtq_buf){ (uintptr_t)buf, (uint32_t)
					      (v->hdr_len + t->copy), 0 };
	}
	for (unsigned i = 0; i < t->n; i++) {
		const struct net_frag *f = &t->frags[i];
		if (skip >= f->len) {
			skip -= f->len;
			continue;
		}
		if (nb == v->tx.segs)
			return 0;
		b[nb++] = (struct virtq_buf){ (uintptr_t)f->data + skip,
					      (uint32_t)(f->len - skip), 0 };
		skip = 0;
	}
	return nb;
}

/* Copies the first n bytes of the frame's pieces to out. */
static void gather(uint8_t *out, const struct net_tx *t, size_t n)
{
	for (unsigned i = 0; n && i < t->n; i++) {
		size_t k = t->frags[i].len < n ? t->frags[i].len : n;
		memcpy(out, t->frags[i].data, k);
		out += k;
		n -= k;
	}
}

static int send(struct net_dev *d, const struct net_tx *t)
{
	struct vnet *v = vn(d);
	struct virtq_buf b[TX_SEGS];
	int err = reap(d);
	if (err < 0)
		return err;
	if (!v->tx_nfree)
		return NET_ERR_BUSY;
	uint16_t i = v->tx_free[v->tx_nfree - 1];
	uint8_t *buf = v->txbuf + (uint64_t)i * SLOT;
	unsigned nb = describe(v, buf, t, b);
	if (!nb)
		return NET_ERR_SIZE;
	if (!virtq_room(&v->tx, nb))
		return NET_ERR_BUSY;
	put_header(buf, v->hdr_len, t->off);
	gather(buf + v->hdr_len, t, t->copy);
	if (virtq_add(&v->tx, b, nb, buf))
		return NET_ERR_BUSY;
	v->tx_nfree--;
	v->slots[i].busy = 1;
	v->slots[i].token = t->token;
	return 0;
}

static void flush(struct net_dev *d)
{
	virtq_kick(&vn(d)->tx);
}

/* The next used receive buffer: 1 with it, 0 when none, or an error. */
static int next_rx(struct vnet *v, uint8_t **buf, uint32_t *len)
{
	void *tok;
	int r = virtq_get(&v->rx, &tok, len);
	if (r <= 0) {
		if (r < 0)
			net_detail(&v->net, "a used receive buffer that was "
				   "not posted");
		return r < 0 ? NET_ERR_DEVICE : 0;
	}
	*buf = tok;
	return 1;
}

/* A received frame: its buffers (to give back) and its pieces. */
struct rx_frame {
	uint8_t *bufs[NET_RX_FRAGS];
	struct net_frag f[NET_RX_FRAGS];
	unsigned n;
	size_t len;
	int keep;		/* 0: dropped (too many pieces, too long) */
};

/* The rest of a frame spread over several buffers (§5.1.6.4: the device
 * has used num_buffers of them, one after the other, none with a
 * header). Past NET_RX_FRAGS the frame is dropped, its buffers given
 * back at once. 0, or an error. */
static int gather_rx(struct vnet *v, struct rx_frame *fr, uint16_t nbuf)
{
	for (uint16_t i = 1; i < nbuf; i++) {
		uint8_t *buf;
		uint32_t len;
		int r = next_rx(v, &buf, &len);
		if (r == 0) {
			net_detail(&v->net, "num_buffers %u, but only %u "
				   "buffers used", nbuf, i);
			return NET_ERR_DEVICE;
		}
		if (r < 0)
			return r;
		if (fr->n == NET_RX_FRAGS) {
			fr->keep = 0;
			if (post_rx(v, buf))
				return NET_ERR_DEVICE;	/* came from the ring */
			continue;
		}
		fr->bufs[fr->n] = buf;
		fr->f[fr->n++] = (struct net_frag){ buf, len };
		fr->len += len;
	}
	return 0;
}

/* What the header says of the checksums (only with GUEST_CSUM; a
 * checksum position outside the frame is a lie: the frame is dropped). */
static int rx_info(struct vnet *v, const uint8_t *h, size_t len,
		   struct net_rx_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!v->net.rx_csum)
		return 1;
	if (h[HDR_FLAGS] & NEEDS_CSUM) {
		info->flags = NET_RX_NEEDS_CSUM;
		info->csum_start = le16_get(h + HDR_CSUM_START);
		info->csum_offset = le16_get(h + HDR_CSUM_OFFSET);
		return (size_t)info->csum_start + info->csum_offset + 2 <= len;
	}
	if (h[HDR_FLAGS] & DATA_VALID)
		info->flags = NET_RX_DATA_VALID;
	return 1;
}

/* One frame from the used buffer buf of len bytes: handed to fn, its
 * buffers given back. 0, or an error. */
static int take_frame(struct vnet *v, uint8_t *buf, uint32_t len,
		     net_rx_fn *fn, void *ctx)
{
	struct rx_frame fr;
	struct net_rx_info info = { 0, 0, 0 };
	int ok = len >= v->hdr_len;
	uint16_t nbuf = v->mrg && ok ? le16_get(buf + HDR_NUM_BUFFERS) : 1;
	fr.bufs[0] = buf;
	fr.f[0] = (struct net_frag){ buf + v->hdr_len,
				     ok ? len - v->hdr_len : 0 };
	fr.n = 1;
	fr.len = fr.f[0].len;
	fr.keep = ok && nbuf;
	int err = gather_rx(v, &fr, nbuf);
	if (err)
		return err;
	if (fr.keep && fr.len >= NET_FRAME_MIN && fr.len <= v->net.rx_max &&
	    rx_info(v, buf, fr.len, &info))
		fn(ctx, fr.f, fr.n, fr.len, &info);
	else
		v->net.stats.rx_dropped++;
	for (unsigned i = 0; i < fr.n; i++)
		if (post_rx(v, fr.bufs[i]))
			return NET_ERR_DEVICE;	/* it came from the ring */
	return 0;
}

/* §5.1.6.4: each frame's first buffer starts with the header; with
 * mergeable buffers num_buffers says how many hold the frame. */
static int recv(struct net_dev *d, net_rx_fn *fn, void *ctx, unsigned budget)
{
	struct vnet *v = vn(d);
	int n = 0;
	while ((unsigned)n < budget) {
		uint8_t *buf;
		uint32_t len;
		int r = next_rx(v, &buf, &len);
		if (r <= 0) {
			if (r < 0)
				return r;
			break;
		}
		r = take_frame(v, buf, len, fn, ctx);
		if (r)
			return r;
		n++;
	}
	virtq_kick(&v->rx);
	return n;
}

static int pending(struct net_dev *d, int want_tx)
{
	struct vnet *v = vn(d);
	return virtq_pending(&v->rx) || (want_tx && virtq_pending(&v->tx));
}

static void tx_irq(struct net_dev *d, int on)
{
	virtq_interrupts(&vn(d)->tx, on);
}

static int link(struct net_dev *d)
{
	struct vnet *v = vn(d);
	if (!virtio_has(v->dev, F_STATUS))
		return 1;	/* §5.1.5: then the link is taken to be up */
	uint8_t s[2];
	v->dev->ops->read_config(v->dev, CFG_STATUS, s, 2);
	return le16_get(s) & S_LINK_UP;
}

/* After the reset nothing reads the frames in flight: they go back to
 * the stack (unless the reset never completed: then nothing is safe to
 * reuse, and they stay the device's). */
static void stop(struct net_dev *d)
{
	struct vnet *v = vn(d);
	virtio_fail(v->dev);
	if (virtio_reset(v->dev))
		return;
	for (uint32_t i = 0; i < v->ntx; i++) {
		struct slot *s = &v->slots[i];
		if (s->busy && s->token)
			d->tx_done(d->tx_ctx, s->token);
		s->busy = 0;
		s->token = 0;
	}
}

static const struct net_ops vnet_ops = {
	send, flush, reap, recv, pending, tx_irq, link, stop,
};

/* The interrupts only say whether their queue had anything. */
static int rx_irq_fn(void *ctx)
{
	return virtq_pending(&((struct vnet *)ctx)->rx);
}

static int tx_irq_fn(void *ctx)
{
	return virtq_pending(&((struct vnet *)ctx)->tx);
}

static uint64_t pages(uint64_t bytes)
{
	return (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
}

static void drop(struct vnet *v)
{
	if (v->rxbuf)
		page_free((uintptr_t)v->rxbuf, pages((uint64_t)v->nrx * BUF));
	if (v->txbuf)
		page_free((uintptr_t)v->txbuf, pages((uint64_t)v->ntx * SLOT));
	free(v->tx_free);
	free(v->slots);
	virtq_free(&v->rx);
	virtq_free(&v->tx);
	free(v);
}

/* A slot per transmit ring entry (a frame takes one entry through an
 * indirect table, or more without), a buffer per receive one. */
static int setup_buffers(struct vnet *v)
{
	v->nrx = v->rx.size / (v->split ? 2 : 1);
	v->ntx = v->tx.size;
	v->rxbuf = page_alloc_zero(pages((uint64_t)v->nrx * BUF));
	v->txbuf = page_alloc_zero(pages((uint64_t)v->ntx * SLOT));
	v->tx_free = calloc(v->ntx, sizeof(*v->tx_free));
	v->slots = calloc(v->ntx, sizeof(*v->slots));
	if (!v->rxbuf || !v->txbuf || !v->tx_free || !v->slots || !v->nrx ||
	    !v->ntx)
		return VIRTIO_ERR_NOMEM;
	for (uint32_t i = 0; i < v->ntx; i++)
		v->tx_free[i] = (uint16_t)i;
	v->tx_nfree = v->ntx;
	return 0;
}

/* §5.1.5: the MAC from the configuration, or a random locally
 * administered one (IEEE 802: bit 1 of the first byte set, bit 0 clear). */
static void read_mac(struct vnet *v)
{
	uint8_t *mac = v->net.mac;
	if (virtio_has(v->dev, F_MAC)) {
		v->dev->ops->read_config(v->dev, CFG_MAC, mac, 6);
		if (!(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] |
				      mac[4] | mac[5]))
			return;
	}
	random_bytes(mac, 6);
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
}

static void interrupts(struct vnet *v)
{
	struct virtio_dev *d = v->dev;
	struct net_dev *n = &v->net;
	static char names[NET_MAX_DEVS][12];
	if (!d->ops->irq)
		return;
	n->irq_vec = d->ops->irq(d, RXQ, n->name, rx_irq_fn, v);
	if (!n->irq_vec)
		return;
	char *tx = names[count % NET_MAX_DEVS];
	fmt_snprintf(tx, sizeof(names[0]), "%s-tx", n->name);
	n->tx_vec = d->ops->irq(d, TXQ, tx, tx_irq_fn, v);
	virtq_interrupts(&v->rx, 1);
}

/* §5.1.3.1: TSO needs the checksum feature of its direction; large
 * frames in need mergeable buffers too (the buffers are 2 KiB, not the
 * 64 KiB §5.1.6.3.1 asks for without them). */
static uint64_t requirements(uint64_t f)
{
	if (!(f & VIRTIO_BIT(F_CSUM)))
		f &= ~(VIRTIO_BIT(F_HOST_TSO4) | VIRTIO_BIT(F_HOST_TSO6));
	if (!(f & VIRTIO_BIT(F_GUEST_CSUM)) || !(f & VIRTIO_BIT(F_MRG_RXBUF)))
		f &= ~(VIRTIO_BIT(F_GUEST_TSO4) | VIRTIO_BIT(F_GUEST_TSO6));
	return f;
}

/* The offloads pay where the device offers them (a tap with vnet
 * headers, vhost-net: libvirt's networks and clouds): checksums both
 * ways, 64 KiB TCP frames both ways (the device segments ours and may
 * hand in large ones), indirect tables for frames of many pieces. */
static int negotiate(struct vnet *v, const char **why)
{
	uint64_t want = VIRTIO_BIT(F_CSUM) | VIRTIO_BIT(F_GUEST_CSUM) |
			VIRTIO_BIT(F_MAC) | VIRTIO_BIT(F_GUEST_TSO4) |
			VIRTIO_BIT(F_GUEST_TSO6) | VIRTIO_BIT(F_HOST_TSO4) |
			VIRTIO_BIT(F_HOST_TSO6) | VIRTIO_BIT(F_MRG_RXBUF) |
			VIRTIO_BIT(F_STATUS) | VIRTIO_BIT(F_ANY_LAYOUT) |
			VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
			VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	int err = virtio_negotiate_fix(v->dev, want, requirements);
	*why = virtio_strerror(err);
	if (err)
		return err;
	struct virtio_dev *d = v->dev;
	struct net_dev *n = &v->net;
	v->mrg = (uint8_t)virtio_has(d, F_MRG_RXBUF);
	v->hdr_len = virtio_has(d, VIRTIO_F_VERSION_1) || v->mrg
		     ? HDR_LEN : HDR_LEN_LEGACY;
	v->split = d->legacy && !virtio_has(d, F_ANY_LAYOUT);
	n->tx_csum = (uint8_t)virtio_has(d, F_CSUM);
	n->tx_gso = (uint8_t)((virtio_has(d, F_HOST_TSO4) << NET_GSO_TCPV4) |
			      (virtio_has(d, F_HOST_TSO6) << NET_GSO_TCPV6));
	n->rx_csum = (uint8_t)virtio_has(d, F_GUEST_CSUM);
	n->rx_max = virtio_has(d, F_GUEST_TSO4) || virtio_has(d, F_GUEST_TSO6)
		    ? NET_GSO_MAX : NET_FRAME_MAX;
	return 0;
}

static int bring_up(struct vnet *v, const char **why)
{
	int err = negotiate(v, why);
	if (err)
		return err;
	struct virtio_dev *d = v->dev;
	err = virtq_init(&v->rx, d, RXQ, QUEUE_WANT);
	*why = "receive queue: missing or unusable";
	if (!err) {
		err = virtq_init_segs(&v->tx, d, TXQ, QUEUE_WANT, TX_SEGS);
		*why = "transmit queue: missing or unusable";
	}
	if (!err) {
		err = setup_buffers(v);
		*why = "out of memory";
	}
	for (uint32_t i = 0; !err && i < v->nrx; i++)
		if (post_rx(v, v->rxbuf + (uint64_t)i * BUF))
			err = VIRTIO_ERR_QUEUE;
	/* a frame: the header and copied bytes (one or two), the rest */
	v->net.tx_frags = (uint16_t)(v->tx.segs - (v->split ? 2 : 1));
	return err;
}

/* "virtio-net modern, split ring, mergeable buffers, offloads tx-csum
 * tso4 tso6 rx-csum rx-tso4 rx-tso6" */
static void describe_model(struct vnet *v)
{
	struct net_dev *n = &v->net;
	int k = fmt_snprintf(n->model, sizeof(n->model),
			     "virtio-net %s, %s ring%s",
			     v->dev->transport_name, v->rx.packed ? "packed"
			     : "split", v->mrg ? ", mergeable buffers" : "");
	struct virtio_dev *d = v->dev;
	if (n->tx_csum || n->rx_csum)
		fmt_snprintf(n->model + k, sizeof(n->model) - (size_t)k,
			     ", offloads%s%s%s%s%s%s", n->tx_csum ? " tx-csum" : "",
			     virtio_has(d, F_HOST_TSO4) ? " tso4" : "",
			     virtio_has(d, F_HOST_TSO6) ? " tso6" : "",
			     n->rx_csum ? " rx-csum" : "",
			     virtio_has(d, F_GUEST_TSO4) ? " rx-tso4" : "",
			     virtio_has(d, F_GUEST_TSO6) ? " rx-tso6" : "");
}

int vnet_attach(struct virtio_dev *dev, const char **why)
{
	struct vnet *v = calloc(1, sizeof(*v));
	*why = "out of memory";
	if (!v)
		return VIRTIO_ERR_NOMEM;
	v->dev = dev;
	struct net_dev *n = &v->net;
	n->ops = &vnet_ops;
	n->priv = v;
	n->transport = "virtio";
	n->mtu = 1500;
	int err = bring_up(v, why);
	if (!err && net_register(n)) {
		err = VIRTIO_ERR_NOMEM;
		*why = "too many network devices";
	}
	if (err) {
		if (!virtio_give_up(dev, why))
			drop(v);
		return err;
	}
	read_mac(v);
	interrupts(v);
	virtio_ready(dev);
	virtq_kick(&v->rx);	/* §3.1.1: only after DRIVER_OK */
	describe_model(v);
	count++;
	return 0;
}
