/* Between the AHCI driver's halves: ports, command slots and runs to
 * completion (ahci.c), and ATAPI CD/DVD drives (ahci_atapi.c). Nothing
 * else includes this. */
#ifndef UMBRA_AHCI_INT_H
#define UMBRA_AHCI_INT_H

#include <stdint.h>

#include "../blk.h"
#include "ata.h"
#include "atapi.h"

#define LOW4G (1ull << 32)
/* §3.3 port registers, at 0x100 + 0x80 * port */
#define P_CLB 0x00
#define P_CLBU 0x04
#define P_FB 0x08
#define P_FBU 0x0c
#define P_IS 0x10
#define P_IE 0x14
#define P_CMD 0x18	/* ST 0, SUD 1, POD 2, CLO 3, FRE 4, FR 14, CR 15 */
#define P_TFD 0x20	/* status 7:0, error 15:8 */
#define P_SIG 0x24
#define P_SSTS 0x28	/* DET 3:0 */
#define P_SCTL 0x2c	/* DET 3:0: 1 = COMRESET */
#define P_SERR 0x30
#define P_SACT 0x34	/* NCQ tags outstanding (§3.3.13) */
#define P_CI 0x38
#define CMD_ST 0x0001
#define CMD_CLO 0x0008
#define CMD_FRE 0x0010
#define CMD_FR 0x4000
#define CMD_CR 0x8000
#define IS_TFES (1u << 30)	/* task file error */
#define IS_ERRORS 0x7d800010u	/* every error bit of PxIS (§3.3.5) */
#define SIG_ATA 0x00000101
#define SIG_ATAPI 0xeb140101	/* §3.3.9: LBA high, mid, count, LBA low */
#define DET_PRESENT 3

#define FIS_H2D 0x27
#define PRD_MAX (4u << 20)	/* DBC is 22 bits: 4 MiB per PRD */
#define WAIT_US 5000000ull
/* -DAHCI_NCQ=0 builds the driver without queued commands, to compare:
 * under QEMU 7.2 TCG, 4 KiB random reads at depth 32 went from 19800 and
 * 29500 IOPS (p99 100 ms and 36 ms) to 43300 and 60400 (p99 0.9 ms and
 * 4.6 ms) with NCQ, alternating boots. */
#ifndef AHCI_NCQ
#define AHCI_NCQ 1
#endif
#define HANDOFF_US 2000000ull

struct port {
	volatile uint8_t *r;	/* this port's registers */
	uint8_t *cl;		/* command list: 32 headers of 32 bytes */
	uint8_t *fis;		/* received-FIS area */
	uint8_t *tables;	/* command tables, 256 bytes each */
	uint32_t slots;
	uint32_t busy;		/* slots we issued */
	uint8_t ncq;		/* reads and writes go FPDMA QUEUED */
	uint8_t busy_queued;	/* what is in flight is queued */
	uint8_t atapi;		/* PACKET commands (a CD/DVD drive) */
	uint8_t *page;		/* ATAPI: the probe's buffer, then sense */
	char why[64];		/* ATAPI: why a command did not complete */
	struct blk_req *req[32];
	struct ata_identity id;
	struct blk_dev blk;
	uint32_t index;
	volatile uint32_t is_seen;	/* PxIS bits the handler cleared */
};

/* Fills slot s with a command: H2D register FIS and one PRD (§4.2.2,
 * §4.2.3). */
void ahci_build(struct port *p, uint32_t s, uint8_t cmd, uint64_t lba,
		uint32_t count, uint64_t addr, uint32_t bytes, int write);

/* Runs the command built in slot 0 to its end, spinning (setup, and an
 * ATAPI error's REQUEST SENSE, with nothing else in flight): 0, 1 when
 * the device ended it with an error (*tfd: PxTFD then), or -1 on the
 * deadline. The port is restarted after either. */
int ahci_run_slot0(struct port *p, uint32_t *tfd);

/* The port's command list, FIS area and tables, the port started: NULL,
 * or why not. */
const char *ahci_port_setup(struct port *p, uint32_t slots);

/* ahci_atapi.c: an ATAPI port set up and its unit brought up through
 * drivers/scsi/: 0 (p->blk filled); 1 for a drive without a disc or not
 * a CD/DVD or disk unit (left alone quietly); -1 and *why. */
int ahci_atapi_port(struct port *p, uint32_t slots, const char **why);

/* READ(10) of count sectors at lba into addr, as a PACKET in slot s. */
void ahci_atapi_read(struct port *p, uint32_t s, uint64_t lba,
		     uint32_t count, uint64_t addr);

/* After a failed read (the port recovered, nothing in flight): the sense
 * data's words in p->blk's detail; error is the error register. */
void ahci_atapi_detail(struct port *p, uint8_t error);

#endif
