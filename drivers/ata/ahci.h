/* SATA disks (sda, sdb, ...) on an AHCI controller. */
#ifndef UMBRA_AHCI_H
#define UMBRA_AHCI_H

#include "../../runtime/pci.h"
#include "../blk.h"

/* Takes p (class 01:06:01) from the firmware, drives its disks and
 * registers them. -1 when p is not an AHCI controller or cannot be used. */
int ahci_probe(struct pci_dev *p);

#endif
