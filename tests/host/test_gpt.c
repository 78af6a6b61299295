/* fs/gpt.c on tables this test writes itself (UEFI 2.10 §5.3): both
 * sector sizes, the backup taking over from a bad primary, and every way
 * a table can be wrong. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/efs_int.h"
#include "../../fs/gpt.h"
#include "check.h"

struct disk {
	uint8_t *d;
	uint64_t sectors;
	uint32_t ss;
	int fail;
	int reads;		/* requests made */
	uint64_t bad;		/* a sector that fails the requests holding
				 * it (0: none) */
};

static int rd(void *ctx, uint64_t lba, uint32_t n, void *buf)
{
	struct disk *k = ctx;
	k->reads++;
	if (k->fail || lba > k->sectors || n > k->sectors - lba ||
	    (k->bad && lba <= k->bad && k->bad < lba + n))
		return -1;
	memcpy(buf, k->d + lba * k->ss, (size_t)n * k->ss);
	return 0;
}

static const uint8_t esp_type[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8,
				      0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0,
				      0xc9, 0x3e, 0xc9, 0x3b };
static const uint8_t linux_type[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84,
					0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69,
					0xd8, 0x47, 0x7d, 0xe4 };

#define NENT 128
#define ESZ 128

/* One header at lba whose entries are at elba. */
static void header(struct disk *k, uint64_t lba, uint64_t alt, uint64_t elba,
		   uint32_t ecrc)
{
	uint8_t *h = k->d + lba * k->ss;
	uint64_t esecs = (NENT * ESZ + k->ss - 1) / k->ss;
	memset(h, 0, k->ss);
	memcpy(h, "EFI PART", 8);
	efs_st32(h + 8, 0x00010000);
	efs_st32(h + 12, 92);
	efs_st64(h + 24, lba);
	efs_st64(h + 32, alt);
	efs_st64(h + 40, 2 + esecs);
	efs_st64(h + 48, k->sectors - 2 - esecs);
	memset(h + 56, 0x11, 16);
	efs_st64(h + 72, elba);
	efs_st32(h + 80, NENT);
	efs_st32(h + 84, ESZ);
	efs_st32(h + 88, ecrc);
	efs_st32(h + 16, efs_crc32(0, h, 92));
}

/* A disk with an ESP and a "ROOT" partition, both copies of the table. */
static void make(struct disk *k, uint32_t ss, uint64_t sectors)
{
	k->ss = ss;
	k->sectors = sectors;
	k->fail = 0;
	k->reads = 0;
	k->bad = 0;
	k->d = calloc(sectors, ss);
	uint8_t *mbr = k->d;
	mbr[446 + 4] = 0xee;
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	uint64_t esecs = (NENT * ESZ + ss - 1) / ss;
	uint8_t *e = k->d + 2 * ss;
	memcpy(e, esp_type, 16);
	memset(e + 16, 0x22, 16);
	efs_st64(e + 32, 2 + esecs);
	efs_st64(e + 40, 2 + esecs + 99);
	efs_st16(e + 56, 'E');
	efs_st16(e + 58, 'S');
	efs_st16(e + 60, 'P');
	e += ESZ;
	memcpy(e, linux_type, 16);
	memset(e + 16, 0x33, 16);
	efs_st64(e + 32, 2 + esecs + 100);
	efs_st64(e + 40, sectors - 2 - esecs);
	const char *name = "r\xc3\xa9";	/* UTF-16: 'r', U+00E9 */
	efs_st16(e + 56, (uint8_t)name[0]);
	efs_st16(e + 58, 0xe9);
	uint32_t crc = efs_crc32(0, k->d + 2 * ss, NENT * ESZ);
	memcpy(k->d + (sectors - 1 - esecs) * ss, k->d + 2 * ss, NENT * ESZ);
	header(k, 1, sectors - 1, 2, crc);
	header(k, sectors - 1, 1, sectors - 1 - esecs, crc);
}

static int parse(struct disk *k, struct gpt *g)
{
	struct gpt_io io = { k, rd, k->sectors, k->ss };
	return gpt_read(&io, g);
}

