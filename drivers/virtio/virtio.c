/* The device initialization sequence; see virtio.h. */
#include "virtio.h"

#include "../../runtime/cpu.h"
#include "../../runtime/time.h"

int virtio_reset(struct virtio_dev *d)
{
	d->ops->set_status(d, 0);
	/* §2.4 / §4.1.4.3.2: the reset is done when status reads back 0;
	 * until then the device may still be doing DMA. */
	uint64_t end = time_us() + VIRTIO_RESET_US;
	while (d->ops->get_status(d)) {
		if (time_us() > end)
			return VIRTIO_ERR_RESET;
		cpu_pause();
	}
	return 0;
}

int virtio_negotiate(struct virtio_dev *d, uint64_t wanted)
{
	return virtio_negotiate_fix(d, wanted, 0);
}

int virtio_negotiate_fix(struct virtio_dev *d, uint64_t wanted,
			 uint64_t (*fix)(uint64_t features))
{
	int err = virtio_reset(d);
	if (err)
		return err;
	d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	uint64_t offered = d->ops->get_features(d);
	if (d->legacy)
		wanted &= 0xffffffffull;	/* legacy: 32 feature bits */
	d->features = offered & wanted;
	if (fix)
		d->features = fix(d->features) & offered & wanted;
	d->ops->set_features(d, d->features);
	if (d->legacy)
		return 0;	/* legacy has no FEATURES_OK (§4.1.4.8) */
	d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				      VIRTIO_STATUS_FEATURES_OK);
	if (!(d->ops->get_status(d) & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_fail(d);
		return VIRTIO_ERR_FEATURES;
	}
	return 0;
}

void virtio_ready(struct virtio_dev *d)
{
	d->ops->set_status(d, d->ops->get_status(d) | VIRTIO_STATUS_DRIVER_OK);
}

void virtio_fail(struct virtio_dev *d)
{
	d->ops->set_status(d, d->ops->get_status(d) | VIRTIO_STATUS_FAILED);
}

int virtio_give_up(struct virtio_dev *d, const char **why)
{
	virtio_fail(d);
	if (!virtio_reset(d))
		return 0;
	*why = virtio_strerror(VIRTIO_ERR_RESET);
	return VIRTIO_ERR_RESET;
}

const char *virtio_strerror(int err)
{
	switch (err) {
	case VIRTIO_OK: return "success";
	case VIRTIO_ERR_FEATURES: return "feature negotiation failed "
					 "(FEATURES_OK did not stick)";
	case VIRTIO_ERR_QUEUE: return "queue missing or unusable";
	case VIRTIO_ERR_NOMEM: return "out of memory";
	case VIRTIO_ERR_DEVICE: return "the device misbehaved";
	case VIRTIO_ERR_RESET: return "the device did not complete a reset "
				      "within 1 s";
	case VIRTIO_ERR_NODEV: return "no device behind the transport";
	default: return "unknown error";
	}
}

int virtio_legacy_layout_ok(uint16_t size, uint64_t desc, uint64_t driver,
			    uint64_t device)
{
	uint64_t avail_end = driver + 6 + 2ull * size;
	return desc % VIRTIO_LEGACY_ALIGN == 0 && driver == desc + 16ull * size &&
	       device == (avail_end + VIRTIO_LEGACY_ALIGN - 1) /
				 VIRTIO_LEGACY_ALIGN * VIRTIO_LEGACY_ALIGN &&
	       desc / VIRTIO_LEGACY_ALIGN <= 0xffffffffull;
}
