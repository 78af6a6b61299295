/* runtime_start: bring the runtime up in dependency order, then run the
 * application. Entered from boot/ on our own stack, interrupts off. */
#include "../boot/boot.h"
#include "acpi.h"
#include "console.h"
#include "cpu.h"
#include "irq.h"
#include "page.h"
#include "paging.h"
#include "panic.h"
#include "power.h"
#include "smbios.h"
#include "runtime.h"
#include "time.h"
#include "timeline.h"

#define LOW_MEMORY (1ull << 20)	/* leave real-mode memory alone */

uint64_t runtime_image_base, runtime_image_size;
struct runtime_mem runtime_mem;

static void add_usable(const efi_memory_descriptor *d)
{
	uint64_t base = d->physical_start, pages = d->number_of_pages;
	if (base < LOW_MEMORY) {
		uint64_t skip = (LOW_MEMORY - base) / PAGE_SIZE;
		if (skip >= pages)
			return;
		base = LOW_MEMORY;
		pages -= skip;
	}
	if (page_add(base, pages))
		con_printf("mem: range table full, %llu KiB unused\n",
			   (unsigned long long)(pages * 4));
}

/* Conventional memory first: the boot-services ranges still hold the
 * firmware's page tables, GDT and IDT until ours are loaded. */
static void add_memory(const struct boot_info *bi, int boot_services)
{
	for (uint64_t i = 0; i < boot_memdesc_count(bi); i++) {
		const efi_memory_descriptor *d = boot_memdesc(bi, i);
		uint64_t bytes = d->number_of_pages * PAGE_SIZE;
		int bs = d->type == EFI_BOOT_SERVICES_CODE ||
			 d->type == EFI_BOOT_SERVICES_DATA;
		if (boot_services ? bs : d->type == EFI_CONVENTIONAL_MEMORY) {
			add_usable(d);
			runtime_mem.usable += bytes;
		}
		if (boot_services)
			continue;
		switch (d->type) {
		case EFI_RUNTIME_SERVICES_CODE:
		case EFI_RUNTIME_SERVICES_DATA:
		case EFI_ACPI_RECLAIM_MEMORY:
		case EFI_ACPI_MEMORY_NVS:
			runtime_mem.firmware += bytes;
			break;
		case EFI_RESERVED_MEMORY:
		case EFI_UNUSABLE_MEMORY:
			runtime_mem.reserved += bytes;
			break;
		}
	}
}

void runtime_start(struct boot_info *bi)
{
	con_uart_init();
	runtime_image_base = bi->image_base;
	runtime_image_size = bi->image_size;
	timeline_mark_at(TIMELINE_EFI_MAIN, bi->tsc_efi_main);
	timeline_mark_at(TIMELINE_EXIT_BS, bi->tsc_exit_bs);
	cpu_init(bi->ist_base + bi->ist_size, bi->stack_base,
		 bi->stack_base + bi->stack_size);
	add_memory(bi, 0);
	paging_init(bi);
	add_memory(bi, 1);
	acpi_init(bi->rsdp);
	cpu_count = acpi.cpus;
	time_init(bi->tsc_efi_main);
	power_init(bi->rt);
	irq_init();
	power_button_init();
	con_irq_init();
	irq_enable();
	smbios_init(bi->smbios3, bi->smbios);
	timeline_mark(TIMELINE_RUNTIME);
	power_exit(app_main());
}
