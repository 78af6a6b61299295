/* virtio-console: the bytes of a port, and how the app's loop waits for
 * the device; see virtio_console.h. */
#include <string.h>

#include "../../runtime/irq.h"
#include "virtio_console_int.h"

int vcon_pending(struct vcon_dev *d)
{
	struct vcon *v = vcon_of(d);
	return !d->failed && v->multiport && virtq_pending(&v->crx);
}

int vcon_readable(struct vcon_port *pub)
{
	struct port *p = (struct port *)pub;
	return !pub->dev->failed && pub->added &&
	       (p->cur || virtq_pending(&p->rx));
}

int vcon_writable(struct vcon_port *pub)
{
	struct port *p = (struct port *)pub;
	return !pub->dev->failed && pub->added &&
	       (p->tx_nfree || virtq_pending(&p->tx));
}

struct port *vcon_usable(struct vcon_port *pub, int *err)
{
	struct port *p = (struct port *)pub;
	*err = pub->dev->failed ? VCON_ERR_DOWN : !pub->added
	       ? VCON_ERR_GONE : 0;
	return *err ? 0 : p;
}

long vcon_read(struct vcon_port *pub, void *buf, size_t len)
{
	int err;
	struct port *p = vcon_usable(pub, &err);
	if (!p)
		return err;
	size_t got = 0;
	while (got < len) {
		if (!p->cur) {
			void *tok;
			int r = virtq_get(&p->rx, &tok, &p->cur_len);
			if (r < 0)
				return vcon_fail(vcon_of(pub->dev), "receive ring: a "
					    "buffer that was not posted");
			if (!r)
				break;
			p->cur = tok;
			p->cur_off = 0;
		}
		size_t n = p->cur_len - p->cur_off;
		if (n > len - got)
			n = len - got;
		memcpy((uint8_t *)buf + got, p->cur + p->cur_off, n);
		got += n;
		p->cur_off += (uint32_t)n;
		if (p->cur_off == p->cur_len) {
			vcon_post(&p->rx, p->cur, PORT_BUF);	/* it came from there */
			virtq_kick(&p->rx);
			p->cur = 0;
		}
	}
	pub->rx_bytes += got;
	return (long)got;
}

static int tx_reclaim(struct port *p)
{
	void *tok;
	uint32_t len;
	int r;
	while ((r = virtq_get(&p->tx, &tok, &len)) == 1)
		p->tx_free[p->tx_nfree++] =
			(uint16_t)(((uint8_t *)tok - p->txbuf) / PORT_BUF);
	return r < 0 ? vcon_fail(vcon_of(p->pub.dev), "transmit ring: a buffer that "
			    "was not posted") : 0;
}

long vcon_write(struct vcon_port *pub, const void *buf, size_t len)
{
	int err;
	struct port *p = vcon_usable(pub, &err);
	if (!p || (err = tx_reclaim(p)))
		return err;
	size_t done = 0;
	while (done < len && p->tx_nfree && virtq_room(&p->tx, 1)) {
		uint8_t *b = p->txbuf + p->tx_free[--p->tx_nfree] * PORT_BUF;
		size_t n = len - done < PORT_BUF ? len - done : PORT_BUF;
		memcpy(b, (const uint8_t *)buf + done, n);
		struct virtq_buf qb = { (uintptr_t)b, (uint32_t)n, 0 };
		virtq_add(&p->tx, &qb, 1, b);
		done += n;
	}
	if (done)
		virtq_kick(&p->tx);
	p->want_room = done < len;
	pub->tx_bytes += done;
	return (long)done;
}

static int use_irq(const struct vcon_dev *d)
{
	return d->irq_vec && vcon_of((struct vcon_dev *)d)->all_irqs &&
	       !d->polling && irq_ready();
}

const char *vcon_wait_mode(const struct vcon_dev *d)
{
	return use_irq(d) ? "interrupt" : d->irq_vec && !d->polling
		? "polling (no interrupts)" : "polling";
}

uint64_t vcon_watch(struct vcon_dev *d, uint64_t *irqs)
{
	struct vcon *v = vcon_of(d);
	int want_room = 0;
	*irqs = 0;
	for (unsigned i = 0; i < v->nvecs; i++)
		*irqs += irq_count(v->vecs[i]);
	for (uint32_t i = 0; i < d->nports; i++)
		want_room |= v->ports[i].want_room;
	/* transmit queues have no interrupt: room is found by looking */
	return use_irq(d) && !want_room ? VCON_TICK_US : VCON_POLL_US;
}

int vcon_lost_irq(struct vcon_dev *d)
{
	if (!use_irq(d) || d->failed || ++d->lost_irqs < VCON_LOST_IRQS)
		return 0;
	d->polling = 1;
	return 1;
}
