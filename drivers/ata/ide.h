/* Legacy IDE disks (hda, hdb, ...) on a PCI IDE controller, by
 * bus-master DMA when it has it, PIO otherwise. */
#ifndef UMBRA_IDE_H
#define UMBRA_IDE_H

#include "../../runtime/pci.h"
#include "../blk.h"

/* Drives the ATA disks of p (class 01:01) and registers them. -1 when p
 * is not an IDE controller. */
int ide_probe(struct pci_dev *p);

/* Fault injection (`fault dma`): the next DMA transfer of disk d gets a
 * PRD table 256 bytes short, which the controller reports as an error
 * (SFF-8038i §3.1); the driver must fall back to PIO with the data
 * intact. 0, or -1 when d is not an IDE disk doing DMA. */
int ide_fault_dma(struct blk_dev *d);

#endif
