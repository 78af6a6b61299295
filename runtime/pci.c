/* PCI enumeration and configuration access; see pci.h. */
#include "pci.h"

#include <string.h>

#include "acpi.h"
#include "cpu.h"
#include "fmt.h"
#include "paging.h"

#define CFG_ADDR 0xcf8	/* PCI 3.0 §3.2.2.3.2 configuration mechanism #1 */
#define CFG_DATA 0xcfc
#define MAX_CAPS 48	/* 192 bytes of capability space / 4 */

static struct pci_dev devs[PCI_MAX_DEVICES];
static unsigned ndevs;
static uint8_t *ecam;
static uint8_t bus_seen[32];	/* bitmap of scanned buses */

static volatile void *ecam_addr(uint8_t bus, uint8_t dev, uint8_t fn,
				uint16_t off)
{
	return ecam + (((uint64_t)(bus - acpi.ecam_bus_start) << 20) |
		       (uint64_t)dev << 15 | (uint64_t)fn << 12 | off);
}

static void port_select(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	outl(CFG_ADDR, 0x80000000u | (uint32_t)bus << 16 |
			       (uint32_t)dev << 11 | (uint32_t)fn << 8 |
			       (off & 0xfc));
}

static uint32_t cfg_read(uint8_t b, uint8_t d, uint8_t f, uint16_t off)
{
	if (ecam)
		return *(volatile uint32_t *)ecam_addr(b, d, f, off & ~3);
	if (off >= 256)
		return ~0u;
	port_select(b, d, f, off);
	return inl(CFG_DATA);
}

static void cfg_write(uint8_t b, uint8_t d, uint8_t f, uint16_t off,
		      uint32_t v)
{
	if (ecam) {
		*(volatile uint32_t *)ecam_addr(b, d, f, off & ~3) = v;
		return;
	}
	if (off >= 256)
		return;
	port_select(b, d, f, off);
	outl(CFG_DATA, v);
}

uint32_t pci_read32(const struct pci_dev *d, uint16_t off)
{
	return cfg_read(d->bus, d->dev, d->fn, off);
}

uint16_t pci_read16(const struct pci_dev *d, uint16_t off)
{
	return (uint16_t)(pci_read32(d, off) >> (8 * (off & 2)));
}

uint8_t pci_read8(const struct pci_dev *d, uint16_t off)
{
	return (uint8_t)(pci_read32(d, off) >> (8 * (off & 3)));
}

void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{
	cfg_write(d->bus, d->dev, d->fn, off, v);
}

/* Sub-dword writes as read-modify-write of the dword: ECAM and the port
 * mechanism both address dwords. Only used on registers without
 * write-1-to-clear bits in the same dword (the status register is not). */
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
	unsigned sh = 8 * (off & 2);
	uint32_t old = pci_read32(d, off & ~3);
	if ((off & ~3) == PCI_COMMAND)
		old &= 0x0000ffff;	/* never write back status bits */
	pci_write32(d, off & ~3, (old & ~(0xffffu << sh)) | (uint32_t)v << sh);
}

void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v)
{
	unsigned sh = 8 * (off & 3);
	uint32_t old = pci_read32(d, off & ~3);
	pci_write32(d, off & ~3, (old & ~(0xffu << sh)) | (uint32_t)v << sh);
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after)
{
	if (!(pci_read16(d, PCI_STATUS) & 0x10))
		return 0;
	uint8_t p = after ? pci_read8(d, after + 1) : pci_read8(d, PCI_CAP_PTR);
	for (int n = 0; n < MAX_CAPS && p >= 0x40; n++) {
		p &= 0xfc;
		if (pci_read8(d, p) == id)
			return p;
		p = pci_read8(d, p + 1);
	}
	return 0;
}

void pci_enable(const struct pci_dev *d, uint16_t bits)
{
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | bits);
}

/* PCI 3.0 §6.2.5.1: size a BAR by writing all ones and reading back, with
 * decoding off so the probe address is never live. */
static int size_bar(struct pci_dev *d, int i)
{
	uint16_t off = (uint16_t)(PCI_BAR0 + 4 * i);
	uint32_t lo = pci_read32(d, off), hi = 0, mlo, mhi = 0xffffffff;
	struct pci_bar *b = &d->bar[i];

	b->io = lo & 1;
	b->is64 = !b->io && ((lo >> 1) & 3) == 2;
	b->prefetch = !b->io && (lo & 8);
	pci_write32(d, off, 0xffffffff);
	mlo = pci_read32(d, off);
	pci_write32(d, off, lo);
	if (b->is64 && i < 5) {
		hi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, 0xffffffff);
		mhi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, hi);
	}
	uint64_t mask = (uint64_t)mhi << 32 | (mlo & (b->io ? ~3u : ~15u));
	if (b->io)
		mask |= 0xffffffff00000000ull | 0xffff0000u;
	b->size = mask ? ~mask + 1 : 0;
	b->base = ((uint64_t)hi << 32 | lo) & (b->io ? ~3ull : ~15ull);
	if (!mlo || mlo == 0xffffffff)
		b->size = 0;
	return b->is64 ? 2 : 1;
}

