/* AHCI 1.3.1: take the controller from the firmware (BIOS/OS handoff),
 * find the SATA disks, and run reads and writes with one PRD per command,
 * as many commands queued as the port has slots: READ/WRITE FPDMA QUEUED
 * (native command queuing, ATA8-ACS §7.23, §7.61) when the HBA and the
 * drive both have it, so the drive holds them all at once; READ/WRITE DMA
 * EXT otherwise (the HBA runs those one after another). FLUSH CACHE EXT
 * is not queued and never mixed with queued commands. A failed command
 * stops the port, clears its errors and starts it again. A port whose
 * device is ATAPI (a CD/DVD drive) carries SCSI commands (drivers/scsi/)
 * in PACKET commands, one at a time, its data by DMA. */
#include "ahci.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "../../runtime/irq.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "../../runtime/time.h"
#include "ahci_int.h"

/* §3.1 generic host control */
#define CAP 0x00	/* NP 4:0, NCS 12:8, S64A 31 */
#define GHC 0x04	/* HR 0, IE 1, AE 31 */
#define PI 0x0c		/* ports implemented */
#define CAP2 0x24	/* BOH 0 */
#define BOHC 0x28	/* BOS 0, OOS 1, BB 4 */
#define GHC_AE (1u << 31)
#define GHC_IE (1u << 1)
#define IS 0x08		/* interrupt status, a bit per port */
#define IE_DONE 0x0000000fu	/* PxIE: D2H, PIO setup, DMA setup, SDB FIS */
#define CAP_S64A (1u << 31)
#define CAP_SNCQ (1u << 30)
/* One HBA: its registers, its ports, its interrupt. */
struct hba {
	volatile uint8_t *abar;
	struct port *port[32];
	int vec;
	char name[12];
};

static unsigned ndisks, nhbas;

/* Waits until (reg & mask) == want; 0, or -1 on the deadline. */
static int wait_reg(volatile uint8_t *b, uint32_t off, uint32_t mask,
		    uint32_t want, uint64_t us)
{
	uint64_t end = time_us() + us;
	while ((mmio_read32(b, off) & mask) != want) {
		if (time_us() > end)
			return -1;
		cpu_pause();
	}
	return 0;
}

/* §10.1.2: clear ST, wait CR; clear FRE, wait FR. */
static int port_stop(struct port *p)
{
	mmio_write32(p->r, P_CMD, mmio_read32(p->r, P_CMD) & ~CMD_ST);
	if (wait_reg(p->r, P_CMD, CMD_CR, 0, WAIT_US))
		return -1;
	mmio_write32(p->r, P_CMD, mmio_read32(p->r, P_CMD) & ~CMD_FRE);
	return wait_reg(p->r, P_CMD, CMD_FR, 0, WAIT_US);
}

static int port_start(struct port *p)
{
	mmio_write32(p->r, P_SERR, 0xffffffff);
	mmio_write32(p->r, P_IS, 0xffffffff);
	mmio_write32(p->r, P_CMD, mmio_read32(p->r, P_CMD) | CMD_FRE);
	/* §10.3.1: the device must not be busy before ST; a stuck BSY is
	 * cleared by command list override when the HBA supports it. */
	if (wait_reg(p->r, P_TFD, ATA_SR_BSY | ATA_SR_DRQ, 0, WAIT_US)) {
		mmio_write32(p->r, P_CMD, mmio_read32(p->r, P_CMD) | CMD_CLO);
		if (wait_reg(p->r, P_CMD, CMD_CLO, 0, WAIT_US))
			return -1;
	}
	mmio_write32(p->r, P_CMD, mmio_read32(p->r, P_CMD) | CMD_ST);
	return 0;
}

/* Recovery after a failed command (§6.2.2.1): stop, clear, start. The
 * commands still issued are lost; they complete with an error. */
/* §10.4.2 COMRESET (port stopped): PxSCTL.DET 1 for at least 1 ms, then
 * 0, and the link back (PxSSTS.DET 3). The drive is reset with it, and
 * with it whatever queued commands it still held. */
static void port_reset(struct port *p)
{
	uint32_t sctl = mmio_read32(p->r, P_SCTL) & ~0xfu;
	mmio_write32(p->r, P_SCTL, sctl | 1);
	time_delay_us(2000);
	mmio_write32(p->r, P_SCTL, sctl);
	wait_reg(p->r, P_SSTS, 0xf, DET_PRESENT, WAIT_US);
}

