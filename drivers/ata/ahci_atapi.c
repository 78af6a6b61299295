/* ATAPI CD/DVD drives on AHCI 1.3.1: a port whose signature is ATAPI
 * (§3.3.9) carries SCSI commands (drivers/scsi/) in PACKET commands
 * (ATA8-ACS §7.18): the command header's A bit, the CDB in the command
 * table's ACMD area (§4.2.2, §4.2.3), the data by DMA. Reads go through
 * the block engine one at a time; the unit's bring-up and the sense data
 * after an error run in slot 0 to completion. */
#include <string.h>

#include "../../runtime/fmt.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "ahci_int.h"

#define CMD_ATAPI (1u << 24)	/* §3.3.7 PxCMD.ATAPI (the activity LED) */
#define HDR_ATAPI (1u << 5)	/* §4.2.2 command header DW0 A */
#define TBL_ACMD 0x40		/* §4.2.3 the ATAPI command, 12/16 bytes */

/* §4.2.2, §4.2.3, ATA8-ACS §7.18: slot s as a PACKET command carrying
 * cdb, the data (bytes into addr) by DMA. */
static void build_packet(struct port *p, uint32_t s, const uint8_t *cdb,
			 unsigned clen, uint64_t addr, uint32_t bytes)
{
	uint8_t *t = p->tables + 256 * s;
	ahci_build(p, s, ATA_PACKET, 0, 0, addr, bytes, 0);
	t[3] = bytes ? 1 : 0;	/* features: DMA */
	t[5] = (uint8_t)ATAPI_BYTE_LIMIT;	/* byte count limit (PIO) */
	t[6] = (uint8_t)(ATAPI_BYTE_LIMIT >> 8);
	t[7] = 0;
	atapi_packet(t + TBL_ACMD, cdb, clen);
	p->cl[32 * s] |= HDR_ATAPI;
}

/* §4.2.2 PRDBC of slot 0: the bytes the device moved (it writes the
 * command list: read it as such). */
static uint32_t prdbc(const struct port *p)
{
	return *(volatile const uint32_t *)(const void *)(p->cl + 4);
}

/* After a PACKET command ended with ERR (error: its error register):
 * REQUEST SENSE for the reason (ATA8-ACS §7.18.6), into r. */
static void atapi_sense(struct port *p, uint8_t error, struct scsi_result *r)
{
	uint8_t cdb[SCSI_CDB_MAX], *sense = p->page + PAGE_SIZE;
	uint32_t tfd = 0;
	memset(sense, 0, ATAPI_SENSE_LEN);
	build_packet(p, 0, cdb, scsi_cdb_request_sense(cdb, ATAPI_SENSE_LEN),
		     (uintptr_t)sense, ATAPI_SENSE_LEN);
	uint32_t got = ahci_run_slot0(p, &tfd) ? 0 : prdbc(p);
	atapi_check_condition(r, error, sense,
			      got < ATAPI_SENSE_LEN ? got : ATAPI_SENSE_LEN);
}

/* scsi_exec's run for an ATAPI port: one PACKET command in slot 0, its
 * data (at most a page) into buf. */
static int atapi_run(void *ctx, const uint8_t *cdb, unsigned clen, void *buf,
		     uint32_t len, int write, struct scsi_result *r)
{
	struct port *p = ctx;
	uint32_t tfd = 0;
	memset(r, 0, sizeof(*r));
	if (write || len > PAGE_SIZE) {
		fmt_snprintf(p->why, sizeof(p->why), "a transfer the probe "
			     "never asks for");
		return BLK_ERR_INVALID;
	}
	build_packet(p, 0, cdb, clen, (uintptr_t)buf, len);
	int st = ahci_run_slot0(p, &tfd);
	uint32_t moved = prdbc(p);
	r->resid = moved <= len ? len - moved : 0;
	if (st < 0) {
		fmt_snprintf(p->why, sizeof(p->why), "no answer to a PACKET "
			     "command within 5 s");
		return BLK_ERR_TIMEOUT;
	}
	if (st > 0)
		atapi_sense(p, (uint8_t)(tfd >> 8), r);
	return 0;
}

void ahci_atapi_read(struct port *p, uint32_t s, uint64_t lba,
		     uint32_t count, uint64_t addr)
{
	uint8_t cdb[SCSI_CDB_MAX];
	build_packet(p, s, cdb, scsi_cdb_rw(cdb, 0, lba, count), addr,
		     count * p->blk.sector_size);
}

void ahci_atapi_detail(struct port *p, uint8_t error)
{
	struct scsi_result r;
	char words[96];
	memset(&r, 0, sizeof(r));
	atapi_sense(p, error, &r);
	scsi_result_error(&r, words, sizeof(words));
	blk_detail(&p->blk, "%s", words);
}

int ahci_atapi_port(struct port *p, uint32_t slots, const char **why)
{
	struct scsi_disk d;
	/* two pages: the probe's buffer, then the sense data's */
	p->page = (uint8_t *)(uintptr_t)page_alloc_below(2, LOW4G);
	*why = !p->page ? "out of memory" : ahci_port_setup(p, slots);
	if (*why)
		return -1;
	mmio_write32(p->r, P_CMD, mmio_read32(p->r, P_CMD) | CMD_ATAPI);
	struct scsi_exec x = { atapi_run, p, p->page, p->why };
	int err = scsi_disk_probe(&x, &d);
	if (err > 0)
		return 1;
	if (err) {
		fmt_snprintf(p->blk.detail, sizeof(p->blk.detail), "%s", d.why);
		*why = p->blk.detail;
		return -1;
	}
	char where[32];
	fmt_snprintf(where, sizeof(where), "AHCI port %u, ATAPI", p->index);
	atapi_blk(&p->blk, &d, where);
	p->blk.max_sectors = PRD_MAX / d.block_size;
	p->blk.queue_depth = 1;
	return 0;
}
