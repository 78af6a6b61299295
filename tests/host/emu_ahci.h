/* An AHCI HBA (AHCI 1.3.1) with one SATA disk on port 0, for host tests,
 * played by a thread that watches fake ABAR memory: PxCMD.ST/FRE answered
 * by CR/FR, PxCI slot 0 runs the command table's H2D register FIS
 * (IDENTIFY DEVICE, READ/WRITE DMA EXT, FLUSH CACHE EXT) through its PRDs
 * and clears the bit; a failed command sets PxTFD.ERR and PxIS.TFES and
 * stays issued until the port is stopped (§3.3.14, §6.2.2).
 *
 * Plain memory cannot be write-1-to-clear or write-1-to-set, so: the HBA
 * has one command slot (CAP.NCS 0), and PxIS/PxSERR are cleared when FIS
 * receive starts, the device showing BSY while the port is stopped so
 * that a driver waits for that (it waits for BSY to clear before ST).
 *
 * With atapi set before start, port 0 holds an ATAPI CD/DVD drive
 * instead (signature 0xEB140101): PACKET commands (header bit A, the CDB
 * at table offset 0x40) for INQUIRY, TEST UNIT READY, READ CAPACITY(10),
 * READ(10) and REQUEST SENSE on `sectors` 2048-byte sectors; a failed
 * command sets ERR with the sense key in the error register's high
 * nibble and keeps the sense data for REQUEST SENSE (ATA8-ACS §7.18). */
#ifndef UMBRA_EMU_AHCI_H
#define UMBRA_EMU_AHCI_H

#include <stdint.h>

#include "fakepci.h"

#define EMU_AHCI_BAR 0x2000u

struct emu_ahci {
	struct fakepci pci;
	volatile uint8_t *abar;
	int s64a;		/* CAP.S64A: the HBA reaches above 4 GiB */
	uint64_t sectors;	/* the disk: 512-byte sectors */
	uint8_t *data;		/* sectors * 512 bytes; 0: reads zero */
	uint16_t identify[256];
	volatile int fail_next;	/* set by the test: the next read or write
				 * fails with UNC */
	/* ATAPI: a CD/DVD drive on port 0 */
	int atapi;
	int no_medium;		/* TEST UNIT READY: not ready, 3A/00 */
	uint32_t block_size;	/* what READ CAPACITY says (2048) */
	volatile int sense_fails;	/* REQUEST SENSE itself fails */
	int silent;		/* PACKET commands are taken, never ended */
	uint8_t sense[18];	/* kept for REQUEST SENSE */
	/* what the driver gave the HBA, for the test */
	volatile uint64_t dma_end;	/* highest end of any DMA address */
	volatile uint64_t first_dba;	/* the last command's first PRD */
	volatile unsigned upper_set;	/* upper address dwords set while
					 * S64A is clear (refused) */
	volatile unsigned commands, bad;
	/* the HBA's own */
	int running, fis_on, stuck;
};

/* IDENTIFY DEVICE data (ATA8-ACS §7.16) of an LBA48 disk of `sectors`
 * 512-byte sectors with a write cache. */
void emu_ahci_identity(uint16_t w[256], uint64_t sectors);

/* An HBA at PCI slot `slot` (class 01:06:01) with a disk of `sectors`
 * (backed by zeroed memory when `backed`). */
void emu_ahci_init(struct emu_ahci *e, uint8_t slot, int s64a,
		   uint64_t sectors, int backed);

/* Makes port 0 an ATAPI drive with a disc of `sectors` 2048-byte
 * sectors (backed by zeroed memory); before start. */
void emu_ahci_atapi(struct emu_ahci *e, uint64_t sectors);

/* Starts the HBA's thread (0, or -1). */
int emu_ahci_start(struct emu_ahci *e);

/* Stops it, frees the disk and the BAR. */
void emu_ahci_free(struct emu_ahci *e);

#endif
