/* virtio-net (virtio 1.2 §5.1) as a network device. Knows its two queues
 * and its transport's interface, not which transport it is on. Every
 * buffer is BUF bytes, the virtio-net header first; frames are copied in
 * and out (a 1.5 KiB copy costs little beside a trip through the host). */
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
#define F_MAC 5
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
#define HDR_CSUM_START 6
#define HDR_CSUM_OFFSET 8
#define HDR_NUM_BUFFERS 10
#define NEEDS_CSUM 1
#define HDR_LEN 12		/* with VERSION_1 or MRG_RXBUF */
#define HDR_LEN_LEGACY 10	/* §5.1.6.1: legacy without MRG_RXBUF */

#define RXQ 0			/* §5.1.2: receiveq1 */
#define TXQ 1			/* transmitq1 */
#define BUF 2048		/* §5.1.6.3.1: at least 1526 without
				 * mergeable buffers */
#define QUEUE_WANT 256
#define RX_BUDGET_ALL 0xffffffffu

_Static_assert(BUF >= HDR_LEN + NET_FRAME_MAX, "a frame fits a buffer");

struct vnet {
	struct virtio_dev *dev;
	struct virtq rx, tx;
	struct net_dev net;
	uint8_t *rxbuf, *txbuf;		/* nrx, ntx buffers of BUF bytes */
	uint32_t nrx, ntx;
	uint16_t *tx_free;		/* free transmit buffers: a stack */
	uint32_t tx_nfree;
	uint32_t hdr_len;
	uint8_t mrg;			/* mergeable receive buffers */
	uint8_t split;			/* header in its own descriptor */
	uint8_t staging[NET_FRAME_MAX];	/* a frame of several buffers */
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

/* Takes back what the device has sent. */
static int reclaim(struct vnet *v)
{
	for (;;) {
		void *tok;
		uint32_t len;
		int r = virtq_get(&v->tx, &tok, &len);
		if (r == 0)
			return 0;
		uint8_t *buf = tok;
		uint64_t off = (uint64_t)(buf - v->txbuf);
		if (r < 0 || off % BUF || off / BUF >= v->ntx ||
		    v->tx_nfree >= v->ntx) {
			net_detail(&v->net, "a used transmit buffer that was "
				   "not posted");
			return NET_ERR_DEVICE;
		}
		v->tx_free[v->tx_nfree++] = (uint16_t)(off / BUF);
	}
}

/* §5.1.6.2: the header (no segmentation; a checksum to complete when
 * asked), then the frame, in one device-readable buffer (or two,
 * legacy). */
static int send(struct net_dev *d, const struct net_frag *f, unsigned n,
		const struct net_csum *csum)
{
	struct vnet *v = vn(d);
	int err = reclaim(v);
	if (err)
		return err;
	if (!v->tx_nfree || !virtq_room(&v->tx, v->split ? 2 : 1))
		return NET_ERR_BUSY;
	uint8_t *buf = v->txbuf + (uint64_t)v->tx_free[v->tx_nfree - 1] * BUF;
	size_t len = v->hdr_len;
	memset(buf, 0, v->hdr_len);
	if (csum) {
		buf[HDR_FLAGS] = NEEDS_CSUM;
		le16_put(buf + HDR_CSUM_START, csum->start);
		le16_put(buf + HDR_CSUM_OFFSET, csum->offset);
	}
	for (unsigned i = 0; i < n; i++) {
		if (f[i].len > BUF - len)
			return NET_ERR_SIZE;
		memcpy(buf + len, f[i].data, f[i].len);
		len += f[i].len;
	}
	struct virtq_buf b[2];
	unsigned nb = 0;
	if (v->split) {
		b[nb++] = (struct virtq_buf){ (uintptr_t)buf, v->hdr_len, 0 };
		b[nb++] = (struct virtq_buf){ (uintptr_t)buf + v->hdr_len,
					      (uint32_t)(len - v->hdr_len), 0 };
	} else {
		b[nb++] = (struct virtq_buf){ (uintptr_t)buf, (uint32_t)len,
					      0 };
	}
	if (virtq_add(&v->tx, b, nb, buf))
		return NET_ERR_BUSY;
	v->tx_nfree--;
	virtq_kick(&v->tx);
	return 0;
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

/* The rest of a frame spread over several buffers (§5.1.6.4: the
 * device has used num_buffers of them, one after the other), copied
 * behind the first into staging. Returns the frame's length, 0 when it
 * was too long to keep (dropped), or an error. */
static int merge(struct vnet *v, const uint8_t *first, uint32_t flen,
		 uint16_t nbuf)
{
	size_t at = 0;
	int keep = flen <= sizeof(v->staging);
	if (keep) {
		memcpy(v->staging, first, flen);
		at = flen;
	}
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
		if (keep && len <= sizeof(v->staging) - at) {
			memcpy(v->staging + at, buf, len);
			at += len;
		} else {
			keep = 0;
		}
		if (post_rx(v, buf))
			return NET_ERR_DEVICE;	/* it came from the ring */
	}
	return keep ? (int)at : 0;
}

/* §5.1.6.4: each used buffer starts with the header; with mergeable
 * buffers num_buffers says how many hold the frame. */
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
		uint16_t nbuf = v->mrg && len >= v->hdr_len
				? le16_get(buf + HDR_NUM_BUFFERS) : 1;
		uint32_t flen = len >= v->hdr_len ? len - v->hdr_len : 0;
		const uint8_t *frame = buf + v->hdr_len;
		if (nbuf > 1) {
			r = merge(v, frame, flen, nbuf);
			if (r < 0)
				return r;
			flen = (uint32_t)r;
			frame = v->staging;
		}
		if (nbuf && flen >= NET_FRAME_MIN && flen <= NET_FRAME_MAX)
			fn(ctx, frame, flen);
		else
			d->stats.rx_dropped++;
		if (post_rx(v, buf))
			return NET_ERR_DEVICE;
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

static void stop(struct net_dev *d)
{
	struct vnet *v = vn(d);
	virtio_fail(v->dev);
	virtio_reset(v->dev);	/* no more DMA */
}

static const struct net_ops vnet_ops = {
	send, recv, pending, tx_irq, link, stop,
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
		page_free((uintptr_t)v->txbuf, pages((uint64_t)v->ntx * BUF));
	free(v->tx_free);
	virtq_free(&v->rx);
	virtq_free(&v->tx);
	free(v);
}

static int setup_buffers(struct vnet *v)
{
	unsigned per = v->split ? 2 : 1;
	v->nrx = v->rx.size / per;
	v->ntx = v->tx.size / per;
	v->rxbuf = page_alloc_zero(pages((uint64_t)v->nrx * BUF));
	v->txbuf = page_alloc_zero(pages((uint64_t)v->ntx * BUF));
	v->tx_free = calloc(v->ntx, sizeof(*v->tx_free));
	if (!v->rxbuf || !v->txbuf || !v->tx_free || !v->nrx || !v->ntx)
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

static int bring_up(struct vnet *v, const char **why)
{
	/* Checksum offload pays where the device offers it (a tap with
	 * vnet headers, vhost-net: libvirt's networks), for TCP, which
	 * carries the data. Receive-side offload (GUEST_CSUM) is not asked
	 * for: lwIP checks every packet anyway (per netif, not per packet),
	 * so it would save nothing. */
	uint64_t want = VIRTIO_BIT(F_CSUM) | VIRTIO_BIT(F_MAC) |
			VIRTIO_BIT(F_MRG_RXBUF) |
			VIRTIO_BIT(F_STATUS) | VIRTIO_BIT(F_ANY_LAYOUT) |
			VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	int err = virtio_negotiate(v->dev, want);
	*why = virtio_strerror(err);
	if (err)
		return err;
	struct virtio_dev *d = v->dev;
	v->mrg = (uint8_t)virtio_has(d, F_MRG_RXBUF);
	v->hdr_len = virtio_has(d, VIRTIO_F_VERSION_1) || v->mrg
		     ? HDR_LEN : HDR_LEN_LEGACY;
	v->split = d->legacy && !virtio_has(d, F_ANY_LAYOUT);
	v->net.tx_csum = (uint8_t)virtio_has(d, F_CSUM);
	err = virtq_init(&v->rx, d, RXQ, QUEUE_WANT);
	*why = "receive queue: missing or unusable";
	if (!err) {
		err = virtq_init(&v->tx, d, TXQ, QUEUE_WANT);
		*why = "transmit queue: missing or unusable";
	}
	if (!err) {
		err = setup_buffers(v);
		*why = "out of memory";
	}
	for (uint32_t i = 0; !err && i < v->nrx; i++)
		if (post_rx(v, v->rxbuf + (uint64_t)i * BUF))
			err = VIRTIO_ERR_QUEUE;
	return err;
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
	fmt_snprintf(n->model, sizeof(n->model), "virtio-net %s, %s ring%s%s",
		     dev->transport_name, v->rx.packed ? "packed" : "split",
		     v->mrg ? ", mergeable buffers" : "",
		     n->tx_csum ? ", checksum offload" : "");
	count++;
	return 0;
}
