/* Interrupts: the local APIC (xAPIC, or x2APIC when the CPU has it), the
 * IOAPICs and ISA overrides of the ACPI MADT, the 8259 PICs (remapped
 * and masked), a small vector allocator, MSI messages, and the handlers.
 *
 * A handler runs with interrupts disabled on the interrupted stack. It
 * only notes what happened (sets a flag, counts, acknowledges its device)
 * and returns nonzero when its device had something for it: a
 * level-triggered source that keeps firing with nothing to do is masked
 * after IRQ_STORM unclaimed interrupts in a row, with one warning. The
 * waiting itself is idle.h's. */
#ifndef UMBRA_IRQ_H
#define UMBRA_IRQ_H

#include <stdint.h>

#define IRQ_FIRST 0x30		/* vectors handed out: 0x30 ... */
#define IRQ_LAST 0xef		/* ... to 0xef */
#define IRQ_TIMER 0xf0		/* the local APIC timer */
#define IRQ_SPURIOUS 0xff	/* the local APIC's spurious vector */
#define IRQ_PIC_BASE 0x20	/* the 8259s, remapped here and masked */
#define IRQ_STORM 1000		/* unclaimed in a row: the source is masked */

typedef int irq_fn(void *ctx);

/* Masks the PICs, enables the local APIC, masks every IOAPIC pin and
 * installs the vectors 32-255. Interrupts stay off until irq_enable. */
void irq_init(void);
void irq_enable(void);

/* Nonzero once irq_init found a local APIC (else every wait polls). */
int irq_ready(void);

/* A vector for fn(ctx), named for the `irq` listing ("vda", "com1").
 * Returns it, or 0 when none is left. */
int irq_alloc(const char *name, irq_fn *fn, void *ctx);

/* Delivers GSI gsi to vector vec (level or edge, active low or high),
 * unmasked. 0, or -1 when no IOAPIC has that GSI. */
int irq_route_gsi(int vec, uint32_t gsi, int level, int active_low);

/* ISA IRQ irq (0-15) to vec, through the MADT's overrides (bus defaults:
 * edge, active high). 0 or -1. */
int irq_route_isa(int vec, unsigned irq);

/* The message (address, data) that delivers vec to this CPU as an edge
 * interrupt: for MSI and MSI-X. mask, when given, is how to silence the
 * source if it storms (an MSI-X entry's mask bit, say). */
void irq_msi(int vec, uint64_t *addr, uint32_t *data);
void irq_set_mask_fn(int vec, void (*mask)(void *ctx), void *ctx);

/* Gives vec another handler (fault injection: `fault irq-storm` swaps
 * in one that never clears its device). */
void irq_replace(int vec, irq_fn *fn, void *ctx);

/* Silences vec's source (IOAPIC pin, or the mask function). */
void irq_mask(int vec);

/* Interrupts vec has taken. */
uint64_t irq_count(int vec);

/* For the `irq` listing: one row per vector that has a name or has
 * fired, then the totals of spurious and unexpected ones. Returns 0 past
 * the last row. */
struct irq_row {
	int vector;
	const char *name;	/* "" when unassigned */
	const char *source;	/* "GSI 20 level", "MSI-X", "ISA 4", ... */
	uint64_t count;
	int masked;
};
int irq_row(unsigned i, struct irq_row *out);
uint64_t irq_spurious_count(void);
uint64_t irq_unexpected_count(void);

/* The local APIC timer: an interrupt at TSC value `tsc` (0: none). */
void irq_timer_at(uint64_t tsc);
/* "TSC-deadline" or "one-shot"; the APIC's mode ("x2APIC", "xAPIC"). */
const char *irq_timer_mode(void);
const char *irq_apic_mode(void);

/* Nonzero while an interrupt handler runs (work that must wait for the
 * app's side, such as drawing the screen, checks it). */
int irq_in_handler(void);

/* Disables interrupts and says whether they were on; restores that. */
int irq_save(void);
void irq_restore(int on);

#endif
