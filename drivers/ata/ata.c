/* IDENTIFY parsing and error names; see ata.h. */
#include "ata.h"

#include <string.h>

#include "../blk.h"

int ata_parse_identity(const uint16_t *w, struct ata_identity *id)
{
	memset(id, 0, sizeof(*id));
	/* ATA strings are byte-swapped pairs, space padded */
	blk_ident_string(id->model, (const uint8_t *)(w + 27), 40, 1);
	blk_ident_string(id->serial, (const uint8_t *)(w + 10), 20, 1);
	if (!(w[49] & (1 << 9)))	/* LBA supported */
		return -1;
	id->lba48 = (w[83] & (1 << 10)) != 0;
	id->flush_ext = (w[83] & (1 << 13)) != 0;
	id->write_cache = (w[85] & (1 << 5)) != 0;
	id->dma = (w[49] & (1 << 8)) != 0;
	id->mwdma = (uint8_t)(w[63] & 0x07);
	id->udma = (w[53] & (1 << 2)) ? (uint8_t)(w[88] & 0x7f) : 0;
	/* ATA8-ACS §7.16.7 words 75-76 (SATA); 0 or 0xffff: not there */
	if (w[76] != 0 && w[76] != 0xffff && (w[76] & (1 << 8)))
		id->ncq_depth = (uint8_t)((w[75] & 0x1f) + 1);
	if (id->lba48)
		id->sectors = (uint64_t)w[100] | (uint64_t)w[101] << 16 |
			      (uint64_t)w[102] << 32 | (uint64_t)w[103] << 48;
	if (!id->sectors)
		id->sectors = (uint32_t)w[60] | (uint32_t)w[61] << 16;
	id->sector_size = 512;
	/* word 106: bit 14 set, bit 15 clear = valid; bit 12 = the logical
	 * sector is longer than 256 words, words 117-118 say how long. */
	if ((w[106] & 0xc000) == 0x4000 && (w[106] & (1 << 12))) {
		uint32_t words = (uint32_t)w[117] | (uint32_t)w[118] << 16;
		id->sector_size = words * 2;
	}
	if (id->sector_size != 512 && id->sector_size != 4096)
		return -1;
	return id->sectors ? 0 : -1;
}

const char *ata_error_string(uint8_t err)
{
	/* ATA8-ACS §6.2: the bits that matter for reads and writes. */
	if (err & 0x40)
		return "uncorrectable data error (UNC)";
	if (err & 0x10)
		return "sector not found (IDNF)";
	if (err & 0x80)
		return "bad block (ICRC/BBK)";
	if (err & 0x04)
		return "command aborted (ABRT)";
	if (err & 0x01)
		return "address mark not found";
	return "device error";
}