static void test_good(uint32_t ss)
{
	struct disk k;
	struct gpt g;
	make(&k, ss, 4096);
	CHECK_INT(parse(&k, &g), 0);
	CHECK_INT(g.count, 2);
	CHECK_INT(g.used_backup, 0);
	CHECK_INT(g.parts[0].index, 1);
	CHECK_STR(g.parts[0].name, "ESP");
	CHECK_STR(gpt_type_name(g.parts[0].type), "EFI system");
	CHECK_STR(g.parts[1].name, "r\xc3\xa9");
	CHECK_STR(gpt_type_name(g.parts[1].type), "Linux filesystem");
	char s[37];
	gpt_guid_str(g.parts[0].type, s);
	CHECK_STR(s, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
	CHECK_INT(g.parts[1].last, 4096 - 2 - (NENT * ESZ + ss - 1) / ss);
	/* MBR, header and entries in one request */
	CHECK_INT(k.reads, 1);
	/* a bad sector behind the entries (within the first 24 KiB gpt.c
	 * asks for at once, with 512-byte sectors) fails that request, not
	 * the table: what the table needs is read again, piece by piece */
	if (ss == 512) {
		k.reads = 0;
		k.bad = 40;
		CHECK_INT(parse(&k, &g), 0);
		CHECK_INT(g.count, 2);
		CHECK_INT(k.reads, 4);
	}
	free(k.d);
}

static void test_backup(void)
{
	struct disk k;
	struct gpt g;
	make(&k, 512, 4096);
	k.d[512 + 30] ^= 1;	/* primary header CRC breaks */
	CHECK_INT(parse(&k, &g), 0);
	CHECK_INT(g.used_backup, 1);
	CHECK_INT(g.count, 2);
	free(k.d);

	make(&k, 512, 4096);
	k.d[2 * 512 + 40] ^= 1;	/* primary entries CRC breaks */
	CHECK_INT(parse(&k, &g), 0);
	CHECK_INT(g.used_backup, 1);
	free(k.d);

	make(&k, 512, 4096);
	k.d[512 + 30] ^= 1;
	k.d[4095 * 512 + 30] ^= 1;	/* both headers */
	CHECK_INT(parse(&k, &g), GPT_ERR_HEADER);
	CHECK_STR(g.why, "header CRC mismatch");
	free(k.d);

	/* A protective MBR and no header at all. */
	make(&k, 512, 4096);
	memset(k.d + 512, 0, 512);
	memset(k.d + 4095 * 512, 0, 512);
	CHECK_INT(parse(&k, &g), GPT_ERR_NO_GPT);
	free(k.d);
}

/* Sets a u32 field of both headers, with correct CRCs. */
static void set_both(struct disk *k, uint32_t off, uint32_t v)
{
	uint64_t at[2] = { 1, k->sectors - 1 };
	for (int i = 0; i < 2; i++) {
		uint8_t *h = k->d + at[i] * k->ss;
		efs_st32(h + off, v);
		efs_st32(h + 16, 0);
		efs_st32(h + 16, efs_crc32(0, h, 92));
	}
}

/* Headers with good CRCs and fields we refuse: the table is refused, and
 * the error says why (never a silent "no partitions"). */
static void test_refused(void)
{
	static const struct { uint32_t off, v; const char *why; } c[] = {
		{ 84, 0, "entry size is not a multiple of 8 from 128 to 4096" },
		{ 84, 64, "entry size is not a multiple of 8 from 128 to 4096" },
		{ 84, 129, "entry size is not a multiple of 8 from 128 to 4096" },
		{ 80, 100000, "more than 1024 partition entries" },
		{ 12, 40, "header size is not from 92 bytes to one sector" },
	};
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct disk k;
		struct gpt g;
		make(&k, 512, 4096);
		set_both(&k, c[i].off, c[i].v);
		int err = parse(&k, &g);
		CHECK_INT(err, GPT_ERR_HEADER);
		CHECK_STR(g.why, c[i].why);
		CHECK_INT(g.count, 0);
		free(k.d);
	}
	/* Only the primary refused: the backup is used, and why is kept. */
	struct disk k;
	struct gpt g;
	make(&k, 512, 4096);
	efs_st32(k.d + 512 + 84, 64);
	efs_st32(k.d + 512 + 16, 0);
	efs_st32(k.d + 512 + 16, efs_crc32(0, k.d + 512, 92));
	CHECK_INT(parse(&k, &g), 0);
	CHECK_INT(g.used_backup, 1);
	CHECK_STR(g.primary_why,
		  "entry size is not a multiple of 8 from 128 to 4096");
	free(k.d);
}

