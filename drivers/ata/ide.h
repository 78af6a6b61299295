/* Legacy IDE disks (hda, hdb, ...) on a PCI IDE controller. */
#ifndef UMBRA_IDE_H
#define UMBRA_IDE_H

#include "../../runtime/pci.h"
#include "../blk.h"

/* Drives the ATA disks of p (class 01:01) and registers them. -1 when p
 * is not an IDE controller. */
int ide_probe(struct pci_dev *p);

#endif
