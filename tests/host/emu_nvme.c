/* The NVMe controller model; see emu_nvme.h. */
#include "emu_nvme.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/le.h"

/* §3.1 registers */
#define CAP 0x00
#define VS 0x08
#define CC 0x14		/* EN 0, MPS 10:7, IOSQES 19:16, IOCQES 23:20 */
#define CSTS 0x1c	/* RDY 0, CFS 1 */
#define AQA 0x24	/* ASQS 11:0, ACQS 27:16 (0-based) */
#define ASQ 0x28
#define ACQ 0x30
#define DOORBELLS 0x1000
#define CC_EN 1u
#define CSTS_RDY 1u
#define CSTS_CFS 2u

/* §4.6.1.2 status: type in 10:8, code in 7:0 */
#define SF_OK 0x000
#define SF_BAD_OPCODE 0x001
#define SF_BAD_FIELD 0x002
#define SF_BAD_PRP_OFFSET 0x013
#define SF_BAD_NS 0x00b
#define SF_LBA_RANGE 0x080
#define SF_CQ_INVALID 0x100	/* command specific: completion queue */
#define SF_BAD_QID 0x101
#define SF_BAD_QSIZE 0x102

#define PAGE 4096u

uint64_t emu_nvme_cap(uint16_t mqes, uint8_t dstrd, uint8_t to)
{
	return mqes | (uint64_t)to << 24 | (uint64_t)(dstrd & 0xf) << 32 |
	       1ull << 37;	/* CSS: the NVM command set */
}

void emu_nvme_init(struct emu_nvme *e, uint8_t slot, uint64_t cap)
{
	memset(e, 0, sizeof(*e));
	fakepci_init(&e->pci, slot, 0x1b36, 0x0010, 1, 8, 2);
	e->regs = fakepci_bar(&e->pci, 0, EMU_NVME_BAR);
	e->cap = cap;
	e->mdts = 5;		/* 128 KiB */
	e->vwc = 1;
	e->dsm = 1;
	mmio_write64(e->regs, CAP, cap);
	mmio_write32(e->regs, VS, 0x00010400);
}

void emu_nvme_ns(struct emu_nvme *e, uint32_t nsid, uint64_t nsze,
		 uint8_t lbads, int backed)
{
	struct emu_nvme_ns *ns = &e->ns[nsid - 1];
	ns->nsze = nsze;
	ns->lbads = lbads;
	ns->data = backed ? calloc(nsze, 1u << lbads) : 0;
	if (nsid > e->nn)
		e->nn = nsid;
}

static volatile uint32_t *doorbell(struct emu_nvme *e, uint32_t n)
{
	return (volatile uint32_t *)(e->regs + DOORBELLS + n * e->stride);
}

/* §4.6: the entry, then the dword with the phase tag, last. */
static void post(struct emu_nvme_q *cq, uint16_t sqid, uint32_t sqhd,
		 uint16_t cid, uint16_t sf)
{
	volatile uint8_t *c = fakepci_dma(cq->base + 16ull * cq->tail);
	mmio_write32(c, 0, 0);
	mmio_write32(c, 4, 0);
	mmio_write32(c, 8, sqhd | (uint32_t)sqid << 16);
	cpu_barrier();
	mmio_write32(c, 12, cid | (uint32_t)cq->phase << 16 |
				    (uint32_t)sf << 17);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
}

/* --- admin commands (§5) ------------------------------------------------- */

static void put_text(uint8_t *at, const char *s, unsigned n)
{
	memset(at, ' ', n);
	memcpy(at, s, strlen(s) < n ? strlen(s) : n);
}

/* §5.15.2: controller (CNS 1) or namespace (CNS 0) data into one page. */
static uint16_t identify(struct emu_nvme *e, uint32_t cns, uint32_t nsid,
			 uint64_t prp1)
{
	if (prp1 % PAGE) {
		e->bad++;
		return SF_BAD_PRP_OFFSET;
	}
	uint8_t *d = fakepci_dma(prp1);
	if (cns == 1) {
		memset(d, 0, PAGE);
		put_text(d + 4, "EMU-NVME-0001", 20);
		put_text(d + 24, "umbra test controller", 40);
		d[77] = e->mdts;
		le32_put(d + 516, e->nn);
		le16_put(d + 520, e->dsm ? 1u << 2 : 0);
		d[525] = e->vwc;
		return SF_OK;
	}
	if (cns != 0)
		return SF_BAD_FIELD;
	if (nsid < 1 || nsid > e->nn)
		return SF_BAD_NS;
	const struct emu_nvme_ns *ns = &e->ns[nsid - 1];
	memset(d, 0, PAGE);	/* an inactive namespace reads as zeros */
	le64_put(d, ns->nsze);
	le64_put(d + 8, ns->nsze);
	le64_put(d + 16, ns->nsze);
	le32_put(d + 128, (uint32_t)ns->lbads << 16);	/* LBAF0, FLBAS 0 */
	return SF_OK;
}

