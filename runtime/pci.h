/* PCI: configuration access through ECAM (the ACPI MCFG) or the legacy
 * 0xCF8/0xCFC ports, bus enumeration following bridges, BAR decoding, the
 * capability list, and enabling a device (PCI Local Bus 3.0 §6). */
#ifndef UMBRA_PCI_H
#define UMBRA_PCI_H

#include <stdint.h>

#define PCI_MAX_DEVICES 64

/* Configuration header offsets (PCI 3.0 §6.1). */
#define PCI_VENDOR     0x00	/* 16 */
#define PCI_DEVICE     0x02	/* 16 */
#define PCI_COMMAND    0x04	/* 16 */
#define PCI_STATUS     0x06	/* 16; bit 4: capability list present */
#define PCI_CLASS_REV  0x08	/* 32: class, subclass, prog-if, revision */
#define PCI_HEADER     0x0e	/* 8; bit 7: multi-function */
#define PCI_BAR0       0x10
#define PCI_SECONDARY  0x19	/* 8; type-1 headers: secondary bus */
#define PCI_SUBSYS     0x2e	/* 16; type-0 headers: subsystem id */
#define PCI_CAP_PTR    0x34	/* 8 */
#define PCI_CMD_IO     0x1
#define PCI_CMD_MEM    0x2
#define PCI_CMD_MASTER 0x4

struct pci_bar {
	uint64_t base, size;	/* size 0: BAR not implemented */
	uint8_t io, is64, prefetch;
};

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device, subsys;
	uint8_t cls, subcls, progif, rev, header;
	struct pci_bar bar[6];
};

/* Enumerates every bus reachable from bus 0 (ECAM when the MCFG gives it,
 * ports otherwise). Returns the number of functions found. */
int pci_scan(void);

/* "ECAM" or "ports". */
const char *pci_method(void);

unsigned pci_count(void);
struct pci_dev *pci_get(unsigned i);

uint32_t pci_read32(const struct pci_dev *d, uint16_t off);
uint16_t pci_read16(const struct pci_dev *d, uint16_t off);
uint8_t pci_read8(const struct pci_dev *d, uint16_t off);
void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v);
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v);
void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v);

/* Offset of the first capability with id after offset `after` (0 = from
 * the start), or 0 when there is none. The walk is bounded (a looping
 * list ends it). */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after);

/* Sets the given PCI_CMD_* bits in the command register. */
void pci_enable(const struct pci_dev *d, uint16_t bits);

/* Maps a memory BAR uncached and returns its address, or 0 if the BAR is
 * absent, an I/O BAR, or cannot be mapped. */
volatile void *pci_map_bar(const struct pci_dev *d, int bar);

/* Interrupts (pci_irq.c). MSI-X: the table of function d, mapped, every
 * entry masked; -1 when it has none (or a table outside its BAR). */
struct pci_msix {
	volatile uint8_t *table;
	uint16_t size;		/* entries */
	uint8_t cap;
};
int pci_msix_init(const struct pci_dev *d, struct pci_msix *m);
/* Entry `entry` delivers vector vec (unmasked). */
void pci_msix_set(struct pci_msix *m, uint16_t entry, int vec);
void pci_msix_mask(struct pci_msix *m, uint16_t entry, int masked);
/* MSI-X on (INTx off) or off. */
void pci_msix_enable(const struct pci_dev *d, struct pci_msix *m, int on);
/* MSI with one message delivering vec; -1 when d has no MSI. */
int pci_msi_enable(const struct pci_dev *d, int vec);
/* INTx of a bus-0 function routed through the IOAPIC to vec (the
 * chipset's wiring: pci_irq.c says how); -1 when it cannot be. */
int pci_intx_route(const struct pci_dev *d, int vec);

/* "bb:dd.f", the function's address as lspci prints it. */
void pci_where(const struct pci_dev *d, char out[8]);

/* A short name for the class ("mass storage", "bridge", ...). */
const char *pci_class_name(const struct pci_dev *d);

#endif
