/* An NVMe controller (NVMe 1.4) for host tests, played by a thread that
 * watches fake BAR0 memory: CC.EN and CSTS.RDY (§7.6.1), the admin queue,
 * IDENTIFY controller and namespace, CREATE I/O CQ and SQ, then READ,
 * WRITE, FLUSH and DSM on one I/O queue pair with phase-tagged
 * completions (§4.6). Namespaces live in memory. A test can make the
 * controller fatal (CSTS.CFS): from then on it completes nothing, and a
 * reset (CC.EN cleared) clears CSTS without bringing it back. */
#ifndef UMBRA_EMU_NVME_H
#define UMBRA_EMU_NVME_H

#include <stdint.h>

#include "fakepci.h"

#define EMU_NVME_BAR 0x4000u	/* BAR0: registers, doorbells from 0x1000 */
#define EMU_NVME_MAX_NS 4

struct emu_nvme_ns {
	uint64_t nsze;		/* 0: inactive */
	uint8_t lbads;		/* log2 of the LBA size */
	uint8_t *data;		/* nsze << lbads bytes; 0: reads zero */
};

/* One queue as the controller sees it. */
struct emu_nvme_q {
	uint64_t base;
	uint32_t size, head, tail;
	uint8_t phase;
	int live;
};

struct emu_nvme {
	struct fakepci pci;
	volatile uint8_t *regs;
	uint64_t cap;
	uint32_t nn;		/* namespaces the controller reports */
	struct emu_nvme_ns ns[EMU_NVME_MAX_NS];
	uint8_t mdts, vwc, dsm;
	volatile int fatal;	/* set by the test: CSTS.CFS, dead */
	uint8_t refuse_op;	/* set by the test: this admin opcode ... */
	uint16_t refuse_sf;	/* ... completes with this status (not 0) */
	/* seen by the controller, for the test */
	volatile unsigned admin_cmds, io_cmds;
	volatile unsigned bad;	/* things the driver did against the spec */
	/* the controller's own */
	int enabled;
	uint32_t stride;
	struct emu_nvme_q asq, acq, sq, cq;
};

/* CAP (§3.1.1) with MQES (0-based), DSTRD, TO (500 ms units), NVM
 * command set, 4 KiB pages. */
uint64_t emu_nvme_cap(uint16_t mqes, uint8_t dstrd, uint8_t to);

/* A controller at PCI slot `slot` (class 01:08:02) reading `cap`, with no
 * namespaces yet; registers as at power-on (CC 0, CSTS 0). */
void emu_nvme_init(struct emu_nvme *e, uint8_t slot, uint64_t cap);

/* Namespace nsid (1-based): nsze LBAs of 1 << lbads bytes, backed by
 * zeroed memory when `backed`. Raises the reported count to nsid. */
void emu_nvme_ns(struct emu_nvme *e, uint32_t nsid, uint64_t nsze,
		 uint8_t lbads, int backed);

/* Starts the controller's thread (0, or -1). */
int emu_nvme_start(struct emu_nvme *e);

/* Stops it, frees the namespaces and the BAR. */
void emu_nvme_free(struct emu_nvme *e);

#endif
