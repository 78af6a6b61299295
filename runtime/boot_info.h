/* What boot/ hands to runtime/: everything umbra learned from the firmware
 * or the loader, in one structure that says nothing about which entry ran
 * (UEFI efi_main or the PVH entry). runtime/ defines it and boot/ fills it:
 * boot includes runtime, never the reverse. The memory map is umbra's own, not
 * UEFI's or E820's: each entry converts its source. */
#ifndef UMBRA_BOOT_INFO_H
#define UMBRA_BOOT_INFO_H

#include <stdint.h>

#include "fb.h"
#include "uefi.h"

/* What a memory range is, as far as runtime/ cares. */
enum boot_mem_type {
	BOOT_MEM_FREE = 1,	/* RAM for the page allocator */
	BOOT_MEM_FREE_LATER,	/* RAM the firmware's page tables, GDT and
				 * IDT occupy until ours are loaded (UEFI
				 * boot services) */
	BOOT_MEM_FIRMWARE_CODE,	/* firmware code that stays callable (UEFI
				 * runtime services): mapped RW+X */
	BOOT_MEM_FIRMWARE,	/* firmware data, ACPI tables and NVS */
	BOOT_MEM_RESERVED,	/* reserved or unusable */
	BOOT_MEM_MMIO,		/* device registers, not RAM */
	BOOT_MEM_LOADED,	/* umbra's image and what its loader left */
	BOOT_MEM_OTHER,
};

/* One range: bytes [base, base + size). FREE ranges are page-aligned. */
struct boot_mem {
	uint64_t base, size;
	uint32_t type;		/* enum boot_mem_type */
	uint32_t reserved;
};

struct boot_info {
	struct boot_mem *mem;		/* the memory map ... */
	uint64_t mem_count;		/* ... and its entries */
	uint64_t rsdp;			/* ACPI RSDP, 0 when absent */
	uint64_t smbios, smbios3;	/* SMBIOS entry points, 0 when absent */
	const char *cmdline;		/* the loader's command line, or 0 */
	const char *entry_name;		/* "efi_main", "pvh_entry": timeline */
	uint64_t image_base, image_size; /* our PE image (headers first) */
	uint64_t stack_base, stack_size; /* our stack; a guard page below it */
	uint64_t ist_base, ist_size;	 /* stack for #DF/#PF/NMI */
	efi_runtime_services *rt;	 /* UEFI only; identity-mapped */
	uint64_t tsc_entry;		 /* TSC at the entry's first instruction */
	uint64_t tsc_exit_bs;		 /* TSC after ExitBootServices (UEFI) */
	struct fb_desc fb;		 /* the GOP's framebuffer (base 0: none) */
	const char *fb_why;		 /* why there is none, when there is not */
};

/* Entered on umbra's own stack, firmware gone, interrupts off; never
 * returns. */
void runtime_start(struct boot_info *bi) __attribute__((noreturn));

#endif
