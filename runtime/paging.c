/* Page tables; see paging.h. */
#include "paging.h"

#include <string.h>

#include "cpu.h"
#include "le.h"
#include "page.h"
#include "panic.h"

/* Intel SDM vol. 3 §4.5 table 4-19ff: entry bits. */
#define PTE_P    (1ull << 0)
#define PTE_RW   (1ull << 1)
#define PTE_PWT  (1ull << 3)
#define PTE_PCD  (1ull << 4)
#define PTE_PS   (1ull << 7)
#define PTE_NX   (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define ATTR_MASK (PTE_P | PTE_RW | PTE_PWT | PTE_PCD | PTE_NX)

#define MSR_EFER 0xc0000080
#define EFER_NXE (1ull << 11)
#define CR0_WP   (1ull << 16)

#define SZ_2M (2ull << 20)
#define SZ_1G (1ull << 30)

/* PE/COFF (Microsoft PE format spec): e_lfanew at 0x3c; COFF header after
 * "PE\0\0"; section table entries are 40 bytes. */
#define SCN_MEM_EXECUTE 0x20000000u
#define SCN_MEM_WRITE   0x80000000u

static uint64_t *pml4;
static uint64_t mapped_top;

static uint64_t *table_of(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & PTE_ADDR);
}

/* Returns the next-level table under *e, creating it (empty) if absent. */
static uint64_t *next_table(uint64_t *e)
{
	if (!(*e & PTE_P)) {
		uint64_t *t = page_alloc_zero(1);
		if (!t)
			return 0;
		*e = (uint64_t)(uintptr_t)t | PTE_P | PTE_RW;
	}
	return table_of(*e);
}

/* The page-directory entry covering addr (creating upper levels). */
static uint64_t *pd_entry(uint64_t addr)
{
	uint64_t *pdpt = next_table(&pml4[(addr >> 39) & 511]);
	if (!pdpt)
		return 0;
	uint64_t *pd = next_table(&pdpt[(addr >> 30) & 511]);
	if (!pd)
		return 0;
	return &pd[(addr >> 21) & 511];
}

/* Splits a 2 MiB page into 512 4 KiB pages with the same attributes. */
static uint64_t *split(uint64_t *pde)
{
	uint64_t *pt = page_alloc_zero(1);
	if (!pt)
		return 0;
	uint64_t base = *pde & PTE_ADDR & ~(SZ_2M - 1);
	uint64_t attr = *pde & ATTR_MASK;
	for (int i = 0; i < 512; i++)
		pt[i] = (base + (uint64_t)i * PAGE_SIZE) | attr;
	*pde = (uint64_t)(uintptr_t)pt | PTE_P | PTE_RW;
	return pt;
}

/* Identity-maps [base, end) with attributes attr (0 = not present),
 * using 2 MiB pages where a whole one is covered. */
static int map(uint64_t base, uint64_t end, uint64_t attr)
{
	uint64_t *pd = 0, pd_gib = 0;	/* the directory of the current GiB */
	base &= ~(PAGE_SIZE - 1);
	while (base < end) {
		uint64_t *pde;
		if (pd && base >> 30 == pd_gib) {
			pde = &pd[(base >> 21) & 511];
		} else {
			pde = pd_entry(base);
			if (!pde)
				return -1;
			pd = pde - ((base >> 21) & 511);
			pd_gib = base >> 30;
		}
		if (base % SZ_2M == 0 && end - base >= SZ_2M &&
		    (!(*pde & PTE_P) || (*pde & PTE_PS))) {
			*pde = attr ? base | attr | PTE_PS : 0;
			base += SZ_2M;
			continue;
		}
		uint64_t *pt;
		if ((*pde & PTE_P) && !(*pde & PTE_PS))
			pt = table_of(*pde);
		else if (*pde & PTE_P)
			pt = split(pde);
		else
			pt = next_table(pde);
		if (!pt)
			return -1;
		pt[(base >> 12) & 511] = attr ? base | attr : 0;
		base += PAGE_SIZE;
	}
	return 0;
}

/* Maps our own image by its PE section table: headers read-only, code
 * read-only + executable, read-only data NX, data writable + NX. */
