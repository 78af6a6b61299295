/* NVMe (NVM Express base specification 1.4): reset and enable the
 * controller, the admin queue, IDENTIFY, one I/O queue pair, READ, WRITE,
 * FLUSH and Dataset Management deallocate; PRP lists within MDTS; several
 * commands in flight; completions by the phase bit. One block device per
 * active namespace. Every wait has a deadline. */
#include "nvme.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "../../runtime/irq.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "../../runtime/time.h"

/* §3.1 controller registers */
#define R_CAP 0x00	/* MQES 15:0, TO 31:24 (500 ms), DSTRD 35:32, MPSMIN 51:48 */
#define R_CC 0x14	/* EN 0, CSS 6:4, MPS 10:7, IOSQES 19:16, IOCQES 23:20 */
#define R_CSTS 0x1c	/* RDY 0, CFS 1 */
#define R_AQA 0x24
#define R_ASQ 0x28
#define R_ACQ 0x30
#define R_DOORBELL 0x1000
#define CC_EN 1
#define CC_IOSQES (6u << 16)	/* 64-byte submission entries */
#define CC_IOCQES (4u << 20)	/* 16-byte completion entries */
#define CSTS_RDY 1
#define CSTS_CFS 2

/* §5 admin and §6 NVM command opcodes */
#define A_CREATE_SQ 0x01
#define A_CREATE_CQ 0x05
#define A_IDENTIFY 0x06
#define IO_FLUSH 0x00
#define IO_WRITE 0x01
#define IO_READ 0x02
#define IO_DSM 0x09
#define CNS_NAMESPACE 0
#define CNS_CONTROLLER 1

#define PAGE 4096u
#define ADMIN_ENTRIES 16
#define IO_ENTRIES 256
#define MAX_XFER (2u << 20)	/* one PRP list page: 512 pages */
#define CMD_US 10000000ull
#define MAX_NS 16

struct queue {
	uint8_t *sq, *cq;
	uint16_t size, tail, head;
	uint8_t phase;
	volatile uint32_t *sq_db, *cq_db;
};

struct ctrl {
	volatile uint8_t *regs;
	struct queue admin, io;
	uint64_t *prp;		/* a PRP list page per I/O slot */
	struct blk_req *req[IO_ENTRIES];
	uint32_t nsid_of[IO_ENTRIES];
	uint16_t inflight;
	uint32_t mdts_bytes;
	uint8_t oncs_dsm, vwc;
	char model[41], serial[21];
	int index, failed;
	uint64_t timeout_us, bar_size;
	uint32_t stride;		/* doorbell stride, bytes */
	struct pci_dev *pci;
	struct pci_msix msix;
	int vec;			/* the I/O queue's interrupt; 0: none */
	char name[12];
	char admin_why[64];	/* why the last admin command failed */
	char why[128];		/* why the controller is not used */
};

struct ns {
	struct ctrl *c;
	uint32_t nsid;
	struct blk_dev blk;
};

static int nctrl;

/* §4.6.1 status field: type and code in words. */
static const char *status_string(uint16_t sf)
{
	uint8_t sct = (sf >> 8) & 7, sc = (uint8_t)sf;
	if (sct == 0) {
		switch (sc) {
		case 0x01: return "invalid opcode";
		case 0x02: return "invalid field";
		case 0x04: return "data transfer error";
		case 0x06: return "internal error";
		case 0x07: return "aborted";
		case 0x0b: return "invalid namespace";
		case 0x80: return "LBA out of range";
		case 0x81: return "capacity exceeded";
		case 0x82: return "namespace not ready";
		}
	} else if (sct == 2) {
		switch (sc) {
		case 0x80: return "write fault";
		case 0x81: return "unrecovered read error";
		case 0x86: return "access denied";
		}
	}
	return sct == 1 ? "command specific error" : "error";
}

static int queue_init(struct queue *q, uint16_t size)
{
	uint32_t sq_pages = (size * 64u + PAGE - 1) / PAGE;
	uint32_t cq_pages = (size * 16u + PAGE - 1) / PAGE;
	q->sq = page_alloc_zero(sq_pages);
	q->cq = page_alloc_zero(cq_pages);
	q->size = size;
	q->phase = 1;
	return q->sq && q->cq ? 0 : -1;
}

static void sq_push(struct queue *q, const uint8_t cmd[64])
{
	memcpy(q->sq + 64u * q->tail, cmd, 64);
	q->tail = (uint16_t)((q->tail + 1) % q->size);
	/* The entry before the doorbell that hands it over: stores are
	 * ordered on x86, and the doorbell is uncached MMIO. */
	cpu_barrier();
	*q->sq_db = q->tail;
}

