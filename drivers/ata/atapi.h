/* ATAPI (ATA8-ACS §7.18 PACKET, §7.17 IDENTIFY PACKET DEVICE): SCSI
 * commands carried in ATA PACKET commands, for the AHCI and IDE drivers.
 * The command set (INQUIRY, TEST UNIT READY, READ CAPACITY(10), READ(10),
 * sense data) is drivers/scsi/'s; here only what ATAPI adds: its
 * signature, the 12-byte packet, the sense data a device keeps until
 * REQUEST SENSE (its error register holds only the key), and the block
 * device a unit becomes. */
#ifndef UMBRA_ATAPI_H
#define UMBRA_ATAPI_H

#include <stdint.h>

#include "../scsi/scsi.h"

struct blk_dev;

#define ATA_PACKET 0xa0
#define ATA_IDENTIFY_PACKET 0xa1
/* ATA8-ACS §9.12: the signature a PACKET device leaves in LBA mid/high
 * after a reset or a refused IDENTIFY DEVICE */
#define ATAPI_SIG_MID 0x14
#define ATAPI_SIG_HIGH 0xeb
#define ATAPI_PACKET_LEN 12	/* IDENTIFY PACKET word 0 bits 1:0 = 0 */
#define ATAPI_SENSE_LEN 18	/* fixed-format sense, SPC-4 §4.5.3 */
#define ATAPI_BYTE_LIMIT 0xf800	/* per PIO data block: 31 x 2048, even */

/* The packet for cdb (clen bytes, at most 16): padded with zeros to
 * ATAPI_PACKET_LEN, or to 16 when longer. Its length. */
unsigned atapi_packet(uint8_t *out, const uint8_t *cdb, unsigned clen);

/* A PACKET command that ended with ERR, as a SCSI result: CHECK
 * CONDITION with the sense data REQUEST SENSE gave (sense, got bytes),
 * or, when that failed or gave too little, the sense key the error
 * register held (bits 7:4, ATA8-ACS §7.18.6). */
void atapi_check_condition(struct scsi_result *r, uint8_t error,
			   const uint8_t *sense, uint32_t got);

/* b as the unit scsi_disk_probe found: sector size and count, read-only
 * for a CD/DVD unit, no flush or discard; its model "VENDOR PRODUCT
 * (where)". */
void atapi_blk(struct blk_dev *b, const struct scsi_disk *d,
	       const char *where);

#endif