static void map_image(uint64_t base, uint64_t size)
{
	const uint8_t *img = (const uint8_t *)(uintptr_t)base;
	uint32_t pe = le32_get(img + 0x3c);
	ASSERT(pe < size && !memcmp(img + pe, "PE\0\0", 4));
	unsigned nsec = img[pe + 6] | img[pe + 7] << 8;
	unsigned optsz = img[pe + 20] | img[pe + 21] << 8;
	const uint8_t *sec = img + pe + 24 + optsz;

	if (map(base, base + size, PTE_P | PTE_NX))
		panic("paging: out of memory");
	for (unsigned i = 0; i < nsec; i++, sec += 40) {
		uint64_t va = base + le32_get(sec + 12);
		uint64_t len = (le32_get(sec + 8) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		uint32_t ch = le32_get(sec + 36);
		uint64_t attr = PTE_P;
		if (ch & SCN_MEM_WRITE)
			attr |= PTE_RW;
		if (!(ch & SCN_MEM_EXECUTE))
			attr |= PTE_NX;
		ASSERT(!((ch & SCN_MEM_WRITE) && (ch & SCN_MEM_EXECUTE)));
		if (map(va, va + len, attr))
			panic("paging: out of memory");
	}
}

void paging_init(const struct boot_info *bi)
{
	pml4 = page_alloc_zero(1);
	if (!pml4)
		panic("paging: out of memory");
	mapped_top = 4 * SZ_1G;
	for (uint64_t i = 0; i < bi->mem_count; i++) {
		const struct boot_mem *m = &bi->mem[i];
		uint64_t end = m->base + m->size;
		if (m->type != BOOT_MEM_MMIO && end > mapped_top)
			mapped_top = (end + SZ_1G - 1) & ~(SZ_1G - 1);
	}
	int err = map(0, mapped_top, PTE_P | PTE_RW | PTE_NX);
	err |= map(0, PAGE_SIZE, 0);	/* NULL faults */
	/* Firmware runtime drivers keep their .data inside
	 * EfiRuntimeServicesCode, so those ranges stay writable.
	 * XXX: the UEFI memory attributes table could split them. */
	for (uint64_t i = 0; i < bi->mem_count; i++) {
		const struct boot_mem *m = &bi->mem[i];
		if (m->type == BOOT_MEM_FIRMWARE_CODE)
			err |= map(m->base, m->base + m->size, PTE_P | PTE_RW);
	}
	if (err)
		panic("paging: out of memory");
	map_image(bi->image_base, bi->image_size);
	/* After the image: the PVH entry's stacks live in its .bss. */
	err = map(bi->stack_base - PAGE_SIZE, bi->stack_base, 0);
	err |= map(bi->ist_base - PAGE_SIZE, bi->ist_base, 0);
	if (err)
		panic("paging: out of memory");

	cpu_wrmsr(MSR_EFER, cpu_rdmsr(MSR_EFER) | EFER_NXE);
	uint64_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | CR0_WP) : "memory");
}

int paging_map_mmio(uint64_t phys, uint64_t len)
{
	uint64_t end = (phys + len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	int err = map(phys, end, PTE_P | PTE_RW | PTE_NX | PTE_PCD | PTE_PWT);
	/* Drop stale translations of the range. */
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax",
			 "memory");
	return err;
}

/* SDM vol. 3 §11.12: PAT entry 1 (selected by PWT alone, PCD and PAT
 * clear) is write-through at reset and used by nothing else here; it
 * becomes write-combining, for framebuffers. */
#define MSR_PAT 0x277
#define PAT_WC 0x01ull
#define CPUID1_PAT (1u << 16)	/* EDX */

int paging_map_wc(uint64_t phys, uint64_t len)
{
	uint32_t r[4];
	cpu_cpuid(1, 0, r);
	if (!(r[3] & CPUID1_PAT))
		return paging_map_mmio(phys, len);
	uint64_t pat = cpu_rdmsr(MSR_PAT);
	if (((pat >> 8) & 0xff) != PAT_WC)
		cpu_wrmsr(MSR_PAT, (pat & ~0xff00ull) | PAT_WC << 8);
	uint64_t end = (phys + len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	int err = map(phys, end, PTE_P | PTE_RW | PTE_NX | PTE_PWT);
	__asm__ volatile("wbinvd; mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax",
			 "memory");
	return err;
}

uint64_t paging_mapped_top(void)
{
	return mapped_top;
}
