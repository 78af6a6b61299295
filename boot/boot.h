/* What boot/ hands to runtime/ after ExitBootServices: everything umbra
 * learned from the firmware, copied out of boot-services memory. */
#ifndef UMBRA_BOOT_H
#define UMBRA_BOOT_H

#include <stdint.h>

#include "efi.h"

struct boot_info {
	efi_memory_descriptor *memmap;	/* LoaderData; stride desc_size */
	uint64_t memmap_size, desc_size;
	uint64_t rsdp;			/* ACPI RSDP, 0 when absent */
	uint64_t smbios, smbios3;	/* SMBIOS entry points, 0 when absent */
	uint64_t image_base, image_size;
	uint64_t stack_base, stack_size; /* our stack; a guard page below it */
	uint64_t ist_base, ist_size;	 /* stack for #DF/#PF/NMI */
	efi_runtime_services *rt;	 /* identity-mapped; never remapped */
	uint64_t tsc_efi_main;		 /* TSC at the first instruction */
	uint64_t tsc_exit_bs;		 /* TSC right after ExitBootServices */
};

/* Entered on umbra's own stack after ExitBootServices; never returns. */
void runtime_start(struct boot_info *bi) __attribute__((noreturn));

/* Memory-map iteration: the descriptor at index i (stride desc_size). */
static inline efi_memory_descriptor *boot_memdesc(const struct boot_info *bi,
						  uint64_t i)
{
	return (efi_memory_descriptor *)((uint8_t *)bi->memmap +
					 i * bi->desc_size);
}

static inline uint64_t boot_memdesc_count(const struct boot_info *bi)
{
	return bi->desc_size ? bi->memmap_size / bi->desc_size : 0;
}

#endif
