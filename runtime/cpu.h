/* x86-64 CPU access: port I/O, TSC, CPUID, control registers, and the
 * descriptor tables (GDT, TSS, IDT) with the exception reporter. */
#ifndef UMBRA_CPU_H
#define UMBRA_CPU_H

#include <stdint.h>

static inline uint64_t cpu_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void cpu_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpu_pause(void)
{
	__asm__ volatile("pause");
}

static inline uint64_t cpu_read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t cpu_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void cpu_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
			 "d"((uint32_t)(v >> 32)));
}

/* Compiler barrier: keeps the compiler from moving memory accesses across
 * it. On x86 (TSO) this also suffices between stores to DMA memory and a
 * port write; see the drivers for where a full fence is required. */
static inline void cpu_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* Full fence: orders all earlier loads and stores before later ones. */
static inline void cpu_mfence(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

/* Seeds the stack-protector cookie from random_u64 (random.h). Called
 * first thing in efi_main, whose frame is not protected. */
void ssp_seed(void);

/* Loads umbra's GDT (with a TSS whose IST1 stack serves #DF, #PF and NMI,
 * so that a stack overflow into the guard page is still reported) and an
 * IDT whose 32 exception vectors print a report and exit. Interrupts stay
 * disabled until irq.c has installed the rest and enables them. */
void cpu_init(uint64_t ist_top, uint64_t stack_lo, uint64_t stack_hi);

/* Points IDT vector vec (32-255) at handler, an interrupt gate on the
 * current stack (irq.c installs its stubs with it). */
void cpu_set_gate(int vec, uint64_t handler);

/* Number of enabled CPUs (from the ACPI MADT), set by runtime_start. */
extern unsigned cpu_count;

#endif
