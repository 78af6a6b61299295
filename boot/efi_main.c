/* UEFI entry: learn what the firmware knows, take the machine with
 * ExitBootServices, move onto umbra's own stack and hand off to runtime/. */
#include <stdint.h>

#include "efi.h"
#include "../runtime/boot_info.h"
#include "../runtime/console.h"
#include "../runtime/cpu.h"
#include "../runtime/timeline.h"

#define STACK_PAGES 64		/* 256 KiB for the app */
#define IST_PAGES   4		/* 16 KiB for fault handlers */
#define PAGE        4096
#define EBS_TRIES   8

static struct boot_info boot_info;

/* UEFI 2.10 §7.2.3 memory types, as runtime/ sees them. */
static uint32_t mem_type(uint32_t efi)
{
	switch (efi) {
	case EFI_CONVENTIONAL_MEMORY:
		return BOOT_MEM_FREE;
	case EFI_BOOT_SERVICES_CODE:
	case EFI_BOOT_SERVICES_DATA:
		return BOOT_MEM_FREE_LATER;
	case EFI_RUNTIME_SERVICES_CODE:
		return BOOT_MEM_FIRMWARE_CODE;
	case EFI_RUNTIME_SERVICES_DATA:
	case EFI_ACPI_RECLAIM_MEMORY:
	case EFI_ACPI_MEMORY_NVS:
		return BOOT_MEM_FIRMWARE;
	case EFI_RESERVED_MEMORY:
	case EFI_UNUSABLE_MEMORY:
		return BOOT_MEM_RESERVED;
	case EFI_MEMORY_MAPPED_IO:
		return BOOT_MEM_MMIO;
	case EFI_LOADER_CODE:
	case EFI_LOADER_DATA:
		return BOOT_MEM_LOADED;
	default:
		return BOOT_MEM_OTHER;
	}
}

/* Rewrites the UEFI map in place as boot_mem entries. A descriptor is at
 * least 40 bytes (UEFI §7.2.3) and an entry 24, so entry i never reaches
 * descriptor i + 1 before it is read. */
static void convert_memmap(void *buf, uint64_t size, uint64_t dsize)
{
	struct boot_mem *out = buf;
	uint64_t n = size / dsize;
	for (uint64_t i = 0; i < n; i++) {
		const efi_memory_descriptor *d =
			(const efi_memory_descriptor *)((uint8_t *)buf +
							i * dsize);
		struct boot_mem m = { d->physical_start,
				      d->number_of_pages * 4096,
				      mem_type(d->type), 0 };
		out[i] = m;
	}
	boot_info.mem = out;
	boot_info.mem_count = n;
}

