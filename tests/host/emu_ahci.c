/* The AHCI HBA model; see emu_ahci.h. */
#include "emu_ahci.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/le.h"

/* §3.1 generic host control, §3.3 port 0 at 0x100 */
#define CAP 0x00
#define PI 0x0c
#define VS 0x10
#define PORT 0x100
#define P_CLB 0x00
#define P_CLBU 0x04
#define P_FB 0x08
#define P_FBU 0x0c
#define P_IS 0x10
#define P_CMD 0x18
#define P_TFD 0x20
#define P_SIG 0x24
#define P_SSTS 0x28
#define P_SERR 0x30
#define P_CI 0x38
#define CMD_ST 0x0001u
#define CMD_CLO 0x0008u
#define CMD_FRE 0x0010u
#define CMD_FR 0x4000u
#define CMD_CR 0x8000u
#define IS_TFES (1u << 30)

/* ATA status and error bits */
#define BSY 0x80
#define DRDY 0x40
#define ERR 0x01
#define E_UNC 0x40
#define E_IDNF 0x10
#define E_ABRT 0x04

/* ATA strings: two characters a word, the first in the high byte. */
static void put_ata_text(uint16_t *w, const char *s, unsigned words)
{
	size_t n = strlen(s);
	for (unsigned i = 0; i < words; i++) {
		uint8_t hi = 2 * i < n ? (uint8_t)s[2 * i] : ' ';
		uint8_t lo = 2 * i + 1 < n ? (uint8_t)s[2 * i + 1] : ' ';
		w[i] = (uint16_t)(hi << 8 | lo);
	}
}

void emu_ahci_identity(uint16_t w[256], uint64_t sectors)
{
	memset(w, 0, 512);
	put_ata_text(w + 10, "EMU-AHCI-0001", 10);
	put_ata_text(w + 27, "umbra test disk", 20);
	w[49] = 1u << 9 | 1u << 8;		/* LBA, DMA */
	uint32_t lba28 = sectors < 0x0fffffff ? (uint32_t)sectors : 0x0fffffff;
	w[60] = (uint16_t)lba28;
	w[61] = (uint16_t)(lba28 >> 16);
	w[83] = 1u << 14 | 1u << 13 | 1u << 10;	/* FLUSH EXT, LBA48 */
	w[85] = 1u << 5;			/* write cache on */
	w[86] = 1u << 13 | 1u << 10;
	for (int i = 0; i < 4; i++)
		w[100 + i] = (uint16_t)(sectors >> (16 * i));
}

void emu_ahci_init(struct emu_ahci *e, uint8_t slot, int s64a,
		   uint64_t sectors, int backed)
{
	memset(e, 0, sizeof(*e));
	fakepci_init(&e->pci, slot, 0x8086, 0x2922, 1, 6, 1);
	e->abar = fakepci_bar(&e->pci, 5, EMU_AHCI_BAR);
	e->s64a = s64a;
	e->sectors = sectors;
	e->data = backed ? calloc(sectors, 512) : 0;
	emu_ahci_identity(e->identify, sectors);
	/* one port (NP 0), one command slot (NCS 0) */
	mmio_write32(e->abar, CAP, s64a ? 1u << 31 : 0);
	mmio_write32(e->abar, PI, 1);
	mmio_write32(e->abar, VS, 0x00010301);
	volatile uint8_t *p = e->abar + PORT;
	mmio_write32(p, P_SSTS, 0x113);		/* device present, link up */
	mmio_write32(p, P_SIG, 0x00000101);	/* an ATA disk */
	mmio_write32(p, P_TFD, BSY);		/* stopped: see the header */
}

/* What the HBA reaches: the address, its upper half only with S64A. A
 * nonzero upper half without S64A is counted (and the command refused:
 * the HBA would have used the wrong address). */
static uint64_t reach(struct emu_ahci *e, uint32_t lo, uint32_t hi,
		      uint64_t len, int *refuse)
{
	uint64_t a = lo | (e->s64a ? (uint64_t)hi << 32 : 0);
	if (hi && !e->s64a) {
		e->upper_set++;
		*refuse = 1;
	}
	if (a + len > e->dma_end)
		e->dma_end = a + len;
	return a;
}

/* Moves `bytes` between the disk at byte pos (or buf when there is one)
 * and the PRDs of table t (§4.2.3.3); 0, or -1 when they do not hold
 * exactly that many bytes or an address is out of reach. */
static int prds(struct emu_ahci *e, const uint8_t *t, uint32_t prdtl,
		uint64_t pos, const uint8_t *buf, uint64_t bytes, int write)
{
	uint64_t done = 0;
	int refuse = 0;
	for (uint32_t i = 0; i < prdtl && !refuse; i++) {
		const uint8_t *prd = t + 0x80 + 16 * i;
		uint64_t n = (le32_get(prd + 12) & 0x3fffff) + 1;
		uint64_t a = reach(e, le32_get(prd), le32_get(prd + 4), n,
				   &refuse);
		if (i == 0)
			e->first_dba = a;
		if (refuse || n > bytes - done)
			return -1;
		uint8_t *to = fakepci_dma(a);
		uint8_t *m = e->data ? e->data + pos + done : 0;
		if (buf)
			memcpy(to, buf + done, n);
		else if (write && m)
			memcpy(m, to, n);
		else if (!write && m)
			memcpy(to, m, n);
		else if (!write)
			memset(to, 0, n);
		done += n;
	}
	return done == bytes ? 0 : -1;
}