/* The next completion, if its phase bit says the controller wrote it. */
static int cq_pop(struct queue *q, uint16_t *cid, uint16_t *sf, uint32_t *dw0)
{
	volatile uint8_t *e = q->cq + 16u * q->head;
	uint32_t dw3 = *(volatile uint32_t *)(e + 12);
	if (((dw3 >> 16) & 1) != q->phase)
		return 0;
	/* The phase bit before the rest of the entry. */
	cpu_barrier();
	*dw0 = *(volatile uint32_t *)e;
	*cid = (uint16_t)dw3;
	*sf = (uint16_t)(dw3 >> 17);
	if (++q->head == q->size) {
		q->head = 0;
		q->phase ^= 1;
	}
	*q->cq_db = q->head;
	return 1;
}

static void cmd_init(uint8_t c[64], uint8_t op, uint16_t cid, uint32_t nsid)
{
	memset(c, 0, 64);
	c[0] = op;
	c[2] = (uint8_t)cid;
	c[3] = (uint8_t)(cid >> 8);
	memcpy(c + 4, &nsid, 4);
}

static void cmd_put32(uint8_t c[64], int dw, uint32_t v)
{
	le32_put(c + 4 * dw, v);
}

static void cmd_put64(uint8_t c[64], int dw, uint64_t v)
{
	le64_put(c + 4 * dw, v);
}

/* An admin command, waited for; data (one page) at prp1. 0, or
 * BLK_ERR_TIMEOUT (no completion within CAP.TO), BLK_ERR_DEVICE (fatal
 * status, or a completion for another command) or BLK_ERR_IO (an error
 * status), with the words in c->admin_why. */
static int admin(struct ctrl *c, uint8_t op, uint32_t nsid, uint64_t prp1,
		 uint32_t cdw10, uint32_t cdw11)
{
	uint8_t cmd[64];
	cmd_init(cmd, op, 0x7fff, nsid);
	cmd_put64(cmd, 6, prp1);
	cmd_put32(cmd, 10, cdw10);
	cmd_put32(cmd, 11, cdw11);
	sq_push(&c->admin, cmd);
	uint64_t end = time_us() + c->timeout_us;
	uint16_t cid, sf;
	uint32_t dw0;
	while (!cq_pop(&c->admin, &cid, &sf, &dw0)) {
		if (mmio_read32(c->regs, R_CSTS) & CSTS_CFS) {
			fmt_snprintf(c->admin_why, sizeof(c->admin_why),
				     "controller fatal status");
			return BLK_ERR_DEVICE;
		}
		if (time_us() > end) {
			fmt_snprintf(c->admin_why, sizeof(c->admin_why),
				     "no completion within %llu ms",
				     (unsigned long long)c->timeout_us / 1000);
			return BLK_ERR_TIMEOUT;
		}
		cpu_pause();
	}
	if (cid != 0x7fff) {
		fmt_snprintf(c->admin_why, sizeof(c->admin_why),
			     "a completion for command %u, not %u", cid, 0x7fff);
		return BLK_ERR_DEVICE;
	}
	if (sf & 0x7ff) {
		fmt_snprintf(c->admin_why, sizeof(c->admin_why),
			     "%s (status 0x%x)", status_string(sf), sf & 0x7ff);
		return BLK_ERR_IO;
	}
	return 0;
}

/* CAP (§3.1.1) as this driver needs it: 4 KiB pages (MPSMIN 0), a queue
 * of more than one entry (MQES is 0-based), doorbells inside BAR0. NULL,
 * or why the controller cannot be used. */
static const char *check_cap(struct ctrl *c, uint64_t cap)
{
	uint64_t stride = 4ull << ((cap >> 32) & 0xf);
	if ((cap >> 48) & 0xf)
		return "no 4 KiB memory pages (CAP.MPSMIN)";
	if (!(cap & 0xffff))
		return "CAP.MQES is 0: queues of one entry cannot hold a command";
	if (R_DOORBELL + 4 * stride > c->bar_size)
		return "the doorbells (CAP.DSTRD) lie beyond BAR0";
	c->stride = (uint32_t)stride;
	return 0;
}

/* Waits until CSTS.RDY reads `ready`; CAP.TO bounds it. */
static const char *wait_ready(struct ctrl *c, uint32_t ready)
{
	uint64_t end = time_us() + c->timeout_us;
	while ((mmio_read32(c->regs, R_CSTS) & CSTS_RDY) != ready) {
		if (mmio_read32(c->regs, R_CSTS) & CSTS_CFS)
			return "controller fatal status (CSTS.CFS)";
		if (time_us() > end)
			return ready ? "not ready within CAP.TO"
				     : "did not stop within CAP.TO";
		cpu_pause();
	}
	return 0;
}

