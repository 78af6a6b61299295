/* The PVH entry, second half: read the hvm_start_info the loader left
 * (QEMU -kernel on microvm, q35 and pc; Firecracker; Cloud Hypervisor)
 * and build the boot-info structure that pvh_entry.S hands to runtime/.
 * Running in long mode on a small boot stack, under pvh_entry.S's
 * identity map of the first 4 GiB, interrupts off.
 *
 * hvm_start_info, from xen/include/public/arch-x86/hvm/start_info.h
 * (little-endian, offsets in bytes): magic u32 at 0, version u32 at 4,
 * flags 8, nr_modules 12, modlist_paddr u64 at 16, cmdline_paddr 24,
 * rsdp_paddr 32; version 1 adds memmap_paddr u64 at 40 and
 * memmap_entries u32 at 48. A memory map entry is addr u64, size u64,
 * type u32, reserved u32 (24 bytes), type 1 = RAM ... 7 = persistent
 * memory, as E820 numbers them. */
#include <stdint.h>
#include <string.h>

#include "../runtime/boot_info.h"
#include "../runtime/acpi.h"
#include "../runtime/console.h"
#include "../runtime/cpu.h"
#include "../runtime/le.h"
#include "../runtime/power.h"
#include "../runtime/smbios.h"
#include "../runtime/time.h"
#include "../runtime/timeline.h"

#define START_MAGIC 0x336ec578u	/* "xEn3" with bit 7 of the 'E' set */
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_CMDLINE 24
#define SI_RSDP 32
#define SI_MEMMAP 40
#define SI_MEMMAP_N 48
#define SI_V0_SIZE 40
#define SI_V1_SIZE 56
#define ME_SIZE 24

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_NVS 4
#define E820_PMEM 7

#define REACH (4ull << 30)	/* what pvh_entry.S maps */
#define PAGE 4096ull
#define MAX_MEM 128		/* entries taken from the loader's map */
#define MEM_SLOTS (MAX_MEM + 3)	/* + the image's split and the stacks */
#define CMDLINE_MAX 4096
#define STACK_PAGES 64		/* 256 KiB for the app, as on UEFI */
#define IST_PAGES 4
#define BIOS_AREA 0xe0000	/* legacy BIOS tables: ACPI 6.5 §5.2.5.1 */
#define BIOS_AREA_LEN 0x20000
#define SMBIOS_AREA 0xf0000	/* DSP0134 §5.2: legacy BIOS entry points */
#define SMBIOS_AREA_LEN 0x10000

#define BOOT_STACK 16384	/* pvh_main's own, in .bss */

extern uint64_t pvh_tsc;
extern uint8_t __ImageBase[];
struct boot_info *pvh_main(uint32_t start_info);

/* pvh_entry.S runs pvh_main on this small stack, then moves to
 * pvh_runtime_stack for runtime_start. The runtime's stacks are RAM taken
 * from the memory map, not .bss, which the entry would have to zero. */
static uint8_t boot_stack[BOOT_STACK] __attribute__((aligned(16)));
uint8_t *const pvh_stack_top = boot_stack + sizeof(boot_stack);
uint64_t pvh_runtime_stack;

static struct boot_info boot_info;
static struct boot_mem mem[MEM_SLOTS];
static char cmdline[CMDLINE_MAX];

/* The loader's structures are at physical addresses (identity-mapped). */
static uint32_t ld32(uint64_t a)
{
	return le32_get((const void *)(uintptr_t)a);
}

static uint64_t ld64(uint64_t a)
{
	return le64_get((const void *)(uintptr_t)a);
}

/* A loader's structure we can read: inside the identity map, no wrap. */
static int reachable(uint64_t addr, uint64_t len)
{
	return addr && addr < REACH && len <= REACH - addr;
}

static void __attribute__((noreturn)) fail(const char *why, uint64_t v)
{
	con_printf("umbra: PVH boot: %s (0x%llx); cannot start\n", why,
		   (unsigned long long)v);
	power_init(0);
	power_exit(POWER_EXIT_PANIC);
}

/* E820 has no type for device space. A reserved range above 4 GiB holds
 * nothing umbra uses (QEMU reserves 0xfd00000000-0xffffffffff on AMD
 * hosts, the HyperTransport hole): taken as device space, it is not
 * identity-mapped at boot, which would cost page tables for a terabyte. */
static uint32_t mem_type(uint32_t e820, uint64_t base)
{
	switch (e820) {
	case E820_RAM: return BOOT_MEM_FREE;
	case E820_ACPI:
	case E820_NVS: return BOOT_MEM_FIRMWARE;
	case E820_PMEM: return BOOT_MEM_OTHER;
	case E820_RESERVED:
		return base >= REACH ? BOOT_MEM_MMIO : BOOT_MEM_RESERVED;
	default: return BOOT_MEM_RESERVED;	/* 5, 6 and unknown */
	}
}

/* Appends [base, end) as type; FREE ranges shrink to whole pages. */
static void add(uint64_t base, uint64_t end, uint32_t type)
{
	if (type == BOOT_MEM_FREE) {
		base = (base + PAGE - 1) & ~(PAGE - 1);
		end &= ~(PAGE - 1);
	}
	if (end <= base || boot_info.mem_count >= MEM_SLOTS)
		return;
	mem[boot_info.mem_count++] = (struct boot_mem){ base, end - base,
							type, 0 };
}

/* The loader's map, zero-length entries skipped (qboot adds one), with
 * our own image cut out of the RAM that holds it. */
