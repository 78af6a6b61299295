/* virtio-console (virtio 1.2 §5.3); see virtio_console.h. Control
 * messages are 8 bytes (§5.3.6.2: le32 id, le16 event, le16 value; a
 * name follows PORT_NAME's), each in one buffer of its own (legacy
 * framing, §5.3.6.2.1, wants single descriptors there); port data is
 * copied through PORT_BUF-byte buffers both ways. Nothing the device
 * says is trusted: ids, events and lengths are checked; a message that
 * breaks the rules is counted and ignored, a ring that does stops the
 * device. */
#include "virtio_console_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/fmt.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"

_Static_assert(CTL_BUF * (CTL_RX_BUFS + CTL_TX_BUFS) <= PAGE_SIZE,
	       "the control buffers fit a page");

static struct vcon *devs[VCON_MAX_DEVS];
static unsigned ndevs;

const char *vcon_strerror(int err)
{
	switch (err) {
	case VCON_OK: return "success";
	case VCON_ERR_DEVICE: return "the device broke the protocol (stopped)";
	case VCON_ERR_DOWN: return "the device is stopped";
	case VCON_ERR_GONE: return "the port is gone";
	default: return "unknown error";
	}
}

static void note(struct vcon *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(v->pub.detail, sizeof(v->pub.detail), fmt, ap);
	va_end(ap);
}

int vcon_fail(struct vcon *v, const char *what)
{
	note(v, "%s", what);
	v->pub.failed = 1;
	virtio_fail(v->dev);
	virtio_reset(v->dev);
	return VCON_ERR_DEVICE;
}

static uint8_t *ctl_tx_buf(struct vcon *v, uint32_t i)
{
	return v->ctlbuf + (CTL_RX_BUFS + i) * CTL_BUF;
}

/* Takes back the control messages the device has read. */
static int ctl_reclaim(struct vcon *v)
{
	void *tok;
	uint32_t len;
	int r;
	while ((r = virtq_get(&v->ctx, &tok, &len)) == 1)
		v->ctx_free[v->ctx_nfree++] = (uint16_t)
			(((uint8_t *)tok - ctl_tx_buf(v, 0)) / CTL_BUF);
	return r < 0 ? vcon_fail(v, "control transmit ring: a buffer that was "
			       "not posted") : 0;
}

/* One message to the device; a full ring (a device that reads none)
 * drops it and says so. */
static int ctl_send(struct vcon *v, uint32_t id, uint16_t event,
		    uint16_t value)
{
	int err = ctl_reclaim(v);
	if (err)
		return err;
	if (!v->ctx_nfree || !virtq_room(&v->ctx, 1)) {
		v->pub.bad_events++;
		note(v, "control transmit ring full: event %u for port %u "
		     "dropped", event, id);
		return 0;
	}
	uint8_t *b = ctl_tx_buf(v, v->ctx_free[--v->ctx_nfree]);
	le32_put(b, id);
	le16_put(b + 4, event);
	le16_put(b + 6, value);
	struct virtq_buf qb = { (uintptr_t)b, CTL_LEN, 0 };
	virtq_add(&v->ctx, &qb, 1, b);
	virtq_kick(&v->ctx);
	return 0;
}

int vcon_post(struct virtq *q, uint8_t *buf, uint32_t len)
{
	struct virtq_buf b = { (uintptr_t)buf, len, 1 };
	return virtq_add(q, &b, 1, buf);
}

/* DEVICE_ADD: the port's buffers (once), its receive buffers to the
 * device (once: they stay there across a remove), PORT_READY. */
