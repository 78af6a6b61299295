/* The fake virtio transport; see fakevirtio.h. */
#include "fakevirtio.h"

#include <stdint.h>
#include <string.h>

static struct fakevirtio *F(struct virtio_dev *d)
{
	return (struct fakevirtio *)d;
}

static uint64_t f_getf(struct virtio_dev *d) { return F(d)->features; }
static void f_setf(struct virtio_dev *d, uint64_t f) { (void)d; (void)f; }
static uint8_t f_gets(struct virtio_dev *d) { return F(d)->status; }
static void f_sets(struct virtio_dev *d, uint8_t s) { F(d)->status = s; }

static void f_cfg(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	memset(buf, 0, len);
	if (off < sizeof(F(d)->config))
		memcpy(buf, F(d)->config + off,
		       len < sizeof(F(d)->config) - off
		       ? len : sizeof(F(d)->config) - off);
}

static uint16_t f_qmax(struct virtio_dev *d, uint16_t q, int *fixed)
{
	*fixed = d->legacy;
	return q < FAKEVIRTIO_QUEUES ? F(d)->qmax[q] : 0;
}

static int f_qen(struct virtio_dev *d, uint16_t q, uint16_t size,
		 uint64_t desc, uint64_t drv, uint64_t dev)
{
	if (q >= FAKEVIRTIO_QUEUES)
		return VIRTIO_ERR_QUEUE;
	F(d)->size[q] = size;
	F(d)->desc[q] = desc;
	F(d)->driver[q] = drv;
	F(d)->device[q] = dev;
	return 0;
}

static void f_notify(struct virtio_dev *d, uint16_t q)
{
	if (q < FAKEVIRTIO_QUEUES)
		F(d)->notified[q]++;
	if (F(d)->on_notify)
		F(d)->on_notify(F(d), q);
}

/* Into the config bytes; then the test's device may answer (virtio-input
 * fills its window from select and subsel). */
static void f_wcfg(struct virtio_dev *d, uint32_t off, const void *buf,
		   uint32_t len)
{
	if (off < sizeof(F(d)->config))
		memcpy(F(d)->config + off, buf,
		       len < sizeof(F(d)->config) - off
		       ? len : sizeof(F(d)->config) - off);
	if (F(d)->on_config)
		F(d)->on_config(F(d));
}

static const struct virtio_ops fake_ops = { f_getf, f_setf, f_gets, f_sets,
					    f_cfg, f_qmax, f_qen, f_notify, 0,
					    f_wcfg };

void fakevirtio_init(struct fakevirtio *f, uint64_t features, int legacy)
{
	memset(f, 0, sizeof(*f));
	f->dev.ops = &fake_ops;
	f->dev.transport_name = "fake";
	f->dev.legacy = legacy;
	f->features = features;
	f->qmax[0] = 16;
}


uint16_t fakevirtio_avail(struct fakevirtio *f, int q)
{
	return r16(f->driver[q] + 2);
}

/* Descriptors from table t (count of them, or a chain through NEXT from
 * index i) into c. */
static void walk(struct fakevirtio_chain *c, uint64_t t, uint16_t i,
		 unsigned count)
{
	uint16_t flags;
	do {
		uint64_t d = t + 16ull * i;
		flags = r16(d + 12);
		if ((flags & 4) && !c->indirect) {	/* §2.7.5.3 */
			c->indirect = 1;
			walk(c, r64(d), 0, r32(d + 8) / 16);
			return;
		}
		c->addr[c->n] = r64(d);
		c->len[c->n] = r32(d + 8);
		c->writes[c->n] = !!(flags & 2);
		c->n++;
		i = r16(d + 14);
	} while ((flags & 1) && c->n < FAKEVIRTIO_CHAIN &&
		 (!count || c->n < count));
}

int fakevirtio_take(struct fakevirtio *f, int q, struct fakevirtio_chain *c)
{
	uint16_t size = f->size[q];
	if (!size || fakevirtio_avail(f, q) == f->seen[q])
		return 0;
	c->head = r16(f->driver[q] + 4 + 2 * (f->seen[q] % size));
	f->seen[q]++;
	c->n = 0;
	c->indirect = 0;
	walk(c, f->desc[q], c->head, 0);
	return 1;
}

void fakevirtio_used(struct fakevirtio *f, int q, uint32_t id, uint32_t len)
{
	uint16_t idx = r16(f->device[q] + 2);
	uint64_t e = f->device[q] + 4 + 8ull * (idx % f->size[q]);
	w32(e, id);
	w32(e + 4, len);
	w16(f->device[q] + 2, (uint16_t)(idx + 1));
}

size_t fakevirtio_read(const struct fakevirtio_chain *c, size_t off,
		       void *out, size_t n)
{
	size_t got = 0;
	for (unsigned i = 0; i < c->n && got < n; i++) {
		if (off >= c->len[i]) {
			off -= c->len[i];
			continue;
		}
		size_t k = c->len[i] - off;
		if (k > n - got)
			k = n - got;
		memcpy((uint8_t *)out + got, P(c->addr[i]) + off, k);
		got += k;
		off = 0;
	}
	return got;
}
