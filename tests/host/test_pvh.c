#define _GNU_SOURCE
/* boot/pvh.c's reading of the hvm_start_info, on the host: the loader's
 * structures are built below 4 GiB (MAP_32BIT), pvh_main runs, and the
 * boot_info it would hand to runtime/ is checked. Hostile start_infos (no
 * pointer, a bad magic, version 0, a memory map out of reach or absurdly
 * long, a command line out of reach) must end in a clear message and the
 * panic status, never a read outside what the loader gave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../runtime/boot_info.h"
#include "../../runtime/acpi.h"
#include "../../runtime/console.h"
#include "../../runtime/cpu.h"
#include "../../runtime/power.h"
#include "../../runtime/smbios.h"
#include "../../runtime/time.h"
#include "../../runtime/timeline.h"
#include "check.h"

struct boot_info *pvh_main(uint32_t start_info);

/* --- what pvh.c calls ------------------------------------------------------ */

uint64_t pvh_tsc = 1234;
extern uint64_t pvh_runtime_stack;
#define STACK_PAGES 64
#define IST_PAGES 4
/* A PE header: e_lfanew, SizeOfImage. */
uint8_t __ImageBase[4096] __attribute__((aligned(4096)));
static jmp_buf out;
static struct boot_info got;
static int exit_status;
static char said[4096];
static uint64_t scanned_rsdp;

void ssp_seed(void) {}
void timeline_post(enum timeline_stage s) { (void)s; }
void con_uart_init(void) {}
void time_pit_begin(void) {}
void power_init(efi_runtime_services *rt) { (void)rt; }

uint64_t acpi_find_rsdp(uint64_t base, uint64_t len)
{
	(void)base;
	(void)len;
	return scanned_rsdp;
}

void smbios_scan(uint64_t base, uint64_t len, uint64_t *smbios3,
		 uint64_t *smbios)
{
	(void)base;
	(void)len;
	*smbios3 = 0;
	*smbios = 0xf5000;
}

int con_printf(const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(said);
	va_start(ap, fmt);
	int r = vsnprintf(said + n, sizeof(said) - n, fmt, ap);
	va_end(ap);
	return r;
}

void power_exit(int status)
{
	exit_status = status;
	longjmp(out, 1);
}


/* --- a loader's memory ------------------------------------------------------ */

static uint8_t *low;		/* 1 MiB below 4 GiB */
#define SI 0x0
#define MAP 0x1000
#define CMD 0x2000

static uint64_t at(uint32_t off)
{
	return (uintptr_t)low + off;
}

static void st32(uint32_t off, uint32_t v) { memcpy(low + off, &v, 4); }
static void st64(uint32_t off, uint64_t v) { memcpy(low + off, &v, 8); }

static void entry(unsigned i, uint64_t base, uint64_t size, uint32_t type)
{
	st64(MAP + 24 * i, base);
	st64(MAP + 24 * i + 8, size);
	st32(MAP + 24 * i + 16, type);
}

/* A good start_info: version 1, five map entries (one of zero length),
 * a command line, an RSDP. The image (this program's, above 4 GiB) sits
 * inside the second RAM range; the stacks go in the first above 1 MiB
 * and below 4 GiB. */
static void good(void)
{
	uint64_t img = (uintptr_t)__ImageBase;
	memset(low, 0, 0x10000);
	st32(SI + 0, 0x336ec578);
	st32(SI + 4, 1);
	st64(SI + 24, at(CMD));
	st64(SI + 32, 0xe0010);
	st64(SI + 40, at(MAP));
	st32(SI + 48, 5);
	entry(0, 0, 0x9fc00, 1);
	entry(1, 0xf0000, 0, 2);		/* qboot's zero-length one */
	entry(2, (img & ~0xfffull) - 0x3800, 0x200000, 1);
	entry(3, 0xfee00000, 0x1000, 2);
	entry(4, 0x1000000, 0x1000000, 1);	/* below 4 GiB: the stacks */
	strcpy((char *)low + CMD, "console=ttyS0 umbra.cmdline=\"ls /\"");
}

static int run(uint64_t si)
{
	said[0] = 0;
	exit_status = -1;
	memset(&got, 0, sizeof(got));
	int r = setjmp(out);
	if (!r) {
		got = *pvh_main((uint32_t)si);
		return 2;
	}
	return r;
}

static void refused(uint64_t si, const char *why)
{
	CHECK_INT(run(si), 1);
	CHECK_INT(exit_status, POWER_EXIT_PANIC);
	CHECK(strstr(said, why) != 0);
	if (!strstr(said, why))
		fprintf(stderr, "  said: %s\n", said);
}

