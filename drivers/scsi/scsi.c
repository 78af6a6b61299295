/* SCSI commands, sense data and the bring-up of a disk; see scsi.h. SCSI
 * fields are big-endian (SPC-4 §3.5.3): the accessors below say so. */
#include "scsi.h"

#include <string.h>

#include "../../runtime/fmt.h"
#include "../../runtime/idle.h"
#include "../../runtime/time.h"
#include "../blk.h"

/* SPC-4 §6 / SBC-3 §5 operation codes */
#define OP_TEST_UNIT_READY 0x00
#define OP_REQUEST_SENSE 0x03
#define OP_INQUIRY 0x12
#define OP_MODE_SENSE6 0x1a
#define OP_READ_CAPACITY10 0x25
#define OP_READ10 0x28
#define OP_WRITE10 0x2a
#define OP_SYNC_CACHE10 0x35
#define OP_UNMAP 0x42
#define OP_READ16 0x88
#define OP_WRITE16 0x8a
#define OP_SERVICE_IN16 0x9e	/* service action 0x10: READ CAPACITY(16) */
#define SA_READ_CAPACITY16 0x10
#define OP_REPORT_LUNS 0xa0

#define VPD_PAGES 0x00		/* SPC-4 §7.8.13 supported VPD pages */
#define VPD_SERIAL 0x80		/* §7.8.15 unit serial number */
#define VPD_LIMITS 0xb0		/* SBC-3 §6.6.4 Block Limits */
#define VPD_PROVISIONING 0xb2	/* SBC-3 §6.6.5 Logical Block Provisioning */
#define PAGE_CACHING 0x08	/* SBC-3 §6.5.5 */

#define INQUIRY_LEN 36		/* the standard data umbra reads */
#define READY_TRIES 50		/* TEST UNIT READY, ... */
#define READY_WAIT_US 100000	/* ... this far apart while becoming ready */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put_be(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* --- sense data ----------------------------------------------------------- */

int scsi_sense_parse(const uint8_t *s, uint32_t len, struct scsi_sense *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 2)
		return -1;
	switch (s[0] & 0x7f) {
	case 0x70:
	case 0x71:	/* §4.5.3 fixed: key byte 2, ASC/ASCQ bytes 12/13 */
		if (len < 3)
			return -1;
		out->key = s[2] & 0xf;
		if (len >= 14) {
			out->asc = s[12];
			out->ascq = s[13];
		}
		return 0;
	case 0x72:
	case 0x73:	/* §4.5.2 descriptor: key byte 1, ASC/ASCQ 2/3 */
		out->key = s[1] & 0xf;
		if (len >= 4) {
			out->asc = s[2];
			out->ascq = s[3];
		}
		return 0;
	default:
		return -1;
	}
}

static const char *key_name(uint8_t key)
{
	static const char *const names[16] = {
		"no sense", "recovered error", "not ready", "medium error",
		"hardware error", "illegal request", "unit attention",
		"data protect", "blank check", "vendor specific",
		"copy aborted", "aborted command", "reserved",
		"volume overflow", "miscompare", "reserved",
	};
	return names[key & 0xf];
}

/* SPC-4 Annex D: the additional sense codes a disk gives most. */
static const char *asc_name(uint8_t asc, uint8_t ascq)
{
	static const struct { uint8_t asc, ascq; const char *what; } t[] = {
		{ 0x00, 0x06, "I/O process terminated" },
		{ 0x04, 0x00, "not ready" },
		{ 0x04, 0x01, "becoming ready" },
		{ 0x04, 0x02, "initializing command required" },
		{ 0x0c, 0x00, "write error" },
		{ 0x11, 0x00, "unrecovered read error" },
		{ 0x20, 0x00, "invalid command operation code" },
		{ 0x21, 0x00, "LBA out of range" },
		{ 0x24, 0x00, "invalid field in CDB" },
		{ 0x25, 0x00, "logical unit not supported" },
		{ 0x26, 0x00, "invalid field in parameter list" },
		{ 0x27, 0x00, "write protected" },
		{ 0x28, 0x00, "medium may have changed" },
		{ 0x29, 0x00, "power on or reset" },
		{ 0x2a, 0x09, "capacity data has changed" },
		{ 0x3a, 0x00, "medium not present" },
		{ 0x3f, 0x0e, "reported LUNs data has changed" },
		{ 0x44, 0x00, "internal target failure" },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].asc == asc && t[i].ascq == ascq)
			return t[i].what;
	return 0;
}

