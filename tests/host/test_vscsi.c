/* drivers/virtio/virtio_scsi.c and drivers/scsi/ against a virtio-scsi
 * HBA played by tests/host/emu_vscsi.c: a well-behaved one first (targets,
 * LUNs, reads, writes, flush, UNMAP, a unit attention taken in stride),
 * then the SCSI errors a disk gives (medium error, write protect, sense
 * in either format, a short transfer), then lies: sense lengths beyond
 * the buffer, residuals beyond the data, completions for commands never
 * sent, response codes that mean nothing, nonsense INQUIRY and READ
 * CAPACITY data, a unit never ready, a REPORT LUNS list longer than it
 * is, events for buffers never posted, a device that never answers; and
 * a CD/DVD unit, read-only with 2048-byte sectors, or empty. Each
 * is a clear error, never a crash, a hang or a write outside a buffer
 * (ASan watches the driver's side). */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../drivers/blk.h"
#include "../../drivers/scsi/scsi.h"
#include "../../drivers/virtio/virtio_scsi.h"
#include "check.h"
#include "dmamem.h"
#include "emu_vscsi.h"
#include "hostcon.h"

#define WATCHDOG_S 120
#define ARENA_BYTES (32u << 20)

static void watchdog(int sig)
{
	static const char why[] = "FAIL: watchdog: the suite hung\n0 passed, "
				  "1 failed\n";
	(void)sig;
	if (write(2, why, sizeof(why) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

/* Attaches e; the new disks are blk_get(*first ...). */
static int attach(struct emu_vscsi *e, unsigned *first, const char **why)
{
	*first = blk_count();
	hostcon_clear();
	return vscsi_attach(&e->dev, why);
}

static const struct blk_broken *broken_since(unsigned before)
{
	unsigned n = blk_broken_count();
	return n > before ? blk_broken_get(n - 1) : 0;
}

/* Stops the HBA's DMA before the model's memory goes away. */
static void stop(struct blk_dev *d)
{
	if (!d->failed)
		d->ops->fail(d);
	d->failed = 1;
}

/* Attaches e (set up by the caller), which must work; its first disk
 * (0 when it has none), its index in *first. */
static struct blk_dev *up(struct emu_vscsi *e, unsigned *first)
{
	const char *why = 0;
	CHECK_INT(attach(e, first, &why), 0);
	return blk_get(*first);
}

/* Stops the n disks from first on (their HBA's DMA), then frees e. */
static void down(struct emu_vscsi *e, unsigned first, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		stop(blk_get(first + i));
	emu_vscsi_free(e);
}

/* --- a good HBA ----------------------------------------------------------- */

static void test_good(void)
{
	static struct emu_vscsi e;
	unsigned first;
	/* targets 0 and 3; LUNs 0 and 1 on each */
	emu_vscsi_init(&e, 1u << 0 | 1u << 3, 2, 512);
	e.unit_attention = 1;	/* after the reset: once, at TEST UNIT READY */
	struct blk_dev *a = up(&e, &first), *d = blk_get(first + 3);
	CHECK_INT(blk_count(), first + 4);
	CHECK(a && d);
	if (!a || !d)
		return;
	CHECK_STR(a->name, "vsa");
	CHECK_STR(d->name, "vsd");
	CHECK_STR(a->model, "EMU VSCSI DISK (virtio-scsi 0:0)");
	CHECK_STR(d->model, "EMU VSCSI DISK (virtio-scsi 3:1)");
	CHECK_STR(a->serial, "EMU-T0-L0");
	CHECK_STR(a->transport, "virtio-scsi");
	CHECK(a->sectors == EMU_VSCSI_BLOCKS && a->sector_size == 512);
	/* 64 slots shared by 4 LUNs; 8 MiB per request; UNMAP offered */
	CHECK_INT(a->queue_depth, 64 / 3 / 4);
	CHECK_INT(a->max_sectors, 16384);
	CHECK(a->can_discard && a->can_flush && !a->read_only);
	CHECK_STR(a->cache, "write-back");
	size_t len = 300 * 512;
	uint8_t *w = malloc(len + 1), *r = malloc(len + 1);
	fill(w, len, 1);
	CHECK_INT(blk_write(d, 100, 300, w), 0);
	CHECK(!memcmp(e.data[1] + 100 * 512, w, len));
	r[len] = 0x5a;
	CHECK_INT(blk_io(d, BLK_READ, 100, 300, r), 0);
	CHECK(!memcmp(r, w, len) && r[len] == 0x5a);
	/* a unit attention on a read: sent again, and it works */
	e.unit_attention = 1;
	unsigned before = e.reads;
	CHECK_INT(blk_io(d, BLK_READ, 100, 8, r), 0);
	CHECK_INT(e.reads, before + 1);
	CHECK(!memcmp(r, w, 8 * 512));
	CHECK_INT(blk_flush(a), 0);
	CHECK_INT(e.syncs, 1);
	CHECK_INT(blk_io(a, BLK_DISCARD, 0, 64, 0), 0);
	CHECK_INT(e.unmaps, 1);
	CHECK_INT(blk_io(a, BLK_READ, EMU_VSCSI_BLOCKS - 1, 2, r),
		  BLK_ERR_RANGE);
	/* byte access across many requests of two LUNs */
	CHECK_INT(blk_read_bytes(a, 7, r, 5000), 0);
	CHECK_INT(e.bad, 0);
	free(w);
	free(r);
	down(&e, first, 4);
}

/* --- what disks say ------------------------------------------------------- */

static void test_sense(void)
{
	static struct emu_vscsi e;
	unsigned first;
	uint8_t buf[8 * 512];
	emu_vscsi_init(&e, 1, 1, 512);
	struct blk_dev *d = up(&e, &first);
	CHECK(d != 0);
	if (!d)
		return;
	e.medium_error = 5;
	CHECK_INT(blk_io(d, BLK_READ, 0, 8, buf), BLK_ERR_IO);
	CHECK(strstr(blk_last_error(d), " at LBA 0 (+8): I/O error reported "
		     "by the device: medium error: unrecovered read error "
		     "(sense key 3, ASC/ASCQ 11/00)"));
	CHECK(!d->failed);
	e.descriptor_sense = 1;		/* the same, in the other format */
	CHECK_INT(blk_io(d, BLK_READ, 4, 2, buf), BLK_ERR_IO);
	CHECK(strstr(blk_last_error(d), "(sense key 3, ASC/ASCQ 11/00)"));
	e.medium_error = -1;
	CHECK_INT(blk_io(d, BLK_READ, 4, 2, buf), 0);
	e.write_protect = 1;
	CHECK_INT(blk_write(d, 0, 1, buf), BLK_ERR_RO);
	CHECK(strstr(blk_last_error(d), "data protect: write protected "
		     "(sense key 7, ASC/ASCQ 27/00)"));
	e.write_protect = 0;
	e.descriptor_sense = 0;
	/* a unit attention that never ends: given up after the retries */
	e.unit_attention = 100;
	CHECK_INT(blk_io(d, BLK_READ, 0, 1, buf), BLK_ERR_IO);
	CHECK(strstr(blk_last_error(d), "unit attention: power on or reset"));
	e.unit_attention = 0;
	/* GOOD, but part of the data never came */
	e.resid = 512;
	CHECK_INT(blk_io(d, BLK_READ, 0, 8, buf), BLK_ERR_IO);
	CHECK(strstr(blk_last_error(d), "short transfer: 512 of 4096 bytes"));
	e.resid = 0;
	CHECK_INT(blk_io(d, BLK_READ, 0, 8, buf), 0);
	CHECK(!d->failed);
	down(&e, first, 1);
}

/* --- lies that stop the HBA ----------------------------------------------- */

/* A device whose next answer is a lie of kind `set`: the request fails,
 * the device is stopped (reset) with `words` in the report, and nothing
 * was written past the caller's buffer. */
static void lie(void (*set)(struct emu_vscsi *), const char *words)
{
	static struct emu_vscsi e;
	unsigned first;
	uint8_t buf[8 * 512 + 16];
	emu_vscsi_init(&e, 1, 1, 512);
	struct blk_dev *d = up(&e, &first);
	CHECK(d != 0);
	if (!d)
		return;
	memset(buf, 0xee, sizeof(buf));
	set(&e);
	CHECK_INT(blk_io(d, BLK_READ, 0, 8, buf), BLK_ERR_DEVICE);
	CHECK(d->failed);
	CHECK(strstr(blk_last_error(d), words) != 0);
	CHECK_INT(e.status, 0);		/* reset: no more DMA */
	for (unsigned i = 8 * 512; i < sizeof(buf); i++)
		CHECK(buf[i] == 0xee);
	/* and it stays stopped, at once */
	CHECK_INT(blk_io(d, BLK_READ, 0, 1, buf), BLK_ERR_DEVICE);
	emu_vscsi_free(&e);
}

static void set_sense_len(struct emu_vscsi *e)
{
	e->medium_error = 0;
	e->sense_len = 4000;
}

static void set_resid(struct emu_vscsi *e)
{
	e->resid = 4097;
}

static void set_bad_id(struct emu_vscsi *e)
{
	e->bad_id = 1;
}

static void set_response(struct emu_vscsi *e)
{
	e->response = 0x42;
}

static void test_lies(void)
{
	lie(set_sense_len, "sense length 4000 beyond the 96-byte sense "
			   "buffer (device stopped)");
	lie(set_resid, "residual 4097 beyond the 4096-byte data buffer");
	lie(set_bad_id, "a used buffer that was not posted");
	lie(set_response, "response code 0x42 is not a virtio-scsi response");
}

/* --- nonsense at bring-up ------------------------------------------------- */

/* Attaches a one-LUN device that `set` spoils; the unit is not
 * registered, and (when words) listed as broken with them. */
static void unit(void (*set)(struct emu_vscsi *), const char *words)
{
	static struct emu_vscsi e;
	const char *why = 0;
	unsigned first, nb = blk_broken_count();
	emu_vscsi_init(&e, 1, 1, 512);
	set(&e);
	CHECK_INT(attach(&e, &first, &why), 0);
	CHECK_INT(blk_count(), first);
	CHECK_INT(e.status, 0);		/* no disks: the HBA is reset */
	const struct blk_broken *b = broken_since(nb);
	if (!words) {
		CHECK(b == 0);
	} else {
		CHECK(b != 0);
		CHECK(b && strstr(b->why, words) != 0);
		CHECK(strstr(hostcon_log, words) != 0);
	}
	emu_vscsi_free(&e);
}

static void set_qualifier(struct emu_vscsi *e) { e->inq_type = 0x7f; }
static void set_inq_empty(struct emu_vscsi *e) { e->inq_empty = 1; }
static void set_block_size(struct emu_vscsi *e) { e->block_size = 1000; }
static void set_never_ready(struct emu_vscsi *e) { e->never_ready = 1; }
static void set_all_ones(struct emu_vscsi *e) { e->last_lba = UINT64_MAX; }

static void set_rc10_only(struct emu_vscsi *e)
{
	e->rc16_refused = 1;
	e->last_lba = 1ull << 33;
}

static void set_empty_cd(struct emu_vscsi *e)
{
	e->inq_type = 5;
	e->never_ready = 1;
}

static void test_bringup(void)
{
	unit(set_empty_cd, 0);		/* no disc: quietly skipped */
	unit(set_qualifier, 0);
	unit(set_inq_empty, "INQUIRY returned no data");
	unit(set_block_size, "logical blocks of 1000 bytes");
	unit(set_never_ready, "TEST UNIT READY: not ready: medium not "
			      "present (sense key 2, ASC/ASCQ 3a/00)");
	unit(set_all_ones, "capacity of 18446744073709551615 sectors is not "
			   "usable");
	unit(set_rc10_only, "more than 2^32 blocks, but READ CAPACITY(16) "
			    "is refused");
}

/* A CD/DVD unit (MMC-6) with a disc: a read-only device of 2048-byte
 * sectors, sized by READ CAPACITY(10) alone, no SBC pages asked for;
 * reads work, writes and flushes never reach it. */
static void test_cdrom(void)
{
	static struct emu_vscsi e;
	unsigned first;
	emu_vscsi_init(&e, 1, 1, 2048);
	e.inq_type = 5;
	e.rc16_refused = 1;	/* as MMC units do */
	e.unit_attention = 1;	/* "medium may have changed", once */
	struct blk_dev *d = up(&e, &first);
	CHECK_INT(blk_count(), first + 1);
	CHECK(d != 0);
	if (!d)
		return;
	CHECK_INT(d->sector_size, 2048);
	CHECK_INT(d->sectors, EMU_VSCSI_BLOCKS);
	CHECK(d->read_only && !d->can_flush && !d->can_discard);
	uint8_t *r = malloc(3 * 2048 + 1), *w = malloc(2048);
	fill(e.data[0] + 10 * 2048, 3 * 2048, 5);
	r[3 * 2048] = 0x5a;
	CHECK_INT(blk_io(d, BLK_READ, 10, 3, r), 0);
	CHECK(!memcmp(r, e.data[0] + 10 * 2048, 3 * 2048) &&
	      r[3 * 2048] == 0x5a);
	/* bytes across sector edges, as the seed reader asks */
	CHECK_INT(blk_read_bytes(d, 32768 + 100, r, 5000), 0);
	CHECK(!memcmp(r, e.data[0] + 32768 + 100, 5000));
	CHECK_INT(blk_write(d, 1, 1, w), BLK_ERR_RO);
	CHECK_INT(blk_flush(d), BLK_ERR_RO);
	CHECK_INT(e.writes, 0);
	CHECK_INT(e.syncs, 0);
	free(r);
	free(w);
	down(&e, first, 1);
}

/* READ CAPACITY(16) refused, (10) fine: used; a REPORT LUNS list that
 * claims more than came: only what came is read. */
static void test_fallbacks(void)
{
	static struct emu_vscsi e;
	unsigned first;
	emu_vscsi_init(&e, 1u << 7, 3, 4096);
	e.rc16_refused = 1;
	e.report_luns_len = 0x7ffffff8;
	up(&e, &first);
	CHECK_INT(blk_count(), first + 3);
	struct blk_dev *d = blk_get(first + 2);
	CHECK(d && d->sector_size == 4096 && d->sectors == EMU_VSCSI_BLOCKS);
	CHECK(d && strstr(d->model, "(virtio-scsi 7:2)"));
	uint8_t *buf = malloc(3 * 4096);
	fill(buf, 3 * 4096, 9);
	CHECK(d && blk_write(d, 5, 3, buf) == 0);
	CHECK(!memcmp(e.data[2] + 5 * 4096, buf, 3 * 4096));
	CHECK_INT(e.bad, 0);
	free(buf);
	down(&e, first, 3);
}

/* --- events, and silence -------------------------------------------------- */

static void test_events(void)
{
	static struct emu_vscsi e;
	unsigned first;
	uint8_t buf[512];
	emu_vscsi_init(&e, 1, 1, 512);
	struct blk_dev *d = up(&e, &first);
	CHECK(d != 0);
	if (!d)
		return;
	/* a missed-events notice: taken, its buffer posted again */
	for (int i = 0; i < 20; i++) {
		CHECK_INT(emu_vscsi_event(&e, 0x80000000u, 0), 0);
		CHECK_INT(blk_io(d, BLK_READ, 0, 1, buf), 0);
	}
	/* an event in a buffer never posted: the device broke the rules */
	CHECK_INT(emu_vscsi_event(&e, 1, 1), 0);
	CHECK_INT(blk_io(d, BLK_READ, 0, 1, buf), BLK_ERR_DEVICE);
	CHECK(strstr(blk_last_error(d), "an event buffer that was not posted"));
	emu_vscsi_free(&e);
}

static void test_silent(void)
{
	static struct emu_vscsi e;
	const char *why = 0;
	unsigned first;
	emu_vscsi_init(&e, 1, 1, 512);
	e.silent = 1;
	int err = attach(&e, &first, &why);
	CHECK_INT(err, VIRTIO_ERR_DEVICE);
	CHECK(why && strstr(why, "no answer within 5 s"));
	CHECK_INT(blk_count(), first);
	CHECK_INT(e.status, 0);
	emu_vscsi_free(&e);

	/* a configuration umbra cannot follow */
	emu_vscsi_init(&e, 1, 1, 512);
	e.config[24] = 8;	/* cdb_size 8 */
	CHECK_INT(attach(&e, &first, &why), VIRTIO_ERR_DEVICE);
	CHECK(why && strstr(why, "cdb_size outside 16..64"));
	CHECK_INT(e.status, 0);
	emu_vscsi_free(&e);
}

/* --- the sense decoder alone ---------------------------------------------- */

static void test_decoder(void)
{
	struct scsi_sense k;
	struct scsi_result r = { .host = SCSI_HOST_OK,
				 .status = SCSI_CHECK_CONDITION };
	char why[96];
	uint8_t fixed[18] = { 0x70, 0, 3, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11 };
	CHECK_INT(scsi_sense_parse(fixed, 18, &k), 0);
	CHECK(k.key == 3 && k.asc == 0x11 && k.ascq == 0);
	CHECK_INT(scsi_sense_parse(fixed, 3, &k), 0);	/* key only */
	CHECK(k.key == 3 && k.asc == 0);
	CHECK_INT(scsi_sense_parse(fixed, 1, &k), -1);
	uint8_t junk[8] = { 0x12, 0x34 };
	CHECK_INT(scsi_sense_parse(junk, 8, &k), -1);
	memcpy(r.sense, junk, 8);
	r.sense_len = 8;
	CHECK_INT(scsi_result_error(&r, why, sizeof(why)), BLK_ERR_IO);
	CHECK(strstr(why, "8 bytes of sense data in no known format"));
	r.sense_len = 0;
	CHECK_INT(scsi_result_error(&r, why, sizeof(why)), BLK_ERR_IO);
	uint8_t rec[18] = { 0x70, 0, 1 };	/* RECOVERED ERROR: success */
	memcpy(r.sense, rec, 18);
	r.sense_len = 18;
	CHECK_INT(scsi_result_error(&r, why, sizeof(why)), 0);
	uint8_t range[8] = { 0x72, 5, 0x21, 0 };
	memcpy(r.sense, range, 8);
	r.sense_len = 8;
	CHECK_INT(scsi_result_error(&r, why, sizeof(why)), BLK_ERR_RANGE);
	CHECK_STR(why, "illegal request: LBA out of range (sense key 5, "
		       "ASC/ASCQ 21/00)");
	r.status = SCSI_RESERVATION_CONFLICT;
	CHECK_INT(scsi_result_error(&r, why, sizeof(why)), BLK_ERR_IO);
	CHECK_STR(why, "reservation conflict");
	r.host = SCSI_HOST_FAILED;
	r.host_why = "transport failure";
	CHECK_INT(scsi_result_error(&r, why, sizeof(why)), BLK_ERR_IO);
	CHECK_STR(why, "transport failure");
	uint8_t cdb[SCSI_CDB_MAX];
	CHECK_INT(scsi_cdb_rw(cdb, 0, 0xfffffff0u, 16), 10);
	CHECK_INT(scsi_cdb_rw(cdb, 0, 0xfffffff0u, 17), 16);
	CHECK_INT(scsi_cdb_rw(cdb, 1, 0, 0x10000), 16);
	CHECK(cdb[0] == 0x8a && cdb[11] == 1 && cdb[12] == 0);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	setvbuf(stdout, 0, _IOLBF, 0);
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
	dmamem_init(ARENA_BYTES);
	RUN(test_decoder);
	RUN(test_good);
	RUN(test_sense);
	RUN(test_lies);
	RUN(test_bringup);
	RUN(test_cdrom);
	RUN(test_fallbacks);
	RUN(test_events);
	RUN(test_silent);
	return check_done();
}
