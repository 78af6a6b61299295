/* Legacy IDE (ATA8-APT register interface): LBA28 and LBA48 reads and
 * writes by bus-master DMA (SFF-8038i, the PIIX BMIDE registers at PCI
 * BAR4) or PIO, FLUSH CACHE, every wait bounded. Controllers come from PCI
 * (class 01:01), in compatibility or native mode. Commands run to
 * completion inside submit (the queue is one deep): a DMA transfer halts
 * the CPU until the channel's interrupt. A drive whose DMA transfer fails
 * (the controller's error, a PRD table that ended early, no end at all)
 * gets the request again by PIO, and PIO from then on, said once. ATAPI
 * devices (CD/DVD drives) are driven by ide_atapi.c, by PIO. */
#include "ide.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "../../runtime/idle.h"
#include "../../runtime/irq.h"
#include "../../runtime/page.h"
#include "../../runtime/time.h"
#include "ide_int.h"

#define COMPAT_CMD0 0x1f0
#define COMPAT_CTL0 0x3f6
#define COMPAT_CMD1 0x170
#define COMPAT_CTL1 0x376
#define PIIX_IDETIM0 0x40	/* 16-bit; bit 15: decode enable */
#define PIIX_IDETIM1 0x42
#define PROBE_US 300000ull
#define MAX_PIO_SECTORS 256	/* a count of 0 means 256 in LBA28 */
#define DMA_BYTES (16u << 20)	/* per DMA command: 257 PRDs at most */
#define CTL_IRQ_ON 0x00		/* device control: nIEN clear */

static unsigned ndisks;

void ide_name_model(struct ide *d)
{
	fmt_snprintf(d->blk.model, sizeof(d->blk.model), "%s (IDE %s %s, %s, "
		     "%s)", d->id.model, d->secondary ? "secondary" : "primary",
		     d->slave ? "slave" : "master", d->mode,
		     d->id.lba48 ? "LBA48" : "LBA28");
}

uint8_t ide_status(const struct chan *c)
{
	return inb(c->cmd + R_STATUS);
}

/* ATA8-APT: 400 ns after selecting a device before status is valid; four
 * reads of the alternate status take that long. */
void ide_delay400(const struct chan *c)
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
	uint8_t s = ide_status(w->c);
	w->s = s;
	return s == 0xff || (!(s & ATA_SR_BSY) &&
			     (!w->want_drq ||
			      (s & (ATA_SR_DRQ | ATA_SR_ERR | ATA_SR_DF))));
}

/* Waits for BSY to clear; then, if want_drq, for DRQ or ERR: spinning
 * briefly, then (with an interrupt) halting until INTRQ. Returns the
 * status, or -1 on the deadline or a floating bus. */
int ide_wait_ready(const struct chan *c, int want_drq, uint64_t us)
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
	return !(ide_status(c) & ATA_SR_BSY);
}

void ide_reset_channel(const struct chan *c)
{
	outb(c->ctl, CTL_SRST | CTL_NIEN);
	time_delay_us(5);
	outb(c->ctl, c->vec ? CTL_IRQ_ON : CTL_NIEN);
	time_delay_us(2000);
	ide_wait_ready(c, 0, WAIT_US);
}

int ide_fail_status(struct ide *d, const char *what, uint64_t lba, int s)
{
	if (s < 0) {
		blk_detail(&d->blk, "no answer to the %s at LBA %llu in %llu s",
			   what, (unsigned long long)lba, WAIT_US / 1000000);
		ide_reset_channel(&d->ch);
		return BLK_ERR_TIMEOUT;
	}
	uint8_t err = inb(d->ch.cmd + R_ERROR);
	blk_detail(&d->blk, "%s (status 0x%02x, error 0x%02x)",
		   s & ATA_SR_DF ? "device fault" : ata_error_string(err), s, err);
	/* A command that failed part way can leave the device mid-transfer:
	 * a software reset returns it to a known state. */
	ide_reset_channel(&d->ch);
	return BLK_ERR_IO;
}