/* §7.6.1 controller reset and enable; CAP.TO bounds each wait. NULL, or
 * why it did not come up. */
/* The I/O completion queue's interrupt: it only says whether there is a
 * completion to reap (the waiter reaps it). */
static int nvme_irq(void *ctx)
{
	struct ctrl *c = ctx;
	volatile uint8_t *e = c->io.cq + 16u * c->io.head;
	return ((mmio_read32(e, 12) >> 16) & 1) == c->io.phase;
}

static void msix_mask(void *ctx)
{
	struct ctrl *c = ctx;
	pci_msix_mask(&c->msix, 1, 1);
}

/* MSI-X entry 1 (or MSI, whose one message is vector 0) for the I/O
 * completion queue; CREATE I/O CQ's IEN | IV bits, 0 for none. INTx is
 * not used: it is level-triggered until the queue is reaped, which the
 * waiter, not the handler, does. */
static uint32_t cq_irq(struct ctrl *c)
{
	fmt_snprintf(c->name, sizeof(c->name), "nvme%d", c->index);
	if (!pci_msix_init(c->pci, &c->msix) && c->msix.size >= 2 &&
	    (c->vec = irq_alloc(c->name, nvme_irq, c))) {
		pci_msix_set(&c->msix, 1, c->vec);
		irq_set_mask_fn(c->vec, msix_mask, c);
		pci_msix_enable(c->pci, &c->msix, 1);
		return 2u | 1u << 16;		/* IEN, IV 1 */
	}
	if ((c->vec || (c->vec = irq_alloc(c->name, nvme_irq, c))) &&
	    !pci_msi_enable(c->pci, c->vec))
		return 2u;			/* IEN, IV 0 */
	c->vec = 0;
	return 0;
}

static const char *enable(struct ctrl *c)
{
	uint64_t cap = mmio_read64(c->regs, R_CAP);
	c->timeout_us = ((cap >> 24) & 0xff) * 500000ull;
	if (c->timeout_us < 500000)
		c->timeout_us = 500000;
	const char *why = check_cap(c, cap);
	if (why)
		return why;
	uint32_t stride = c->stride;
	mmio_write32(c->regs, R_CC, mmio_read32(c->regs, R_CC) & ~CC_EN);
	if ((why = wait_ready(c, 0)))
		return why;
	if (queue_init(&c->admin, ADMIN_ENTRIES))
		return "out of memory";
	c->admin.sq_db = (volatile uint32_t *)(c->regs + R_DOORBELL);
	c->admin.cq_db = (volatile uint32_t *)(c->regs + R_DOORBELL + stride);
	mmio_write32(c->regs, R_AQA, (ADMIN_ENTRIES - 1) | (ADMIN_ENTRIES - 1) << 16);
	mmio_write64(c->regs, R_ASQ, (uintptr_t)c->admin.sq);
	mmio_write64(c->regs, R_ACQ, (uintptr_t)c->admin.cq);
	mmio_write32(c->regs, R_CC, CC_EN | CC_IOSQES | CC_IOCQES);
	if ((why = wait_ready(c, CSTS_RDY)))
		return why;
	uint16_t mqes = (uint16_t)(cap & 0xffff);
	uint16_t n = mqes + 1u < IO_ENTRIES ? (uint16_t)(mqes + 1) : IO_ENTRIES;
	if (queue_init(&c->io, n))
		return "out of memory";
	c->io.sq_db = (volatile uint32_t *)(c->regs + R_DOORBELL + 2 * stride);
	c->io.cq_db = (volatile uint32_t *)(c->regs + R_DOORBELL + 3 * stride);
	/* §5.3, §5.4: the completion queue first; contiguous (PC), with
	 * interrupts (IEN) on vector IV when there is one. */
	if (admin(c, A_CREATE_CQ, 0, (uintptr_t)c->io.cq, 1 | (n - 1u) << 16,
		  1 | cq_irq(c)) ||
	    admin(c, A_CREATE_SQ, 0, (uintptr_t)c->io.sq, 1 | (n - 1u) << 16,
		  1 | 1u << 16)) {
		fmt_snprintf(c->why, sizeof(c->why), "creating the I/O queue "
			     "pair failed: %s", c->admin_why);
		return c->why;
	}
	c->prp = page_alloc_zero(n);
	return c->prp ? 0 : "out of memory";
}

