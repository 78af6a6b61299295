/* The device initialization sequence; see virtio.h. */
#include "virtio.h"

int virtio_negotiate(struct virtio_dev *d, uint64_t wanted)
{
	d->ops->set_status(d, 0);	/* reset */
	d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	uint64_t offered = d->ops->get_features(d);
	if (d->legacy)
		wanted &= 0xffffffffull;	/* legacy: 32 feature bits */
	d->features = offered & wanted;
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
