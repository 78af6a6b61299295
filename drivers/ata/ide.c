/* Legacy IDE (ATA8-APT register interface): LBA28 and LBA48 reads and
 * writes by bus-master DMA (SFF-8038i, the PIIX BMIDE registers at PCI
 * BAR4) or PIO, FLUSH CACHE, every wait bounded. Controllers come from PCI
 * (class 01:01), in compatibility or native mode. Commands run to
 * completion inside submit (the queue is one deep): a DMA transfer halts
 * the CPU until the channel's interrupt. A drive whose DMA transfer fails
 * (the controller's error, a PRD table that ended early, no end at all)
 * gets the request again by PIO, and PIO from then on, said once. */
#include "ide.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "../../runtime/idle.h"
#include "../../runtime/irq.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "../../runtime/time.h"
#include "ata.h"

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

/* SFF-8038i §2 bus-master registers, per channel (BAR4 + 8 * channel) */
#define BM_CMD 0		/* 8: bit 0 start, bit 3 direction */
#define BM_STATUS 2		/* 8: see BM_ST_* */
#define BM_PRD 4		/* 32: the PRD table's address */
#define BM_CMD_START 0x01
#define BM_CMD_TO_MEMORY 0x08	/* the controller writes memory (a read) */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02	/* write 1 to clear */
#define BM_ST_IRQ 0x04		/* write 1 to clear */
#define BM_ST_CAPABLE 0x60	/* drive 0/1 DMA capable (software's) */
/* SFF-8038i §1.2 PRD: address, count (0 = 64 KiB), EOT in bit 31 */
#define PRD_EOT 0x80000000u
#define PRD_SPAN 0x10000u	/* no region crosses a 64 KiB boundary */
#define PRD_MAX 512		/* a 4 KiB table */
#define DMA_BYTES (16u << 20)	/* per command: 257 PRDs at most */
#define GRACE_US 2000		/* PRD ended, drive idle, no interrupt */
#define LOW4G (1ull << 32)

#define COMPAT_CMD0 0x1f0
#define COMPAT_CTL0 0x3f6
#define COMPAT_CMD1 0x170
#define COMPAT_CTL1 0x376
#define PIIX_IDETIM0 0x40	/* 16-bit; bit 15: decode enable */
#define PIIX_IDETIM1 0x42

#define WAIT_US 5000000ull	/* BSY and DRQ deadlines */
#define PROBE_US 300000ull
#define MAX_PIO_SECTORS 256	/* a count of 0 means 256 in LBA28 */
#define SPIN_US 200		/* PIO: a sector comes every ~60 us (TCG) */
#define CTL_IRQ_ON 0x00		/* device control: nIEN clear */

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
	uint8_t dma_fault;	/* `fault dma`: the next PRD table is short */
	char mode[16];		/* "UDMA5", "MWDMA2", "PIO" */
};

static unsigned ndisks;

static void name_model(struct ide *d)
{
	fmt_snprintf(d->blk.model, sizeof(d->blk.model), "%s (IDE %s %s, %s, "
		     "%s)", d->id.model, d->secondary ? "secondary" : "primary",
		     d->slave ? "slave" : "master", d->mode,
		     d->id.lba48 ? "LBA48" : "LBA28");
}

static uint8_t status(const struct chan *c)
{
	return inb(c->cmd + R_STATUS);
}

/* ATA8-APT: 400 ns after selecting a device before status is valid; four
 * reads of the alternate status take that long. */
static void delay400(const struct chan *c)
{
	for (int i = 0; i < 4; i++)
		inb(c->ctl);
}

struct waiting {
	const struct chan *c;
	int want_drq, s;
};

/* Done waiting: BSY clear (and with want_drq, DRQ or an error), or a
 * floating bus (0xff: nothing there). Reading status also acknowledges
 * the drive's interrupt. */
static int settled(void *ctx)
{
	struct waiting *w = ctx;
	uint8_t s = status(w->c);
	w->s = s;
	return s == 0xff || (!(s & ATA_SR_BSY) &&
			     (!w->want_drq ||
			      (s & (ATA_SR_DRQ | ATA_SR_ERR | ATA_SR_DF))));
}

/* Waits for BSY to clear; then, if want_drq, for DRQ or ERR: spinning
 * briefly, then (with an interrupt) halting until INTRQ. Returns the
 * status, or -1 on the deadline or a floating bus. */