/* Fills the PRPs of a transfer (§4.3): the first page, then the second
 * page or a list. addr is dword aligned (dma_align). */
static void set_prps(struct ctrl *c, uint8_t cmd[64], uint16_t slot,
		     uint64_t addr, uint32_t bytes)
{
	cmd_put64(cmd, 6, addr);
	uint64_t first_end = (addr & ~(uint64_t)(PAGE - 1)) + PAGE;
	if (addr + bytes <= first_end)
		return;
	if (addr + bytes <= first_end + PAGE) {
		cmd_put64(cmd, 8, first_end);
		return;
	}
	uint64_t *list = c->prp + (uint64_t)slot * (PAGE / 8);
	uint32_t n = 0;
	for (uint64_t p = first_end; p < addr + bytes; p += PAGE)
		list[n++] = p;
	cmd_put64(cmd, 8, (uintptr_t)list);
}

static int free_slot(struct ctrl *c)
{
	for (uint16_t i = 0; i + 1u < c->io.size; i++)
		if (!c->req[i])
			return i;
	return -1;
}

static int submit(struct blk_dev *b, struct blk_req *r)
{
	struct ns *ns = b->priv;
	struct ctrl *c = ns->c;
	if (c->failed) {
		blk_detail(b, "controller failed");
		return BLK_ERR_DEVICE;
	}
	int slot = c->inflight + 2u > c->io.size ? -1 : free_slot(c);
	if (slot < 0)
		return BLK_ERR_BUSY;
	uint8_t cmd[64];
	uint32_t bytes = r->count * b->sector_size;
	switch (r->op) {
	case BLK_READ:
	case BLK_WRITE:
		cmd_init(cmd, r->op == BLK_READ ? IO_READ : IO_WRITE,
			 (uint16_t)slot, ns->nsid);
		set_prps(c, cmd, (uint16_t)slot, r->addr, bytes);
		cmd_put64(cmd, 10, r->lba);
		cmd_put32(cmd, 12, r->count - 1);	/* NLB: 0-based */
		break;
	case BLK_FLUSH:
		cmd_init(cmd, IO_FLUSH, (uint16_t)slot, ns->nsid);
		break;
	case BLK_DISCARD: {
		/* §6.7 DSM: one range {attributes, length, SLBA}, AD. */
		uint32_t *range = (uint32_t *)(c->prp + (uint64_t)slot * (PAGE / 8));
		range[0] = 0;
		range[1] = r->count;
		range[2] = (uint32_t)r->lba;
		range[3] = (uint32_t)(r->lba >> 32);
		cmd_init(cmd, IO_DSM, (uint16_t)slot, ns->nsid);
		cmd_put64(cmd, 6, (uintptr_t)range);
		cmd_put32(cmd, 10, 0);		/* one range (0-based) */
		cmd_put32(cmd, 11, 1u << 2);	/* AD: deallocate */
		break;
	}
	default:
		return BLK_ERR_UNSUPP;
	}
	c->req[slot] = r;
	c->inflight++;
	sq_push(&c->io, cmd);
	return 0;
}

static void kick(struct blk_dev *b)
{
	(void)b;	/* the doorbell rang in submit */
}

static int poll(struct blk_dev *b)
{
	struct ns *ns = b->priv;
	struct ctrl *c = ns->c;
	uint16_t cid, sf;
	uint32_t dw0;
	int n = 0;
	if (c->failed || (mmio_read32(c->regs, R_CSTS) & CSTS_CFS)) {
		/* one fatal controller: every namespace on it fails now */
		c->failed = 1;
		blk_detail(b, "controller fatal status (CSTS.CFS)");
		return BLK_ERR_DEVICE;
	}
	while (cq_pop(&c->io, &cid, &sf, &dw0)) {
		if (cid >= c->io.size || !c->req[cid]) {
			blk_detail(b, "completion for command %u, which is "
				   "not in flight", cid);
			return BLK_ERR_DEVICE;
		}
		struct blk_req *r = c->req[cid];
		c->req[cid] = 0;
		c->inflight--;
		r->status = 0;
		if (sf & 0x7ff) {
			blk_detail(b, "%s (status 0x%03x)", status_string(sf),
				   sf & 0x7ff);
			r->status = BLK_ERR_IO;
		}
		r->done = 1;
		n++;
	}
	return n;
}

static int fail(struct blk_dev *b)
{
	struct ctrl *c = ((struct ns *)b->priv)->c;
	c->failed = 1;
	mmio_write32(c->regs, R_CC, 0);	/* disable: no more DMA */
	return wait_ready(c, 0) ? BLK_ERR_TIMEOUT : 0;
}

