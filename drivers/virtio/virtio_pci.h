/* The PCI transport for VirtIO: modern (virtio 1.2 §4.1.4, through the
 * vendor capabilities) for modern and transitional devices, legacy
 * (§4.1.4.8, I/O BAR 0) for devices that offer only that. */
#ifndef UMBRA_VIRTIO_PCI_H
#define UMBRA_VIRTIO_PCI_H

#include <stdint.h>

#include "../../runtime/pci.h"
#include "virtio.h"

#define VIRTIO_PCI_VENDOR 0x1af4

/* The virtio device type of a PCI function (§4.1.2.1), 0 if none. */
uint16_t virtio_pci_type(const struct pci_dev *p);

/* Sets up d over PCI function p (modern when its capabilities are there,
 * else legacy); enables decoding and bus mastering. Returns 0 or
 * VIRTIO_ERR_DEVICE with no change to the device. */
int virtio_pci_attach(struct pci_dev *p, struct virtio_dev *d);

/* Gives back what attach allocated, after the device was reset (or the
 * attach failed). */
void virtio_pci_detach(struct virtio_dev *d);

/* A virtio device over PCI function p, handed to a driver's attach
 * (vblk_attach, vnet_attach), which keeps it. On failure the error, with
 * *why (NULL when the driver has already said why), and the transport
 * given back. */
int virtio_pci_drive(struct pci_dev *p,
		     int (*attach)(struct virtio_dev *d, const char **why),
		     const char **why);

#endif
