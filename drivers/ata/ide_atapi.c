/* ATAPI on IDE: the PACKET command by PIO (ATA8-ACS §7.18; ATA8-APT
 * §11.8, the PACKET protocol): the device asks for the 12-byte packet
 * (DRQ with interrupt reason CoD=1, IO=0), then hands over data blocks of
 * the size it puts in the byte count registers (DRQ, CoD=0, IO=1) until
 * it is done. The command set is drivers/scsi/'s; a unit becomes a
 * read-only block device (a CD/DVD drive with a disc in it). */
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "ide_int.h"

/* ATA8-APT §6: the command block registers as PACKET reads them */
#define R_FEATURES R_ERROR	/* bit 0: DMA (0 here: PIO) */
#define R_IREASON R_COUNT	/* interrupt reason */
#define R_BYTES_LO R_LBA1	/* byte count: the host's limit, then ... */
#define R_BYTES_HI R_LBA2	/* ... the device's block */
#define IR_COD 0x01		/* a command packet (else data) */
#define IR_IO 0x02		/* to the host */

#define LATE (-1)		/* packet(): no answer in time */
#define BROKE (-2)		/* packet(): the protocol broken */

/* The device did not answer (LATE) or broke the protocol (BROKE): said
 * in d's detail, the channel reset. */
static int broke(struct ide *d, int how, const char *why, uint8_t s)
{
	blk_detail(&d->blk, "ATAPI: %s (status 0x%02x)", why, s);
	ide_reset_channel(&d->ch);
	return how;
}

/* One data block of the size the device gives: up to the room left in
 * buf; more than that is read and dropped (the device may not send it;
 * it cannot make us write past buf). */
static void data_block(const struct chan *c, uint8_t *buf, uint32_t len,
		       uint32_t *moved, uint32_t bytes)
{
	uint32_t words = (bytes + 1) / 2, room = (len - *moved) / 2;
	uint32_t bulk = words < room ? words : room;
	void *p = buf + *moved;
	uint32_t n = bulk;
	uint16_t port = c->cmd + R_DATA;
	__asm__ volatile("rep insw" : "+D"(p), "+c"(n) : "d"(port) : "memory");
	*moved += 2 * bulk;
	for (uint32_t i = bulk; i < words; i++) {
		uint16_t w = inw(port);
		if (*moved < len)	/* an odd length's last byte */
			buf[(*moved)++] = (uint8_t)w;
	}
}

/* One PACKET command on d: cdb out, at most len bytes into buf. 0 with
 * the bytes that came in *moved; 1 when the device ended the command
 * with ERR (its error register in *error); LATE or BROKE when it did
 * not answer or broke the protocol (d's detail says how). */
static int packet(struct ide *d, const uint8_t *cdb, unsigned clen,
		  uint8_t *buf, uint32_t len, uint32_t *moved, uint8_t *error)
{
	const struct chan *c = &d->ch;
	uint8_t pkt[16];
	unsigned n = atapi_packet(pkt, cdb, clen);
	*moved = 0;
	if (ide_wait_ready(c, 0, WAIT_US) < 0)
		return broke(d, LATE, "busy before the command",
			     ide_status(c));
	outb(c->cmd + R_DEVICE, (uint8_t)(0xa0 | d->slave << 4));
	ide_delay400(c);
	outb(c->cmd + R_FEATURES, 0);
	outb(c->cmd + R_BYTES_LO, (uint8_t)ATAPI_BYTE_LIMIT);
	outb(c->cmd + R_BYTES_HI, (uint8_t)(ATAPI_BYTE_LIMIT >> 8));
	outb(c->cmd + R_STATUS, ATA_PACKET);
	ide_delay400(c);
	int s = ide_wait_ready(c, 1, WAIT_US);
	if (s < 0)
		return broke(d, LATE, "no request for the packet",
			     ide_status(c));
	if (s & (ATA_SR_ERR | ATA_SR_DF)) {
		*error = inb(c->cmd + R_ERROR);
		return 1;
	}
	if ((inb(c->cmd + R_IREASON) & (IR_COD | IR_IO)) != IR_COD)
		return broke(d, BROKE, "DRQ without asking for the "
			     "packet", (uint8_t)s);
	for (unsigned i = 0; i < n; i += 2)
		outw(c->cmd + R_DATA, (uint16_t)(pkt[i] | pkt[i + 1] << 8));
	/* each block moves at least 2 bytes: more blocks than that is a
	 * device that never ends */
	for (uint32_t blocks = 0; blocks <= len / 2 + 1; blocks++) {
		ide_delay400(c);
		s = ide_wait_ready(c, 0, WAIT_US);
		if (s < 0)
			return broke(d, LATE, "no end to the command within "
				     "5 s", ide_status(c));
		if (s & (ATA_SR_ERR | ATA_SR_DF)) {
			*error = inb(c->cmd + R_ERROR);
			return 1;
		}
		if (!(s & ATA_SR_DRQ))
			return 0;	/* done */
		uint32_t bytes = inb(c->cmd + R_BYTES_LO) |
				 (uint32_t)inb(c->cmd + R_BYTES_HI) << 8;
		if ((inb(c->cmd + R_IREASON) & (IR_COD | IR_IO)) != IR_IO ||
		    !bytes)
			return broke(d, BROKE, "a data block that is not "
				     "data in", (uint8_t)s);
		data_block(c, buf, len, moved, bytes);
	}
	return broke(d, BROKE, "more data blocks than asked for",
		     (uint8_t)s);
}