static void port_recover(struct port *p)
{
	/* with interrupts off: what the handler kept of the failure (it may
	 * run while the port restarts) must not fail the next command */
	int on = irq_save();
	port_stop(p);
	/* A failed queued command leaves the drive holding the others and
	 * refusing more until its error log is read (SATA 3.x §13.6.3.2);
	 * a reset is the way out that every drive takes. */
	if (p->busy_queued)
		port_reset(p);
	port_start(p);
	p->is_seen = 0;
	irq_restore(on);
	for (uint32_t s = 0; s < 32; s++) {
		if (!(p->busy & (1u << s)))
			continue;
		p->req[s]->status = BLK_ERR_IO;
		p->req[s]->done = 1;
		p->req[s] = 0;
	}
	p->busy = 0;
	p->busy_queued = 0;
}

/* See ahci_int.h. */
void ahci_build(struct port *p, uint32_t s, uint8_t cmd, uint64_t lba,
		uint32_t count, uint64_t addr, uint32_t bytes, int write)
{
	uint8_t *h = p->cl + 32 * s, *t = p->tables + 256 * s;
	memset(t, 0, 0x90);
	t[0] = FIS_H2D;
	t[1] = 0x80;		/* C: this is a command */
	t[2] = cmd;
	t[4] = (uint8_t)lba;
	t[5] = (uint8_t)(lba >> 8);
	t[6] = (uint8_t)(lba >> 16);
	t[7] = 0x40;		/* LBA mode */
	t[8] = (uint8_t)(lba >> 24);
	t[9] = (uint8_t)(lba >> 32);
	t[10] = (uint8_t)(lba >> 40);
	t[12] = (uint8_t)count;
	t[13] = (uint8_t)(count >> 8);
	uint32_t prdtl = bytes ? 1 : 0;
	if (bytes) {		/* §4.2.3.3 PRD: DBA, DBC = bytes - 1 */
		uint8_t *prd = t + 0x80;
		for (int i = 0; i < 4; i++) {
			prd[i] = (uint8_t)(addr >> (8 * i));
			prd[4 + i] = (uint8_t)(addr >> (32 + 8 * i));
		}
		uint32_t dbc = bytes - 1;
		for (int i = 0; i < 4; i++)
			prd[12 + i] = (uint8_t)(dbc >> (8 * i));
	}
	/* §4.2.2 header: CFL = 5 dwords, W, PRDTL; PRDBC; CTBA. */
	uint32_t dw0 = 5 | (write ? 1u << 6 : 0) | prdtl << 16;
	uint64_t ctba = (uintptr_t)t;
	memset(h, 0, 32);
	memcpy(h, &dw0, 4);
	memcpy(h + 8, &ctba, 8);
}

/* §4.x / ATA8-ACS §7.23.3: a queued command carries its sector count in
 * the features fields and its tag in the count field. */
static void queue_fis(struct port *p, uint32_t s, uint32_t count)
{
	uint8_t *t = p->tables + 256 * s;
	t[3] = (uint8_t)count;		/* features 7:0 */
	t[11] = (uint8_t)(count >> 8);	/* features 15:8 */
	t[12] = (uint8_t)(s << 3);	/* count 7:3: the tag */
	t[13] = 0;
}

static int free_slot(struct port *p)
{
	for (uint32_t s = 0; s < p->slots; s++)
		if (!(p->busy & (1u << s)))
			return (int)s;
	return -1;
}