/* §5.3, §5.4: queue 1 only, physically contiguous, MQES bounds the size,
 * entries of the sizes CC chose (64 and 16 bytes). */
static uint16_t create(struct emu_nvme *e, int sq, uint32_t cdw10,
		       uint32_t cdw11, uint64_t prp1)
{
	uint32_t qid = cdw10 & 0xffff, size = (cdw10 >> 16) + 1;
	uint32_t cc = mmio_read32(e->regs, CC);
	struct emu_nvme_q *q = sq ? &e->sq : &e->cq;
	if (qid != 1 || q->live)
		return SF_BAD_QID;
	if (size < 2 || size > (e->cap & 0xffff) + 1)
		return SF_BAD_QSIZE;
	if (!(cdw11 & 1) || prp1 % PAGE ||
	    ((cc >> 16) & 0xf) != 6 || ((cc >> 20) & 0xf) != 4) {
		e->bad++;
		return SF_BAD_FIELD;
	}
	if (sq && (cdw11 >> 16 != 1 || !e->cq.live))
		return SF_CQ_INVALID;
	*q = (struct emu_nvme_q){ .base = prp1, .size = size, .phase = 1,
				  .live = 1 };
	return SF_OK;
}

static uint16_t admin(struct emu_nvme *e, const uint8_t *c)
{
	e->admin_cmds++;
	if (e->refuse_sf && c[0] == e->refuse_op)
		return e->refuse_sf;
	uint64_t prp1 = le64_get(c + 24);
	uint32_t nsid = le32_get(c + 4), cdw10 = le32_get(c + 40),
		 cdw11 = le32_get(c + 44);
	switch (c[0]) {
	case 0x06: return identify(e, cdw10 & 0xff, nsid, prp1);
	case 0x05: return create(e, 0, cdw10, cdw11, prp1);
	case 0x01: return create(e, 1, cdw10, cdw11, prp1);
	}
	return SF_BAD_OPCODE;
}

/* --- I/O commands (§6) --------------------------------------------------- */

/* Copies n bytes between the namespace at byte pos and addr. */
static void move(struct emu_nvme_ns *ns, uint64_t pos, uint64_t addr,
		 uint64_t n, int write)
{
	if (write && ns->data)
		memcpy(ns->data + pos, fakepci_dma(addr), n);
	else if (!write && ns->data)
		memcpy(fakepci_dma(addr), ns->data + pos, n);
	else if (!write)
		memset(fakepci_dma(addr), 0, n);
}

/* Moves `bytes` between the namespace at byte pos and the PRPs of c
 * (§4.3): PRP1 may start inside a page; then PRP2 is the second page, or
 * a list of pages whose last entry chains to the next list page. */
static uint16_t transfer(struct emu_nvme *e, struct emu_nvme_ns *ns,
			 const uint8_t *c, uint64_t pos, uint64_t bytes,
			 int write)
{
	uint64_t prp1 = le64_get(c + 24), prp2 = le64_get(c + 32);
	uint64_t done = PAGE - prp1 % PAGE < bytes ? PAGE - prp1 % PAGE : bytes;
	uint64_t pages = (bytes - done + PAGE - 1) / PAGE;
	move(ns, pos, prp1, done, write);
	if (pages > 1 && prp2 % 8) {
		e->bad++;
		return SF_BAD_PRP_OFFSET;
	}
	const uint8_t *list = pages > 1 ? fakepci_dma(prp2) : 0;
	for (uint64_t i = 0; i < pages; i++) {
		if (list && (uintptr_t)list % PAGE == PAGE - 8 && pages - i > 1)
			list = fakepci_dma(le64_get(list));
		uint64_t a = list ? le64_get(list) : prp2;
		if (list)
			list += 8;
		if (a % PAGE) {
			e->bad++;
			return SF_BAD_PRP_OFFSET;
		}
		uint64_t n = bytes - done < PAGE ? bytes - done : PAGE;
		move(ns, pos + done, a, n, write);
		done += n;
	}
	return done == bytes ? SF_OK : SF_BAD_PRP_OFFSET;
}

