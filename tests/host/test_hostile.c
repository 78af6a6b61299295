/* The drivers against hostile devices (issue 12 §4): each value a device
 * supplies is checked before use. The devices are models in tests/host
 * (emu_*.c) on fake PCI functions (fakepci.c), served by threads that
 * watch BAR memory the way hardware sees a driver's writes.
 *
 *   virtio-pci   a doorbell outside the notify region refuses the queue
 *                and writes nothing; a reset that never completes (a
 *                transport whose status sticks) is reported, in bounded
 *                time
 *   NVMe         CAP.MQES 0 and a CAP.DSTRD beyond BAR0 are refused
 *                before anything is written; a fatal controller status
 *                fails every namespace at once, not after the timeout
 *   AHCI         without CAP.S64A every address the HBA is given is
 *                below 4 GiB, even for buffers above it; with S64A a
 *                high buffer is used directly
 *   ATAPI        a CD-ROM on AHCI (PACKET commands) is read-only with
 *                2048-byte sectors; a failed read says why from REQUEST
 *                SENSE, or from the error register when that fails too;
 *                an empty drive is left alone, 1000-byte blocks and a
 *                drive that never answers refused
 *   capacity     sectors times sector size that would overflow (virtio
 *                2^63 sectors, ATA LBA48 all ones, an NVMe namespace)
 *                is refused with a message and never registered
 *   IDE PRDs     the bus-master tables keep the 64 KiB rule and 4 GiB
 *                bound, and stay inside their page
 *
 * Every wait is bounded: the drivers' by their deadlines, the test's by
 * its own, and the whole suite by a watchdog. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../drivers/ata/ahci.h"
#include "../../drivers/ata/ata.h"
#include "../../drivers/ata/ide_int.h"
#include "../../drivers/blk.h"
#include "../../drivers/nvme/nvme.h"
#include "../../drivers/virtio/virtio_blk.h"
#include "../../drivers/virtio/virtio_pci.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "check.h"
#include "dmamem.h"
#include "emu_ahci.h"
#include "emu_nvme.h"
#include "emu_vblk.h"
#include "fakepci.h"
#include "hostcon.h"

#define WATCHDOG_S 240
#define LOW4G (1ull << 32)
#define ARENA_BYTES (32u << 20)
#define NOTIFY_LEN 0x1000u	/* the notify region: the BAR's last page */
#define C_STATUS 0x14		/* virtio common config: device_status */
#define C_QENABLE 0x1c
#define C_QDESC 0x20
#define NVME_CC 0x14
#define NVME_CSTS 0x1c

/* --- the frame ------------------------------------------------------------ */

/* A hung driver or model must fail the suite, not hang it: report what
 * passed so far plus one failure, with async-signal-safe calls only. */
static void put_num(char **p, unsigned v)
{
	char d[12];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < 12);
	while (n)
		*(*p)++ = d[--n];
}