void emu_ahci_atapi(struct emu_ahci *e, uint64_t sectors)
{
	free(e->data);
	e->atapi = 1;
	e->block_size = 2048;
	e->sectors = sectors;
	e->data = calloc(sectors, 2048);
	mmio_write32(e->abar + PORT, P_SIG, 0xeb140101);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* CHECK CONDITION: the sense kept (fixed format), the key for the error
 * register's high nibble. */
static uint8_t check(struct emu_ahci *e, uint8_t key, uint8_t asc)
{
	memset(e->sense, 0, sizeof(e->sense));
	e->sense[0] = 0x70;
	e->sense[2] = key;
	e->sense[7] = 10;
	e->sense[12] = asc;
	return (uint8_t)(key << 4 | E_ABRT);
}

/* One ATAPI command (SPC-4, MMC-6), its data through the PRDs; 0, or the
 * error register (the sense key in bits 7:4, ABRT). */
static uint8_t packet(struct emu_ahci *e, uint8_t *h, const uint8_t *t,
		      uint32_t prdtl)
{
	const uint8_t *cdb = t + 0x40;
	uint8_t buf[36];
	uint32_t n = 0;
	memset(buf, 0, sizeof(buf));
	if (!(le32_get(h) & (1u << 5)) || !(t[3] & 1) != !prdtl)
		e->bad++;	/* no A bit, or DMA said wrong */
	switch (cdb[0]) {
	case 0x00:	/* TEST UNIT READY */
		return e->no_medium ? check(e, 2, 0x3a) : 0;
	case 0x03:	/* REQUEST SENSE */
		if (e->sense_fails)
			return (uint8_t)(5 << 4 | E_ABRT);
		n = cdb[4] < sizeof(e->sense) ? cdb[4] : sizeof(e->sense);
		memcpy(buf, e->sense, n);
		memset(e->sense, 0, sizeof(e->sense));
		break;
	case 0x12:	/* INQUIRY: a CD/DVD unit, removable */
		if (cdb[1] & 1)
			return check(e, 5, 0x24);
		buf[0] = 5;
		buf[1] = 0x80;
		buf[4] = 31;
		memcpy(buf + 8, "EMU     ATAPI CD-ROM    ", 24);
		n = cdb[4] < 36 ? cdb[4] : 36;
		break;
	case 0x25:	/* READ CAPACITY(10) */
		put_be32(buf, (uint32_t)e->sectors - 1);
		put_be32(buf + 4, e->block_size);
		n = 8;
		break;
	case 0x28: {	/* READ(10) */
		uint64_t lba = (uint64_t)cdb[2] << 24 | cdb[3] << 16 |
			       cdb[4] << 8 | cdb[5];
		uint32_t count = (uint32_t)(cdb[7] << 8 | cdb[8]);
		if (lba >= e->sectors || count > e->sectors - lba)
			return check(e, 5, 0x21);
		if (e->fail_next) {
			e->fail_next = 0;
			return check(e, 3, 0x11);
		}
		if (prds(e, t, prdtl, lba * 2048, 0, count * 2048ull, 0))
			return E_ABRT;
		le32_put(h + 4, count * 2048);
		return 0;
	}
	default:	/* MMC-6 units have no SBC pages or MODE SENSE(6) */
		return check(e, 5, 0x20);
	}
	if (n && prds(e, t, prdtl, 0, buf, n, 0))
		return E_ABRT;
	le32_put(h + 4, n);
	return 0;
}

/* Runs the H2D register FIS of slot 0; 0, or the ATA error bits. */
static uint8_t execute(struct emu_ahci *e, uint8_t *h)
{
	int refuse = 0;
	uint32_t dw0 = le32_get(h), prdtl = dw0 >> 16;
	uint64_t ctba = reach(e, le32_get(h + 8), le32_get(h + 12),
			      0x80 + 16ull * prdtl, &refuse);
	if (refuse || ctba % 128 || (dw0 & 0x1f) < 5) {
		e->bad += !refuse;
		return E_ABRT;
	}
	const uint8_t *t = fakepci_dma(ctba);
	if (t[0] != 0x27 || !(t[1] & 0x80))
		return E_ABRT;
	uint64_t lba = t[4] | (uint64_t)t[5] << 8 | (uint64_t)t[6] << 16 |
		       (uint64_t)t[8] << 24 | (uint64_t)t[9] << 32 |
		       (uint64_t)t[10] << 40;
	uint64_t count = t[12] | t[13] << 8;
	int write = t[2] == 0x35;
	if (e->atapi)	/* ATA8-ACS §7.18: PACKET, nothing else */
		return t[2] == 0xa0 ? packet(e, h, t, prdtl) : E_ABRT;
	switch (t[2]) {
	case 0xec:		/* IDENTIFY DEVICE */
		le32_put(h + 4, 512);
		return prds(e, t, prdtl, 0, (const uint8_t *)e->identify, 512,
			    0) ? E_ABRT : 0;
	case 0x25:		/* READ DMA EXT */
	case 0x35:		/* WRITE DMA EXT */
		if (!count)
			count = 65536;
		if (((dw0 >> 6) & 1) != (uint32_t)write)
			e->bad++;	/* the W bit says otherwise */
		if (lba >= e->sectors || count > e->sectors - lba)
			return E_IDNF;
		if (e->fail_next) {
			e->fail_next = 0;
			return E_UNC;
		}
		if (prds(e, t, prdtl, lba * 512, 0, count * 512, write))
			return E_ABRT;
		le32_put(h + 4, (uint32_t)(count * 512));	/* PRDBC */
		return 0;
	case 0xea:		/* FLUSH CACHE EXT */
		return 0;
	}
	return E_ABRT;
}

/* PxCMD bits the HBA owns (CR, FR, CLO's self-clear), changed without
 * losing a bit the driver writes at the same time. */
static void cmd_bits(struct emu_ahci *e, uint32_t set, uint32_t clear)
{
	uint32_t *r = (uint32_t *)(uintptr_t)(e->abar + PORT + P_CMD);
	uint32_t old = __atomic_load_n(r, __ATOMIC_SEQ_CST), want;
	do
		want = (old | set) & ~clear;
	while (!__atomic_compare_exchange_n(r, &old, want, 0, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST));
}

/* Slot 0, when issued and the port runs: execute, then complete (CI bit
 * clear) or fail (TFES; CI stays until the port stops). */
static int issue(struct emu_ahci *e, volatile uint8_t *p)
{
	if (!e->running || !e->fis_on || e->stuck || (e->atapi && e->silent) ||
	    !(mmio_read32(p, P_CI) & 1))
		return 0;
	int refuse = 0;
	uint64_t clb = reach(e, mmio_read32(p, P_CLB), mmio_read32(p, P_CLBU),
			     1024, &refuse);
	reach(e, mmio_read32(p, P_FB), mmio_read32(p, P_FBU), 256, &refuse);
	/* The issue bit before the command it covers. */
	cpu_barrier();
	e->commands++;
	uint8_t err = refuse ? E_ABRT : execute(e, fakepci_dma(clb));
	if (err) {
		e->stuck = 1;
		mmio_write32(p, P_TFD, (uint32_t)err << 8 | DRDY | ERR);
		mmio_write32(p, P_IS, mmio_read32(p, P_IS) | IS_TFES);
		return 1;
	}
	mmio_write32(p, P_TFD, DRDY);
	/* The data and PRDBC before the completion. */
	cpu_barrier();
	mmio_write32(p, P_CI, 0);
	return 1;
}

static int step(void *ctx)
{
	struct emu_ahci *e = ctx;
	volatile uint8_t *p = e->abar + PORT;
	uint32_t cmd = mmio_read32(p, P_CMD);
	int st = !!(cmd & CMD_ST), fre = !!(cmd & CMD_FRE);
	if (cmd & CMD_CLO) {		/* command list override */
		mmio_write32(p, P_TFD, mmio_read32(p, P_TFD) & ~(uint32_t)BSY);
		cmd_bits(e, 0, CMD_CLO);
		return 1;
	}
	if (st != e->running) {
		if (!st) {	/* §3.3.14: stopping clears PxCI */
			mmio_write32(p, P_CI, 0);
			mmio_write32(p, P_TFD, BSY);
			e->stuck = 0;
		}
		e->running = st;
		cmd_bits(e, st ? CMD_CR : 0, st ? 0 : CMD_CR);
		return 1;
	}
	if (fre != e->fis_on) {
		e->fis_on = fre;
		if (fre) {	/* see the header: write-1-to-clear */
			mmio_write32(p, P_IS, 0);
			mmio_write32(p, P_SERR, 0);
		}
		cmd_bits(e, fre ? CMD_FR : 0, fre ? 0 : CMD_FR);
		if (fre)
			mmio_write32(p, P_TFD, DRDY);
		return 1;
	}
	/* a CR or FR the driver's read-modify-write lost comes back */
	if (!!(cmd & CMD_CR) != st || !!(cmd & CMD_FR) != fre)
		cmd_bits(e, (st ? CMD_CR : 0) | (fre ? CMD_FR : 0),
			 (st ? 0 : CMD_CR) | (fre ? 0 : CMD_FR));
	return issue(e, p);
}

int emu_ahci_start(struct emu_ahci *e)
{
	return fakepci_run(&e->pci, step, e);
}

void emu_ahci_free(struct emu_ahci *e)
{
	fakepci_free(&e->pci);
	free(e->data);
}