static int wait_ready(const struct chan *c, int want_drq, uint64_t us)
{
	struct waiting w = { c, want_drq, 0 };
	uint64_t now = time_us(), end = now + us, spin = now + SPIN_US;
	while (!settled(&w)) {
		now = time_us();
		if (now > end)
			return -1;
		if (c->vec && now > spin)
			idle_wait(settled, &w, end);
		else
			cpu_pause();
	}
	return w.s == 0xff ? -1 : w.s;
}

/* INTRQ: reading status deasserts it; the waiter does the rest. */
static int chan_irq(void *ctx)
{
	const struct chan *c = ctx;
	return !(status(c) & ATA_SR_BSY);
}

static void reset_channel(const struct chan *c)
{
	outb(c->ctl, CTL_SRST | CTL_NIEN);
	time_delay_us(5);
	outb(c->ctl, c->vec ? CTL_IRQ_ON : CTL_NIEN);
	time_delay_us(2000);
	wait_ready(c, 0, WAIT_US);
}

static int fail_status(struct ide *d, const char *what, uint64_t lba, int s)
{
	if (s < 0) {
		blk_detail(&d->blk, "no answer to the %s at LBA %llu in %llu s",
			   what, (unsigned long long)lba, WAIT_US / 1000000);
		reset_channel(&d->ch);
		return BLK_ERR_TIMEOUT;
	}
	uint8_t err = inb(d->ch.cmd + R_ERROR);
	blk_detail(&d->blk, "%s (status 0x%02x, error 0x%02x)",
		   s & ATA_SR_DF ? "device fault" : ata_error_string(err), s, err);
	/* A command that failed part way can leave the device mid-transfer:
	 * a software reset returns it to a known state. */
	reset_channel(&d->ch);
	return BLK_ERR_IO;
}

/* Loads the task file for an LBA28 or LBA48 command and issues it. */
static void issue(struct ide *d, uint8_t cmd, uint64_t lba, uint32_t count)
{
	const struct chan *c = &d->ch;
	int ext = d->id.lba48 && (lba + count > ATA_LBA28_MAX || count > 256 ||
				  cmd == ATA_FLUSH_CACHE_EXT);
	uint8_t dev = 0x40 | (uint8_t)(d->slave << 4);
	if (!ext)
		dev |= (uint8_t)((lba >> 24) & 0x0f);
	outb(c->cmd + R_DEVICE, dev);
	delay400(c);
	if (ext) {	/* the high bytes first (the "previous" contents) */
		outb(c->cmd + R_COUNT, (uint8_t)(count >> 8));
		outb(c->cmd + R_LBA0, (uint8_t)(lba >> 24));
		outb(c->cmd + R_LBA1, (uint8_t)(lba >> 32));
		outb(c->cmd + R_LBA2, (uint8_t)(lba >> 40));
	}
	outb(c->cmd + R_COUNT, (uint8_t)count);
	outb(c->cmd + R_LBA0, (uint8_t)lba);
	outb(c->cmd + R_LBA1, (uint8_t)(lba >> 8));
	outb(c->cmd + R_LBA2, (uint8_t)(lba >> 16));
	if (ext && cmd == ATA_READ_SECTORS)
		cmd = ATA_READ_SECTORS_EXT;
	else if (ext && cmd == ATA_WRITE_SECTORS)
		cmd = ATA_WRITE_SECTORS_EXT;
	else if (ext && cmd == ATA_READ_DMA)
		cmd = ATA_READ_DMA_EXT;
	else if (ext && cmd == ATA_WRITE_DMA)
		cmd = ATA_WRITE_DMA_EXT;
	outb(c->cmd + R_STATUS, cmd);
}

