/* IDE bus-master DMA (SFF-8038i, the PIIX BMIDE registers at PCI BAR4):
 * PRD tables, the transfer mode, one transfer at a time halting for the
 * channel's interrupt, and the failures that send a drive back to PIO. */
#include "ide_int.h"

#include <stdint.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "../../runtime/idle.h"
#include "../../runtime/le.h"
#include "../../runtime/time.h"

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
#define GRACE_US 2000		/* PRD ended, drive idle, no interrupt */

/* SET FEATURES, set transfer mode (ATA8-ACS §7.48.13): the fastest DMA
 * mode both the drive and the controller have (PIIX3: multiword DMA 2,
 * PIIX4: Ultra DMA 2, others: the drive's best). 0, or -1: PIO.
 * XXX: the chipset's own timings (PIIX IDETIM DMA bits, PIIX4 UDMACTL
 * 0x48 and UDMATIM 0x4a) stay as the firmware left them; QEMU ignores
 * them, a real PIIX would want them set for the mode. */
int ide_dma_mode(struct ide *d, uint16_t device)
{
	const struct chan *c = &d->ch;
	const struct ata_identity *id = &d->id;
	uint8_t udma = device == 0x7010 ? 0 : device == 0x7111
		       ? (uint8_t)(id->udma & 0x07) : id->udma;
	int top = 31 - __builtin_clz(udma ? udma : id->mwdma ? id->mwdma : 1);
	if (!id->dma || !c->bm || !c->prd || (!udma && !id->mwdma))
		return -1;
	uint8_t mode = (uint8_t)((udma ? 0x40 : 0x20) | top);
	if (ide_wait_ready(c, 0, WAIT_US) < 0)
		return -1;
	outb(c->cmd + R_DEVICE, (uint8_t)(0xa0 | d->slave << 4));
	ide_delay400(c);
	outb(c->cmd + R_ERROR, ATA_SF_XFER_MODE);	/* features */
	outb(c->cmd + R_COUNT, mode);
	outb(c->cmd + R_STATUS, ATA_SET_FEATURES);
	int s = ide_wait_ready(c, 0, WAIT_US);
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

/* SFF-8038i §1.2: [addr, addr + bytes) as PRD entries, none crossing a
 * 64 KiB boundary, the last marked EOT. -1 when it does not fit. */
int ide_prd_build(uint8_t *prd, uint64_t addr, uint32_t bytes)
{
	uint32_t n = 0;
	if (!bytes || addr + bytes > LOW4G)
		return -1;
	while (bytes) {
		uint32_t room = PRD_SPAN - (uint32_t)(addr % PRD_SPAN);
		uint32_t k = bytes < room ? bytes : room;
		if (n == PRD_MAX)
			return -1;
		le32_put(prd + 8 * n, (uint32_t)addr);
		le32_put(prd + 8 * n + 4, k % PRD_SPAN);	/* 0: 64 KiB */
		addr += k;
		bytes -= k;
		n++;
	}
	le32_put(prd + 8 * n - 4, le32_get(prd + 8 * n - 4) | PRD_EOT);
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
	uint64_t now = time_us(), end = now + us, spin = now + BLK_SPIN_US;
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
	ide_reset_channel(&d->ch);
	d->dma = 0;
	fmt_snprintf(d->mode, sizeof(d->mode), "PIO, DMA failed");
	ide_name_model(d);
	blk_note(&d->blk, "DMA %s failed (%s, bus master status 0x%02x); PIO "
		 "from now on", write ? "write" : "read", why, bm);
	return 1;
}

/* SFF-8038i §3: the PRD table, the direction, status cleared, the ATA
 * command, then start; at the interrupt, stop and read both statuses.
 * 0, an error the drive reported (BLK_ERR_*), or 1: the DMA itself
 * failed (the drive is now PIO). */
int ide_dma(struct ide *d, int write, uint64_t lba, uint32_t count,
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
	if (ide_prd_build(c->prd, addr, bytes))
		return dma_broke(d, write, "the buffer does not fit a PRD table", 0);
	if (ide_wait_ready(c, 0, WAIT_US) < 0)
		return ide_fail_status(d, what, lba, -1);
	outb(c->bm + BM_CMD, dir);
	outl(c->bm + BM_PRD, (uint32_t)(uintptr_t)c->prd);
	uint8_t bm = inb(c->bm + BM_STATUS);
	outb(c->bm + BM_STATUS, (bm & BM_ST_CAPABLE) | BM_ST_IRQ | BM_ST_ERROR);
	ide_issue(d, write ? ATA_WRITE_DMA : ATA_READ_DMA, lba, count);
	/* The PRD table and the buffer before the start (stores stay in
	 * order on x86, port writes are not reordered; stop the compiler). */
	cpu_barrier();
	outb(c->bm + BM_CMD, dir | BM_CMD_START);
	struct dma_wait w = { c, 0, 0 };
	int late = dma_wait(&w, WAIT_US);
	outb(c->bm + BM_CMD, dir);	/* stop */
	bm = inb(c->bm + BM_STATUS);
	int s = ide_status(c);		/* acknowledges INTRQ */
	outb(c->bm + BM_STATUS, (bm & BM_ST_CAPABLE) | BM_ST_IRQ | BM_ST_ERROR);
	if (late)
		return dma_broke(d, write, "no end within 5 s", bm);
	if (bm & BM_ST_ERROR)
		return dma_broke(d, write, "the controller's error bit", bm);
	if (s & (ATA_SR_ERR | ATA_SR_DF)) {
		/* ICRC: the interface garbled the transfer (ATA8-ACS §6.2) */
		if (!(s & ATA_SR_DF) && (inb(c->cmd + R_ERROR) & 0x80))
			return dma_broke(d, write, "interface CRC error", bm);
		return ide_fail_status(d, what, lba, s);
	}
	if (!(bm & BM_ST_IRQ) || (s & (ATA_SR_BSY | ATA_SR_DRQ)))
		return dma_broke(d, write, "the PRD table ended before the transfer",
				 bm);
	return 0;
}
