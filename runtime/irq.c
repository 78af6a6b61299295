/* Interrupt controllers and dispatch; see irq.h. Intel SDM vol. 3 ch. 10
 * (local APIC, x2APIC, the APIC timer), the 82093AA IOAPIC data sheet,
 * ACPI §5.2.12 (MADT), the 8259A data sheet. */
#include "irq.h"

#include "acpi.h"
#include "console.h"
#include "cpu.h"
#include "fmt.h"
#include "le.h"
#include "paging.h"
#include "time.h"

/* Local APIC registers (SDM Table 10-1): xAPIC MMIO offset; the x2APIC
 * MSR is 0x800 + offset / 16. */
#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0		/* bit 8: APIC software enable */
#define LAPIC_LVT_TIMER 0x320	/* bits 18:17 mode: 0 one-shot, 2 deadline */
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_MASKED (1u << 16)
#define LVT_NMI (4u << 8)	/* delivery mode NMI */
#define LVT_TSC_DEADLINE (2u << 17)
#define MSR_APIC_BASE 0x1b	/* bit 11 enable, bit 10 x2APIC */
#define MSR_TSC_DEADLINE 0x6e0
#define CPUID1_X2APIC (1u << 21)	/* ECX */
#define CPUID1_TSC_DEADLINE (1u << 24)	/* ECX */

/* IOAPIC: index/data window; redirection entries at 0x10 + 2 * pin. */
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_VER 0x01		/* bits 23:16: last redirection entry */
#define DEFAULT_IOAPIC 0xfec00000ull
#define RTE_LEVEL (1u << 15)
#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_MASKED (1u << 16)

/* 8259A ports and the initialization words that remap and mask them. */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

#define NVEC 256

struct vec {
	const char *name;
	irq_fn *fn;
	void *ctx;
	void (*mask_fn)(void *ctx);
	void *mask_ctx;
	uint64_t count;
	uint32_t unclaimed;	/* in a row */
	int ioapic;		/* -1: not on an IOAPIC */
	uint32_t gsi;
	uint8_t level, active_low, masked;
	const char *kind;	/* "MSI" or "local APIC" (the timer); a vector
				 * on an IOAPIC shows its GSI instead */
};

static struct vec vecs[NVEC];
static int next_vec = IRQ_FIRST;
static volatile uint8_t *lapic;
static int x2apic, tsc_deadline, ready;
static uint32_t apic_id;
static uint64_t spurious, unexpected;
static int in_handler;
static uint64_t apic_per_tsc_q32;	/* APIC timer ticks per TSC tick, 32.32 */
static volatile uint8_t *ioapic_base[ACPI_MAX_IOAPICS];
static uint32_t ioapic_pins[ACPI_MAX_IOAPICS];

void irq_dispatch(uint64_t vector);
extern const uint8_t irq_stubs[];

static uint32_t apic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)cpu_rdmsr(0x800 + reg / 16);
	return mmio_read32(lapic, reg);
}

static void apic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		cpu_wrmsr(0x800 + reg / 16, v);
	else
		mmio_write32(lapic, reg, v);
}

static uint32_t io_read(int i, uint32_t reg)
{
	mmio_write32(ioapic_base[i], IOREGSEL, reg);
	return mmio_read32(ioapic_base[i], IOWIN);
}

static void io_write(int i, uint32_t reg, uint32_t v)
{
	mmio_write32(ioapic_base[i], IOREGSEL, reg);
	mmio_write32(ioapic_base[i], IOWIN, v);
}

/* 8259A: ICW1-4 put the two PICs at IRQ_PIC_BASE (so a stray interrupt
 * from them is never taken for an exception), then mask every line. */
static void pic_off(void)
{
	outb(PIC1_CMD, 0x11);
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, IRQ_PIC_BASE);
	outb(PIC2_DATA, IRQ_PIC_BASE + 8);
	outb(PIC1_DATA, 4);		/* the slave is on IRQ 2 */
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, 1);		/* 8086 mode */
	outb(PIC2_DATA, 1);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

