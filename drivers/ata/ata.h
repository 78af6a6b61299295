/* ATA commands and the IDENTIFY DEVICE data (ATA8-ACS), shared by the IDE
 * and AHCI drivers. */
#ifndef UMBRA_ATA_H
#define UMBRA_ATA_H

#include <stdint.h>

/* ATA8-ACS §7 command codes */
#define ATA_READ_SECTORS 0x20
#define ATA_READ_SECTORS_EXT 0x24
#define ATA_READ_DMA_EXT 0x25
#define ATA_WRITE_SECTORS 0x30
#define ATA_WRITE_SECTORS_EXT 0x34
#define ATA_WRITE_DMA_EXT 0x35
#define ATA_READ_FPDMA_QUEUED 0x60
#define ATA_WRITE_FPDMA_QUEUED 0x61
#define ATA_READ_DMA 0xc8
#define ATA_WRITE_DMA 0xca
#define ATA_SET_FEATURES 0xef
#define ATA_SF_XFER_MODE 0x03	/* SET FEATURES subcommand: transfer mode */
#define ATA_FLUSH_CACHE 0xe7
#define ATA_FLUSH_CACHE_EXT 0xea
#define ATA_IDENTIFY 0xec

/* Status register (ATA8-ACS §6.2.11 / ATA8-APT) */
#define ATA_SR_ERR 0x01
#define ATA_SR_DRQ 0x08
#define ATA_SR_DF 0x20
#define ATA_SR_DRDY 0x40
#define ATA_SR_BSY 0x80

#define ATA_LBA28_MAX (1ull << 28)

struct ata_identity {
	char model[41], serial[21];
	uint64_t sectors;	/* logical sectors */
	uint32_t sector_size;	/* logical sector size in bytes */
	int lba48;
	int flush_ext;
	int write_cache;	/* word 85 bit 5: volatile write cache on */
	int dma;		/* word 49 bit 8: DMA supported */
	uint8_t mwdma;		/* word 63: multiword DMA modes supported */
	uint8_t udma;		/* word 88 (when word 53 bit 2): Ultra DMA */
	uint8_t ncq_depth;	/* word 76 bit 8: NCQ, word 75 + 1 deep */
};

/* Parses 256 IDENTIFY words: model (27-46) and serial (10-19), byte-
 * swapped; LBA28 (60-61) and LBA48 (100-103) capacity; logical sector
 * size (106, 117-118); DMA modes (49, 53, 63, 88) and NCQ (75, 76).
 * Returns 0, or -1 for a device umbra cannot address (no LBA, or a
 * sector size other than 512 or 4096). */
int ata_parse_identity(const uint16_t *w, struct ata_identity *id);

/* The error register's bits as words ("uncorrectable data", ...). */
const char *ata_error_string(uint8_t err);

#endif
