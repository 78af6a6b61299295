/* GDT, TSS and IDT, and the exception report. Intel SDM vol. 3 chapters 3
 * (segments), 7 (TSS) and 6 (interrupts). */
#include "cpu.h"

#include <stdint.h>
#include <string.h>

#include "console.h"
#include "le.h"
#include "power.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS  0x18
#define IST_FAULT 1

/* Pushed by isr.S, lowest address first. */
struct cpu_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

unsigned cpu_count = 1;

static uint64_t gdt[5];
static uint8_t tss[104] __attribute__((aligned(16)));
static uint8_t idt[256 * 16] __attribute__((aligned(16)));
static uint64_t stack_lo, stack_hi;	/* the app stack, for stack walks */
static int in_exception;

extern const uint8_t isr_stubs[];
void cpu_exception(struct cpu_frame *f);

/* SDM vol. 3 §7.2.3: the 64-bit TSS descriptor is 16 bytes, type 9. */
static void set_tss_descriptor(uint64_t base)
{
	uint64_t limit = sizeof(tss) - 1;
	gdt[3] = (limit & 0xffff) | (base & 0xffffff) << 16 |
		 (uint64_t)0x89 << 40 | ((limit >> 16) & 0xf) << 48 |
		 ((base >> 24) & 0xff) << 56;
	gdt[4] = base >> 32;
}

/* SDM vol. 3 §6.14.1: 64-bit interrupt gate, type 0xE, present. */
static void gate(int vec, uint64_t handler, int ist)
{
	uint8_t *e = idt + vec * 16;
	memset(e, 0, 16);
	e[0] = (uint8_t)handler;
	e[1] = (uint8_t)(handler >> 8);
	e[2] = SEL_CODE;
	e[4] = (uint8_t)ist;
	e[5] = 0x8e;
	e[6] = (uint8_t)(handler >> 16);
	e[7] = (uint8_t)(handler >> 24);
	e[8] = (uint8_t)(handler >> 32);
	e[9] = (uint8_t)(handler >> 40);
	e[10] = (uint8_t)(handler >> 48);
	e[11] = (uint8_t)(handler >> 56);
}

void cpu_init(uint64_t ist_top, uint64_t lo, uint64_t hi)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } dtr;

	stack_lo = lo;
	stack_hi = hi;
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull;	/* 64-bit code, DPL 0 */
	gdt[2] = 0x00cf92000000ffffull;	/* data, DPL 0 */
	le64_put(tss + 36, ist_top);	/* IST1 */
	tss[102] = sizeof(tss);		/* I/O map base beyond the limit */
	set_tss_descriptor((uint64_t)(uintptr_t)tss);

	dtr.limit = sizeof(gdt) - 1;
	dtr.base = (uint64_t)(uintptr_t)gdt;
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movl %2, %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs\n\t"
			 "ltr %w3"
			 :
			 : "m"(dtr), "i"(SEL_CODE), "i"(SEL_DATA),
			   "r"(SEL_TSS)
			 : "rax", "memory");

	for (int v = 0; v < 32; v++) {
		int ist = (v == 2 || v == 8 || v == 14) ? IST_FAULT : 0;
		gate(v, (uint64_t)(uintptr_t)(isr_stubs + 16 * v), ist);
	}
	dtr.limit = sizeof(idt) - 1;
	dtr.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(dtr) : "memory");
}

void cpu_set_gate(int vec, uint64_t handler)
{
	if (vec >= 32 && vec < 256)
		gate(vec, handler, 0);
}

static const char *vector_name(uint64_t v)
{
	static const char *names[32] = {
		"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
		"#OF overflow", "#BR bound range", "#UD invalid opcode",
		"#NM device not available", "#DF double fault", "coprocessor",
		"#TS invalid TSS", "#NP segment not present",
		"#SS stack fault", "#GP general protection",
		"#PF page fault", "reserved", "#MF x87 error",
		"#AC alignment check", "#MC machine check",
		"#XM SIMD error", "#VE virtualization", "#CP control protection",
	};
	return v < 32 && names[v] ? names[v] : "reserved";
}

extern uint64_t runtime_image_base;

static void stack_walk(uint64_t rbp)
{
	con_printf("stack:");
	for (int depth = 0; depth < 12; depth++) {
		if (rbp < stack_lo || rbp + 16 > stack_hi || (rbp & 7))
			break;
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;
		con_printf(" %llx", (unsigned long long)frame[1]);
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
	con_printf("\n");
}

void cpu_exception(struct cpu_frame *f)
{
	if (in_exception++) {	/* a fault while reporting one: just leave */
		con_puts("\nexception: nested fault while reporting\n");
		power_exit(POWER_EXIT_FAULT);
	}
	con_printf("\nexception: vector %llu (%s) error 0x%llx\n",
		   (unsigned long long)f->vector, vector_name(f->vector),
		   (unsigned long long)f->error);
	con_printf("rip=%016llx (umbra.efi+0x%llx) cr2=%016llx\n",
		   (unsigned long long)f->rip,
		   (unsigned long long)(f->rip - runtime_image_base),
		   (unsigned long long)cpu_read_cr2());
	con_printf("rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n",
		   (unsigned long long)f->rax, (unsigned long long)f->rbx,
		   (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	con_printf("rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx\n",
		   (unsigned long long)f->rsi, (unsigned long long)f->rdi,
		   (unsigned long long)f->rbp, (unsigned long long)f->rsp);
	con_printf("r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n",
		   (unsigned long long)f->r8, (unsigned long long)f->r9,
		   (unsigned long long)f->r10, (unsigned long long)f->r11);
	con_printf("r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n",
		   (unsigned long long)f->r12, (unsigned long long)f->r13,
		   (unsigned long long)f->r14, (unsigned long long)f->r15);
	con_printf("rflags=%llx cs=%llx ss=%llx\n",
		   (unsigned long long)f->rflags, (unsigned long long)f->cs,
		   (unsigned long long)f->ss);
	uint64_t cr2 = cpu_read_cr2();
	if (f->vector == 14 && cr2 < stack_lo && cr2 + 4096 >= stack_lo)
		con_puts("stack overflow (hit the guard page)\n");
	stack_walk(f->rbp);
	power_exit(POWER_EXIT_FAULT);
}
