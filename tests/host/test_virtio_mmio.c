#define _GNU_SOURCE
/* drivers/virtio/virtio_mmio.c against a register file in memory (what a
 * device would show, hostile values included: a wrong magic, version 3,
 * an empty slot, a queue already live, a huge QueueNumMax), the
 * virtio_mmio.device= parser, runtime/cmdline.c, and runtime/acpi_dev.c on
 * hand-assembled AML, well-formed and mutated. A device that fails a check
 * must see no write at all. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../drivers/virtio/virtio_mmio.h"
#include "../../drivers/virtio/virtq.h"
#include "../../runtime/acpi_dev.h"
#include "../../runtime/cmdline.h"
#include "../../runtime/paging.h"
#include "../../runtime/runtime.h"
#include "check.h"
#include "hostcon.h"

/* --- what the transport needs from runtime/ -------------------------------- */

static uint64_t ram_base, ram_len;	/* what runtime_is_ram calls RAM */

int runtime_is_ram(uint64_t base, uint64_t len)
{
	return ram_len && base < ram_base + ram_len && ram_base < base + len;
}

int paging_map_mmio(uint64_t phys, uint64_t len)
{
	(void)phys;
	(void)len;
	return 0;
}

/* --- a register file --------------------------------------------------------- */

#define REGS 0x200

static uint8_t *regs;

static uint32_t reg(uint32_t off)
{
	uint32_t v;
	memcpy(&v, regs + off, 4);
	return v;
}

static void set(uint32_t off, uint32_t v)
{
	memcpy(regs + off, &v, 4);
}

static void device(uint32_t magic, uint32_t version, uint32_t id)
{
	memset(regs, 0, REGS);
	set(0x000, magic);
	set(0x004, version);
	set(0x008, id);
	set(0x00c, 0x554d4551);
}

static struct virtio_mmio_loc loc_of(uint64_t size)
{
	return (struct virtio_mmio_loc){ (uintptr_t)regs, size, 24, 1, "test" };
}

/* Attach must refuse, and leave every byte as it was. */
static void refused(struct virtio_mmio_loc loc, int want, const char *why_has)
{
	static uint8_t before[REGS];
	struct virtio_dev d;
	const char *why = "";
	memcpy(before, regs, REGS);
	CHECK_INT(virtio_mmio_attach(&loc, &d, &why), want);
	CHECK(!memcmp(before, regs, REGS));
	if (why_has)
		CHECK(strstr(why, why_has) != 0);
}

static void test_refusals(void)
{
	device(0x74726976, 2, 2);
	refused(loc_of(0x80), VIRTIO_ERR_DEVICE, "too small");
	ram_base = (uintptr_t)regs + 0x100;
	ram_len = 4096;
	refused(loc_of(REGS), VIRTIO_ERR_DEVICE, "RAM");
	ram_len = 0;
	struct virtio_mmio_loc low = loc_of(REGS);
	low.base = 0x1000;
	refused(low, VIRTIO_ERR_DEVICE, "misplaced");
	device(0x12345678, 2, 2);
	refused(loc_of(REGS), VIRTIO_ERR_DEVICE, "magic");
	device(0x74726976, 3, 2);
	refused(loc_of(REGS), VIRTIO_ERR_DEVICE, "version");
	device(0x74726976, 0, 2);
	refused(loc_of(REGS), VIRTIO_ERR_DEVICE, "version");
	device(0x74726976, 2, 0);
	refused(loc_of(REGS), VIRTIO_ERR_NODEV, 0);
	device(0x74726976, 2, 0x10002);
	refused(loc_of(REGS), VIRTIO_ERR_DEVICE, "device id");
}

/* A block device of that version, attached. */
static void attach(uint32_t version, struct virtio_dev *d)
{
	struct virtio_mmio_loc loc = loc_of(REGS);
	const char *why;
	device(0x74726976, version, 2);
	CHECK_INT(virtio_mmio_attach(&loc, d, &why), 0);
	CHECK_INT(d->type, 2);
	CHECK_INT(d->legacy, version == 1);
	CHECK_STR(d->transport_name, version == 1 ? "mmio v1" : "mmio v2");
}