static void read_bars(struct pci_dev *d)
{
	int nbars = (d->header & 0x7f) == 0 ? 6 : (d->header & 0x7f) == 1 ? 2 : 0;
	if (!nbars)
		return;
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (int i = 0; i < nbars;)
		i += size_bar(d, i);
	pci_write16(d, PCI_COMMAND, cmd);
}

static void scan_bus(uint8_t bus, int depth);

static void add_function(uint8_t bus, uint8_t dev, uint8_t fn, int depth)
{
	if (ndevs == PCI_MAX_DEVICES)
		return;
	struct pci_dev *d = &devs[ndevs++];
	memset(d, 0, sizeof(*d));
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	uint32_t id = pci_read32(d, PCI_VENDOR);
	d->vendor = (uint16_t)id;
	d->device = (uint16_t)(id >> 16);
	uint32_t cr = pci_read32(d, PCI_CLASS_REV);
	d->cls = (uint8_t)(cr >> 24);
	d->subcls = (uint8_t)(cr >> 16);
	d->progif = (uint8_t)(cr >> 8);
	d->rev = (uint8_t)cr;
	d->header = pci_read8(d, PCI_HEADER);
	if ((d->header & 0x7f) == 0)
		d->subsys = pci_read16(d, PCI_SUBSYS);
	read_bars(d);
	if ((d->header & 0x7f) == 1 && depth < 8)
		scan_bus(pci_read8(d, PCI_SECONDARY), depth + 1);
}

static void scan_bus(uint8_t bus, int depth)
{
	if (bus_seen[bus / 8] & (1 << (bus % 8)))
		return;
	if (ecam && (bus < acpi.ecam_bus_start || bus > acpi.ecam_bus_end))
		return;
	bus_seen[bus / 8] |= (uint8_t)(1 << (bus % 8));
	for (uint8_t dev = 0; dev < 32; dev++) {
		if ((uint16_t)cfg_read(bus, dev, 0, PCI_VENDOR) == 0xffff)
			continue;
		int multi = (cfg_read(bus, dev, 0, 0x0c) >> 16) & 0x80;
		for (uint8_t fn = 0; fn < (multi ? 8 : 1); fn++)
			if ((uint16_t)cfg_read(bus, dev, fn, PCI_VENDOR) !=
			    0xffff)
				add_function(bus, dev, fn, depth);
	}
}

int pci_scan(void)
{
	ndevs = 0;
	memset(bus_seen, 0, sizeof(bus_seen));
	ecam = 0;
	if (acpi.ecam_base && acpi.ecam_bus_end >= acpi.ecam_bus_start) {
		uint64_t len = (uint64_t)(acpi.ecam_bus_end -
					  acpi.ecam_bus_start + 1) << 20;
		if (!paging_map_mmio(acpi.ecam_base, len))
			ecam = (uint8_t *)(uintptr_t)acpi.ecam_base;
	}
	scan_bus(ecam ? acpi.ecam_bus_start : 0, 0);
	return (int)ndevs;
}

const char *pci_method(void)
{
	return ecam ? "ECAM" : "ports";
}

unsigned pci_count(void)
{
	return ndevs;
}

struct pci_dev *pci_get(unsigned i)
{
	return i < ndevs ? &devs[i] : 0;
}

volatile void *pci_map_bar(const struct pci_dev *d, int bar)
{
	if (bar < 0 || bar > 5)
		return 0;
	const struct pci_bar *b = &d->bar[bar];
	if (!b->size || b->io || !b->base)
		return 0;
	if (paging_map_mmio(b->base, b->size))
		return 0;
	return (volatile void *)(uintptr_t)b->base;
}

void pci_where(const struct pci_dev *d, char out[8])
{
	fmt_snprintf(out, 8, "%02x:%02x.%x", d->bus, d->dev, d->fn);
}

const char *pci_class_name(const struct pci_dev *d)
{
	static const char *const names[] = {
		"unclassified", "mass storage", "network", "display",
		"multimedia", "memory", "bridge", "communication",
		"system", "input", "docking", "processor", "serial bus",
	};
	if (d->cls < sizeof(names) / sizeof(names[0]))
		return names[d->cls];
	return "other";
}
