/* virtio-net devices as network devices (net0, net1, ...). */
#ifndef UMBRA_VIRTIO_NET_H
#define UMBRA_VIRTIO_NET_H

#include "../net.h"
#include "virtio.h"

/* Drives d (a virtio device of type 1 on any transport; d must outlive
 * it) and registers it as a network device. On failure returns a
 * negative VIRTIO_ERR_* and says why in *why; the device is left reset
 * and FAILED, and what attach allocated is given back. */
int vnet_attach(struct virtio_dev *d, const char **why);

#endif