static void test_modern(void)
{
	struct virtio_dev d;
	int fixed;
	attach(2, &d);
	CHECK_INT(reg(0x028), 0);		/* no GuestPageSize on v2 */
	set(0x034, 256);
	CHECK_INT(d.ops->queue_max(&d, 0, &fixed), 256);
	CHECK_INT(fixed, 0);
	set(0x034, 0xffffffff);			/* hostile: clamp */
	CHECK_INT(d.ops->queue_max(&d, 0, &fixed), 32768);
	set(0x044, 1);				/* already live: not ours */
	CHECK_INT(d.ops->queue_max(&d, 0, &fixed), 0);
	set(0x044, 0);
	CHECK_INT(d.ops->queue_enable(&d, 0, 128, 0x123456789000ull,
				      0x1000, 0x2000), 0);
	CHECK_INT(reg(0x038), 128);
	CHECK_INT(reg(0x080), 0x56789000);
	CHECK_INT(reg(0x084), 0x1234);
	CHECK_INT(reg(0x090), 0x1000);
	CHECK_INT(reg(0x0a0), 0x2000);
	CHECK_INT(reg(0x044), 1);
	d.ops->notify(&d, 3);
	CHECK_INT(reg(0x050), 3);
	/* Config: inside the range by width, outside as zeros. */
	for (int i = 0; i < 16; i++)
		regs[0x100 + i] = (uint8_t)(0xa0 + i);
	uint8_t b[8];
	d.ops->read_config(&d, 0, b, 8);
	CHECK(b[0] == 0xa0 && b[7] == 0xa7);
	uint16_t w;
	d.ops->read_config(&d, 2, &w, 2);
	CHECK_INT(w, 0xa3a2);
	memset(b, 0x55, sizeof(b));
	d.ops->read_config(&d, REGS - 0x100 - 4, b, 8);	/* runs past: zeros */
	CHECK(b[0] == 0 && b[7] == 0);
	d.ops->read_config(&d, 0xffffffffu, b, 4);
	CHECK(b[0] == 0);
	/* Features: both words, and a reset that reads back as done. */
	set(0x010, 0x80000001);
	CHECK((d.ops->get_features(&d) & 1) == 1);
	d.ops->set_features(&d, 0x100000003ull);
	CHECK_INT(reg(0x024), 1);
	CHECK_INT(reg(0x020), 1);
	d.ops->set_status(&d, 0);
	CHECK_INT(d.ops->get_status(&d), 0);
	virtio_mmio_release(&d);
}

static void test_legacy(void)
{
	struct virtio_dev d;
	int fixed;
	attach(1, &d);
	CHECK_INT(reg(0x028), 4096);		/* GuestPageSize first */
	set(0x034, 1024);
	set(0x040, 7);				/* a live queue */
	CHECK_INT(d.ops->queue_max(&d, 0, &fixed), 0);
	set(0x040, 0);
	CHECK_INT(d.ops->queue_max(&d, 0, &fixed), 1024);
	/* A layout a legacy device cannot take: nothing written. */
	CHECK_INT(d.ops->queue_enable(&d, 0, 256, 0x10000, 0x10000 + 4096,
				      0x20000), VIRTIO_ERR_QUEUE);
	CHECK_INT(reg(0x040), 0);
	uint64_t desc = 0x40000, drv = desc + 16 * 256;
	uint64_t used = (drv + 6 + 2 * 256 + 4095) & ~4095ull;
	CHECK_INT(d.ops->queue_enable(&d, 0, 256, desc, drv, used), 0);
	CHECK_INT(reg(0x038), 256);
	CHECK_INT(reg(0x03c), 4096);
	CHECK_INT(reg(0x040), 0x40);
	/* Only the first feature word goes to a legacy device. */
	set(0x024, 0);
	d.ops->set_features(&d, 0x100000003ull);
	CHECK_INT(reg(0x024), 0);
	CHECK_INT(reg(0x020), 3);
	virtio_mmio_release(&d);
}

static void parses(const char *s, uint64_t size, uint64_t base, uint32_t irq)
{
	struct virtio_mmio_loc l;
	const char *why = "";
	CHECK_INT(virtio_mmio_parse(s, &l, &why), 0);
	CHECK_INT(l.size, size);
	CHECK_INT(l.base, base);
	CHECK_INT(l.irq, irq);
	CHECK_INT(l.has_irq, 1);
}