static void ioapics_init(void)
{
	/* No MADT (QEMU microvm with acpi=off): the PC's IOAPIC at its
	 * usual place, if something answers there. */
	if (!acpi.nioapics && !paging_map_mmio(DEFAULT_IOAPIC, 4096)) {
		ioapic_base[0] = (volatile uint8_t *)(uintptr_t)DEFAULT_IOAPIC;
		uint32_t ver = io_read(0, IOAPIC_VER);
		ioapic_base[0] = 0;
		if (ver != 0xffffffffu && (ver & 0xff) >= 0x11)
			acpi.ioapic[acpi.nioapics++] = (struct acpi_ioapic){
				0, (uint32_t)DEFAULT_IOAPIC, 0 };
	}
	for (unsigned i = 0; i < acpi.nioapics; i++) {
		uint64_t a = acpi.ioapic[i].addr;
		if (!a || paging_map_mmio(a, 4096))
			continue;
		ioapic_base[i] = (volatile uint8_t *)(uintptr_t)a;
		ioapic_pins[i] = ((io_read((int)i, IOAPIC_VER) >> 16) & 0xff) + 1;
		for (uint32_t p = 0; p < ioapic_pins[i]; p++)
			io_write((int)i, 0x10 + 2 * p, RTE_MASKED);
	}
}

/* SDM §10.5.4: the timer's rate against the TSC, measured over at least
 * ~1 ms in one-shot mode with divide-by-16 (used when there is no
 * TSC-deadline). The count starts at irq_init and is read when the timer
 * is first armed, so that the boot's own work fills the window instead
 * of a wait (a window that ran the count out is measured again). */
static uint64_t cal_t0;		/* TSC at the count's start; 0: measured */

static void timer_calibrate_begin(void)
{
	apic_write(LAPIC_TIMER_DIV, 3);		/* divide by 16 */
	apic_write(LAPIC_LVT_TIMER, LVT_MASKED | IRQ_TIMER);
	cal_t0 = cpu_rdtsc();
	apic_write(LAPIC_TIMER_INIT, 0xffffffffu);
}

static void timer_calibrate_end(void)
{
	uint64_t hz = time_tsc_hz();
	while (cpu_rdtsc() - cal_t0 < hz / 1000)
		cpu_pause();
	uint32_t cur = apic_read(LAPIC_TIMER_CUR);
	uint64_t dt = cpu_rdtsc() - cal_t0;
	apic_write(LAPIC_TIMER_INIT, 0);
	if (!cur) {			/* ran out: the window is unknown */
		timer_calibrate_begin();
		timer_calibrate_end();
		return;
	}
	cal_t0 = 0;
	apic_per_tsc_q32 = dt ? ((uint64_t)(0xffffffffu - cur) << 32) / dt
			      : 0;
	apic_write(LAPIC_LVT_TIMER, IRQ_TIMER);
}

static int lapic_init(void)
{
	uint32_t r[4];
	cpu_cpuid(1, 0, r);
	if (!(r[3] & (1u << 9)))
		return -1;			/* no local APIC */
	uint64_t base = cpu_rdmsr(MSR_APIC_BASE);
	x2apic = (r[2] & CPUID1_X2APIC) != 0;
	tsc_deadline = (r[2] & CPUID1_TSC_DEADLINE) != 0;
	if (x2apic) {
		cpu_wrmsr(MSR_APIC_BASE, base | (1u << 11) | (1u << 10));
	} else {
		uint64_t phys = base & 0xffffff000ull;
		if (paging_map_mmio(phys, 4096))
			return -1;
		lapic = (volatile uint8_t *)(uintptr_t)phys;
		cpu_wrmsr(MSR_APIC_BASE, base | (1u << 11));
	}
	apic_id = x2apic ? apic_read(LAPIC_ID) : apic_read(LAPIC_ID) >> 24;
	apic_write(LAPIC_TPR, 0);
	/* LINT0 is the PICs' ExtINT (masked with them); LINT1 carries NMI
	 * (SDM §10.5.1), so that an NMI is still taken and reported. */
	apic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	apic_write(LAPIC_LVT_LINT1, LVT_NMI);
	apic_write(LAPIC_SVR, 0x100 | IRQ_SPURIOUS);
	if (tsc_deadline)
		apic_write(LAPIC_LVT_TIMER, IRQ_TIMER | LVT_TSC_DEADLINE);
	else
		timer_calibrate_begin();	/* unmasked once measured */
	return 0;
}

