/* A virtio-scsi HBA (virtio 1.2 §5.6) for host tests, on a transport of
 * its own (the virtio_ops, no PCI): requests are served inside notify,
 * so every completion is there when the driver next looks. Behind it,
 * targets whose LUNs are direct-access disks in memory answering the
 * commands umbra sends (SPC-4, SBC-3), and knobs that make it lie. Split
 * rings without indirect descriptors (the only features offered are
 * VERSION_1 and none of §5.6.3). */
#ifndef UMBRA_EMU_VSCSI_H
#define UMBRA_EMU_VSCSI_H

#include <stdint.h>

#include "../../drivers/virtio/virtio.h"

#define EMU_VSCSI_QSIZE 64
#define EMU_VSCSI_BLOCKS 2048	/* stored per LUN */

struct emu_vscsi_q {
	uint16_t size, seen;
	uint64_t desc, avail, used;
};

struct emu_vscsi {
	struct virtio_dev dev;	/* first: what the driver is given */
	uint8_t status;
	uint8_t config[36];
	struct emu_vscsi_q q[3];
	/* the SCSI side: targets present, LUNs 0..luns-1 on each */
	uint32_t targets;
	uint8_t luns;
	uint32_t block_size;
	uint64_t last_lba;	/* what READ CAPACITY says */
	uint8_t *data[4];	/* LUNs 0-3 of each target share these */
	/* lies, each until cleared */
	uint8_t inq_type;	/* byte 0 of INQUIRY data */
	uint8_t inq_empty;	/* INQUIRY moves nothing (residual 36) */
	uint8_t rc16_refused;	/* READ CAPACITY(16): ILLEGAL REQUEST */
	uint8_t never_ready;	/* TEST UNIT READY: medium not present */
	uint8_t write_protect;	/* writes: DATA PROTECT, write protected */
	uint8_t descriptor_sense;	/* sense in descriptor format */
	uint8_t silent;		/* takes requests, never answers */
	uint32_t report_luns_len;	/* REPORT LUNS list length; 0: true */
	int64_t medium_error;	/* reads of this LBA fail (-1: none) */
	unsigned unit_attention;	/* the next n commands: UA 29/00 */
	uint32_t sense_len;	/* non-zero: claimed on a CHECK CONDITION */
	uint32_t resid;		/* non-zero: claimed on a read's GOOD */
	uint8_t response;	/* non-zero: the response byte */
	uint8_t bad_id;		/* complete with an id never made available */
	/* what happened */
	unsigned commands, reads, writes, syncs, unmaps, notified, bad;
};

/* A device with `targets` (bitmask) of `luns` LUNs each, disks of
 * EMU_VSCSI_BLOCKS blocks of block_size bytes. */
void emu_vscsi_init(struct emu_vscsi *e, uint32_t targets, uint8_t luns,
		    uint32_t block_size);
void emu_vscsi_free(struct emu_vscsi *e);

/* Puts an event (§5.6.6.3) in the next event buffer, or a used entry
 * for one never posted (bogus). 0, or -1 when no buffer is posted. */
int emu_vscsi_event(struct emu_vscsi *e, uint32_t event, int bogus);

#endif