static int key_error(const struct scsi_sense *k)
{
	switch (k->key) {
	case SCSI_KEY_DATA_PROTECT: return BLK_ERR_RO;
	case SCSI_KEY_ILLEGAL_REQUEST:
		return k->asc == 0x21 ? BLK_ERR_RANGE
		     : k->asc == 0x20 ? BLK_ERR_UNSUPP : BLK_ERR_IO;
	default: return BLK_ERR_IO;
	}
}

static int sense_error(const struct scsi_result *r, char *why, size_t n)
{
	struct scsi_sense k;
	if (scsi_sense_parse(r->sense, r->sense_len, &k)) {
		fmt_snprintf(why, n, "check condition, %u bytes of sense data "
			     "in no known format", r->sense_len);
		return BLK_ERR_IO;
	}
	if (k.key == SCSI_KEY_RECOVERED)
		return 0;	/* done, with an error the target recovered */
	const char *what = asc_name(k.asc, k.ascq);
	fmt_snprintf(why, n, "%s%s%s (sense key %x, ASC/ASCQ %02x/%02x)",
		     key_name(k.key), what ? ": " : "", what ? what : "",
		     k.key, k.asc, k.ascq);
	return key_error(&k);
}

int scsi_result_error(const struct scsi_result *r, char *why, size_t n)
{
	why[0] = 0;
	if (r->host != SCSI_HOST_OK) {
		fmt_snprintf(why, n, "%s", r->host_why ? r->host_why
				: "the HBA could not deliver the command");
		return BLK_ERR_IO;
	}
	switch (r->status) {
	case SCSI_GOOD: return 0;
	case SCSI_CHECK_CONDITION: return sense_error(r, why, n);
	case SCSI_BUSY: fmt_snprintf(why, n, "target busy"); break;
	case SCSI_TASK_SET_FULL: fmt_snprintf(why, n, "task set full"); break;
	case SCSI_RESERVATION_CONFLICT:
		fmt_snprintf(why, n, "reservation conflict");
		break;
	default:
		fmt_snprintf(why, n, "SCSI status 0x%02x", r->status);
		break;
	}
	return BLK_ERR_IO;
}

int scsi_result_retry(const struct scsi_result *r)
{
	struct scsi_sense k;
	if (r->host == SCSI_HOST_RETRY)
		return 1;
	if (r->host != SCSI_HOST_OK)
		return 0;
	if (r->status == SCSI_BUSY || r->status == SCSI_TASK_SET_FULL)
		return 1;
	return r->status == SCSI_CHECK_CONDITION &&
	       !scsi_sense_parse(r->sense, r->sense_len, &k) &&
	       k.key == SCSI_KEY_UNIT_ATTENTION;
}

/* --- commands ------------------------------------------------------------- */

unsigned scsi_cdb_rw(uint8_t *cdb, int write, uint64_t lba, uint32_t count)
{
	memset(cdb, 0, SCSI_CDB_MAX);
	if (lba + count <= 1ull << 32 && count <= 0xffff) {
		/* SBC-3 §5.11 / §5.32: READ(10), WRITE(10) */
		cdb[0] = write ? OP_WRITE10 : OP_READ10;
		put_be(cdb + 2, lba, 4);
		put_be(cdb + 7, count, 2);
		return 10;
	}
	/* §5.13 / §5.34: READ(16), WRITE(16) */
	cdb[0] = write ? OP_WRITE16 : OP_READ16;
	put_be(cdb + 2, lba, 8);
	put_be(cdb + 10, count, 4);
	return 16;
}

unsigned scsi_cdb_request_sense(uint8_t *cdb, uint8_t alloc)
{
	memset(cdb, 0, SCSI_CDB_MAX);
	cdb[0] = OP_REQUEST_SENSE;
	cdb[4] = alloc;
	return 6;
}

unsigned scsi_cdb_sync(uint8_t *cdb)
{
	/* SBC-3 §5.24: LBA 0 and 0 blocks: the whole medium */
	memset(cdb, 0, SCSI_CDB_MAX);
	cdb[0] = OP_SYNC_CACHE10;
	return 10;
}

unsigned scsi_cdb_unmap(uint8_t *cdb, uint8_t *param, uint64_t lba,
			uint32_t count)
{
	memset(cdb, 0, SCSI_CDB_MAX);
	cdb[0] = OP_UNMAP;
	put_be(cdb + 7, SCSI_UNMAP_PARAM, 2);
	/* §5.28.2: data length, descriptor data length, then {LBA, count} */
	memset(param, 0, SCSI_UNMAP_PARAM);
	put_be(param, SCSI_UNMAP_PARAM - 2, 2);
	put_be(param + 2, 16, 2);
	put_be(param + 8, lba, 8);
	put_be(param + 16, count, 4);
	return 10;
}