void irq_init(void)
{
	for (int v = 32; v < NVEC; v++) {
		vecs[v].ioapic = -1;
		cpu_set_gate(v, (uint64_t)(uintptr_t)(irq_stubs + 16 * (v - 32)));
	}
	vecs[IRQ_TIMER].name = "timer";
	vecs[IRQ_TIMER].kind = "local APIC";
	pic_off();
	if (lapic_init())
		return;
	ioapics_init();
	ready = 1;
}

int irq_save(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return (f >> 9) & 1;
}

void irq_restore(int on)
{
	if (on)
		__asm__ volatile("sti" ::: "memory");
}

void irq_enable(void)
{
	if (ready)
		__asm__ volatile("sti" ::: "memory");
}

int irq_in_handler(void)
{
	return in_handler;
}

int irq_ready(void)
{
	return ready;
}

int irq_alloc(const char *name, irq_fn *fn, void *ctx)
{
	if (!ready || next_vec > IRQ_LAST)
		return 0;
	int v = next_vec++;
	vecs[v].name = name;
	vecs[v].fn = fn;
	vecs[v].ctx = ctx;
	vecs[v].kind = "MSI";
	return v;
}

static int find_ioapic(uint32_t gsi, uint32_t *pin)
{
	for (unsigned i = 0; i < acpi.nioapics; i++) {
		uint32_t b = acpi.ioapic[i].gsi_base;
		if (ioapic_base[i] && gsi >= b && gsi - b < ioapic_pins[i]) {
			*pin = gsi - b;
			return (int)i;
		}
	}
	return -1;
}

static void rte_write(struct vec *e, int vec, int masked)
{
	uint32_t pin;
	int i = find_ioapic(e->gsi, &pin);
	if (i < 0)
		return;
	uint32_t lo = (uint32_t)vec | (e->level ? RTE_LEVEL : 0) |
		      (e->active_low ? RTE_ACTIVE_LOW : 0) |
		      (masked ? RTE_MASKED : 0);
	io_write(i, 0x11 + 2 * pin, apic_id << 24);	/* physical dest */
	io_write(i, 0x10 + 2 * pin, lo);
}

int irq_route_gsi(int vec, uint32_t gsi, int level, int active_low)
{
	uint32_t pin;
	if (vec < IRQ_FIRST || vec > IRQ_LAST || find_ioapic(gsi, &pin) < 0)
		return -1;
	struct vec *e = &vecs[vec];
	e->ioapic = find_ioapic(gsi, &pin);
	e->gsi = gsi;
	e->level = (uint8_t)level;
	e->active_low = (uint8_t)active_low;
	rte_write(e, vec, 0);
	return 0;
}

int irq_route_isa(int vec, unsigned irq)
{
	if (irq >= 16)
		return -1;
	/* MPS INTI flags: 0 means the ISA default, edge and active high. */
	uint16_t f = acpi.isa_flags[irq];
	int level = (f & ACPI_INTI_TRIGGER_LEVEL) == ACPI_INTI_TRIGGER_LEVEL;
	int low = (f & ACPI_INTI_POLARITY_LOW) == ACPI_INTI_POLARITY_LOW;
	return irq_route_gsi(vec, acpi.isa_gsi[irq], level, low);
}

void irq_msi(int vec, uint64_t *addr, uint32_t *data)
{
	/* SDM §10.11: 0xFEE, destination APIC ID in bits 19:12, physical
	 * mode; data: the vector, fixed delivery, edge. */
	*addr = 0xfee00000ull | (uint64_t)(apic_id & 0xff) << 12;
	*data = (uint32_t)vec;
}

