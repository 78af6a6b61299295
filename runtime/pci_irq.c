/* PCI interrupts: MSI-X and MSI (PCI Local Bus 3.0 §6.8), and INTx
 * through the IOAPIC. See pci.h.
 *
 * INTx routing. Without an AML interpreter the _PRT cannot be run, so
 * the chipset's wiring (which is what QEMU's _PRT describes) is used, for
 * functions on bus 0:
 * - q35 (ICH9, host bridge 8086:29c0): in APIC mode PIRQ A-H arrive on
 *   IOAPIC pins 16-23. Slots 0-24 and 30 use PIRQ E-H, slot s pin p
 *   (0 = INTA) on PIRQ E + (s + p) % 4; slots 25-29 and 31 use PIRQ A-D,
 *   A + p (the chipset's default D25IR-D31IR). Level, active high (as
 *   QEMU's GSI link devices say).
 * - pc (i440FX + PIIX3): slot s pin p is on PIRQ (s + p - 1) % 4, and the
 *   PIIX3's PIRQ route register (ISA bridge config 0x60 + n; bit 7 set:
 *   not routed) names the ISA IRQ the firmware gave it. That IRQ, through
 *   the MADT's overrides, is the IOAPIC pin; PCI interrupts are level.
 * Anything else: the interrupt is not routed and the device is polled. */
#include "pci.h"

#include "acpi.h"
#include "irq.h"
#include "le.h"

#define CAP_MSI 0x05
#define CAP_MSIX 0x11
#define PCI_INT_PIN 0x3d
#define CMD_INTX_DISABLE (1u << 10)
#define MSIX_ENABLE (1u << 15)
#define MSIX_FUNC_MASK (1u << 14)
#define MSIX_VEC_MASKED 1
#define PIIX_PIRQ 0x60

static int find(uint16_t vendor, uint16_t device, struct pci_dev **out)
{
	for (unsigned i = 0; i < pci_count(); i++) {
		struct pci_dev *p = pci_get(i);
		if (p->bus == 0 && p->vendor == vendor && p->device == device) {
			*out = p;
			return 1;
		}
	}
	return 0;
}

int pci_intx_route(const struct pci_dev *d, int vec)
{
	uint8_t pin = pci_read8(d, PCI_INT_PIN);
	if (!pin || pin > 4 || d->bus != 0)
		return -1;
	unsigned p = pin - 1u, s = d->dev;
	struct pci_dev *x;
	pci_write16(d, PCI_COMMAND,
		    pci_read16(d, PCI_COMMAND) & ~CMD_INTX_DISABLE);
	if (find(0x8086, 0x29c0, &x)) {			/* q35 */
		int e = s <= 24 || s == 30;
		uint32_t pirq = e ? 4 + (s + p) % 4 : p;
		return irq_route_gsi(vec, 16 + pirq, 1, 0);
	}
	if (find(0x8086, 0x7000, &x)) {			/* PIIX3 */
		uint8_t irq = pci_read8(x, PIIX_PIRQ + (s + p + 3) % 4);
		if (irq & 0x80 || irq >= 16)
			return -1;
		uint16_t f = acpi_isa_flags(irq);
		return irq_route_gsi(vec, acpi_isa_gsi(irq), 1,
				     (f & 3) == 3);
	}
	return -1;
}

int pci_msix_init(const struct pci_dev *d, struct pci_msix *m)
{
	m->cap = pci_find_cap(d, CAP_MSIX, 0);
	if (!m->cap)
		return -1;
	uint32_t t = pci_read32(d, m->cap + 4);
	m->size = (uint16_t)((pci_read16(d, m->cap + 2) & 0x7ff) + 1);
	int bir = t & 7;
	uint64_t off = t & ~7u;
	if (bir > 5 || d->bar[bir].io || off + 16ull * m->size >
					 d->bar[bir].size)
		return -1;	/* a table outside its BAR: not used */
	volatile uint8_t *bar = pci_map_bar(d, bir);
	if (!bar)
		return -1;
	m->table = bar + off;
	for (uint16_t i = 0; i < m->size; i++)	/* all masked to start */
		mmio_write32(m->table, 16u * i + 12, MSIX_VEC_MASKED);
	return 0;
}

void pci_msix_set(struct pci_msix *m, uint16_t entry, int vec)
{
	uint64_t addr;
	uint32_t data;
	if (entry >= m->size)
		return;
	irq_msi(vec, &addr, &data);
	volatile uint8_t *e = m->table + 16u * entry;
	mmio_write32(e, 0, (uint32_t)addr);
	mmio_write32(e, 4, (uint32_t)(addr >> 32));
	mmio_write32(e, 8, data);
	mmio_write32(e, 12, 0);		/* unmasked */
}

void pci_msix_mask(struct pci_msix *m, uint16_t entry, int masked)
{
	if (entry < m->size)
		mmio_write32(m->table, 16u * entry + 12,
			     masked ? MSIX_VEC_MASKED : 0);
}

void pci_msix_enable(const struct pci_dev *d, struct pci_msix *m, int on)
{
	uint16_t c = pci_read16(d, m->cap + 2) & ~MSIX_FUNC_MASK;
	pci_write16(d, m->cap + 2, on ? c | MSIX_ENABLE : c & ~MSIX_ENABLE);
	if (on)		/* MSI-X replaces INTx: keep the pin quiet */
		pci_write16(d, PCI_COMMAND,
			    pci_read16(d, PCI_COMMAND) | CMD_INTX_DISABLE);
}

/* §6.8.1: message control at +2 (enable bit 0, 64-bit bit 7), address at
 * +4, then the upper address (64-bit) and the data. One vector. */
int pci_msi_enable(const struct pci_dev *d, int vec)
{
	uint8_t cap = pci_find_cap(d, CAP_MSI, 0);
	if (!cap)
		return -1;
	uint64_t addr;
	uint32_t data;
	irq_msi(vec, &addr, &data);
	uint16_t ctl = pci_read16(d, cap + 2);
	pci_write32(d, cap + 4, (uint32_t)addr);
	if (ctl & (1u << 7)) {
		pci_write32(d, cap + 8, (uint32_t)(addr >> 32));
		pci_write16(d, cap + 12, (uint16_t)data);
	} else {
		pci_write16(d, cap + 8, (uint16_t)data);
	}
	/* one message (MME 0), enabled */
	pci_write16(d, cap + 2, (uint16_t)((ctl & ~0x70u) | 1));
	pci_write16(d, PCI_COMMAND,
		    pci_read16(d, PCI_COMMAND) | CMD_INTX_DISABLE);
	return 0;
}
