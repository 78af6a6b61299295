/* NVMe namespaces as block devices (nvme0n1, nvme0n2, ...). */
#ifndef UMBRA_NVME_H
#define UMBRA_NVME_H

#include "../../runtime/pci.h"
#include "../blk.h"

/* Resets and enables controller p (class 01:08:02), sets up its queues
 * and registers each active namespace. -1 when p is not an NVMe
 * controller or it does not come up (said on the console). */
int nvme_probe(struct pci_dev *p);

#endif