static int submit(struct blk_dev *b, struct blk_req *r)
{
	struct port *p = b->priv;
	int queued = p->ncq && (r->op == BLK_READ || r->op == BLK_WRITE);
	int s = free_slot(p);
	/* queued and non-queued commands never mix (SATA 3.x §13.6.2) */
	if (s < 0 || (p->busy && queued != p->busy_queued))
		return BLK_ERR_BUSY;
	uint32_t bytes = r->count * b->sector_size;
	if (p->atapi && r->op != BLK_READ)
		return BLK_ERR_UNSUPP;
	switch (p->atapi ? -1 : r->op) {
	case -1:	/* READ(10) in a PACKET */
		ahci_atapi_read(p, (uint32_t)s, r->lba, r->count, r->addr);
		break;
	case BLK_READ:
		ahci_build(p, (uint32_t)s, queued ? ATA_READ_FPDMA_QUEUED
				      : ATA_READ_DMA_EXT, r->lba, r->count,
		      r->addr, bytes, 0);
		break;
	case BLK_WRITE:
		ahci_build(p, (uint32_t)s, queued ? ATA_WRITE_FPDMA_QUEUED
				      : ATA_WRITE_DMA_EXT, r->lba, r->count,
		      r->addr, bytes, 1);
		break;
	case BLK_FLUSH:
		ahci_build(p, (uint32_t)s, ATA_FLUSH_CACHE_EXT, 0, 0, 0, 0, 0);
		break;
	default:
		return BLK_ERR_UNSUPP;
	}
	if (queued)
		queue_fis(p, (uint32_t)s, r->count);
	p->req[s] = r;
	p->busy |= 1u << s;
	p->busy_queued = (uint8_t)queued;
	/* The command table and header before the doorbell: stores stay in
	 * order on x86 and the MMIO write is uncached; stop the compiler. */
	cpu_barrier();
	if (queued)	/* §5.3.x: PxSACT before PxCI */
		mmio_write32(p->r, P_SACT, 1u << s);
	mmio_write32(p->r, P_CI, 1u << s);
	return 0;
}

static void kick(struct blk_dev *b)
{
	(void)b;
}

/* §5.6.4 (MSI or INTx): for each port IS names, keep and clear PxIS
 * (which deasserts it), then clear IS. The waiter reaps. */
static int hba_irq(void *ctx)
{
	struct hba *h = ctx;
	uint32_t is = mmio_read32(h->abar, IS);
	for (uint32_t i = 0; i < 32; i++) {
		struct port *p = h->port[i];
		if (!(is & (1u << i)) || !p)
			continue;
		uint32_t pis = mmio_read32(p->r, P_IS);
		p->is_seen |= pis;
		mmio_write32(p->r, P_IS, pis);
	}
	mmio_write32(h->abar, IS, is);
	return is != 0;
}

static int poll(struct blk_dev *b)
{
	struct port *p = b->priv;
	int on = irq_save();	/* is_seen is the handler's too */
	uint32_t is = mmio_read32(p->r, P_IS) | p->is_seen;
	p->is_seen = 0;
	irq_restore(on);
	if (is & IS_ERRORS) {
		uint32_t tfd = mmio_read32(p->r, P_TFD);
		blk_detail(b, "%s (status 0x%02x, error 0x%02x, PxIS 0x%08x)",
			   ata_error_string((uint8_t)(tfd >> 8)), tfd & 0xff,
			   (tfd >> 8) & 0xff, is);
		int n = __builtin_popcount(p->busy);
		port_recover(p);
		if (p->atapi && (is & IS_TFES))	/* the sense data says why */
			ahci_atapi_detail(p, (uint8_t)(tfd >> 8));
		return n;
	}
	/* a queued command is done when its tag leaves PxSACT (the Set
	 * Device Bits FIS), not when PxCI clears (§5.3.x) */
	uint32_t ci = mmio_read32(p->r, P_CI), n = 0;
	if (p->busy_queued)
		ci |= mmio_read32(p->r, P_SACT);
	for (uint32_t s = 0; s < 32; s++) {
		if (!(p->busy & (1u << s)) || (ci & (1u << s)))
			continue;
		p->req[s]->status = 0;
		p->req[s]->done = 1;
		p->req[s] = 0;
		p->busy &= ~(1u << s);
		n++;
	}
	if (!p->busy)
		p->busy_queued = 0;
	return (int)n;
}

static int fail(struct blk_dev *b)
{
	struct port *p = b->priv;
	return port_stop(p) ? BLK_ERR_TIMEOUT : 0;	/* no more DMA */
}

static const struct blk_ops ahci_ops = { submit, kick, poll, fail, 0 };

/* See ahci_int.h. */
int ahci_run_slot0(struct port *p, uint32_t *tfd)
{
	mmio_write32(p->r, P_CI, 1);
	uint64_t end = time_us() + WAIT_US;
	int st = 0;
	for (;;) {
		if ((mmio_read32(p->r, P_IS) | p->is_seen) & IS_TFES) {
			*tfd = mmio_read32(p->r, P_TFD);
			st = 1;
			break;
		}
		if (!(mmio_read32(p->r, P_CI) & 1))
			return 0;
		if (time_us() > end) {
			st = -1;
			break;
		}
		cpu_pause();
	}
	int on = irq_save();
	port_stop(p);
	port_start(p);
	p->is_seen = 0;
	irq_restore(on);
	return st;
}