static uint16_t io(struct emu_nvme *e, const uint8_t *c)
{
	e->io_cmds++;
	uint32_t nsid = le32_get(c + 4);
	if (nsid < 1 || nsid > e->nn || !e->ns[nsid - 1].nsze)
		return SF_BAD_NS;
	struct emu_nvme_ns *ns = &e->ns[nsid - 1];
	uint64_t slba = le64_get(c + 40), nlb = (le32_get(c + 48) & 0xffff) + 1;
	switch (c[0]) {
	case 0x00:		/* FLUSH */
	case 0x09:		/* DSM: deallocation may read back anything */
		return SF_OK;
	case 0x01:
	case 0x02:
		if (slba >= ns->nsze || nlb > ns->nsze - slba)
			return SF_LBA_RANGE;
		return transfer(e, ns, c, slba << ns->lbads, nlb << ns->lbads,
				c[0] == 0x01);
	}
	return SF_BAD_OPCODE;
}

/* --- the controller ------------------------------------------------------ */

/* Runs what the driver queued on sq (its tail doorbell), while the
 * completion queue has room (its head doorbell). */
static int run(struct emu_nvme *e, struct emu_nvme_q *sq,
	       struct emu_nvme_q *cq, uint16_t qid,
	       uint16_t (*exec)(struct emu_nvme *, const uint8_t *))
{
	uint32_t tail = *doorbell(e, 2u * qid), n = 0;
	if (tail >= sq->size) {
		e->bad++;	/* §4.1: an invalid doorbell value */
		return 0;
	}
	/* The doorbell before the entries it covers. */
	cpu_barrier();
	while (sq->head != tail && !e->fatal) {
		uint32_t cq_head = *doorbell(e, 2u * qid + 1);
		if ((cq->tail + 1) % cq->size == cq_head)
			break;	/* completion queue full */
		uint8_t c[64];
		memcpy(c, fakepci_dma(sq->base + 64ull * sq->head), 64);
		sq->head = (sq->head + 1) % sq->size;
		post(cq, qid, sq->head, le16_get(c + 2), exec(e, c));
		n++;
	}
	return (int)n;
}

/* §7.6.1: CC.EN set with the admin queue programmed: ready. */
static int enable(struct emu_nvme *e)
{
	uint32_t aqa = mmio_read32(e->regs, AQA);
	uint32_t cc = mmio_read32(e->regs, CC);
	if ((cc >> 7) & 0xf)
		e->bad++;	/* pages other than 4 KiB */
	e->stride = 4u << ((e->cap >> 32) & 0xf);
	e->asq = (struct emu_nvme_q){ .base = mmio_read64(e->regs, ASQ),
				      .size = (aqa & 0xfff) + 1, .live = 1 };
	e->acq = (struct emu_nvme_q){ .base = mmio_read64(e->regs, ACQ),
				      .size = ((aqa >> 16) & 0xfff) + 1,
				      .phase = 1, .live = 1 };
	memset(&e->sq, 0, sizeof(e->sq));
	memset(&e->cq, 0, sizeof(e->cq));
	e->enabled = 1;
	mmio_write32(e->regs, CSTS, CSTS_RDY);
	return 1;
}

static int step(void *ctx)
{
	struct emu_nvme *e = ctx;
	if (e->fatal) {
		/* dead for good; a reset (CC.EN cleared) completes and clears
		 * the status, so only the driver remembers */
		uint32_t csts = mmio_read32(e->regs, CC) & CC_EN
					? CSTS_RDY | CSTS_CFS : 0;
		if (mmio_read32(e->regs, CSTS) == csts)
			return 0;
		mmio_write32(e->regs, CSTS, csts);
		return 1;
	}
	int en = mmio_read32(e->regs, CC) & CC_EN;
	if (!en && e->enabled) {	/* reset: queues gone, not ready */
		e->enabled = 0;
		mmio_write32(e->regs, CSTS, 0);
		return 1;
	}
	if (!en)
		return 0;
	if (!e->enabled)
		return enable(e);
	int n = run(e, &e->asq, &e->acq, 0, admin);
	if (e->sq.live)
		n += run(e, &e->sq, &e->cq, 1, io);
	return n;
}

int emu_nvme_start(struct emu_nvme *e)
{
	return fakepci_run(&e->pci, step, e);
}

void emu_nvme_free(struct emu_nvme *e)
{
	fakepci_free(&e->pci);
	for (int i = 0; i < EMU_NVME_MAX_NS; i++)
		free(e->ns[i].data);
}