static int guid_eq(const efi_guid *a, const efi_guid *b)
{
	const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
	for (unsigned i = 0; i < sizeof(*a); i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static void find_config_tables(efi_system_table *st)
{
	static const efi_guid acpi20 = EFI_ACPI_20_TABLE_GUID;
	static const efi_guid acpi10 = EFI_ACPI_10_TABLE_GUID;
	static const efi_guid smbios3 = EFI_SMBIOS3_TABLE_GUID;
	static const efi_guid smbios = EFI_SMBIOS_TABLE_GUID;
	uint64_t acpi1 = 0;

	for (uint64_t i = 0; i < st->number_of_table_entries; i++) {
		efi_configuration_table *t = &st->configuration_table[i];
		uint64_t p = (uint64_t)(uintptr_t)t->table;
		if (guid_eq(&t->guid, &acpi20))
			boot_info.rsdp = p;
		else if (guid_eq(&t->guid, &acpi10))
			acpi1 = p;
		else if (guid_eq(&t->guid, &smbios3))
			boot_info.smbios3 = p;
		else if (guid_eq(&t->guid, &smbios))
			boot_info.smbios = p;
	}
	if (!boot_info.rsdp)
		boot_info.rsdp = acpi1;
}

/* UEFI §12.9: the GOP's current mode, kept for the screen console (the
 * protocol is gone after ExitBootServices, the framebuffer is not). A
 * Blt-only GOP (OVMF's virtio-gpu driver) has no framebuffer. */
static void find_gop(efi_boot_services *bs)
{
	static const efi_guid gop_guid = EFI_GOP_GUID;
	efi_gop *gop = 0;
	boot_info.fb_why = "no GOP";
	if (bs->locate_protocol(&gop_guid, 0, (void **)&gop) != EFI_SUCCESS ||
	    !gop || !gop->mode || !gop->mode->info)
		return;
	const efi_gop_mode_info *i = gop->mode->info;
	struct fb_desc *fb = &boot_info.fb;
	switch (i->pixel_format) {
	case EFI_GOP_RGBX8:
		fb->red = 0xff, fb->green = 0xff00, fb->blue = 0xff0000;
		break;
	case EFI_GOP_BGRX8:
		fb->red = 0xff0000, fb->green = 0xff00, fb->blue = 0xff;
		break;
	case EFI_GOP_BITMASK:
		fb->red = i->red_mask, fb->green = i->green_mask;
		fb->blue = i->blue_mask;
		if ((fb->red | fb->green | fb->blue | i->reserved_mask) >>
		    16 == 0) {
			boot_info.fb_why = "the GOP's pixels are 16-bit";
			return;
		}
		break;
	default:
		boot_info.fb_why = "the GOP has no framebuffer (Blt only)";
		return;
	}
	fb->width = i->horizontal_resolution;
	fb->height = i->vertical_resolution;
	fb->stride = i->pixels_per_scan_line * 4;
	fb->size = gop->mode->frame_buffer_size;
	fb->mode = gop->mode->mode;
	fb->base = gop->mode->frame_buffer_base;
	boot_info.fb_why = 0;
}

/* Pages below 4 GiB, so that every device (legacy virtio, ATA DMA) can
 * reach them; returns the base or 0. */
static uint64_t alloc_pages(efi_boot_services *bs, uint64_t pages)
{
	uint64_t addr = 0xffffffffull;
	if (bs->allocate_pages(EFI_ALLOCATE_MAX_ADDRESS, EFI_LOADER_DATA,
			       pages, &addr) != EFI_SUCCESS)
		return 0;
	return addr;
}

/* UEFI §7.4 ExitBootServices: the map key must come from the latest
 * GetMemoryMap; if it is stale the call fails and only GetMemoryMap may be
 * called before trying again. The buffer has slack so that the retry needs
 * no allocation (which would change the map again). */
static efi_status exit_boot_services(efi_handle image, efi_boot_services *bs)
{
	uint64_t size = 0, key, dsize;
	uint32_t dver;
	void *buf = 0;
	efi_status s;

	s = bs->get_memory_map(&size, 0, &key, &dsize, &dver);
	if (s != EFI_BUFFER_TOO_SMALL)
		return s;
	if (dsize < sizeof(efi_memory_descriptor))
		return EFI_UNSUPPORTED;
	uint64_t cap = size + 16 * dsize;
	s = bs->allocate_pool(EFI_LOADER_DATA, cap, &buf);
	if (s != EFI_SUCCESS)
		return s;
	for (uint32_t tries = 1; tries <= EBS_TRIES; tries++) {
		size = cap;
		s = bs->get_memory_map(&size, buf, &key, &dsize, &dver);
		if (s != EFI_SUCCESS)
			return s;
		s = bs->exit_boot_services(image, key);
		if (s == EFI_SUCCESS) {
			convert_memmap(buf, size, dsize);
			return s;
		}
	}
	return s;
}

__attribute__((no_stack_protector)) efi_status
efi_main(efi_handle image, efi_system_table *st)
{
	static const efi_guid loaded_image_guid = EFI_LOADED_IMAGE_GUID;
	efi_boot_services *bs = st->boot_services;
	efi_loaded_image *li = 0;

	boot_info.tsc_entry = cpu_rdtsc();
	boot_info.entry_name = "efi_main";
	ssp_seed();
	timeline_post(TIMELINE_EFI_MAIN);
	con_use_efi(st->con_out);

	bs->set_watchdog_timer(0, 0, 0, 0);
	find_config_tables(st);
	find_gop(bs);
	boot_info.rt = st->runtime_services;
	if (bs->handle_protocol(image, &loaded_image_guid, (void **)&li) ==
	    EFI_SUCCESS && li) {
		boot_info.image_base = (uint64_t)(uintptr_t)li->image_base;
		boot_info.image_size = li->image_size;
	}

	/* One guard page (left unmapped by paging_init) below each stack. */
	uint64_t stack = alloc_pages(bs, STACK_PAGES + 1);
	uint64_t ist = alloc_pages(bs, IST_PAGES + 1);
	if (!stack || !ist) {
		con_printf("umbra: cannot allocate the stacks\n");
		return EFI_BUFFER_TOO_SMALL;
	}
	boot_info.stack_base = stack + PAGE;
	boot_info.stack_size = STACK_PAGES * PAGE;
	boot_info.ist_base = ist + PAGE;
	boot_info.ist_size = IST_PAGES * PAGE;

	efi_status s = exit_boot_services(image, bs);
	if (s != EFI_SUCCESS) {
		con_printf("umbra: ExitBootServices failed: %llx\n",
			   (unsigned long long)s);
		return s;
	}
	boot_info.tsc_exit_bs = cpu_rdtsc();
	con_use_efi(0);

	/* From here on the firmware is gone: run on our stack. MS x64 ABI:
	 * argument in rcx, 32 bytes of shadow space above the return address,
	 * rsp 16-byte aligned at the call. rbp = 0 ends stack walks. */
	uint64_t top = boot_info.stack_base + boot_info.stack_size - 32;
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%1\n\t"
			 "ud2"
			 :
			 : "r"(top), "r"(runtime_start), "c"(&boot_info)
			 : "memory");
	__builtin_unreachable();
}