/* Runs cdb reading up to len bytes into x->buf; the bytes that came (or
 * -1, with the HBA's failure in *err), and the result. */
static int64_t get(struct scsi_exec *x, const uint8_t *cdb, unsigned clen,
		   uint32_t len, struct scsi_result *r, int *err)
{
	memset(x->buf, 0, len);
	*err = x->run(x->ctx, cdb, clen, len ? x->buf : 0, len, 0, r);
	if (*err)
		return -1;
	return r->resid <= len ? (int64_t)(len - r->resid) : 0;
}

/* Runs a command with no data, again while the target asks for that
 * (a unit attention, BUSY), bounded. */
static int run_retried(struct scsi_exec *x, const uint8_t *cdb, unsigned clen,
		       uint32_t len, struct scsi_result *r, int64_t *got)
{
	int err = 0;
	for (int i = 0; i < 4; i++) {
		*got = get(x, cdb, clen, len, r, &err);
		if (err || !scsi_result_retry(r))
			break;
	}
	return err;
}

/* --- bring-up ------------------------------------------------------------- */

static int failed(struct scsi_disk *d, int err, const char *fmt, const char *s)
{
	fmt_snprintf(d->why, sizeof(d->why), fmt, s);
	return err;
}

/* The words and error of a command that did not succeed. */
static int refused(struct scsi_disk *d, const char *what,
		   const struct scsi_result *r)
{
	char words[96];
	int err = scsi_result_error(r, words, sizeof(words));
	fmt_snprintf(d->why, sizeof(d->why), "%s: %s", what, words);
	return err ? err : BLK_ERR_IO;
}

static void copy_ascii(char *out, const uint8_t *in, unsigned n)
{
	blk_ident_string(out, in, n, 0);
}

static int inquiry(struct scsi_exec *x, struct scsi_disk *d)
{
	uint8_t cdb[6] = { OP_INQUIRY, 0, 0, 0, INQUIRY_LEN, 0 };
	struct scsi_result r;
	int64_t got;
	int err = run_retried(x, cdb, 6, INQUIRY_LEN, &r, &got);
	if (err)
		return failed(d, err, "INQUIRY: %s", x->why);
	if (scsi_result_error(&r, d->why, sizeof(d->why)))
		return refused(d, "INQUIRY", &r);
	const uint8_t *b = x->buf;
	if (got < 1)
		return failed(d, BLK_ERR_DEVICE, "%s",
			      "INQUIRY returned no data");
	/* SPC-4 §6.6.2: qualifier 0 (connected), type 0 (direct access)
	 * or 5 (CD/DVD) */
	if (b[0] != SCSI_TYPE_DISK && b[0] != SCSI_TYPE_CD)
		return SCSI_NOT_DISK;
	d->type = b[0];
	if (got >= 16)
		copy_ascii(d->vendor, b + 8, 8);
	if (got >= 32)
		copy_ascii(d->product, b + 16, 16);
	return 0;
}

/* SPC-4 §5.14: a unit attention is reported once and cleared; "becoming
 * ready" is waited for; "medium not present" (ASC 3A) in a CD/DVD unit
 * is an empty drive; anything else means the unit cannot be used. */
static int ready(struct scsi_exec *x, struct scsi_disk *d)
{
	uint8_t cdb[6] = { OP_TEST_UNIT_READY };
	struct scsi_result r;
	struct scsi_sense k;
	for (int i = 0; i < READY_TRIES; i++) {
		int err;
		get(x, cdb, 6, 0, &r, &err);
		if (err)
			return failed(d, err, "TEST UNIT READY: %s", x->why);
		if (r.host == SCSI_HOST_OK && r.status == SCSI_GOOD)
			return 0;
		if (scsi_result_retry(&r))
			continue;
		if (r.status == SCSI_CHECK_CONDITION &&
		    !scsi_sense_parse(r.sense, r.sense_len, &k) &&
		    k.key == SCSI_KEY_NOT_READY && k.asc == 0x04 &&
		    k.ascq == 0x01) {
			idle_sleep_until(time_us() + READY_WAIT_US);
			continue;
		}
		if (d->type == SCSI_TYPE_CD && r.status == SCSI_CHECK_CONDITION &&
		    !scsi_sense_parse(r.sense, r.sense_len, &k) &&
		    k.key == SCSI_KEY_NOT_READY && k.asc == 0x3a)
			return SCSI_NO_MEDIUM;
		return refused(d, "TEST UNIT READY", &r);
	}
	return failed(d, BLK_ERR_TIMEOUT, "%s", "not ready after 50 tries");
}