static int port_add(struct vcon *v, struct port *p)
{
	if (!p->rxbuf) {
		p->rxbuf = page_alloc_zero(PORT_RX_BUFS * PORT_BUF / PAGE_SIZE);
		p->txbuf = page_alloc_zero(PORT_TX_BUFS * PORT_BUF / PAGE_SIZE);
		for (uint32_t i = 0; i < PORT_TX_BUFS; i++)
			p->tx_free[i] = (uint16_t)i;
		p->tx_nfree = PORT_TX_BUFS;
	}
	int ok = p->queues && p->rxbuf && p->txbuf;
	for (uint32_t i = 0; ok && !p->posted && i < PORT_RX_BUFS; i++)
		ok = !vcon_post(&p->rx, p->rxbuf + i * PORT_BUF, PORT_BUF);
	if (ok && !p->posted) {
		p->posted = 1;
		virtq_kick(&p->rx);
	}
	p->pub.added = (uint8_t)ok;
	return v->multiport ? ctl_send(v, p->pub.id, EV_PORT_READY,
				       (uint16_t)ok) : 0;
}

static void port_remove(struct port *p)
{
	if (p->cur) {		/* what was not read goes back */
		vcon_post(&p->rx, p->cur, PORT_BUF);
		virtq_kick(&p->rx);
		p->cur = 0;
	}
	p->pub.added = p->pub.host_open = p->pub.guest_open = 0;
	p->pub.console = 0;
	p->pub.name[0] = 0;
}

/* QEMU sends the name with its NUL (the spec says without): a NUL ends
 * it. */
