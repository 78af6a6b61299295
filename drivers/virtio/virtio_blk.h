/* virtio-blk devices as block devices (vda, vdb, ...). */
#ifndef UMBRA_VIRTIO_BLK_H
#define UMBRA_VIRTIO_BLK_H

#include "../blk.h"
#include "virtio.h"

#define VBLK_MAX 8

/* Drives d (a virtio device of type 2 on any transport; d must outlive
 * it) and registers it as a block device. On failure returns a negative
 * VIRTIO_ERR_* and says why in *why; the device is left FAILED. */
int vblk_attach(struct virtio_dev *d, const char **why);

#endif
