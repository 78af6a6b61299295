/* The fake virtio transport; see fakevirtio.h. */
#include "fakevirtio.h"

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