static void port_name(struct port *p, const uint8_t *s, uint32_t n)
{
	const uint8_t *nul = memchr(s, 0, n);
	if (nul)
		n = (uint32_t)(nul - s);
	uint32_t keep = n < VCON_NAME_MAX - 1 ? n : VCON_NAME_MAX - 1;
	for (uint32_t i = 0; i < keep; i++)	/* printable, or '?' */
		p->pub.name[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	p->pub.name[keep] = 0;
	p->pub.name_cut = keep < n;
}

/* One message from the device (§5.3.6.2). */
static int handle(struct vcon *v, const uint8_t *b, uint32_t len)
{
	if (len < CTL_LEN) {
		v->pub.bad_events++;
		note(v, "a control message of %u bytes", len);
		return 0;
	}
	uint32_t id = le32_get(b);
	uint16_t ev = le16_get(b + 4), val = le16_get(b + 6);
	if (ev == EV_RESIZE)
		return 0;	/* the console's size: nothing here */
	if (id >= v->pub.max_ports || (ev != EV_DEVICE_ADD && ev != EV_PORT_OPEN &&
				   ev != EV_DEVICE_REMOVE && ev != EV_PORT_NAME &&
				   ev != EV_CONSOLE_PORT)) {
		v->pub.bad_events++;
		note(v, "event %u for port %u refused", ev, id);
		return 0;
	}
	if (id >= v->pub.nports)	/* beyond what umbra drives */
		return ev == EV_DEVICE_ADD ? ctl_send(v, id, EV_PORT_READY, 0)
					   : 0;
	struct port *p = &v->ports[id];
	if (ev == EV_DEVICE_ADD)
		return p->pub.added ? 0 : port_add(v, p);
	if (!p->pub.added)
		return 0;
	switch (ev) {
	case EV_DEVICE_REMOVE:
		port_remove(p);
		break;
	case EV_PORT_NAME:
		port_name(p, b + CTL_LEN, len - CTL_LEN);
		break;
	case EV_PORT_OPEN:
		p->pub.opens += val && !p->pub.host_open;
		p->pub.host_open = val != 0;
		break;
	case EV_CONSOLE_PORT:	/* the driver MUST answer PORT_OPEN 1 */
		p->pub.console = 1;
		p->pub.guest_open = 1;
		return ctl_send(v, id, EV_PORT_OPEN, 1);
	}
	return 0;
}

int vcon_poll(struct vcon_dev *d)
{
	struct vcon *v = vcon_of(d);
	if (d->failed)
		return VCON_ERR_DOWN;
	if (!v->multiport)
		return 0;
	int err = ctl_reclaim(v);
	for (int n = 0; !err && n < CTL_BUDGET; n++) {
		void *tok;
		uint32_t len;
		int r = virtq_get(&v->crx, &tok, &len);
		if (r <= 0) {
			if (r < 0)
				err = vcon_fail(v, "control receive ring: a buffer "
					   "that was not posted");
			break;
		}
		err = handle(v, tok, len);
		if (!err && !d->failed && vcon_post(&v->crx, tok, CTL_BUF))
			err = vcon_fail(v, "control receive ring overflow");
	}
	if (!err && !d->failed)
		virtq_kick(&v->crx);
	return d->failed ? VCON_ERR_DEVICE : err;
}

struct vcon_port *vcon_port(struct vcon_dev *d, uint32_t id)
{
	struct vcon *v = vcon_of(d);
	return id < d->nports && v->ports[id].pub.added ? &v->ports[id].pub
							: 0;
}

struct vcon_port *vcon_find(const char *name)
{
	for (unsigned i = 0; i < ndevs; i++)
		for (uint32_t id = 0; id < devs[i]->pub.nports; id++) {
			struct vcon_port *p = vcon_port(&devs[i]->pub, id);
			if (p && !p->name_cut && !strcmp(p->name, name))
				return p;
		}
	return 0;
}

int vcon_open(struct vcon_port *pub, int open)
{
	int err;
	struct port *p = vcon_usable(pub, &err);
	if (!p)
		return err;
	pub->guest_open = (uint8_t)(open != 0);
	struct vcon *v = vcon_of(pub->dev);
	return v->multiport ? ctl_send(v, pub->id, EV_PORT_OPEN,
				       (uint16_t)pub->guest_open) : 0;
}

/* The interrupts only say whether their queue had anything. */
static int queue_irq(void *ctx)
{
	return virtq_pending(ctx);
}

static void interrupts(struct vcon *v)
{
	struct virtio_dev *d = v->dev;
	v->all_irqs = d->ops->irq != 0;
	if (v->multiport && d->ops->irq) {
		v->pub.irq_vec = d->ops->irq(d, CTL_RXQ, v->pub.name, queue_irq,
					     &v->crx);
		v->all_irqs = v->pub.irq_vec != 0;
		if (v->pub.irq_vec)
			v->vecs[v->nvecs++] = v->pub.irq_vec;
	}
	for (uint32_t i = 0; v->all_irqs && i < v->pub.nports; i++) {
		struct port *p = &v->ports[i];
		if (!p->queues)
			continue;
		fmt_snprintf(p->irq_name, sizeof(p->irq_name), "%sp%u",
			     v->pub.name, i);
		int vec = d->ops->irq(d, vcon_rxq(i), p->irq_name, queue_irq, &p->rx);
		v->all_irqs = vec != 0;
		if (!v->pub.irq_vec)
			v->pub.irq_vec = vec;
		unsigned k = 0;
		while (k < v->nvecs && v->vecs[k] != vec)
			k++;
		if (vec && k == v->nvecs)	/* one vector may serve many */
			v->vecs[v->nvecs++] = vec;
	}
	if (!v->all_irqs)
		return;
	if (v->multiport)
		virtq_interrupts(&v->crx, 1);
	for (uint32_t i = 0; i < v->pub.nports; i++)
		if (v->ports[i].queues)
			virtq_interrupts(&v->ports[i].rx, 1);
}

/* The control pair and every driven port's queues; a port whose queues
 * the device lacks is refused when announced. */
static int queues(struct vcon *v, const char **why)
{
	struct virtio_dev *d = v->dev;
	*why = "control queues: missing or unusable";
	if (v->multiport && (virtq_init(&v->crx, d, CTL_RXQ, QUEUE_WANT) ||
			     virtq_init(&v->ctx, d, CTL_TXQ, QUEUE_WANT)))
		return VIRTIO_ERR_QUEUE;
	v->ctx.loose_len = 1;	/* §5.3.6.2.1: legacy lengths are junk */
	for (uint32_t i = 0; i < v->pub.nports; i++) {
		struct port *p = &v->ports[i];
		p->pub.dev = &v->pub;
		p->pub.id = i;
		p->queues = !virtq_init(&p->rx, d, vcon_rxq(i), QUEUE_WANT) &&
			    !virtq_init(&p->tx, d, (uint16_t)(vcon_rxq(i) + 1),
					QUEUE_WANT);
		p->tx.loose_len = 1;
	}
	*why = "port 0's queues: missing or unusable";
	if (!v->ports[0].queues)
		return VIRTIO_ERR_QUEUE;
	*why = "out of memory";
	v->ctlbuf = page_alloc_zero(1);
	if (!v->ctlbuf)
		return VIRTIO_ERR_NOMEM;
	for (uint32_t i = 0; i < CTL_TX_BUFS; i++)
		v->ctx_free[i] = (uint16_t)i;
	v->ctx_nfree = CTL_TX_BUFS;
	for (uint32_t i = 0; v->multiport && i < CTL_RX_BUFS; i++)
		if (vcon_post(&v->crx, v->ctlbuf + i * CTL_BUF, CTL_BUF))
			return VIRTIO_ERR_QUEUE;
	return 0;
}

static void drop(struct vcon *v)
{
	for (uint32_t i = 0; i < VCON_MAX_PORTS; i++) {
		struct port *p = &v->ports[i];
		if (p->rxbuf)
			page_free((uintptr_t)p->rxbuf,
				  PORT_RX_BUFS * PORT_BUF / PAGE_SIZE);
		if (p->txbuf)
			page_free((uintptr_t)p->txbuf,
				  PORT_TX_BUFS * PORT_BUF / PAGE_SIZE);
		virtq_free(&p->rx);
		virtq_free(&p->tx);
	}
	if (v->ctlbuf)
		page_free((uintptr_t)v->ctlbuf, 1);
	virtq_free(&v->crx);
	virtq_free(&v->ctx);
	free(v);
}

static int bring_up(struct vcon *v, const char **why)
{
	struct virtio_dev *d = v->dev;
	uint64_t want = VIRTIO_BIT(F_MULTIPORT) | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	int err = virtio_negotiate(d, want);
	*why = virtio_strerror(err);
	if (err)
		return err;
	v->multiport = (uint8_t)virtio_has(d, F_MULTIPORT);
	v->pub.max_ports = 1;
	if (v->multiport) {
		uint8_t b[4];
		d->ops->read_config(d, CFG_MAX_NR_PORTS, b, 4);
		v->pub.max_ports = le32_get(b);
	}
	*why = "max_nr_ports is 0";
	if (!v->pub.max_ports)
		return VIRTIO_ERR_DEVICE;
	v->pub.nports = v->pub.max_ports < VCON_MAX_PORTS ? v->pub.max_ports
							  : VCON_MAX_PORTS;
	return queues(v, why);
}

int vcon_attach(struct virtio_dev *dev, const char **why)
{
	*why = "too many virtio-console devices";
	if (ndevs == VCON_MAX_DEVS)
		return VIRTIO_ERR_NOMEM;
	struct vcon *v = calloc(1, sizeof(*v));
	*why = "out of memory";
	if (!v)
		return VIRTIO_ERR_NOMEM;
	v->dev = dev;
	fmt_snprintf(v->pub.name, sizeof(v->pub.name), "vport%u", ndevs);
	int err = bring_up(v, why);
	if (err) {
		if (!virtio_give_up(dev, why))
			drop(v);
		return err;
	}
	interrupts(v);
	virtio_ready(dev);
	devs[ndevs++] = v;
	fmt_snprintf(v->pub.model, sizeof(v->pub.model),
		     "virtio-console %s, %s ring, %s", dev->transport_name,
		     v->ports[0].rx.packed ? "packed" : "split",
		     v->multiport ? "multiport" : "one port");
	if (!v->multiport) {	/* port 0 is simply there, open (§5.3.6) */
		port_add(v, &v->ports[0]);
		v->ports[0].pub.host_open = v->ports[0].pub.guest_open = 1;
		v->ports[0].pub.opens = 1;
		return 0;
	}
	virtq_kick(&v->crx);	/* §3.1.1: only after DRIVER_OK */
	ctl_send(v, 0, EV_DEVICE_READY, 1);	/* §5.3.6.2: MUST */
	return 0;
}

unsigned vcon_count(void)
{
	return ndevs;
}

struct vcon_dev *vcon_get(unsigned i)
{
	return i < ndevs ? &devs[i]->pub : 0;
}