static int pio(struct ide *d, int write, uint64_t lba, uint32_t count,
	       uint8_t *buf)
{
	const struct chan *c = &d->ch;
	uint32_t words = d->blk.sector_size / 2;
	if (wait_ready(c, 0, WAIT_US) < 0)
		return fail_status(d, write ? "write" : "read", lba, -1);
	issue(d, write ? ATA_WRITE_SECTORS : ATA_READ_SECTORS, lba, count);
	for (uint32_t i = 0; i < count; i++) {
		int s = wait_ready(c, 1, WAIT_US);
		if (s < 0 || (s & (ATA_SR_ERR | ATA_SR_DF)) || !(s & ATA_SR_DRQ))
			return fail_status(d, write ? "write" : "read", lba + i,
					   s < 0 || (s & (ATA_SR_ERR | ATA_SR_DF))
						   ? s : ATA_SR_ERR);
		void *p = buf + (uint64_t)i * d->blk.sector_size;
		uint32_t n = words;
		uint16_t port = c->cmd + R_DATA;
		if (write)
			__asm__ volatile("rep outsw" : "+S"(p), "+c"(n)
					 : "d"(port) : "memory");
		else
			__asm__ volatile("rep insw" : "+D"(p), "+c"(n)
					 : "d"(port) : "memory");
	}
	int s = wait_ready(c, 0, WAIT_US);
	if (s < 0 || (s & (ATA_SR_ERR | ATA_SR_DF)))
		return fail_status(d, write ? "write" : "read", lba, s);
	return 0;
}

/* --- bus-master DMA ------------------------------------------------------- */

/* SFF-8038i §1.2: [addr, addr + bytes) as PRD entries, none crossing a
 * 64 KiB boundary, the last marked EOT. -1 when it does not fit. */
static int build_prd(const struct chan *c, uint64_t addr, uint32_t bytes)
{
	uint32_t n = 0;
	if (!bytes || addr + bytes > LOW4G)
		return -1;
	while (bytes) {
		uint32_t room = PRD_SPAN - (uint32_t)(addr % PRD_SPAN);
		uint32_t k = bytes < room ? bytes : room;
		if (n == PRD_MAX)
			return -1;
		le32_put(c->prd + 8 * n, (uint32_t)addr);
		le32_put(c->prd + 8 * n + 4, k % PRD_SPAN);	/* 0: 64 KiB */
		addr += k;
		bytes -= k;
		n++;
	}
	le32_put(c->prd + 8 * n - 4, le32_get(c->prd + 8 * n - 4) | PRD_EOT);
	return 0;
}

struct dma_wait {
	const struct chan *c;
	uint8_t bm;		/* the bus-master status seen last */
	uint64_t idle_since;	/* PRD ended, drive idle, no interrupt yet */
};

/* Done: the channel's interrupt latched (BM_ST_IRQ), or the PRD table
 * ended with the drive idle and no interrupt for GRACE_US (SFF-8038i
 * §3.1: interrupt 0, active 0 is an error; the drive's interrupt may
 * trail the end of the data by a little, hence the grace). The alternate
 * status leaves INTRQ alone. */
static int dma_done(void *ctx)
{
	struct dma_wait *w = ctx;
	w->bm = inb(w->c->bm + BM_STATUS);
	if (w->bm & (BM_ST_IRQ | BM_ST_ERROR))
		return 1;
	if ((w->bm & BM_ST_ACTIVE) ||
	    (inb(w->c->ctl) & (ATA_SR_BSY | ATA_SR_DRQ))) {
		w->idle_since = 0;
		return 0;
	}
	uint64_t now = time_us();
	if (!w->idle_since)
		w->idle_since = now;
	return now - w->idle_since >= GRACE_US;
}

/* Spins briefly, then halts until the interrupt, waking at least every
 * BLK_TICK_US (a lost interrupt costs a tick, not the deadline). */
static int dma_wait(struct dma_wait *w, uint64_t us)
{
	uint64_t now = time_us(), end = now + us, spin = now + SPIN_US;
	while (!dma_done(w)) {
		now = time_us();
		if (now > end)
			return -1;
		if (w->c->vec && now > spin)
			idle_wait(dma_done, w, now + BLK_TICK_US < end
					       ? now + BLK_TICK_US : end);
		else
			cpu_pause();
	}
	return 0;
}

/* The DMA engine failed, not the drive: stop it, reset the channel, and
 * let the caller go on by PIO. */
static int dma_broke(struct ide *d, int write, const char *why, uint8_t bm)
{
	outb(d->ch.bm + BM_CMD, 0);
	outb(d->ch.bm + BM_STATUS, (bm & BM_ST_CAPABLE) | BM_ST_IRQ |
				   BM_ST_ERROR);
	reset_channel(&d->ch);
	d->dma = 0;
	fmt_snprintf(d->mode, sizeof(d->mode), "PIO, DMA failed");
	name_model(d);
	blk_note(&d->blk, "DMA %s failed (%s, bus master status 0x%02x); PIO "
		 "from now on", write ? "write" : "read", why, bm);
	return 1;
}