static void read_memmap(uint64_t si)
{
	uint64_t map = ld64(si + SI_MEMMAP);
	uint32_t n = ld32(si + SI_MEMMAP_N);
	if (!n || !reachable(map, (uint64_t)n * ME_SIZE))
		fail("no usable memory map", map);
	if (n > MAX_MEM) {
		con_printf("umbra: PVH memory map has %u entries; using the "
			   "first %u\n", n, MAX_MEM);
		n = MAX_MEM;
	}
	boot_info.mem = mem;
	uint64_t img = boot_info.image_base;
	uint64_t img_end = img + boot_info.image_size;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = map + (uint64_t)i * ME_SIZE;
		uint64_t base = ld64(e), size = ld64(e + 8);
		uint32_t type = mem_type(ld32(e + 16), base);
		if (!size)
			continue;
		uint64_t end = size > UINT64_MAX - base ? UINT64_MAX
							: base + size;
		if (type != BOOT_MEM_FREE || end <= img || base >= img_end) {
			add(base, end, type);
			continue;
		}
		add(base, img, BOOT_MEM_FREE);
		add(img > base ? img : base, img_end < end ? img_end : end,
		    BOOT_MEM_LOADED);
		add(img_end, end, BOOT_MEM_FREE);
	}
}

/* Takes bytes (whole pages) from the start of the lowest FREE range above
 * 1 MiB that holds them inside the entry's identity map (on QEMU: just
 * past the image), marks them LOADED and returns their base; 0 if none. */
static uint64_t take(uint64_t bytes)
{
	struct boot_mem *best = 0;
	for (uint64_t i = 0; i < boot_info.mem_count; i++) {
		struct boot_mem *m = &mem[i];
		if (m->type == BOOT_MEM_FREE && m->base >= (1u << 20) &&
		    m->size >= bytes && m->base + bytes <= REACH &&
		    (!best || m->base < best->base))
			best = m;
	}
	if (!best || boot_info.mem_count >= MEM_SLOTS)
		return 0;
	uint64_t base = best->base;
	best->base += bytes;
	best->size -= bytes;
	add(base, base + bytes, BOOT_MEM_LOADED);
	return base;
}

/* The app's stack and the fault stack, each above a guard page that
 * paging_init leaves unmapped. */
static void take_stacks(void)
{
	uint64_t s = take((STACK_PAGES + 1 + IST_PAGES + 1) * PAGE);
	if (!s)
		fail("no RAM below 4 GiB for the stacks", STACK_PAGES + IST_PAGES);
	boot_info.stack_base = s + PAGE;
	boot_info.stack_size = STACK_PAGES * PAGE;
	boot_info.ist_base = boot_info.stack_base + boot_info.stack_size + PAGE;
	boot_info.ist_size = IST_PAGES * PAGE;
	pvh_runtime_stack = boot_info.stack_base + boot_info.stack_size - 32;
}

static void read_cmdline(uint64_t si)
{
	uint64_t p = ld64(si + SI_CMDLINE);
	if (!p)
		return;
	if (!reachable(p, 1))
		fail("command line out of reach", p);
	size_t n = 0;
	const char *s = (const char *)(uintptr_t)p;
	while (n < CMDLINE_MAX - 1 && p + n < REACH && s[n])
		n++;
	memcpy(cmdline, s, n);
	cmdline[n] = 0;
	if (n == CMDLINE_MAX - 1 && p + n < REACH && s[n])
		con_printf("umbra: PVH command line cut to %u bytes\n",
			   CMDLINE_MAX - 1);
	boot_info.cmdline = cmdline;
}

/* PE/COFF: SizeOfImage at +56 of the optional header (after the 24-byte
 * COFF header that follows e_lfanew). */
static uint64_t image_size(void)
{
	uint64_t pe = (uint64_t)(uintptr_t)__ImageBase + ld32(
		(uint64_t)(uintptr_t)__ImageBase + 0x3c);
	return ld32(pe + 24 + 56);
}

/* Returns what runtime_start gets; pvh_entry.S calls it on
 * pvh_runtime_stack. */
__attribute__((no_stack_protector)) struct boot_info *pvh_main(uint32_t si)
{
	ssp_seed();
	timeline_post(TIMELINE_EFI_MAIN);
	con_uart_init();
	time_pit_begin();
	memset(&boot_info, 0, sizeof(boot_info));
	boot_info.tsc_entry = pvh_tsc;
	boot_info.entry_name = "pvh_entry";
	boot_info.fb_why = "no GOP";	/* no firmware: virtio-gpu may do */
	if (!reachable(si, SI_V0_SIZE))
		fail("no hvm_start_info", si);
	if (ld32(si + SI_MAGIC) != START_MAGIC)
		fail("hvm_start_info has a bad magic", ld32(si + SI_MAGIC));
	if (ld32(si + SI_VERSION) < 1 || !reachable(si, SI_V1_SIZE))
		fail("hvm_start_info version 0 has no memory map",
		     ld32(si + SI_VERSION));
	boot_info.image_base = (uint64_t)(uintptr_t)__ImageBase;
	boot_info.image_size = image_size();
	read_memmap(si);
	read_cmdline(si);
	boot_info.rsdp = ld64(si + SI_RSDP);
	if (!reachable(boot_info.rsdp, 36))
		boot_info.rsdp = acpi_find_rsdp(BIOS_AREA, BIOS_AREA_LEN);
	smbios_scan(SMBIOS_AREA, SMBIOS_AREA_LEN, &boot_info.smbios3,
		    &boot_info.smbios);
	take_stacks();
	return &boot_info;
}
