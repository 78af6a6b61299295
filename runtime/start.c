/* runtime_start: bring the runtime up in dependency order, then run the
 * application. Entered from boot/ on our own stack, interrupts off. */
#include "boot_info.h"
#include "acpi.h"
#include "cmdline.h"
#include "console.h"
#include "cpu.h"
#include "fbcon.h"
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
static const struct boot_info *boot;

static void add_usable(const struct boot_mem *m)
{
	uint64_t base = m->base, pages = m->size / PAGE_SIZE;
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

/* Free memory first: the FREE_LATER ranges still hold the firmware's page
 * tables, GDT and IDT until ours are loaded. */
static void add_memory(const struct boot_info *bi, int later)
{
	for (uint64_t i = 0; i < bi->mem_count; i++) {
		const struct boot_mem *m = &bi->mem[i];
		if (m->type == (later ? BOOT_MEM_FREE_LATER : BOOT_MEM_FREE)) {
			add_usable(m);
			runtime_mem.usable += m->size;
		}
		if (later)
			continue;
		if (m->type == BOOT_MEM_FIRMWARE_CODE ||
		    m->type == BOOT_MEM_FIRMWARE)
			runtime_mem.firmware += m->size;
		else if (m->type == BOOT_MEM_RESERVED)
			runtime_mem.reserved += m->size;
	}
}

/* The firmware's framebuffer (UEFI GOP), when it left one. */
static void screen_init(const struct boot_info *bi)
{
	if (!bi->fb.base) {
		fbcon_none(bi->fb_why);
		return;
	}
	if (paging_map_wc(bi->fb.base, bi->fb.size))
		fbcon_none("out of memory for the framebuffer's page tables");
	else
		fbcon_attach(&bi->fb, "GOP", 0, 0);
}

int runtime_is_ram(uint64_t base, uint64_t len)
{
	for (uint64_t i = 0; boot && i < boot->mem_count; i++) {
		const struct boot_mem *m = &boot->mem[i];
		if (m->type != BOOT_MEM_MMIO && m->type != BOOT_MEM_RESERVED &&
		    base < m->base + m->size && m->base < base + len)
			return 1;
	}
	return 0;
}

void runtime_start(struct boot_info *bi)
{
	con_uart_init();
	boot = bi;
	cmdline_set(bi->cmdline);
	timeline_name_entry(bi->entry_name);
	runtime_image_base = bi->image_base;
	runtime_image_size = bi->image_size;
	timeline_mark_at(TIMELINE_EFI_MAIN, bi->tsc_entry);
	timeline_mark_at(TIMELINE_EXIT_BS, bi->tsc_exit_bs);
	cpu_init(bi->ist_base + bi->ist_size, bi->stack_base,
		 bi->stack_base + bi->stack_size);
	add_memory(bi, 0);
	paging_init(bi);
	add_memory(bi, 1);
	acpi_init(bi->rsdp);
	cpu_count = acpi.cpus;
	time_init(bi->tsc_entry);
	power_init(bi->rt);
	irq_init();
	power_button_init();
	con_irq_init();
	screen_init(bi);
	irq_enable();
	smbios_init(bi->smbios3, bi->smbios);
	timeline_mark(TIMELINE_RUNTIME);
	power_exit(app_main());
}