/* SFF-8038i §3: the PRD table, the direction, status cleared, the ATA
 * command, then start; at the interrupt, stop and read both statuses.
 * 0, an error the drive reported (BLK_ERR_*), or 1: the DMA itself
 * failed (the drive is now PIO). */
static int dma(struct ide *d, int write, uint64_t lba, uint32_t count,
	       uint64_t addr)
{
	const struct chan *c = &d->ch;
	uint32_t bytes = count * d->blk.sector_size;
	uint8_t dir = write ? 0 : BM_CMD_TO_MEMORY;
	const char *what = write ? "write" : "read";
	if (d->dma_fault) {	/* `fault dma`: the last 256 bytes missing */
		d->dma_fault = 0;
		bytes -= 256;
	}
	if (build_prd(c, addr, bytes))
		return dma_broke(d, write, "the buffer does not fit a PRD table", 0);
	if (wait_ready(c, 0, WAIT_US) < 0)
		return fail_status(d, what, lba, -1);
	outb(c->bm + BM_CMD, dir);
	outl(c->bm + BM_PRD, (uint32_t)(uintptr_t)c->prd);
	uint8_t bm = inb(c->bm + BM_STATUS);
	outb(c->bm + BM_STATUS, (bm & BM_ST_CAPABLE) | BM_ST_IRQ | BM_ST_ERROR);
	issue(d, write ? ATA_WRITE_DMA : ATA_READ_DMA, lba, count);
	/* The PRD table and the buffer before the start (stores stay in
	 * order on x86, port writes are not reordered; stop the compiler). */
	cpu_barrier();
	outb(c->bm + BM_CMD, dir | BM_CMD_START);
	struct dma_wait w = { c, 0, 0 };
	int late = dma_wait(&w, WAIT_US);
	outb(c->bm + BM_CMD, dir);	/* stop */
	bm = inb(c->bm + BM_STATUS);
	int s = status(c);		/* acknowledges INTRQ */
	outb(c->bm + BM_STATUS, (bm & BM_ST_CAPABLE) | BM_ST_IRQ | BM_ST_ERROR);
	if (late)
		return dma_broke(d, write, "no end within 5 s", bm);
	if (bm & BM_ST_ERROR)
		return dma_broke(d, write, "the controller's error bit", bm);
	if (s & (ATA_SR_ERR | ATA_SR_DF)) {
		/* ICRC: the interface garbled the transfer (ATA8-ACS §6.2) */
		if (!(s & ATA_SR_DF) && (inb(c->cmd + R_ERROR) & 0x80))
			return dma_broke(d, write, "interface CRC error", bm);
		return fail_status(d, what, lba, s);
	}
	if (!(bm & BM_ST_IRQ) || (s & (ATA_SR_BSY | ATA_SR_DRQ)))
		return dma_broke(d, write, "the PRD table ended before the transfer",
				 bm);
	return 0;
}

static int flush(struct ide *d)
{
	const struct chan *c = &d->ch;
	if (wait_ready(c, 0, WAIT_US) < 0)
		return fail_status(d, "flush", 0, -1);
	issue(d, d->id.lba48 ? ATA_FLUSH_CACHE_EXT : ATA_FLUSH_CACHE, 0, 0);
	/* A flush may take long on real disks: 30 s. */
	int s = wait_ready(c, 0, 6 * WAIT_US);
	if (s < 0 || (s & (ATA_SR_ERR | ATA_SR_DF)))
		return fail_status(d, "flush", 0, s);
	return 0;
}

/* By DMA while the drive does it; by PIO otherwise, and again by PIO
 * when the DMA itself failed (the data must still arrive). */
static int transfer(struct ide *d, int write, uint64_t lba, uint32_t count,
		    uint64_t addr)
{
	uint8_t *buf = (uint8_t *)(uintptr_t)addr;
	if (d->dma) {
		int err = dma(d, write, lba, count, addr);
		if (err != 1)
			return err;
	}
	return pio(d, write, lba, count, buf);
}

static int submit(struct blk_dev *b, struct blk_req *r)
{
	struct ide *d = b->priv;
	if (r->op == BLK_FLUSH)
		r->status = flush(d);
	else if (r->op == BLK_READ || r->op == BLK_WRITE)
		r->status = transfer(d, r->op == BLK_WRITE, r->lba, r->count,
				     r->addr);
	else
		r->status = BLK_ERR_UNSUPP;
	r->done = 1;
	d->completed++;
	return 0;
}