/* Loads the task file for an LBA28 or LBA48 command and issues it. */
void ide_issue(struct ide *d, uint8_t cmd, uint64_t lba, uint32_t count)
{
	const struct chan *c = &d->ch;
	int ext = d->id.lba48 && (lba + count > ATA_LBA28_MAX || count > 256 ||
				  cmd == ATA_FLUSH_CACHE_EXT);
	uint8_t dev = 0x40 | (uint8_t)(d->slave << 4);
	if (!ext)
		dev |= (uint8_t)((lba >> 24) & 0x0f);
	outb(c->cmd + R_DEVICE, dev);
	ide_delay400(c);
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
	if (ide_wait_ready(c, 0, WAIT_US) < 0)
		return ide_fail_status(d, write ? "write" : "read", lba, -1);
	ide_issue(d, write ? ATA_WRITE_SECTORS : ATA_READ_SECTORS, lba, count);
	for (uint32_t i = 0; i < count; i++) {
		int s = ide_wait_ready(c, 1, WAIT_US);
		if (s < 0 || (s & (ATA_SR_ERR | ATA_SR_DF)) || !(s & ATA_SR_DRQ))
			return ide_fail_status(d, write ? "write" : "read", lba + i,
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
	int s = ide_wait_ready(c, 0, WAIT_US);
	if (s < 0 || (s & (ATA_SR_ERR | ATA_SR_DF)))
		return ide_fail_status(d, write ? "write" : "read", lba, s);
	return 0;
}

static int flush(struct ide *d)
{
	const struct chan *c = &d->ch;
	if (ide_wait_ready(c, 0, WAIT_US) < 0)
		return ide_fail_status(d, "flush", 0, -1);
	ide_issue(d, d->id.lba48 ? ATA_FLUSH_CACHE_EXT : ATA_FLUSH_CACHE, 0, 0);
	/* A flush may take long on real disks: 30 s. */
	int s = ide_wait_ready(c, 0, 6 * WAIT_US);
	if (s < 0 || (s & (ATA_SR_ERR | ATA_SR_DF)))
		return ide_fail_status(d, "flush", 0, s);
	return 0;
}

/* By DMA while the drive does it; by PIO otherwise, and again by PIO
 * when the DMA itself failed (the data must still arrive). */
static int transfer(struct ide *d, int write, uint64_t lba, uint32_t count,
		    uint64_t addr)
{
	uint8_t *buf = (uint8_t *)(uintptr_t)addr;
	if (d->atapi)	/* read-only: the engine refused any write */
		return ide_atapi_read(d, lba, count, buf);
	if (d->dma) {
		int err = ide_dma(d, write, lba, count, addr);
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

static const struct blk_ops ide_ops = { submit, kick, poll, 0, 0 };

int ide_fault_dma(struct blk_dev *b)
{
	struct ide *d = b->priv;
	if (b->ops != &ide_ops || !d->dma)
		return -1;
	d->dma_fault = 1;
	return 0;
}

/* IDENTIFY DEVICE on one position: 0 and the identity when an ATA disk
 * answers, 1 when a PACKET device refuses it with the ATAPI signature
 * (ATA8-ACS §9.12), -1 otherwise (no device, SATA signatures). */
static int identify(const struct chan *c, int slave, struct ata_identity *id)
{
	static uint16_t w[256];
	outb(c->cmd + R_DEVICE, (uint8_t)(0xa0 | slave << 4));
	ide_delay400(c);
	if (ide_status(c) == 0xff || ide_status(c) == 0)
		return -1;
	outb(c->cmd + R_COUNT, 0);
	outb(c->cmd + R_LBA0, 0);
	outb(c->cmd + R_LBA1, 0);
	outb(c->cmd + R_LBA2, 0);
	outb(c->cmd + R_STATUS, ATA_IDENTIFY);
	ide_delay400(c);
	if (ide_status(c) == 0)
		return -1;
	if (ide_wait_ready(c, 0, PROBE_US) < 0)
		return -1;
	uint8_t mid = inb(c->cmd + R_LBA1), high = inb(c->cmd + R_LBA2);
	if (mid == ATAPI_SIG_MID && high == ATAPI_SIG_HIGH)
		return 1;
	if (mid || high)
		return -1;
	int s = ide_wait_ready(c, 1, PROBE_US);
	if (s < 0 || (s & ATA_SR_ERR) || !(s & ATA_SR_DRQ))
		return -1;
	for (int i = 0; i < 256; i++)
		w[i] = inw(c->cmd + R_DATA);
	return ata_parse_identity(w, id);
}

/* A PACKET device's block device (its unit brought up by ide_atapi.c):
 * 0, or nonzero when it is not one (d is then the caller's to free). */
static int atapi_dev(struct ide *d)
{
	char where[16];
	fmt_snprintf(where, sizeof(where), "ide%d.%d", d->secondary, d->slave);
	d->atapi = 1;
	if (ide_atapi_probe(d, where))
		return -1;
	d->blk.queue_depth = 1;
	d->blk.dma_align = 2;
	d->blk.irq_vec = d->ch.vec;
	return 0;
}

static void add_disk(const struct chan *c, int slave, int secondary,
		     uint16_t device)
{
	struct ata_identity id;
	int kind = identify(c, slave, &id);
	if (kind < 0)
		return;
	struct ide *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->ch = *c;
	d->slave = slave;
	d->secondary = secondary;
	d->id = id;
	struct blk_dev *b = &d->blk;
	if (kind && atapi_dev(d)) {
		free(d);
		return;
	}
	fmt_snprintf(b->name, sizeof(b->name), "hd%c", 'a' + ndisks++);
	b->transport = "ide";
	b->ops = &ide_ops;
	b->priv = d;
	if (kind) {
		if (blk_register(b))
			free(d);
		return;
	}
	fmt_snprintf(d->mode, sizeof(d->mode), "PIO");
	d->dma = !ide_dma_mode(d, device);
	ide_name_model(d);
	memcpy(b->serial, id.serial, sizeof(b->serial) - 1);
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
	b->irq_vec = d->ch.vec;	/* the driver halts for it itself */
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