void irq_replace(int vec, irq_fn *fn, void *ctx)
{
	if (vec < IRQ_FIRST || vec > IRQ_LAST)
		return;
	int on = irq_save();
	vecs[vec].fn = fn;
	vecs[vec].ctx = ctx;
	irq_restore(on);
}

void irq_set_mask_fn(int vec, void (*mask)(void *ctx), void *ctx)
{
	if (vec >= IRQ_FIRST && vec <= IRQ_LAST) {
		vecs[vec].mask_fn = mask;
		vecs[vec].mask_ctx = ctx;
	}
}

void irq_mask(int vec)
{
	if (vec < IRQ_FIRST || vec > IRQ_LAST)
		return;
	struct vec *e = &vecs[vec];
	e->masked = 1;
	if (e->ioapic >= 0)
		rte_write(e, vec, 1);
	else if (e->mask_fn)
		e->mask_fn(e->mask_ctx);
}

uint64_t irq_count(int vec)
{
	return vec > 0 && vec < NVEC ? vecs[vec].count : 0;
}

static void eoi(void)
{
	apic_write(LAPIC_EOI, 0);
}

/* Called from irq_stubs with interrupts off. */
void irq_dispatch(uint64_t vector)
{
	if (vector == IRQ_SPURIOUS) {	/* SDM §10.9: no EOI */
		spurious++;
		return;
	}
	if (vector >= NVEC)
		return;
	struct vec *e = &vecs[vector];
	e->count++;
	if (vector == IRQ_TIMER) {
		eoi();
		return;
	}
	if (!e->fn) {
		unexpected++;
		eoi();
		return;
	}
	/* Only a level-triggered line can fire for ever without its
	 * device having anything (an edge or a message is one event). */
	in_handler++;
	if (e->fn(e->ctx) || !e->level)
		e->unclaimed = 0;
	else if (++e->unclaimed == IRQ_STORM) {
		irq_mask((int)vector);
		con_printf("irq: vector %u (%s) keeps firing with nothing to "
			   "do: masked; its device is polled\n",
			   (unsigned)vector, e->name);
	}
	in_handler--;
	eoi();
}

void irq_timer_at(uint64_t tsc)
{
	if (!ready)
		return;
	if (tsc_deadline) {
		cpu_wrmsr(MSR_TSC_DEADLINE, tsc);
		return;
	}
	if (cal_t0)
		timer_calibrate_end();
	uint64_t now = cpu_rdtsc(), ticks = 0;
	if (tsc) {
		uint64_t dt = tsc > now ? tsc - now : 1;
		/* dt * rate / 2^32 without overflow for dt up to ~2^31 s */
		ticks = (dt >> 16) * apic_per_tsc_q32 >> 16;
		ticks += ((dt & 0xffff) * apic_per_tsc_q32) >> 32;
		if (!ticks)
			ticks = 1;
		if (ticks > 0xffffffffu)
			ticks = 0xffffffffu;	/* wakes early; fine */
	}
	apic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
}

const char *irq_timer_mode(void)
{
	return !ready ? "none" : tsc_deadline ? "TSC-deadline" : "one-shot";
}

const char *irq_apic_mode(void)
{
	return !ready ? "none" : x2apic ? "x2APIC" : "xAPIC";
}

int irq_row(unsigned i, struct irq_row *out)
{
	for (int v = 32; v < NVEC; v++) {
		struct vec *e = &vecs[v];
		if (!e->name && !e->count)
			continue;
		if (i--)
			continue;
		static char src[24];
		if (e->ioapic >= 0)
			fmt_snprintf(src, sizeof(src), "GSI %u %s", e->gsi,
				     e->level ? "level" : "edge");
		*out = (struct irq_row){ v, e->name ? e->name : "",
					 e->ioapic >= 0 ? src
					 : e->kind ? e->kind : "-",
					 e->count, e->masked };
		return 1;
	}
	return 0;
}

uint64_t irq_spurious_count(void)
{
	return spurious;
}

uint64_t irq_unexpected_count(void)
{
	return unexpected;
}