static void kick(struct blk_dev *b)
{
	(void)b;
}

static int poll(struct blk_dev *b)
{
	struct ide *d = b->priv;
	int n = (int)d->completed;
	d->completed = 0;
	return n;
}

static const struct blk_ops ide_ops = { submit, kick, poll, 0 };

int ide_fault_dma(struct blk_dev *b)
{
	struct ide *d = b->priv;
	if (b->ops != &ide_ops || !d->dma)
		return -1;
	d->dma_fault = 1;
	return 0;
}

/* IDENTIFY DEVICE on one position; 0 and the identity when an ATA disk
 * answers. ATAPI and SATA signatures (LBA mid/high) are not ours. */
static int identify(const struct chan *c, int slave, struct ata_identity *id)
{
	static uint16_t w[256];
	outb(c->cmd + R_DEVICE, (uint8_t)(0xa0 | slave << 4));
	delay400(c);
	if (status(c) == 0xff || status(c) == 0)
		return -1;
	outb(c->cmd + R_COUNT, 0);
	outb(c->cmd + R_LBA0, 0);
	outb(c->cmd + R_LBA1, 0);
	outb(c->cmd + R_LBA2, 0);
	outb(c->cmd + R_STATUS, ATA_IDENTIFY);
	delay400(c);
	if (status(c) == 0)
		return -1;
	if (wait_ready(c, 0, PROBE_US) < 0)
		return -1;
	if (inb(c->cmd + R_LBA1) || inb(c->cmd + R_LBA2))
		return -1;
	int s = wait_ready(c, 1, PROBE_US);
	if (s < 0 || (s & ATA_SR_ERR) || !(s & ATA_SR_DRQ))
		return -1;
	for (int i = 0; i < 256; i++)
		w[i] = inw(c->cmd + R_DATA);
	return ata_parse_identity(w, id);
}

/* SET FEATURES, set transfer mode (ATA8-ACS §7.48.13): the fastest DMA
 * mode both the drive and the controller have (PIIX3: multiword DMA 2,
 * PIIX4: Ultra DMA 2, others: the drive's best). 0, or -1: PIO.
 * XXX: the chipset's own timings (PIIX IDETIM DMA bits, PIIX4 UDMACTL
 * 0x48 and UDMATIM 0x4a) stay as the firmware left them; QEMU ignores
 * them, a real PIIX would want them set for the mode. */
static int set_mode(struct ide *d, uint16_t device)
{
	const struct chan *c = &d->ch;
	const struct ata_identity *id = &d->id;
	uint8_t udma = device == 0x7010 ? 0 : device == 0x7111
		       ? (uint8_t)(id->udma & 0x07) : id->udma;
	int top = 31 - __builtin_clz(udma ? udma : id->mwdma ? id->mwdma : 1);
	if (!id->dma || !c->bm || !c->prd || (!udma && !id->mwdma))
		return -1;
	uint8_t mode = (uint8_t)((udma ? 0x40 : 0x20) | top);
	if (wait_ready(c, 0, WAIT_US) < 0)
		return -1;
	outb(c->cmd + R_DEVICE, (uint8_t)(0xa0 | d->slave << 4));
	delay400(c);
	outb(c->cmd + R_ERROR, ATA_SF_XFER_MODE);	/* features */
	outb(c->cmd + R_COUNT, mode);
	outb(c->cmd + R_STATUS, ATA_SET_FEATURES);
	int s = wait_ready(c, 0, WAIT_US);
	if (s < 0 || (s & (ATA_SR_ERR | ATA_SR_DF)))
		return -1;
	/* SFF-8038i §2: the drive's "DMA capable" bit, for whoever looks */
	uint8_t bm = inb(c->bm + BM_STATUS);
	outb(c->bm + BM_STATUS, (uint8_t)((bm & BM_ST_CAPABLE) |
					   (0x20 << d->slave)));
	fmt_snprintf(d->mode, sizeof(d->mode), "%s%d", udma ? "UDMA" : "MWDMA",
		     top);
	return 0;
}