static const struct blk_ops nvme_ops = { submit, kick, poll, fail, 0 };

/* §5.15.2.1 Identify Namespace: size, and the LBA format in use. */
static void add_namespace(struct ctrl *c, uint32_t nsid, uint8_t *page)
{
	char name[16];
	fmt_snprintf(name, sizeof(name), "nvme%dn%u", c->index, nsid);
	if (admin(c, A_IDENTIFY, nsid, (uintptr_t)page, CNS_NAMESPACE, 0)) {
		blk_broken(name, "nvme", "IDENTIFY namespace failed: %s",
			   c->admin_why);
		return;
	}
	uint64_t nsze = le64_get(page);
	uint8_t flbas = page[26] & 0xf, nlbaf = page[25];
	if (!nsze || flbas > nlbaf)
		return;		/* inactive, or nonsense */
	uint32_t lbaf = le32_get(page + 128 + 4 * flbas);
	uint32_t ms = lbaf & 0xffff, lbads = (lbaf >> 16) & 0xff;
	if (ms || (lbads != 9 && lbads != 12)) {
		blk_broken(name, "nvme", "LBA format of %llu bytes with %u "
			   "metadata bytes", lbads < 64 ? 1ull << lbads : 0,
			   ms);
		return;
	}
	struct ns *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return;
	ns->c = c;
	ns->nsid = nsid;
	struct blk_dev *b = &ns->blk;
	memcpy(b->name, name, sizeof(name));
	fmt_snprintf(b->model, sizeof(b->model), "%s (namespace %u)", c->model,
		     nsid);
	memcpy(b->serial, c->serial, sizeof(b->serial) - 1);
	b->transport = "nvme";
	b->pci = c->pci;
	b->cache = c->vwc ? "write-back" : "write-through";
	b->sector_size = 1u << lbads;
	b->sectors = nsze;
	b->max_sectors = c->mdts_bytes / b->sector_size;
	b->queue_depth = c->io.size - 1;
	b->dma_align = 4;	/* PRP entries are dword aligned */
	b->can_flush = c->vwc;
	b->can_discard = c->oncs_dsm;
	b->irq_vec = c->vec;
	b->ops = &nvme_ops;
	b->priv = ns;
	if (blk_register(b))
		free(ns);
}

int nvme_probe(struct pci_dev *p)
{
	if (p->cls != 1 || p->subcls != 8 || p->progif != 2)
		return BLK_NOT_MINE;
	char where[8];
	pci_where(p, where);
	pci_enable(p, PCI_CMD_MEM | PCI_CMD_MASTER);
	struct ctrl *c = calloc(1, sizeof(*c));
	uint8_t *page = page_alloc_zero(1);
	const char *why = !c || !page ? "out of memory"
		: !(c->regs = pci_map_bar(p, 0)) ? "BAR0 is not a memory BAR"
		: 0;
	if (c) {
		c->bar_size = p->bar[0].size;
		c->pci = p;
		c->index = nctrl;
	}
	if (!why && !(why = enable(c)) &&
	    admin(c, A_IDENTIFY, 0, (uintptr_t)page, CNS_CONTROLLER, 0)) {
		fmt_snprintf(c->why, sizeof(c->why), "IDENTIFY controller "
			     "failed: %s", c->admin_why);
		why = c->why;
	}
	if (why) {
		if (c && c->regs)
			mmio_write32(c->regs, R_CC, 0);	/* no more DMA */
		blk_broken(where, "nvme", "%s", why);
		free(c);
		if (page)
			page_free((uintptr_t)page, 1);
		return BLK_ERR_DEVICE;
	}
	nctrl++;
	/* §5.15.2.2 Identify Controller: SN 4-23, MN 24-63, MDTS 77,
	 * NN 516, ONCS 520, VWC 525. */
	blk_ident_string(c->serial, page + 4, 20, 0);
	blk_ident_string(c->model, page + 24, 40, 0);
	uint8_t mdts = page[77];
	c->mdts_bytes = mdts && mdts < 20 && (PAGE << mdts) < MAX_XFER
				? PAGE << mdts : MAX_XFER;
	uint32_t nn = le32_get(page + 516);
	c->oncs_dsm = (page[520] >> 2) & 1;
	c->vwc = page[525] & 1;
	for (uint32_t id = 1; id <= nn && id <= MAX_NS; id++)
		add_namespace(c, id, page);
	page_free((uintptr_t)page, 1);
	return 0;
}