static void test_parse(void)
{
	static const char *bad[] = {
		"", "512", "512@", "512@0xfeb00000", "512@0xfeb00000:",
		"512@0xzz:1", "0@0x100000:1", "512@0xfeb00000:5x",
		"512@0xfeb00000:5:", "99999999999999999999@1:1",
		"16G@0xffffffffffffffff:1", "512@0xfeb00000:4294967296",
		"x512@0x1000:1", "512@@0x1000:1", "512@0x1000:-1", "08@1:1",
		"99999999999G@1:1",
	};
	parses("512@0xfeb00e00:12", 512, 0xfeb00e00, 12);
	parses("4K@0xc0001000:5", 4096, 0xc0001000, 5);
	parses("4k@0xc0001000:5:3", 4096, 0xc0001000, 5);
	parses("1M@0x100000000:40", 1 << 20, 0x100000000ull, 40);
	parses("0x200@4096:0", 512, 4096, 0);
	parses("010@0X1000:7", 8, 0x1000, 7);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct virtio_mmio_loc l;
		const char *why = 0;
		int r = virtio_mmio_parse(bad[i], &l, &why);
		CHECK_INT(r, -1);
		CHECK(why && *why);
		if (r != -1)
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
	}
}

static void test_cmdline(void)
{
	char buf[16];
	const char *pos;
	cmdline_set(0);
	CHECK_STR(cmdline_get(), "");
	pos = cmdline_get();
	CHECK_INT(cmdline_next(&pos, "a", buf, sizeof(buf)), -1);
	cmdline_set(" console=ttyS0 xa=1 a=one  a=\"two words\"\ta= "
		    "umbra.cmdline=\"ls /; cat /x\" a=\"unclosed b=2");
	pos = cmdline_get();
	CHECK_INT(cmdline_next(&pos, "a", buf, sizeof(buf)), 3);
	CHECK_STR(buf, "one");
	CHECK_INT(cmdline_next(&pos, "a", buf, sizeof(buf)), 9);
	CHECK_STR(buf, "two words");
	CHECK_INT(cmdline_next(&pos, "a", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	CHECK_INT(cmdline_next(&pos, "a", buf, sizeof(buf)), 12);
	CHECK_STR(buf, "unclosed b=2");	/* an open quote runs to the end */
	CHECK_INT(cmdline_next(&pos, "a", buf, sizeof(buf)), -1);
	pos = cmdline_get();
	CHECK_INT(cmdline_next(&pos, "umbra.cmdline", buf, sizeof(buf)), 12);
	CHECK_STR(buf, "ls /; cat /x");
	pos = cmdline_get();
	char tiny[4];
	CHECK_INT(cmdline_next(&pos, "console", tiny, sizeof(tiny)), 5);
	CHECK_STR(tiny, "tty");			/* cut, still terminated */
	pos = cmdline_get();
	CHECK_INT(cmdline_next(&pos, "console=ttyS0", buf, sizeof(buf)), -1);
}

/* The command line's words: good ones in order, duplicates and bad ones
 * reported (and kept out). */
static void test_find(void)
{
	struct virtio_mmio_loc l[4];
	cmdline_set("virtio_mmio.device=4K@0xc0001000:5 x=1 "
		    "virtio_mmio.device=4K@0xc0002000:6 "
		    "virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=bad "
		    "virtio_mmio.device=4K@0xc0003000:7 "
		    "virtio_mmio.device=4K@0xc0004000:8 "
		    "virtio_mmio.device=4K@0xc0005000:9");
	hostcon_clear();
	CHECK_INT(virtio_mmio_find(l, 4, 1), 4);
	CHECK_INT(l[0].base, 0xc0001000);
	CHECK_INT(l[1].base, 0xc0002000);
	CHECK_INT(l[1].irq, 6);
	CHECK_INT(l[3].base, 0xc0004000);
	CHECK_STR(l[0].from, "command line");
	CHECK(strstr(hostcon_log, "virtio_mmio.device=4K@0xc0001000:5: "
				  "named twice") != 0);
	CHECK(strstr(hostcon_log, "virtio_mmio.device=bad: not "
				  "SIZE@BASE:IRQ") != 0);
	cmdline_set(0);
}

/* --- AML -------------------------------------------------------------------- */

static size_t put(uint8_t *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return n;
}

/* Device (VRnn) { Name (_HID, "LNRO0005") Name (_UID, n)
 *   Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, base,
 *   0x200) Interrupt (..., Level, ActiveHigh, Exclusive) { irq } }) } */
static size_t virtio_device(uint8_t *p, int n, uint32_t base, uint32_t irq)
{
	uint8_t crs[] = {
		0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x02, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x01, 0x01, 0, 0, 0, 0,
		0x79, 0x00,
	};
	memcpy(crs + 4, &base, 4);
	memcpy(crs + 17, &irq, 4);
	uint8_t body[128];
	size_t k = 0;
	body[k++] = 'V';
	body[k++] = 'R';
	body[k++] = (uint8_t)('0' + n / 10);
	body[k++] = (uint8_t)('0' + n % 10);
	k += put(body + k, "\x08_HID\x0dLNRO0005", 15);
	k += put(body + k, "\x08_UID\x0a", 6);
	body[k++] = (uint8_t)n;
	k += put(body + k, "\x08_CRS\x11", 6);
	body[k++] = (uint8_t)(1 + 2 + sizeof(crs));	/* PkgLength, 1 byte */
	body[k++] = 0x0a;
	body[k++] = (uint8_t)sizeof(crs);
	k += put(body + k, crs, sizeof(crs));
	size_t m = 0;
	p[m++] = 0x5b;
	p[m++] = 0x82;
	p[m++] = (uint8_t)(0x40 | ((k + 2) & 0x0f));	/* 2-byte PkgLength */
	p[m++] = (uint8_t)((k + 2) >> 4);
	return m + put(p + m, body, k);
}

static size_t dsdt(uint8_t *t)
{
	size_t n = 36;
	memset(t, 0, 36);
	memcpy(t, "DSDT", 4);
	/* A device of another kind first, with a _CRS of its own. */
	n += put(t + n, "\x5b\x82\x22" "COM1" "\x08_HID\x0c\x41\xd0\x05\x01"
		 "\x08_CRS\x11\x0d\x0a\x0a\x47\x01\xf8\x03\xf8\x03\x00\x08"
		 "\x79\x00", 36);
	n += virtio_device(t + n, 0, 0xfeb02e00, 24);
	n += virtio_device(t + n, 1, 0xfeb02c00, 25);
	uint32_t len = (uint32_t)n;
	memcpy(t + 4, &len, 4);
	return n;
}

static void test_acpi_dev(void)
{
	static uint8_t t[1024];
	struct acpi_dev d[4];
	size_t n = dsdt(t);
	CHECK_INT(acpi_dev_find(t, (uint32_t)n, "LNRO0005", d, 4), 2);
	CHECK_INT(d[0].base, 0xfeb02e00);
	CHECK_INT(d[0].len, 0x200);
	CHECK_INT(d[0].irq, 24);
	CHECK_INT(d[0].has_irq, 1);
	CHECK_INT(d[1].base, 0xfeb02c00);
	CHECK_INT(d[1].irq, 25);
	CHECK_INT(acpi_dev_find(t, (uint32_t)n, "LNRO0005", d, 1), 1);
	CHECK_INT(acpi_dev_find(t, (uint32_t)n, "PNP0501", d, 4), 0);
	/* Cut anywhere: never a read past the end (ASan watches), and never
	 * a device whose resources were not all there. */
	int bad = 0;
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *c = malloc(cut ? cut : 1);
		memcpy(c, t, cut);
		unsigned got = acpi_dev_find(c, (uint32_t)cut, "LNRO0005", d, 4);
		if (got > 2 || (got && d[got - 1].len != 0x200))
			bad++;
		free(c);
	}
	CHECK_INT(bad, 0);
	/* Every byte flipped to every interesting value: ASan checks that
	 * nothing is read outside the table. */
	static const uint8_t vals[] = { 0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80,
					0xbf, 0xc0, 0xff, 0x5b, 0x82, 0x86 };
	for (size_t i = 36; i < n; i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			uint8_t *c = malloc(n);
			memcpy(c, t, n);
			c[i] = vals[v];
			acpi_dev_find(c, (uint32_t)n, "LNRO0005", d, 4);
			free(c);
		}
	}
	CHECK_INT(bad, 0);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	/* A register file at a 4 KiB-aligned address above 1 MiB. */
	regs = mmap(0, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (regs == MAP_FAILED)
		abort();
	RUN(test_refusals);
	RUN(test_modern);
	RUN(test_legacy);
	RUN(test_parse);
	RUN(test_cmdline);
	RUN(test_find);
	RUN(test_acpi_dev);
	return check_done();
}
