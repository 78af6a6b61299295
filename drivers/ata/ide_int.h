/* Between the IDE driver's halves: registers, commands and PIO (ide.c)
 * and bus-master DMA (ide_dma.c). Nothing else includes this. */
#ifndef UMBRA_IDE_INT_H
#define UMBRA_IDE_INT_H

#include <stdint.h>

#include "../blk.h"
#include "ata.h"
#include "atapi.h"

/* Command block registers (offsets from the command base). */
#define R_DATA 0	/* 16-bit data */
#define R_ERROR 1	/* r: error; w: features */
#define R_COUNT 2
#define R_LBA0 3
#define R_LBA1 4
#define R_LBA2 5
#define R_DEVICE 6	/* bit 6 LBA, bit 4 device 1 */
#define R_STATUS 7	/* r: status; w: command */
/* Control block: alternate status (r) / device control (w). */
#define CTL_NIEN 0x02
#define CTL_SRST 0x04

#define WAIT_US 5000000ull	/* BSY and DRQ deadlines */
#define SPIN_US 200		/* PIO: a sector comes every ~60 us (TCG) */
#define LOW4G (1ull << 32)

struct chan {
	uint16_t cmd, ctl;
	uint16_t bm;		/* bus-master registers; 0: PIO only */
	uint8_t *prd;		/* its PRD table, below 4 GiB */
	int vec;		/* its interrupt (IRQ 14/15, or INTx); 0: none */
};

struct ide {
	struct chan ch;
	int slave, secondary;
	struct ata_identity id;
	struct blk_dev blk;
	uint32_t completed;
	uint8_t dma;		/* transfers by DMA (else PIO) */
	uint8_t atapi;		/* a PACKET device (ide_atapi.c) */
	uint8_t dma_fault;	/* `fault dma`: the next PRD table is short */
	char mode[16];		/* "UDMA5", "MWDMA2", "PIO" */
};

/* "MODEL (IDE primary master, MODE, LBA48)" into d->blk.model. */
void ide_name_model(struct ide *d);

/* The status register (reading it acknowledges INTRQ). */
uint8_t ide_status(const struct chan *c);

/* ATA8-APT: the 400 ns after selecting a device. */
void ide_delay400(const struct chan *c);

/* BSY clear (and with want_drq, DRQ or an error) within us: the status,
 * or -1 on the deadline or a floating bus. */
int ide_wait_ready(const struct chan *c, int want_drq, uint64_t us);

/* A software reset of the channel (SRST), bounded. */
void ide_reset_channel(const struct chan *c);

/* Says why a command failed (s < 0: no answer) in d's detail, resets
 * the channel; BLK_ERR_TIMEOUT or BLK_ERR_IO. */
int ide_fail_status(struct ide *d, const char *what, uint64_t lba, int s);

/* Loads the task file for an LBA28 or LBA48 command and issues it. */
void ide_issue(struct ide *d, uint8_t cmd, uint64_t lba, uint32_t count);

/* The best DMA mode d and its controller (PCI device id) share, set on
 * the drive: 0, or -1 when d goes by PIO. */
int ide_dma_mode(struct ide *d, uint16_t device);

/* One transfer by DMA: 0, a BLK_ERR_* the drive reported, or 1 when the
 * DMA itself failed (said once; d is PIO from now on). */
int ide_dma(struct ide *d, int write, uint64_t lba, uint32_t count,
	    uint64_t addr);

/* ATAPI (ide_atapi.c): brings up the unit on d (d->ch, slave, secondary
 * set), filling d->blk; 0, SCSI_NOT_DISK or SCSI_NO_MEDIUM (left alone
 * quietly), or a negative BLK_ERR_* after blk_broken(where, ...). */
int ide_atapi_probe(struct ide *d, const char *where);

/* READ(10) of count sectors at lba into buf by PIO: 0, or a BLK_ERR_*
 * with the words (the sense data's) in d's detail. */
int ide_atapi_read(struct ide *d, uint64_t lba, uint32_t count, uint8_t *buf);

/* SFF-8038i §1.2: [addr, addr + bytes) as PRD entries in prd (4 KiB),
 * none crossing a 64 KiB boundary, the last marked EOT; -1 when the
 * range is empty, reaches past 4 GiB or needs more than 512 entries. */
int ide_prd_build(uint8_t *prd, uint64_t addr, uint32_t bytes);

#endif