/* Runs one command to completion (IDENTIFY at setup). */
static int run_one(struct port *p, uint8_t cmd, void *buf, uint32_t bytes)
{
	uint32_t tfd;
	ahci_build(p, 0, cmd, 0, 0, (uintptr_t)buf, bytes, 0);
	return ahci_run_slot0(p, &tfd) ? -1 : 0;
}

const char *ahci_port_setup(struct port *p, uint32_t slots)
{
	p->slots = slots;
	/* One page: command list (1 KiB, 1 KiB aligned) and received FIS
	 * (256 bytes, 256 aligned); the tables (128 aligned) after. */
	uint64_t pages = 1 + (slots * 256 + PAGE_SIZE - 1) / PAGE_SIZE;
	uint8_t *mem = (uint8_t *)(uintptr_t)page_alloc_below(pages, LOW4G);
	if (!mem)
		return "no memory below 4 GiB for the command list";
	memset(mem, 0, pages * PAGE_SIZE);
	p->cl = mem;
	p->fis = mem + 1024;
	p->tables = mem + PAGE_SIZE;
	if (port_stop(p))
		return "the port does not stop (PxCMD.CR/FR stay set)";
	mmio_write32(p->r, P_CLB, (uint32_t)(uintptr_t)p->cl);
	mmio_write32(p->r, P_CLBU, 0);
	mmio_write32(p->r, P_FB, (uint32_t)(uintptr_t)p->fis);
	mmio_write32(p->r, P_FBU, 0);
	mmio_write32(p->r, P_IE, 0);	/* until the HBA has a vector */
	return port_start(p) ? "the port does not start (BSY stays set)" : 0;
}

/* Sets port p up and identifies its disk; NULL, or why not. */
static const char *port_disk(struct port *p, uint32_t slots)
{
	uint16_t *w = (uint16_t *)(uintptr_t)page_alloc_below(1, LOW4G);
	const char *why = !w ? "out of memory" : ahci_port_setup(p, slots);
	if (!why && run_one(p, ATA_IDENTIFY, w, 512))
		why = "IDENTIFY DEVICE failed";
	if (!why && ata_parse_identity(w, &p->id))
		why = "no LBA, or a sector size other than 512 or 4096";
	if (w)
		page_free((uintptr_t)w, 1);
	return why;
}

/* A disk's block device: NCQ when the HBA (CAP.SNCQ) and the drive
 * (IDENTIFY word 76) both have it, as deep as the smaller of slots and
 * the drive. */
static void disk_blk(struct port *p, uint32_t cap, uint32_t slots)
{
	struct blk_dev *b = &p->blk;
	uint32_t depth = slots;
	p->ncq = AHCI_NCQ && (cap & CAP_SNCQ) && p->id.ncq_depth;
	if (p->ncq && p->id.ncq_depth < depth)
		depth = p->id.ncq_depth;
	fmt_snprintf(b->model, sizeof(b->model), "%s (AHCI port %u, %s)",
		     p->id.model, p->index, p->ncq ? "NCQ" : "DMA");
	memcpy(b->serial, p->id.serial, sizeof(b->serial) - 1);
	b->sectors = p->id.sectors;
	b->sector_size = p->id.sector_size;
	b->max_sectors = PRD_MAX / p->id.sector_size;
	if (b->max_sectors > 65536)
		b->max_sectors = 65536;	/* the EXT count field */
	b->queue_depth = depth;
	b->can_flush = 1;
	b->cache = p->id.write_cache ? "write-back" : "write-through";
}

static unsigned natapi;

