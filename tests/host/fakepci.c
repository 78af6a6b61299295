#define _GNU_SOURCE
/* The fake PCI functions; see fakepci.h. */
#include "fakepci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../../runtime/fmt.h"
#include "../../runtime/le.h"

#define MAGIC 0x66616b65u
#define FIRST_CAP 0x40

/* The fake behind a pci_dev the driver hands back; anything else is a
 * bug in the test. */
static struct fakepci *fake(const struct pci_dev *d)
{
	struct fakepci *f = (struct fakepci *)(uintptr_t)d;
	if (f->magic != MAGIC) {
		fprintf(stderr, "fakepci: a pci_dev that is not a fake\n");
		abort();
	}
	return f;
}

void fakepci_init(struct fakepci *f, uint8_t slot, uint16_t vendor,
		  uint16_t device, uint8_t cls, uint8_t subcls, uint8_t progif)
{
	memset(f, 0, sizeof(*f));
	f->magic = MAGIC;
	f->pci = (struct pci_dev){ .dev = slot, .vendor = vendor,
				   .device = device, .cls = cls,
				   .subcls = subcls, .progif = progif };
	le16_put(f->cfg + PCI_VENDOR, vendor);
	le16_put(f->cfg + PCI_DEVICE, device);
	le32_put(f->cfg + PCI_CLASS_REV,
		 (uint32_t)cls << 24 | (uint32_t)subcls << 16 |
			 (uint32_t)progif << 8);
	f->cap_next = FIRST_CAP;
}

volatile uint8_t *fakepci_bar(struct fakepci *f, int i, uint64_t size)
{
	uint64_t len = size + 2 * FAKEPCI_GUARD;
	uint8_t *m = mmap(0, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		abort();
	memset(m, FAKEPCI_GUARD_BYTE, FAKEPCI_GUARD);
	memset(m + FAKEPCI_GUARD + size, FAKEPCI_GUARD_BYTE, FAKEPCI_GUARD);
	f->map[i] = m;
	uint64_t base = (uintptr_t)(m + FAKEPCI_GUARD);
	f->pci.bar[i] = (struct pci_bar){ .base = base, .size = size,
					  .is64 = 1 };
	le32_put(f->cfg + PCI_BAR0 + 4 * i, (uint32_t)base | 4);
	return m + FAKEPCI_GUARD;
}

uint8_t fakepci_cap(struct fakepci *f, uint8_t id, const uint8_t *body,
		    uint8_t len)
{
	uint8_t at = f->cap_next;
	f->cfg[f->cap_last ? f->cap_last + 1 : PCI_CAP_PTR] = at;
	f->cap_last = at;
	f->cfg[at] = id;
	f->cfg[at + 1] = 0;
	if (len > 2)
		memcpy(f->cfg + at + 2, body, len - 2u);
	f->cap_next = (uint8_t)((at + len + 3) & ~3);
	f->cfg[PCI_STATUS] |= 0x10;
	return at;
}

int fakepci_guards_intact(const struct fakepci *f)
{
	for (int i = 0; i < 6; i++) {
		const uint8_t *m = f->map[i];
		uint64_t size = f->pci.bar[i].size;
		for (uint32_t k = 0; m && k < FAKEPCI_GUARD; k++)
			if (m[k] != FAKEPCI_GUARD_BYTE ||
			    m[FAKEPCI_GUARD + size + k] != FAKEPCI_GUARD_BYTE)
				return 0;
	}
	return 1;
}

uint64_t fakepci_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void *model_thread(void *arg)
{
	struct fakepci *f = arg;
	unsigned idle = 0;
	while (!f->stop) {
		if (f->step(f->ctx)) {
			idle = 0;
		} else if (++idle > 200) {
			/* idle: let the driver (and the machine) run */
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, 0);
		}
	}
	return 0;
}

int fakepci_run(struct fakepci *f, int (*step)(void *ctx), void *ctx)
{
	f->step = step;
	f->ctx = ctx;
	f->stop = 0;
	if (pthread_create(&f->thread, 0, model_thread, f))
		return -1;
	f->running = 1;
	return 0;
}

void fakepci_halt(struct fakepci *f)
{
	if (!f->running)
		return;
	f->stop = 1;
	pthread_join(f->thread, 0);
	f->running = 0;
}

void fakepci_free(struct fakepci *f)
{
	fakepci_halt(f);
	for (int i = 0; i < 6; i++) {
		uint64_t len = f->pci.bar[i].size + 2 * FAKEPCI_GUARD;
		if (f->map[i])
			munmap(f->map[i], len);
	}
	memset(f->map, 0, sizeof(f->map));
}

/* --- runtime/pci.h over the array ---------------------------------------- */

uint32_t pci_read32(const struct pci_dev *d, uint16_t off)
{
	return off <= 4092 ? le32_get(fake(d)->cfg + off) : ~0u;
}

uint16_t pci_read16(const struct pci_dev *d, uint16_t off)
{
	return off <= 4094 ? le16_get(fake(d)->cfg + off) : 0xffff;
}

uint8_t pci_read8(const struct pci_dev *d, uint16_t off)
{
	return off <= 4095 ? fake(d)->cfg[off] : 0xff;
}

void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{
	if (off <= 4092)
		le32_put(fake(d)->cfg + off, v);
}

void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
	if (off <= 4094)
		le16_put(fake(d)->cfg + off, v);
}

void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v)
{
	if (off <= 4095)
		fake(d)->cfg[off] = v;
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after)
{
	const uint8_t *c = fake(d)->cfg;
	if (!(c[PCI_STATUS] & 0x10))
		return 0;
	/* bounded like the real walk: a looping list ends it */
	uint8_t at = after ? c[after + 1] : c[PCI_CAP_PTR];
	for (unsigned hops = 0; hops < 48 && at >= FIRST_CAP; hops++) {
		at &= 0xfc;
		if (c[at] == id)
			return at;
		at = c[at + 1];
	}
	return 0;
}

void pci_enable(const struct pci_dev *d, uint16_t bits)
{
	uint8_t *c = fake(d)->cfg;
	le16_put(c + PCI_COMMAND, le16_get(c + PCI_COMMAND) | bits);
}

volatile void *pci_map_bar(const struct pci_dev *d, int bar)
{
	if (bar < 0 || bar > 5 || !fake(d)->map[bar] || d->bar[bar].io)
		return 0;
	return fake(d)->map[bar] + FAKEPCI_GUARD;
}

void pci_where(const struct pci_dev *d, char out[8])
{
	fmt_snprintf(out, 8, "%02x:%02x.%x", d->bus, d->dev, d->fn);
}

/* Interrupts: the fake functions have no MSI-X, no MSI and no routed
 * INTx, so the drivers under test poll (hostirq.c hands out no vectors
 * either). */
int pci_msix_init(const struct pci_dev *d, struct pci_msix *m)
{
	(void)d;
	m->table = 0;
	m->size = 0;
	return -1;
}

void pci_msix_set(struct pci_msix *m, uint16_t entry, int vec)
{
	(void)m;
	(void)entry;
	(void)vec;
}

void pci_msix_mask(struct pci_msix *m, uint16_t entry, int masked)
{
	(void)m;
	(void)entry;
	(void)masked;
}

void pci_msix_enable(const struct pci_dev *d, struct pci_msix *m, int on)
{
	(void)d;
	(void)m;
	(void)on;
}

int pci_msi_enable(const struct pci_dev *d, int vec)
{
	(void)d;
	(void)vec;
	return -1;
}

int pci_intx_route(const struct pci_dev *d, int vec)
{
	(void)d;
	(void)vec;
	return -1;
}
