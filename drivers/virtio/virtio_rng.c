/* virtio-rng (virtio 1.2 §5.4, the entropy device): one request on its
 * one queue, requestq (§5.4.2), of a device-writable buffer that the
 * device fills with random bytes (§5.4.6). */
#include "virtio_rng.h"

#include "../../runtime/cpu.h"
#include "../../runtime/page.h"
#include "../../runtime/random.h"
#include "../../runtime/time.h"
#include "virtq.h"

int vrng_seed(struct virtio_dev *d, const char **why)
{
	struct virtq q;
	int err = virtio_negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	*why = virtio_strerror(err);
	if (err)
		return err;
	err = virtq_init(&q, d, 0, 8);
	uint8_t *buf = err ? 0 : page_alloc_zero(1);
	*why = err ? "requestq: missing or unusable" : "out of memory";
	if (!err && !buf)
		err = VIRTIO_ERR_NOMEM;
	struct virtq_buf b = { (uintptr_t)buf, VRNG_BYTES, 1 };
	if (!err && virtq_add(&q, &b, 1, buf))
		err = VIRTIO_ERR_QUEUE;
	int got = 0;
	if (!err) {
		virtio_ready(d);
		virtq_kick(&q);
		uint64_t end = time_us() + VRNG_WAIT_US;
		void *tok;
		uint32_t len = 0;
		int r;
		while (!(r = virtq_get(&q, &tok, &len)) && time_us() < end)
			cpu_pause();
		if (r == 1 && len) {
			random_add(buf, len, "virtio-rng");
			got = (int)len;
		}
		*why = r < 0 ? virtio_strerror(VIRTIO_ERR_DEVICE)
			     : "no entropy within 1 s";
		err = r < 0 ? VIRTIO_ERR_DEVICE : 0;
	}
	virtio_fail(d);
	if (virtio_reset(d)) {	/* it may still write: keep its memory */
		*why = virtio_strerror(VIRTIO_ERR_RESET);
		return VIRTIO_ERR_RESET;
	}
	if (buf)
		page_free((uintptr_t)buf, 1);
	virtq_free(&q);
	return err ? err : got;
}