static void test_bad(void)
{
	struct disk k;
	struct gpt g;
	make(&k, 512, 4096);
	k.d[511] = 0;
	CHECK_INT(parse(&k, &g), GPT_ERR_MBR);
	free(k.d);

	/* A partition past the usable range, in both copies. */
	make(&k, 512, 4096);
	uint64_t esecs = NENT * ESZ / 512;
	efs_st64(k.d + 2 * 512 + ESZ + 40, 4095);
	uint32_t crc = efs_crc32(0, k.d + 2 * 512, NENT * ESZ);
	memcpy(k.d + (4095 - esecs) * 512, k.d + 2 * 512, NENT * ESZ);
	header(&k, 1, 4095, 2, crc);
	header(&k, 4095, 1, 4095 - esecs, crc);
	CHECK_INT(parse(&k, &g), GPT_ERR_CORRUPT);
	free(k.d);

	/* Overlapping partitions. */
	make(&k, 512, 4096);
	efs_st64(k.d + 2 * 512 + ESZ + 32, 2 + esecs + 50);
	crc = efs_crc32(0, k.d + 2 * 512, NENT * ESZ);
	memcpy(k.d + (4095 - esecs) * 512, k.d + 2 * 512, NENT * ESZ);
	header(&k, 1, 4095, 2, crc);
	header(&k, 4095, 1, 4095 - esecs, crc);
	CHECK_INT(parse(&k, &g), GPT_ERR_CORRUPT);
	free(k.d);

	/* A header claiming a million entries is not read. */
	make(&k, 512, 4096);
	efs_st32(k.d + 512 + 80, 1000000);
	efs_st32(k.d + 512 + 16, 0);
	efs_st32(k.d + 512 + 16, efs_crc32(0, k.d + 512, 92));
	CHECK_INT(parse(&k, &g), 0);	/* the backup is fine */
	CHECK_INT(g.used_backup, 1);
	free(k.d);

	/* A device that fails reads. */
	make(&k, 512, 4096);
	k.fail = 1;
	CHECK_INT(parse(&k, &g), GPT_ERR_IO);
	free(k.d);

	/* Bad geometry. */
	struct gpt_io io = { &k, rd, 2, 512 };
	CHECK_INT(gpt_read(&io, &g), GPT_ERR_INVALID);
	io.sectors = 100;
	io.sector_size = 1024;
	CHECK_INT(gpt_read(&io, &g), GPT_ERR_INVALID);
}

/* Random damage to a good table: never a crash, always an answer. */
static void test_flips(void)
{
	uint64_t s = 7;
	int noticed = 0;
	for (int i = 0; i < 2000; i++) {
		struct disk k;
		struct gpt g;
		make(&k, 512, 256);
		for (int f = 0; f < 4; f++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t at = (s >> 20) % (34 * 512);
			k.d[at] ^= (uint8_t)(1 << (s >> 60 & 7));
		}
		int err = parse(&k, &g);
		noticed += err != 0 || g.used_backup;
		CHECK(err == 0 || err == GPT_ERR_MBR || err == GPT_ERR_NO_GPT ||
		      err == GPT_ERR_CORRUPT || err == GPT_ERR_HEADER);
		if (err == GPT_ERR_CORRUPT || err == GPT_ERR_HEADER)
			CHECK(g.why[0]);	/* a reason, always */
		free(k.d);
	}
	CHECK(noticed > 100);
}

/* The CRC's check value ("123456789"), and every length and split against
 * the plain bytewise definition. */
static void test_crc(void)
{
	CHECK_INT(efs_crc32(0, "123456789", 9), 0xcbf43926u);
	static uint8_t b[100];
	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 37 + 11);
	int bad = 0;
	for (size_t n = 0; n <= sizeof(b); n++) {
		uint32_t want = 0xffffffffu;
		for (size_t i = 0; i < n; i++) {
			want ^= b[i];
			for (int k = 0; k < 8; k++)
				want = want & 1 ? 0xedb88320u ^ (want >> 1)
						: want >> 1;
		}
		want = ~want;
		for (size_t cut = 0; cut <= n; cut += 3)
			if (efs_crc32(efs_crc32(0, b, cut), b + cut, n - cut) !=
			    want)
				bad++;
	}
	CHECK_INT(bad, 0);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	RUN(test_crc);
	RUN(test_good, 512);
	RUN(test_good, 4096);
	RUN(test_backup);
	RUN(test_bad);
	RUN(test_refused);
	RUN(test_flips);
	return check_done();
}
