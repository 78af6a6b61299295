/* virtio-scsi host adapters (virtio 1.2 §5.6): each direct-access or
 * CD/DVD logical unit (a disc in it: read-only, 2048-byte sectors)
 * becomes a block device, vsa, vsb, ... in the order found (HBA, then
 * target, then LUN). */
#ifndef UMBRA_VIRTIO_SCSI_H
#define UMBRA_VIRTIO_SCSI_H

#include "../blk.h"
#include "virtio.h"

#define VSCSI_MAX_LUNS 16	/* per HBA */

/* Drives d (a virtio device of type 8 on any transport; d must outlive
 * it): scans its targets and LUNs and registers the disks. Units that
 * cannot be used are listed as broken ("vscsi0:T:L"); an HBA without
 * disks is reset and left alone (0). On failure returns a negative
 * VIRTIO_ERR_* and says why in *why; the device is left reset. */
int vscsi_attach(struct virtio_dev *d, const char **why);

#endif