static int capacity16(struct scsi_exec *x, struct scsi_disk *d, int *unsupp)
{
	uint8_t cdb[16] = { OP_SERVICE_IN16, SA_READ_CAPACITY16 };
	struct scsi_result r;
	struct scsi_sense k;
	int64_t got;
	put_be(cdb + 10, 32, 4);
	int err = run_retried(x, cdb, 16, 32, &r, &got);
	if (err)
		return failed(d, err, "READ CAPACITY(16): %s", x->why);
	*unsupp = r.host == SCSI_HOST_OK && r.status == SCSI_CHECK_CONDITION &&
		  !scsi_sense_parse(r.sense, r.sense_len, &k) &&
		  k.key == SCSI_KEY_ILLEGAL_REQUEST;
	if (*unsupp)
		return 0;
	if (scsi_result_error(&r, d->why, sizeof(d->why)))
		return refused(d, "READ CAPACITY(16)", &r);
	if (got < 12)
		return failed(d, BLK_ERR_DEVICE, "%s",
			      "READ CAPACITY(16) returned too little");
	const uint8_t *b = x->buf;
	uint64_t last = be64(b);	/* SBC-3 §5.16.2 */
	d->blocks = last == UINT64_MAX ? last : last + 1;
	d->block_size = be32(b + 8);
	return 0;
}

static int capacity10(struct scsi_exec *x, struct scsi_disk *d)
{
	uint8_t cdb[10] = { OP_READ_CAPACITY10 };
	struct scsi_result r;
	int64_t got;
	int err = run_retried(x, cdb, 10, 8, &r, &got);
	if (err)
		return failed(d, err, "READ CAPACITY(10): %s", x->why);
	if (scsi_result_error(&r, d->why, sizeof(d->why)))
		return refused(d, "READ CAPACITY(10)", &r);
	if (got < 8)
		return failed(d, BLK_ERR_DEVICE, "%s",
			      "READ CAPACITY(10) returned too little");
	const uint8_t *b = x->buf;
	/* SBC-3 §5.15.2: all ones means "ask READ CAPACITY(16)" */
	if (be32(b) == 0xffffffffu)
		return failed(d, BLK_ERR_UNSUPP, "%s", "more than 2^32 blocks, "
			      "but READ CAPACITY(16) is refused");
	d->blocks = (uint64_t)be32(b) + 1;
	d->block_size = be32(b + 4);
	return 0;
}

/* One VPD page into x->buf; its length (bounded by the buffer), or 0
 * when the unit does not have it. */
static uint32_t vpd(struct scsi_exec *x, uint8_t page, uint32_t len)
{
	uint8_t cdb[6] = { OP_INQUIRY, 1, page, (uint8_t)(len >> 8),
			   (uint8_t)len, 0 };
	struct scsi_result r;
	int64_t got;
	const uint8_t *b = x->buf;
	int err = run_retried(x, cdb, 6, len, &r, &got);
	if (err || r.host != SCSI_HOST_OK || r.status != SCSI_GOOD || got < 4 ||
	    b[1] != page)
		return 0;
	uint32_t n = 4u + (uint32_t)(b[2] << 8 | b[3]);	/* SPC-4 §7.8.1 */
	return n < (uint32_t)got ? n : (uint32_t)got;
}

static int has_page(const uint8_t *pages, uint32_t n, uint8_t page)
{
	for (uint32_t i = 4; i < n; i++)
		if (pages[i] == page)
			return 1;
	return 0;
}