static void add_disk(const struct chan *c, int slave, int secondary,
		     uint16_t device)
{
	struct ata_identity id;
	if (identify(c, slave, &id))
		return;
	struct ide *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->ch = *c;
	d->slave = slave;
	d->secondary = secondary;
	d->id = id;
	struct blk_dev *b = &d->blk;
	fmt_snprintf(b->name, sizeof(b->name), "hd%c", 'a' + ndisks++);
	fmt_snprintf(d->mode, sizeof(d->mode), "PIO");
	d->dma = !set_mode(d, device);
	name_model(d);
	memcpy(b->serial, id.serial, sizeof(b->serial) - 1);
	b->transport = "ide";
	b->sectors = id.lba48 ? id.sectors
			      : (id.sectors < ATA_LBA28_MAX ? id.sectors
							    : ATA_LBA28_MAX);
	b->sector_size = id.sector_size;
	b->max_sectors = MAX_PIO_SECTORS;
	if (d->dma && id.lba48)
		b->max_sectors = DMA_BYTES / id.sector_size;
	/* SFF-8038i §1.2: 32-bit PRD addresses */
	b->dma_limit = d->dma ? LOW4G : 0;
	b->queue_depth = 1;
	b->dma_align = 2;
	b->can_flush = 1;
	b->cache = id.write_cache ? "write-back" : "write-through";
	b->ops = &ide_ops;
	b->irq_vec = d->ch.vec;	/* the driver halts for it itself */
	b->priv = d;
	if (blk_register(b))
		free(d);
}

/* A channel's interrupt: ISA IRQ 14/15 in compatibility mode, the
 * function's INTx in native mode. Without one the channel is polled. */
static void chan_irq_on(struct pci_dev *p, struct chan *c, int sec,
			int native)
{
	static const char *const names[2] = { "ide-primary",
					       "ide-secondary" };
	struct chan *keep = malloc(sizeof(*keep));
	if (!keep)
		return;
	*keep = *c;
	int vec = irq_alloc(names[sec], chan_irq, keep);
	int err = !vec ? -1 : native ? pci_intx_route(p, vec)
			 : irq_route_isa(vec, sec ? 15 : 14);
	if (err) {
		free(keep);	/* (a vector without a source stays unused) */
		return;
	}
	c->vec = keep->vec = vec;
	outb(c->ctl, CTL_IRQ_ON);
}

int ide_probe(struct pci_dev *p)
{
	if (p->cls != 1 || p->subcls != 1)
		return BLK_NOT_MINE;
	pci_enable(p, PCI_CMD_IO);
	/* PIIX3/4: OVMF leaves the channels' decode-enable bits clear;
	 * QEMU ignores them, real chipsets do not. */
	if (p->vendor == 0x8086 && (p->device == 0x7010 || p->device == 0x7111)) {
		pci_write16(p, PIIX_IDETIM0, pci_read16(p, PIIX_IDETIM0) | 0x8000);
		pci_write16(p, PIIX_IDETIM1, pci_read16(p, PIIX_IDETIM1) | 0x8000);
	}
	/* SFF-8038i §2: BAR4 holds both channels' bus-master registers */
	const struct pci_bar *bm = &p->bar[4];
	if (bm->io && bm->size >= 16)
		pci_enable(p, PCI_CMD_MASTER);
	for (int sec = 0; sec < 2; sec++) {
		struct chan c = { 0 };
		int native = p->progif & (sec ? 0x04 : 0x01);
		const struct pci_bar *cb = &p->bar[sec * 2], *kb = &p->bar[sec * 2 + 1];
		if (native && cb->io && kb->io && cb->size && kb->size) {
			c.cmd = (uint16_t)cb->base;
			c.ctl = (uint16_t)(kb->base + 2);
		} else if (native) {
			continue;
		} else {
			c.cmd = sec ? COMPAT_CMD1 : COMPAT_CMD0;
			c.ctl = sec ? COMPAT_CTL1 : COMPAT_CTL0;
		}
		outb(c.ctl, CTL_NIEN);	/* quiet until routed */
		if (inb(c.cmd + R_STATUS) == 0xff)
			continue;	/* no drives on this channel */
		if (bm->io && bm->size >= 16 &&
		    (c.prd = (uint8_t *)(uintptr_t)page_alloc_below(1, LOW4G)))
			c.bm = (uint16_t)(bm->base + 8u * (unsigned)sec);
		chan_irq_on(p, &c, sec, native);
		add_disk(&c, 0, sec, p->device);
		add_disk(&c, 1, sec, p->device);
	}
	return 0;
}