/* After ERR: REQUEST SENSE for the reason (ATA8-ACS §7.18.6), into r. */
static void sense(struct ide *d, uint8_t error, struct scsi_result *r)
{
	uint8_t cdb[SCSI_CDB_MAX], buf[ATAPI_SENSE_LEN], ignored;
	uint32_t got = 0;
	memset(buf, 0, sizeof(buf));
	if (packet(d, cdb, scsi_cdb_request_sense(cdb, ATAPI_SENSE_LEN), buf,
		   sizeof(buf), &got, &ignored))
		got = 0;
	atapi_check_condition(r, error, buf, got);
}

/* scsi_exec's run: one command, its sense data when it failed. */
static int run(void *ctx, const uint8_t *cdb, unsigned clen, void *buf,
	       uint32_t len, int write, struct scsi_result *r)
{
	struct ide *d = ctx;
	uint32_t moved;
	uint8_t error = 0;
	memset(r, 0, sizeof(*r));
	if (write)
		return BLK_ERR_INVALID;	/* nothing umbra sends */
	int st = packet(d, cdb, clen, buf, len, &moved, &error);
	if (st < 0)
		return st == LATE ? BLK_ERR_TIMEOUT : BLK_ERR_IO;
	r->resid = len - moved;
	if (st)
		sense(d, error, r);
	return 0;
}

int ide_atapi_read(struct ide *d, uint64_t lba, uint32_t count, uint8_t *buf)
{
	uint8_t cdb[SCSI_CDB_MAX];
	struct scsi_result r;
	uint32_t len = count * d->blk.sector_size;
	unsigned clen = scsi_cdb_rw(cdb, 0, lba, count);
	int err = run(d, cdb, clen, buf, len, 0, &r);
	if (err)
		return err;
	err = scsi_result_error(&r, d->blk.detail, sizeof(d->blk.detail));
	if (!err && r.resid) {
		blk_detail(&d->blk, "ATAPI: %u of %u bytes came", len - r.resid,
			   len);
		return BLK_ERR_IO;
	}
	return err;
}

int ide_atapi_probe(struct ide *d, const char *where)
{
	struct scsi_disk u;
	uint8_t *buf = malloc(4096);
	if (!buf)
		return BLK_ERR_NOMEM;
	struct scsi_exec x = { run, d, buf, d->blk.detail };
	int err = scsi_disk_probe(&x, &u);
	free(buf);
	if (err < 0)
		blk_broken(where, "ide", "%s", u.why[0] ? u.why : d->blk.detail);
	if (err)
		return err;
	char model[40];
	fmt_snprintf(model, sizeof(model), "IDE %s %s, ATAPI, PIO",
		     d->secondary ? "secondary" : "primary",
		     d->slave ? "slave" : "master");
	atapi_blk(&d->blk, &u, model);
	d->blk.max_sectors = ATAPI_BYTE_LIMIT / u.block_size;
	return 0;
}