static void test_good(void)
{
	uint64_t img = (uintptr_t)__ImageBase, size = 0x7a000;
	good();
	CHECK_INT(run(at(SI)), 2);
	CHECK_INT(got.tsc_entry, 1234);
	CHECK_STR(got.entry_name, "pvh_entry");
	CHECK_INT(got.image_base, img);
	CHECK_INT(got.image_size, size);
	CHECK_STR(got.cmdline, "console=ttyS0 umbra.cmdline=\"ls /\"");
	CHECK_INT(got.rsdp, 0xe0010);
	CHECK_INT(got.smbios, 0xf5000);
	/* The stacks: taken from RAM, a guard page below each. */
	uint64_t stacks = (STACK_PAGES + 1 + IST_PAGES + 1) * 4096ull;
	CHECK_INT(got.stack_base, 0x1000000 + 4096);
	CHECK_INT(got.stack_size, STACK_PAGES * 4096);
	CHECK_INT(got.ist_base, got.stack_base + got.stack_size + 4096);
	CHECK_INT(got.ist_size, IST_PAGES * 4096);
	CHECK_INT(pvh_runtime_stack, got.stack_base + got.stack_size - 32);
	CHECK_INT(got.mem[5].base, 0x1000000 + stacks);
	CHECK_INT(got.mem[5].type, BOOT_MEM_FREE);
	CHECK_INT(got.mem[6].base, 0x1000000);
	CHECK_INT(got.mem[6].size, stacks);
	CHECK_INT(got.mem[6].type, BOOT_MEM_LOADED);
	/* Zero-length gone; the image cut out of its RAM, FREE page-aligned. */
	uint64_t ram = (img & ~0xfffull) - 0x3800;
	CHECK_INT(got.mem_count, 7);
	CHECK_INT(got.mem[0].base, 0);
	CHECK_INT(got.mem[0].size, 0x9f000);
	CHECK_INT(got.mem[0].type, BOOT_MEM_FREE);
	CHECK_INT(got.mem[1].base, (ram + 0xfff) & ~0xfffull);
	CHECK_INT(got.mem[1].base + got.mem[1].size, img);
	CHECK_INT(got.mem[1].type, BOOT_MEM_FREE);
	CHECK_INT(got.mem[2].base, img);
	CHECK_INT(got.mem[2].size, size);
	CHECK_INT(got.mem[2].type, BOOT_MEM_LOADED);
	CHECK_INT(got.mem[3].base, img + size);
	CHECK_INT(got.mem[3].base + got.mem[3].size,
		  (ram + 0x200000) & ~0xfffull);
	CHECK_INT(got.mem[4].type, BOOT_MEM_RESERVED);
	/* No RSDP from the loader (Firecracker): the BIOS area is scanned. */
	st64(SI + 32, 0);
	scanned_rsdp = 0xe0000;
	CHECK_INT(run(at(SI)), 2);
	CHECK_INT(got.rsdp, 0xe0000);
	/* No command line at all. */
	st64(SI + 24, 0);
	CHECK_INT(run(at(SI)), 2);
	CHECK(got.cmdline == 0);
}

static void test_long_cmdline(void)
{
	good();
	memset(low + CMD, 'x', 6000);
	low[CMD + 6000] = 0;
	CHECK_INT(run(at(SI)), 2);
	CHECK_INT(strlen(got.cmdline), 4095);
	CHECK(strstr(said, "command line cut to 4095 bytes") != 0);
}

static void test_hostile(void)
{
	/* One field spoiled at a time: offset, width, value, the message. */
	static const struct {
		uint32_t off, width;
		uint64_t v;
		const char *why;
	} bad[] = {
		{ SI + 0, 4, 0x336ec579, "bad magic (0x336ec579)" },
		{ SI + 4, 4, 0, "version 0 has no memory map" },
		{ SI + 48, 4, 0, "no usable memory map" },
		{ SI + 40, 8, 0x100000000ull, "no usable memory map" },
		{ SI + 40, 8, 0, "no usable memory map" },
		{ SI + 48, 4, 0xffffffff, "no usable memory map" }, /* > 4 GiB */
		{ SI + 24, 8, 0x123456789ull, "command line out of reach" },
	};
	refused(0, "no hvm_start_info");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		good();
		if (bad[i].width == 4)
			st32(bad[i].off, (uint32_t)bad[i].v);
		else
			st64(bad[i].off, bad[i].v);
		refused(at(SI), bad[i].why);
	}
	/* Too many entries to keep: the first 128 are used, and said so. */
	good();
	st32(SI + 48, 200);
	for (unsigned i = 5; i < 200; i++)
		entry(i, 0x100000000ull + i * 0x200000ull, 0x100000, 1);
	CHECK_INT(run(at(SI)), 2);
	/* 128 less the zero-length one, the image's split, the stacks */
	CHECK_INT(got.mem_count, 127 + 2 + 1);
	CHECK(strstr(said, "has 200 entries; using the first 128") != 0);
	/* Entries that wrap past the top of the address space: cut there
	 * (RAM then holds no whole page, so it goes). */
	good();
	entry(3, 0xfffffffffffff000ull, 0x10000, 1);
	CHECK_INT(run(at(SI)), 2);
	CHECK_INT(got.mem_count, 6);
	entry(3, 0xffffffffffff0000ull, 0x20000, 2);
	CHECK_INT(run(at(SI)), 2);
	CHECK_INT(got.mem_count, 7);
	CHECK_INT(got.mem[4].base + got.mem[4].size, UINT64_MAX);
	/* Reserved above 4 GiB (QEMU's HyperTransport hole) is device space,
	 * below it reserved. */
	entry(3, 0xfd00000000ull, 0x300000000ull, 2);
	CHECK_INT(run(at(SI)), 2);
	CHECK_INT(got.mem[4].type, BOOT_MEM_MMIO);
	entry(3, 0xfeffc000ull, 0x4000, 2);
	CHECK_INT(run(at(SI)), 2);
	CHECK_INT(got.mem[4].type, BOOT_MEM_RESERVED);
	/* No RAM below 4 GiB for the stacks. */
	good();
	st32(SI + 48, 4);
	refused(at(SI), "no RAM below 4 GiB for the stacks");
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	low = mmap(0, 1 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		abort();
	/* e_lfanew = 0x80; SizeOfImage (optional header + 56) = 0x7a000. */
	__ImageBase[0x3c] = 0x80;
	uint32_t size = 0x7a000;
	memcpy(__ImageBase + 0x80 + 24 + 56, &size, 4);
	RUN(test_good);
	RUN(test_long_cmdline);
	RUN(test_hostile);
	return check_done();
}