static void watchdog(int sig)
{
	static const char why[] = "FAIL: watchdog: the suite hung\n";
	char line[64], *p = line;
	(void)sig;
	if (write(2, why, sizeof(why) - 1) < 0)
		_exit(1);
	put_num(&p, (unsigned)check_pass);
	memcpy(p, " passed, ", 9);
	p += 9;
	put_num(&p, (unsigned)check_fail + 1);
	memcpy(p, " failed\n", 8);
	p += 8;
	if (write(1, line, (size_t)(p - line)) < 0)
		_exit(1);
	_exit(1);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

static const void *plain(volatile const void *p)
{
	return (const void *)(uintptr_t)p;
}

/* The last device a driver listed as broken, if one was added since
 * `before`; what lsblk prints. */
static const struct blk_broken *broken_since(unsigned before)
{
	unsigned n = blk_broken_count();
	return n == before + 1 ? blk_broken_get(before) : 0;
}

static void check_broken(unsigned before, const char *where,
			 const char *transport, const char *why)
{
	const struct blk_broken *b = broken_since(before);
	CHECK(b != 0);
	if (!b)
		return;
	CHECK_STR(b->where, where);
	CHECK_STR(b->transport, transport);
	CHECK(strstr(b->why, why) != 0);
	CHECK(strstr(hostcon_log, why) != 0);	/* said on the console */
}

/* Bytes of the notify region other than [at, at + 2) that are no longer
 * the 0xee they were filled with. */
static unsigned notify_changed(struct emu_vblk *e, uint64_t at)
{
	volatile uint8_t *n = e->bar + EMU_VBLK_NOTIFY;
	unsigned changed = 0;
	for (uint32_t k = 0; k < NOTIFY_LEN; k++)
		changed += (k < at || k >= at + 2) && n[k] != 0xee;
	return changed;
}

static void notify_fill(struct emu_vblk *e)
{
	memset((void *)(uintptr_t)(e->bar + EMU_VBLK_NOTIFY), 0xee, NOTIFY_LEN);
}

/* --- virtio-pci: the notify offset ---------------------------------------- */

/* The transport alone, no device thread: queue_enable with a doorbell at
 * qnoff * mult in a notify region that ends where the BAR does. */
static void notify_transport(uint16_t qnoff, uint32_t mult)
{
	static struct emu_vblk e;
	static uint8_t before[EMU_VBLK_BAR];
	static struct virtio_dev d;
	uint64_t at = (uint64_t)qnoff * mult;
	int inside = at + 2 <= NOTIFY_LEN;
	emu_vblk_init(&e, 3, 4096, qnoff, mult, NOTIFY_LEN);
	notify_fill(&e);
	CHECK_INT(virtio_pci_attach(&e.pci.pci, &d), 0);
	CHECK_STR(d.transport_name, "modern");
	memcpy(before, plain(e.bar), EMU_VBLK_BAR);
	int err = d.ops->queue_enable(&d, 0, 16, 0x10000, 0x11000, 0x12000);
	d.ops->notify(&d, 0);
	volatile uint8_t *common = e.bar + EMU_VBLK_COMMON;
	if (!inside) {
		CHECK_INT(err, VIRTIO_ERR_QUEUE);
		/* nothing written but queue_select, which was 0 already */
		CHECK(!memcmp(before, plain(e.bar), EMU_VBLK_BAR));
	} else {
		CHECK_INT(err, 0);
		CHECK_INT(mmio_read16(common, C_QENABLE), 1);
		CHECK_INT(mmio_read64(common, C_QDESC), 0x10000);
		/* the doorbell: queue 0 written at notify + at, nothing else */
		volatile uint8_t *n = e.bar + EMU_VBLK_NOTIFY;
		CHECK_INT(mmio_read16(n, (uint32_t)at), 0);
		CHECK_INT(notify_changed(&e, at), 0);
	}
	CHECK(fakepci_guards_intact(&e.pci));
	virtio_pci_detach(&d);
	emu_vblk_free(&e);
}

static void test_notify_transport(void)
{
	notify_transport(0x400, 4);		/* just past the region */
	notify_transport(1, NOTIFY_LEN);	/* the same by the multiplier */
	notify_transport(0x7ff, 2);		/* the region's last 2 bytes */
	notify_transport(0xffff, 0xffffffff);	/* far out; no wrap */
	notify_transport(3, 8);
}

/* The same through vblk_attach with the device running: refused with a
 * reason and nothing registered; a good one reads and writes. */
static void test_notify_attach(void)
{
	static struct emu_vblk e;
	static struct virtio_dev d;
	const char *why;
	unsigned n = blk_count();
	emu_vblk_init(&e, 4, 4096, 0x400, 4, NOTIFY_LEN);
	notify_fill(&e);
	CHECK_INT(emu_vblk_start(&e), 0);
	CHECK_INT(virtio_pci_attach(&e.pci.pci, &d), 0);
	CHECK_INT(vblk_attach(&d, &why), VIRTIO_ERR_QUEUE);
	CHECK_STR(why, "request queue: missing or unusable");
	CHECK_INT(blk_count(), n);
	CHECK_INT(e.requests, 0);
	CHECK_INT(e.bar[EMU_VBLK_COMMON + C_STATUS], 0);	/* reset */
	CHECK_INT(notify_changed(&e, NOTIFY_LEN), 0);	/* no doorbell */
	CHECK(fakepci_guards_intact(&e.pci));
	virtio_pci_detach(&d);
	emu_vblk_free(&e);

	emu_vblk_init(&e, 5, 4096, 0x3ff, 4, NOTIFY_LEN);
	notify_fill(&e);
	CHECK_INT(emu_vblk_start(&e), 0);
	CHECK_INT(virtio_pci_attach(&e.pci.pci, &d), 0);
	CHECK_INT(vblk_attach(&d, &why), 0);
	CHECK_INT(blk_count(), n + 1);
	struct blk_dev *b = blk_get(n);
	CHECK(b != 0);
	if (!b)
		return;
	CHECK_INT(b->sectors, 4096);
	CHECK_INT(e.requests, 0);	/* GET_ID waits for blk_serial */
	CHECK_STR(blk_serial(b), EMU_VBLK_SERIAL);
	CHECK_INT(e.requests, 1);
	size_t len = 96 * 512;
	uint8_t *w = malloc(len), *r = malloc(len);
	fill(w, len, 1);
	CHECK_INT(blk_write(b, 100, 96, w), 0);
	CHECK(!memcmp(e.data + 100 * 512, w, len));
	CHECK_INT(blk_io(b, BLK_READ, 100, 96, r), 0);
	CHECK(!memcmp(r, w, len));
	CHECK_INT(blk_flush(b), 0);
	/* the doorbell rang at notify + 0x3ff * 4, and only there */
	CHECK_INT(mmio_read16(e.bar + EMU_VBLK_NOTIFY, 0xffc), 0);
	CHECK_INT(notify_changed(&e, 0xffc), 0);
	CHECK_INT(e.bad, 0);
	CHECK(fakepci_guards_intact(&e.pci));
	b->ops->fail(b);	/* reset before the device goes away */
	b->failed = 1;
	free(w);
	free(r);
	virtio_pci_detach(&d);
	emu_vblk_free(&e);
}

/* --- virtio: a reset that never completes --------------------------------- */

/* A transport whose device_status does not read back 0 after a reset
 * (never, or only after `late` reads: a slow but honest device). A
 * transport of its own, because BAR memory would read back the 0 the
 * driver wrote before any model thread could answer. */
struct sticky {
	struct virtio_dev dev;
	uint8_t status;
	unsigned late, reads;
};

static struct sticky *S(struct virtio_dev *d)
{
	return (struct sticky *)d;
}

static uint64_t s_getf(struct virtio_dev *d)
{
	(void)d;
	return VIRTIO_BIT(VIRTIO_F_VERSION_1);
}

static void s_setf(struct virtio_dev *d, uint64_t f)
{
	(void)d;
	(void)f;
}

static uint8_t s_gets(struct virtio_dev *d)
{
	struct sticky *s = S(d);
	s->reads++;
	if (s->status)
		return s->status;
	return s->late && s->reads >= s->late ? 0 : VIRTIO_STATUS_ACKNOWLEDGE;
}

static void s_sets(struct virtio_dev *d, uint8_t v)
{
	S(d)->status = v;
	S(d)->reads = 0;
}

static void s_cfg(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	(void)d;
	(void)off;
	memset(buf, 0, len);
}

static uint16_t s_qmax(struct virtio_dev *d, uint16_t q, int *fixed)
{
	(void)d;
	*fixed = 0;
	return q == 0 ? 16 : 0;
}

static int s_qen(struct virtio_dev *d, uint16_t q, uint16_t size,
		 uint64_t desc, uint64_t drv, uint64_t dev)
{
	(void)d;
	(void)q;
	(void)size;
	(void)desc;
	(void)drv;
	(void)dev;
	return 0;
}

static void s_notify(struct virtio_dev *d, uint16_t q)
{
	(void)d;
	(void)q;
}

static const struct virtio_ops sticky_ops = { s_getf, s_setf, s_gets, s_sets,
					      s_cfg, s_qmax, s_qen, s_notify, 0,
					      0 };

static void test_reset_never_completes(void)
{
	static struct sticky s;
	const char *why;
	s = (struct sticky){ .dev = { .ops = &sticky_ops,
				      .transport_name = "sticky" } };
	uint64_t t0 = fakepci_now_us();
	CHECK_INT(virtio_reset(&s.dev), VIRTIO_ERR_RESET);
	uint64_t t1 = fakepci_now_us();
	CHECK(t1 - t0 < 5000000);	/* bounded: VIRTIO_RESET_US, not hung */
	CHECK(s.reads > 1);		/* it waited, polling */
	unsigned n = blk_count();
	CHECK_INT(vblk_attach(&s.dev, &why), VIRTIO_ERR_RESET);
	CHECK(why && strstr(why, "did not complete a reset") != 0);
	CHECK(fakepci_now_us() - t1 < 10000000);
	CHECK_INT(blk_count(), n);
	/* a slow reset that does complete is waited for */
	s = (struct sticky){ .dev = { .ops = &sticky_ops }, .late = 1000 };
	CHECK_INT(virtio_reset(&s.dev), 0);
	CHECK_INT(s.reads, 1000);
}

/* --- capacity ------------------------------------------------------------- */

static void test_virtio_capacity(void)
{
	static struct emu_vblk e;
	static struct virtio_dev d;
	const char *why = "";
	unsigned n = blk_count(), nb = blk_broken_count();
	emu_vblk_init(&e, 6, 1ull << 63, 0, 4, NOTIFY_LEN);
	CHECK_INT(emu_vblk_start(&e), 0);
	CHECK_INT(virtio_pci_attach(&e.pci.pci, &d), 0);
	hostcon_clear();
	CHECK_INT(vblk_attach(&d, &why), VIRTIO_ERR_DEVICE);
	CHECK(why == 0);	/* blk_register said why */
	CHECK_INT(blk_count(), n);
	const struct blk_broken *b = broken_since(nb);
	CHECK(b && !strcmp(b->transport, "virtio") &&
	      !strncmp(b->where, "vd", 2));
	CHECK(b && strstr(b->why, "capacity of 9223372036854775808 sectors"));
	CHECK(strstr(hostcon_log, "is not usable") != 0);
	CHECK_INT(e.bar[EMU_VBLK_COMMON + C_STATUS], 0);	/* stopped */
	CHECK_INT(e.requests, 0);	/* nothing asked of it */
	CHECK(fakepci_guards_intact(&e.pci));
	virtio_pci_detach(&d);
	emu_vblk_free(&e);
}

/* IDENTIFY words 100-103 are 64 bits wide; all ones would overflow every
 * byte offset. ata_parse_identity passes the count on; blk_register is
 * the bound (IDE registers through it as AHCI does). */
static void test_ata_capacity(void)
{
	uint16_t w[256];
	struct ata_identity id;
	emu_ahci_identity(w, ~0ull);
	CHECK_INT(ata_parse_identity(w, &id), 0);
	CHECK(id.sectors == ~0ull && id.lba48 && id.sector_size == 512);
	static struct blk_dev b[2];
	uint64_t sectors[2] = { id.sectors, BLK_MAX_BYTES / 512 + 1 };
	unsigned n = blk_count();
	for (int i = 0; i < 2; i++) {
		unsigned nb = blk_broken_count();
		b[i] = (struct blk_dev){ .name = "hdz", .transport = "ide",
					 .sectors = sectors[i],
					 .sector_size = id.sector_size };
		hostcon_clear();
		CHECK_INT(blk_register(&b[i]), BLK_ERR_DEVICE);
		check_broken(nb, "hdz", "ide", "is not usable");
	}
	/* 4096-byte logical sectors (words 106, 117-118): 2^61 bytes */
	w[106] = 0x4000 | 1u << 12;
	w[117] = 2048;
	for (int i = 0; i < 4; i++)
		w[100 + i] = (uint16_t)((1ull << 49) >> (16 * i));
	CHECK_INT(ata_parse_identity(w, &id), 0);
	CHECK(id.sectors == 1ull << 49 && id.sector_size == 4096);
	static struct blk_dev big;
	big = (struct blk_dev){ .name = "hdy", .transport = "ide",
				.sectors = id.sectors,
				.sector_size = id.sector_size };
	unsigned nb = blk_broken_count();
	hostcon_clear();
	CHECK_INT(blk_register(&big), BLK_ERR_DEVICE);
	check_broken(nb, "hdy", "ide", "capacity of 562949953421312 sectors");
	CHECK_INT(blk_count(), n);
}

/* The same disk behind an AHCI HBA: IDENTIFY over DMA, then refused. */
static void test_ahci_capacity(void)
{
	static struct emu_ahci e;
	unsigned n = blk_count(), nb = blk_broken_count();
	emu_ahci_init(&e, 12, 1, ~0ull, 0);
	CHECK_INT(emu_ahci_start(&e), 0);
	hostcon_clear();
	CHECK_INT(ahci_probe(&e.pci.pci), 0);
	CHECK_INT(blk_count(), n);
	const struct blk_broken *b = broken_since(nb);
	CHECK(b && !strcmp(b->transport, "ahci"));
	CHECK(b && strstr(b->why, "capacity of 18446744073709551615 sectors"));
	CHECK(strstr(hostcon_log, "is not usable") != 0);
	CHECK_INT(e.commands, 1);	/* IDENTIFY, nothing after */
	emu_ahci_free(&e);
}

/* --- NVMe ----------------------------------------------------------------- */

/* A controller whose CAP the driver must refuse before setting anything
 * up: no admin queue (AQA, ASQ, ACQ), no doorbell, no page kept, a
 * broken device with the reason. The one write is CC: disabled (the
 * rule for a refused controller: no more DMA, should the firmware have
 * left it running); CC starts with other bits set so the write shows. No
 * thread: nothing answers. */
static void nvme_refused(uint8_t slot, uint64_t cap, const char *why)
{
	static struct emu_nvme e;
	static uint8_t before[EMU_NVME_BAR];
	char where[8];
	emu_nvme_init(&e, slot, cap);
	mmio_write32(e.regs, NVME_CC, 0x00460000);	/* IOCQES, IOSQES */
	memcpy(before, plain(e.regs), EMU_NVME_BAR);
	le32_put(before + NVME_CC, 0);
	unsigned n = blk_count(), nb = blk_broken_count();
	uint64_t pages = page_free_count();
	hostcon_clear();
	CHECK_INT(nvme_probe(&e.pci.pci), BLK_ERR_DEVICE);
	CHECK_INT(blk_count(), n);
	pci_where(&e.pci.pci, where);
	check_broken(nb, where, "nvme", why);
	CHECK(!memcmp(before, plain(e.regs), EMU_NVME_BAR));
	CHECK(fakepci_guards_intact(&e.pci));
	CHECK_INT(page_free_count(), pages);
	emu_nvme_free(&e);
}

static void test_nvme_cap(void)
{
	nvme_refused(7, emu_nvme_cap(0, 0, 20), "CAP.MQES is 0");
	/* stride 4 << 15: the fourth doorbell would be 384 KiB past a
	 * 16 KiB BAR */
	nvme_refused(8, emu_nvme_cap(63, 15, 20),
		     "the doorbells (CAP.DSTRD) lie beyond BAR0");
}

/* A controller that answers an admin command with an error status: the
 * reason names the command and the status, not a bare "failed". */
static void nvme_admin_refused(uint8_t slot, uint8_t op, uint16_t sf,
			       const char *why)
{
	static struct emu_nvme e;
	char where[8];
	emu_nvme_init(&e, slot, emu_nvme_cap(31, 2, 20));
	emu_nvme_ns(&e, 1, 64, 9, 1);
	e.refuse_op = op;
	e.refuse_sf = sf;
	CHECK_INT(emu_nvme_start(&e), 0);
	unsigned nb = blk_broken_count();
	hostcon_clear();
	CHECK_INT(nvme_probe(&e.pci.pci), BLK_ERR_DEVICE);
	pci_where(&e.pci.pci, where);
	check_broken(nb, where, "nvme", why);
	emu_nvme_free(&e);
}

static void test_nvme_admin(void)
{
	nvme_admin_refused(10, 0x06, 0x001, "IDENTIFY controller failed: "
			   "invalid opcode (status 0x1)");
	nvme_admin_refused(11, 0x05, 0x102, "creating the I/O queue pair "
			   "failed: command specific error (status 0x102)");
}

/* Waits, bounded, until CSTS reads `want`. */
static int wait_csts(struct emu_nvme *e, uint32_t want)
{
	uint64_t end = fakepci_now_us() + 5000000;
	while (mmio_read32(e->regs, NVME_CSTS) != want)
		if (fakepci_now_us() > end)
			return -1;
	return 0;
}

/* Two working namespaces and one too large; I/O through the PRP paths;
 * then the controller goes fatal under both. */
static void test_nvme(void)
{
	static struct emu_nvme e;
	unsigned n = blk_count(), nb = blk_broken_count();
	/* 32 entries, doorbell stride 16 bytes, CAP.TO 10 s */
	emu_nvme_init(&e, 9, emu_nvme_cap(31, 2, 20));
	emu_nvme_ns(&e, 1, 2048, 9, 1);
	emu_nvme_ns(&e, 2, 256, 12, 1);
	emu_nvme_ns(&e, 3, 1ull << 61, 9, 0);	/* 2^70 bytes */
	CHECK_INT(emu_nvme_start(&e), 0);
	hostcon_clear();
	CHECK_INT(nvme_probe(&e.pci.pci), 0);
	CHECK_INT(blk_count(), n + 2);
	check_broken(nb, "nvme0n3", "nvme",
		     "capacity of 2305843009213693952 sectors is not usable");
	CHECK(blk_find("nvme0n3") == 0);
	struct blk_dev *a = blk_find("nvme0n1"), *b = blk_find("nvme0n2");
	CHECK(a && b);
	if (!a || !b)
		return;
	CHECK(a->sectors == 2048 && a->sector_size == 512);
	CHECK(b->sectors == 256 && b->sector_size == 4096);
	CHECK_INT(a->queue_depth, 31);

	/* 300 KiB from 4 bytes into a page: PRP1 with an offset, lists */
	size_t len = 600 * 512;
	uint8_t *mem = aligned_alloc(4096, len + 4096), *w = mem + 4;
	uint8_t *r = aligned_alloc(4096, len + 4096);
	fill(w, len, 2);
	CHECK_INT(blk_write(a, 7, 600, w), 0);
	CHECK(!memcmp(e.ns[0].data + 7 * 512, w, len));
	CHECK_INT(blk_io(a, BLK_READ, 7, 600, r + 4), 0);
	CHECK(!memcmp(r + 4, w, len));
	/* two pages exactly: PRP1 and PRP2 */
	fill(mem, 8192, 3);
	CHECK_INT(blk_write(b, 250, 2, mem), 0);
	CHECK(!memcmp(e.ns[1].data + 250 * 4096, mem, 8192));
	CHECK_INT(blk_io(b, BLK_READ, 250, 2, r), 0);
	CHECK(!memcmp(r, mem, 8192));
	CHECK_INT(blk_flush(a), 0);
	CHECK_INT(e.bad, 0);
	CHECK(fakepci_guards_intact(&e.pci));

	/* Fatal: a wait would show, so make the deadline long. */
	a->timeout_us = b->timeout_us = 60000000;
	e.fatal = 1;
	CHECK_INT(wait_csts(&e, 3), 0);		/* RDY, CFS */
	uint64_t t0 = fakepci_now_us();
	CHECK_INT(blk_io(a, BLK_READ, 0, 8, r), BLK_ERR_DEVICE);
	CHECK(fakepci_now_us() - t0 < 1000000);
	CHECK(strstr(blk_last_error(a), "controller fatal status") != 0);
	CHECK_INT(mmio_read32(e.regs, NVME_CC) & 1, 0);	/* disabled */
	/* The reset cleared CSTS: only the driver knows the controller is
	 * dead, and its other namespace must not wait to find out. */
	CHECK_INT(wait_csts(&e, 0), 0);
	t0 = fakepci_now_us();
	CHECK_INT(blk_io(b, BLK_READ, 0, 1, r), BLK_ERR_DEVICE);
	CHECK(fakepci_now_us() - t0 < 1000000);
	CHECK(a->failed && b->failed);
	CHECK(strstr(blk_last_error(b), "nvme0n2 failed") != 0);
	free(mem);
	free(r);
	emu_nvme_free(&e);
}

/* --- AHCI: 64-bit addressing ---------------------------------------------- */

static void test_ahci(int s64a)
{
	static struct emu_ahci e;
	unsigned n = blk_count();
	emu_ahci_init(&e, s64a ? 11 : 10, s64a, 8192, 1);
	CHECK_INT(emu_ahci_start(&e), 0);
	CHECK_INT(ahci_probe(&e.pci.pci), 0);
	CHECK_INT(blk_count(), n + 1);
	struct blk_dev *d = blk_get(n);
	CHECK(d != 0);
	if (!d)
		return;
	CHECK(d->sectors == 8192 && d->sector_size == 512);
	CHECK_STR(d->serial, "EMU-AHCI-0001");
	CHECK(d->dma_limit == (s64a ? 0 : LOW4G));
	size_t len = 1024 * 512;
	uint8_t *w = malloc(len), *r = malloc(len);
	CHECK((uintptr_t)w > LOW4G && (uintptr_t)r > LOW4G);
	fill(w, len, 4);
	CHECK_INT(blk_write(d, 10, 1024, w), 0);
	CHECK(!memcmp(e.data + 10 * 512, w, len));
	CHECK_INT(blk_io(d, BLK_READ, 10, 1024, r), 0);
	CHECK(!memcmp(r, w, len));
	if (s64a) {	/* used directly: the PRD holds the caller's buffer */
		CHECK(e.first_dba == (uintptr_t)r);
		CHECK(e.dma_end > LOW4G);
	} else {
		CHECK(e.dma_end <= LOW4G);
		CHECK_INT(e.upper_set, 0);
	}
	CHECK_INT(blk_read_bytes(d, 777, r + 1, 5000), 0);
	CHECK(!memcmp(r + 1, e.data + 777, 5000));
	CHECK_INT(blk_flush(d), 0);
	/* an error: reported, the port recovers, the next read works */
	e.fail_next = 1;
	CHECK_INT(blk_io(d, BLK_READ, 3, 1, r), BLK_ERR_IO);
	CHECK(strstr(blk_last_error(d), "uncorrectable data error") != 0);
	CHECK(!d->failed);
	CHECK_INT(blk_io(d, BLK_READ, 10, 8, r), 0);
	CHECK(!memcmp(r, w, 8 * 512));
	if (!s64a)
		CHECK(e.dma_end <= LOW4G && e.upper_set == 0);
	CHECK_INT(e.bad, 0);
	CHECK(fakepci_guards_intact(&e.pci));
	d->ops->fail(d);	/* stop the port before the HBA goes away */
	d->failed = 1;
	free(w);
	free(r);
	emu_ahci_free(&e);
}

/* An ATAPI drive that set spoils: nothing registered; said (as "ahci:
 * not used: said") or, when said is NULL, nothing said. */
static void atapi_unused(uint8_t slot, void (*set)(struct emu_ahci *),
			 const char *said)
{
	static struct emu_ahci e;
	char line[160];
	unsigned n = blk_count();
	emu_ahci_init(&e, slot, 0, 0, 0);
	emu_ahci_atapi(&e, 300);
	set(&e);
	CHECK_INT(emu_ahci_start(&e), 0);
	hostcon_clear();
	CHECK_INT(ahci_probe(&e.pci.pci), 0);
	CHECK_INT(blk_count(), n);
	snprintf(line, sizeof(line), "ahci: not used: %s", said ? said : "");
	CHECK(said ? strstr(hostcon_log, line) != 0
		   : !strstr(hostcon_log, "not used"));
	emu_ahci_free(&e);
}

static void no_disc(struct emu_ahci *e) { e->no_medium = 1; }
static void blocks_1000(struct emu_ahci *e) { e->block_size = 1000; }
static void silent(struct emu_ahci *e) { e->silent = 1; }

/* An ATAPI drive on AHCI (the PACKET command, §4.2.2 bit A, the CDB in
 * the table's ACMD): brought up by drivers/scsi/ as a read-only device of
 * 2048-byte sectors; a failed read says why from REQUEST SENSE (or, when
 * that fails too, from the error register's sense key), the port
 * recovers; writes never reach the drive; an empty drive is left alone,
 * a nonsense block size refused. */
static void test_ahci_atapi(void)
{
	static struct emu_ahci e;
	unsigned n = blk_count();
	emu_ahci_init(&e, 13, 0, 0, 0);
	emu_ahci_atapi(&e, 300);
	fill(e.data, 300 * 2048, 9);
	CHECK_INT(emu_ahci_start(&e), 0);
	CHECK_INT(ahci_probe(&e.pci.pci), 0);
	CHECK_INT(blk_count(), n + 1);
	struct blk_dev *d = blk_get(n);
	CHECK(d && !strncmp(d->name, "sr", 2));
	if (!d)
		return;
	CHECK(d->sectors == 300 && d->sector_size == 2048 && d->read_only);
	CHECK_STR(d->model, "EMU ATAPI CD-ROM (AHCI port 0, ATAPI)");
	uint8_t *r = malloc(40 * 2048);
	CHECK_INT(blk_io(d, BLK_READ, 7, 40, r), 0);
	CHECK(!memcmp(r, e.data + 7 * 2048, 40 * 2048));
	CHECK_INT(blk_read_bytes(d, 32768 + 3, r, 3000), 0);
	CHECK(!memcmp(r, e.data + 32768 + 3, 3000));
	unsigned before = e.commands;
	CHECK_INT(blk_write(d, 1, 1, r), BLK_ERR_RO);
	CHECK_INT(e.commands, before);
	e.fail_next = 1;
	CHECK_INT(blk_io(d, BLK_READ, 3, 1, r), BLK_ERR_IO);
	CHECK(strstr(blk_last_error(d), "medium error: unrecovered read "
		     "error (sense key 3, ASC/ASCQ 11/00)") != 0);
	e.fail_next = 1;
	e.sense_fails = 1;
	CHECK_INT(blk_io(d, BLK_READ, 3, 1, r), BLK_ERR_IO);
	CHECK(strstr(blk_last_error(d), "medium error (sense key 3, ASC/ASCQ "
		     "00/00)") != 0);
	e.sense_fails = 0;
	CHECK(!d->failed);
	CHECK_INT(blk_io(d, BLK_READ, 299, 1, r), 0);
	CHECK(!memcmp(r, e.data + 299 * 2048, 2048));
	CHECK_INT(e.bad, 0);
	CHECK(e.dma_end <= LOW4G && e.upper_set == 0);
	CHECK(fakepci_guards_intact(&e.pci));
	d->ops->fail(d);
	d->failed = 1;
	emu_ahci_free(&e);

	free(r);
	atapi_unused(14, no_disc, 0);
	atapi_unused(15, blocks_1000, "logical blocks of 1000 bytes");
	atapi_unused(16, silent,
		     "INQUIRY: no answer to a PACKET command within 5 s");
}

/* --- IDE: PRD tables -------------------------------------------------------- */

/* SFF-8038i §1.2: entries cover exactly [addr, addr + bytes), none
 * crosses a 64 KiB boundary, only the last has EOT, and nothing past it
 * in the 4 KiB table is touched. Returns the entries, or -1. */
static int prd_check(uint64_t addr, uint32_t bytes)
{
	static uint8_t t[4096 + 64];
	memset(t, 0xee, sizeof(t));
	if (ide_prd_build(t, addr, bytes))
		return -1;
	uint64_t at = addr;
	int n = 0, ok = 1;
	for (;; n++) {
		uint32_t a = le32_get(t + 8 * n), w = le32_get(t + 8 * n + 4);
		uint32_t len = (w & 0xffff) ? (w & 0xffff) : 0x10000;
		ok &= a == at && (w & 0x7fff0000u) == 0;
		ok &= a / 0x10000 == (a + len - 1) / 0x10000;
		at += len;
		if (w >> 31)
			break;
		if (n == 511)
			return -2;
	}
	n++;
	ok &= at == addr + bytes;
	for (unsigned i = 8u * (unsigned)n; i < sizeof(t); i++)
		ok &= t[i] == 0xee;
	return ok ? n : -3;
}

static void test_ide_prd(void)
{
	CHECK_INT(prd_check(0x1000, 512), 1);
	CHECK_INT(prd_check(0x1fff0, 0x20), 2);	/* across 128 KiB */
	CHECK_INT(prd_check(0x10000, 0x10000), 1);	/* count 0: 64 KiB */
	CHECK_INT(prd_check(0x100000, 16u << 20), 256);
	CHECK_INT(prd_check(0x100200, 16u << 20), 257);	/* unaligned */
	CHECK_INT(prd_check(0x100200, 32u << 20), -1);	/* 513 entries */
	CHECK_INT(prd_check(0x10000, 32u << 20), 512);	/* exactly full */
	CHECK_INT(prd_check(0xfffff000ull, 0x2000), -1);	/* past 4 GiB */
	CHECK_INT(prd_check(0xffffe000ull, 0x2000), 1);	/* to 4 GiB */
	CHECK_INT(prd_check(0x1000, 0), -1);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	/* whole lines out even when a sanitizer ends the run */
	setvbuf(stdout, 0, _IOLBF, 0);
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
	dmamem_init(ARENA_BYTES);
	RUN(test_notify_transport);
	RUN(test_notify_attach);
	RUN(test_reset_never_completes);
	RUN(test_virtio_capacity);
	RUN(test_ata_capacity);
	RUN(test_nvme_cap);
	RUN(test_nvme_admin);
	RUN(test_nvme);
	RUN(test_ahci, 0);
	RUN(test_ahci, 1);
	RUN(test_ahci_capacity);
	RUN(test_ahci_atapi);
	RUN(test_ide_prd);
	return check_done();
}