static void add_port(struct pci_dev *pd, struct hba *h, uint32_t i,
		     uint32_t cap)
{
	volatile uint8_t *r = h->abar + 0x100 + 0x80 * i;
	uint32_t sig = mmio_read32(r, P_SIG);
	if ((mmio_read32(r, P_SSTS) & 0xf) != DET_PRESENT ||
	    (sig != SIG_ATA && sig != SIG_ATAPI))
		return;		/* no link, or a port multiplier */
	uint32_t slots = ((cap >> 8) & 0x1f) + 1;
	struct port *p = calloc(1, sizeof(*p));
	const char *why = "out of memory";
	int st = -1;
	if (p) {
		p->r = r;
		p->index = i;
		p->atapi = sig == SIG_ATAPI;
		why = 0;
		st = p->atapi ? ahci_atapi_port(p, slots, &why)
			      : (why = port_disk(p, slots)) ? -1 : 0;
	}
	if (st) {
		char where[16];
		pci_where(pd, where);
		fmt_snprintf(where + 7, sizeof(where) - 7, "/p%u", i);
		if (st < 0)
			blk_broken(where, "ahci", "%s", why);
		if (p && p->page && !port_stop(p))	/* no more DMA */
			page_free((uintptr_t)p->page, 2);
		free(p);
		return;
	}
	struct blk_dev *b = &p->blk;
	if (p->atapi)
		fmt_snprintf(b->name, sizeof(b->name), "sr%u", natapi++);
	else
		fmt_snprintf(b->name, sizeof(b->name), "sd%c", 'a' + ndisks++);
	if (!p->atapi)
		disk_blk(p, cap, slots);
	b->transport = "ahci";
	b->pci = pd;
	b->dma_align = 2;	/* PRD DBA bit 0 is reserved */
	/* §3.1.1 CAP.S64A clear: the HBA cannot reach above 4 GiB */
	b->dma_limit = cap & CAP_S64A ? 0 : LOW4G;
	b->ops = &ahci_ops;
	b->priv = p;
	if (blk_register(b))
		free(p);
	else
		h->port[i] = p;
}

static void msi_off(void *ctx)
{
	struct hba *h = ctx;
	mmio_write32(h->abar, GHC, mmio_read32(h->abar, GHC) & ~GHC_IE);
}

/* MSI when the HBA has it, else INTx; then every port's completion and
 * error interrupts (PxIE) and the HBA's (GHC.IE). */
static void hba_irq_on(struct pci_dev *pd, struct hba *h)
{
	fmt_snprintf(h->name, sizeof(h->name), "ahci%u", nhbas);
	h->vec = irq_alloc(h->name, hba_irq, h);
	if (!h->vec || (pci_msi_enable(pd, h->vec) &&
			pci_intx_route(pd, h->vec))) {
		h->vec = 0;
		return;
	}
	irq_set_mask_fn(h->vec, msi_off, h);
	for (uint32_t i = 0; i < 32; i++) {
		if (!h->port[i])
			continue;
		mmio_write32(h->port[i]->r, P_IE, IS_ERRORS | IE_DONE);
		h->port[i]->blk.irq_vec = h->vec;
	}
	mmio_write32(h->abar, IS, ~0u);
	mmio_write32(h->abar, GHC, mmio_read32(h->abar, GHC) | GHC_IE);
}

/* §10.6.3 BIOS/OS handoff, when the HBA supports it. */
static void handoff(volatile uint8_t *abar)
{
	if (!(mmio_read32(abar, CAP2) & 1))
		return;
	mmio_write32(abar, BOHC, mmio_read32(abar, BOHC) | 2);	/* OOS */
	if (wait_reg(abar, BOHC, 1, 0, 25000))	/* BOS clears */
		return;
	time_delay_us(25000);
	if (mmio_read32(abar, BOHC) & 0x10)		/* BIOS busy: wait */
		wait_reg(abar, BOHC, 0x10, 0, HANDOFF_US);
}

int ahci_probe(struct pci_dev *pd)
{
	if (pd->cls != 1 || pd->subcls != 6 || pd->progif != 1)
		return BLK_NOT_MINE;
	pci_enable(pd, PCI_CMD_MEM | PCI_CMD_MASTER);
	volatile uint8_t *abar = pci_map_bar(pd, 5);
	if (!abar) {
		char where[8];
		pci_where(pd, where);
		blk_broken(where, "ahci", "BAR5 (ABAR) is not a memory BAR");
		return BLK_ERR_DEVICE;
	}
	struct hba *h = calloc(1, sizeof(*h));
	if (!h)
		return BLK_ERR_NOMEM;
	h->abar = abar;
	handoff(abar);
	mmio_write32(abar, GHC, mmio_read32(abar, GHC) | GHC_AE);
	/* no interrupts while the ports are set up */
	mmio_write32(abar, GHC, (mmio_read32(abar, GHC) | GHC_AE) & ~GHC_IE);
	uint32_t cap = mmio_read32(abar, CAP), pi = mmio_read32(abar, PI);
	for (uint32_t i = 0; i < 32; i++)
		if (pi & (1u << i))
			add_port(pd, h, i, cap);
	hba_irq_on(pd, h);
	if (!h->vec)
		free(h);	/* only the interrupt handler needs it */
	nhbas++;
	return 0;
}