/* Serial, Block Limits and provisioning, where the unit has them. */
static void vpd_pages(struct scsi_exec *x, struct scsi_disk *d)
{
	uint8_t pages[64];
	const uint8_t *b = x->buf;
	uint32_t np = vpd(x, VPD_PAGES, sizeof(pages)), n;
	memcpy(pages, b, np);
	if (has_page(pages, np, VPD_SERIAL) && (n = vpd(x, VPD_SERIAL, 40)) > 4)
		copy_ascii(d->serial, b + 4, n - 4 < 36 ? n - 4 : 36);
	int lbpu = 0;
	if (has_page(pages, np, VPD_PROVISIONING) &&
	    vpd(x, VPD_PROVISIONING, 8) >= 6)
		lbpu = b[5] >> 7;	/* SBC-3 §6.6.5: UNMAP supported */
	if (!has_page(pages, np, VPD_LIMITS) || vpd(x, VPD_LIMITS, 64) < 28)
		return;
	/* SBC-3 §6.6.4: maximum transfer length (8), maximum unmap LBA
	 * count (20), maximum unmap block descriptor count (24) */
	d->max_blocks = be32(b + 8);
	if (lbpu && be32(b + 20) && be32(b + 24))
		d->max_unmap = be32(b + 20);
}

/* MODE SENSE(6) of the caching page: write protect from the header's
 * device-specific parameter (SBC-3 §6.5.1), WCE from the page. */
static void mode_sense(struct scsi_exec *x, struct scsi_disk *d)
{
	uint8_t cdb[6] = { OP_MODE_SENSE6, 0, PAGE_CACHING, 0, 64, 0 };
	struct scsi_result r;
	int64_t got;
	const uint8_t *b = x->buf;
	int err = run_retried(x, cdb, 6, 64, &r, &got);
	if (err || r.host != SCSI_HOST_OK || r.status != SCSI_GOOD || got < 4)
		return;
	d->read_only = b[2] >> 7;
	uint32_t page = 4u + b[3];
	if (page + 3 <= (uint64_t)got && (b[page] & 0x3f) == PAGE_CACHING &&
	    b[page + 1] >= 1) {
		d->write_cache = (b[page + 2] >> 2) & 1;
		d->cache_known = 1;
	}
}

int scsi_disk_probe(struct scsi_exec *x, struct scsi_disk *d)
{
	memset(d, 0, sizeof(*d));
	int err = inquiry(x, d);
	if (!err)
		err = ready(x, d);
	/* MMC-6 §6.23: a CD/DVD unit has READ CAPACITY(10) only */
	int unsupp = d->type == SCSI_TYPE_CD;
	if (!err && !unsupp)
		err = capacity16(x, d, &unsupp);
	if (!err && unsupp)
		err = capacity10(x, d);
	if (err)
		return err;
	if (d->block_size != 512 && d->block_size != 1024 &&
	    d->block_size != 2048 && d->block_size != 4096) {
		fmt_snprintf(d->why, sizeof(d->why), "logical blocks of %u "
			     "bytes (only 512, 1024, 2048 and 4096 are "
			     "addressed)", d->block_size);
		return BLK_ERR_DEVICE;
	}
	if (d->type == SCSI_TYPE_CD) {	/* MMC-6: read-only here */
		d->read_only = 1;
		return 0;
	}
	vpd_pages(x, d);
	mode_sense(x, d);
	return 0;
}

/* SAM-5 §4.7.5: single-level LUNs in peripheral (00b, bus 0) or flat
 * (01b) addressing; -1 for anything else. */
static int lun_number(const uint8_t *e)
{
	for (int i = 2; i < 8; i++)
		if (e[i])
			return -1;
	switch (e[0] >> 6) {
	case 0: return e[0] ? -1 : e[1];
	case 1: return (e[0] & 0x3f) << 8 | e[1];
	default: return -1;
	}
}

int scsi_report_luns(struct scsi_exec *x, uint16_t *luns, int max)
{
	uint32_t len = 8 + 8 * SCSI_LUNS_MAX;
	uint8_t cdb[12] = { OP_REPORT_LUNS };
	struct scsi_result r;
	int64_t got;
	put_be(cdb + 6, len, 4);
	int err = run_retried(x, cdb, 12, len, &r, &got);
	if (err)
		return -1;
	if (r.host == SCSI_HOST_NO_TARGET)
		return SCSI_NO_TARGET;
	if (r.host != SCSI_HOST_OK || r.status != SCSI_GOOD || got < 8)
		return -1;
	const uint8_t *b = x->buf;
	/* §6.33.2: the list's length, then 8 bytes per LUN; what came */
	uint64_t listed = be32(b), have = (uint64_t)got - 8;
	uint64_t entries = (listed < have ? listed : have) / 8;
	int n = 0;
	for (uint64_t i = 0; i < entries && n < max; i++) {
		int lun = lun_number(b + 8 + 8 * i);
		if (lun >= 0)
			luns[n++] = (uint16_t)lun;
	}
	return n;
}
