/* fs/fat.c on FAT12, FAT16 and FAT32 images made here by mkfs.vfat and
 * mtools (long names, labels, subdirectories, big and fragmented files),
 * and on images this test builds itself and then damages: the BPB,
 * cluster chains that loop, end early or leave the volume, directories
 * without end, long-name entries out of order. A damaged image must give
 * a clear error, never a crash, a read outside the image (the RAM device
 * aborts) or a hang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/efs_int.h"
#include "../../fs/seedfs.h"
#include "check.h"
#include "seedcheck.h"
#include "memdev.h"
#include "seedimg.h"

#define BIG (300u << 10)	/* on FAT12: a chain across FAT windows */

static uint8_t big[BIG];

static void expect_big(struct seedfs *fs, const char *path,
		       const uint8_t *want, size_t n)
{
	uint8_t *b = malloc(n + 1);
	uint64_t size;
	CHECK_INT(seedfs_read(fs, path, b, n + 1, &size), n);
	CHECK_INT(size, n);
	CHECK(!memcmp(b, want, n));
	CHECK_INT(seedfs_read(fs, path, b, n / 3, &size), n / 3);
	CHECK(!memcmp(b, want, n / 3));
	free(b);
}

/* mkfs.vfat -F bits on a size-KiB image, then files by mtools. */
static void real_image(int bits, unsigned kib, const char *opts,
		       const char *label)
{
	struct memdev m;
	struct seedfs fs;
	char buf[64];
	uint64_t size;
	printf("mkfs.vfat -F %d %s -n %s\n", bits, opts, label);
	seedimg_run("rm -f fat.img && truncate -s %uK fat.img && "
		    "mkfs.vfat -F %d %s -n %s fat.img", kib, bits, opts, label);
	seedimg_run("mcopy -i fat.img user-data meta-data Long-File-Name.txt "
		    "big.bin ::/ && mmd -i fat.img ::/openstack "
		    "::/openstack/latest ::/many && mcopy -i fat.img user_data "
		    "meta_data.json ::/openstack/latest/");
	/* A hole, then a file bigger than it: a chain that jumps. */
	seedimg_run("mcopy -i fat.img hole ::/hole && mcopy -i fat.img big.bin "
		    "::/after && mdel -i fat.img ::/hole && mcopy -i fat.img "
		    "big.bin ::/frag.bin");
	seedimg_run("for i in $(seq 0 199); do echo $i > many-$i.txt; done && "
		    "mcopy -i fat.img many-*.txt ::/many/");
	if (seedimg_load("fat.img", &m)) {
		CHECK(!"image made");
		return;
	}
	CHECK_INT(seedfs_open(&m.io, &fs), 0);
	CHECK_INT(fs.type, bits == 12 ? SEEDFS_FAT12 : bits == 16 ?
		  SEEDFS_FAT16 : SEEDFS_FAT32);
	CHECK_STR(fs.label, label);
	expect_file(&fs, "user-data", "echo from-fat\n");
	expect_file(&fs, "USER-DATA", "echo from-fat\n");
	expect_file(&fs, "meta-data", "instance-id: iid-fat\n");
	expect_file(&fs, "openstack/latest/user_data", "poweroff 4\n");
	expect_file(&fs, "OpenStack/Latest/meta_data.json", "{\"uuid\": "
		    "\"fat\"}\n");
	expect_file(&fs, "long-file-name.txt", "long\n");
	expect_file(&fs, "LONG-F~1.TXT", "long\n");	/* its short name */
	expect_file(&fs, "many/many-199.txt", "199\n");
	expect_file(&fs, "many/many-0.txt", "0\n");
	expect_big(&fs, "big.bin", big, BIG);
	expect_big(&fs, "frag.bin", big, BIG);
	CHECK_INT(seedfs_read(&fs, "openstack", buf, 8, &size),
		  SEEDFS_ERR_IS_DIR);
	CHECK_INT(seedfs_read(&fs, "user-data/x", buf, 8, &size),
		  SEEDFS_ERR_NOT_DIR);
	CHECK_INT(seedfs_read(&fs, "hole", buf, 8, &size),
		  SEEDFS_ERR_NOT_FOUND);
	memdev_free(&m);
}

static void real_images(void)
{
	if (!seedimg_have("mkfs.vfat") || !seedimg_have("mcopy")) {
		printf("skipped: mkfs.vfat or mtools not installed\n");
		return;
	}
	seedimg_file("user-data", "echo from-fat\n", 14);
	seedimg_file("meta-data", "instance-id: iid-fat\n", 21);
	seedimg_file("user_data", "poweroff 4\n", 11);
	seedimg_file("meta_data.json", "{\"uuid\": \"fat\"}\n", 16);
	seedimg_file("Long-File-Name.txt", "long\n", 5);
	seedimg_pattern(big, BIG, 12);
	seedimg_file("big.bin", big, BIG);
	seedimg_file("hole", big, 8192);
	real_image(12, 1440, "", "CIDATA");
	real_image(16, 16384, "", "config-2");
	real_image(32, 40960, "-s 1", "cidata");
	real_image(16, 65536, "-S 4096 -s 1", "CIDATA");
}

/* --- images built here ---------------------------------------------- */

struct img {
	struct memdev m;
	int bits;
	uint32_t clusters, spc, fatsz, nfats, ents;
	uint64_t fat, root, data;
	uint32_t root_used;	/* entries used in the root */
};

static void fat_set(struct img *f, uint32_t c, uint32_t v)
{
	for (uint32_t k = 0; k < f->nfats; k++) {
		uint8_t *p = f->m.data + f->fat + (uint64_t)k * f->fatsz * 512;
		if (f->bits == 32) {
			efs_st32(p + 4 * c, v);
		} else if (f->bits == 16) {
			efs_st16(p + 2 * c, (uint16_t)v);
		} else {
			uint8_t *e = p + c + c / 2;
			uint16_t w = (uint16_t)(e[0] | e[1] << 8);
			w = c & 1 ? (uint16_t)((w & 0x000f) | v << 4)
				  : (uint16_t)((w & 0xf000) | (v & 0xfff));
			e[0] = (uint8_t)w;
			e[1] = (uint8_t)(w >> 8);
		}
	}
}

static uint32_t eoc(const struct img *f)
{
	return f->bits == 32 ? 0x0fffffff : f->bits == 16 ? 0xffff : 0xfff;
}

static uint8_t *cl(struct img *f, uint32_t c)
{
	return f->m.data + f->data + (uint64_t)(c - 2) * f->spc * 512;
}

/* A volume of `clusters` clusters of spc sectors, its FAT bits wide. */
static void build(struct img *f, int bits, uint32_t clusters, uint32_t spc)
{
	memset(f, 0, sizeof(*f));
	f->bits = bits;
	f->clusters = clusters;
	f->spc = spc;
	f->nfats = 2;
	f->ents = bits == 32 ? 0 : 64;
	uint32_t rsvd = bits == 32 ? 32 : 1;
	f->fatsz = (uint32_t)(((uint64_t)(clusters + 2) * bits / 8 + 511) / 512);
	uint64_t tot = rsvd + f->nfats * f->fatsz + f->ents * 32 / 512 +
		       (uint64_t)clusters * spc;
	memdev_init(&f->m, tot * 512);
	uint8_t *b = f->m.data;
	memcpy(b, "\xeb\x3c\x90MSWIN4.1", 11);
	efs_st16(b + 11, 512);
	b[13] = (uint8_t)spc;
	efs_st16(b + 14, (uint16_t)rsvd);
	b[16] = (uint8_t)f->nfats;
	efs_st16(b + 17, (uint16_t)f->ents);
	if (tot < 65536 && bits != 32)
		efs_st16(b + 19, (uint16_t)tot);
	else
		efs_st32(b + 32, (uint32_t)tot);
	b[21] = 0xf8;
	int lab = bits == 32 ? 66 : 38;
	if (bits == 32) {
		efs_st32(b + 36, f->fatsz);
		efs_st32(b + 44, 2);
	} else {
		efs_st16(b + 22, (uint16_t)f->fatsz);
	}
	b[lab] = 0x29;
	memcpy(b + lab + 5, "BOOTLABEL  ", 11);
	b[510] = 0x55;
	b[511] = 0xaa;
	f->fat = rsvd * 512ull;
	f->root = f->fat + (uint64_t)f->nfats * f->fatsz * 512;
	f->data = f->root + f->ents * 32;
	fat_set(f, 0, eoc(f) & ~7u);
	fat_set(f, 1, eoc(f));
	if (bits == 32)
		fat_set(f, 2, eoc(f));	/* the root's one cluster */
}

static uint8_t *root_entry(struct img *f)
{
	uint64_t at = f->bits == 32 ? f->data : f->root;
	return f->m.data + at + 32 * f->root_used++;
}

static void dirent(uint8_t *e, const char *name11, uint8_t attr,
		   uint32_t cluster, uint32_t size)
{
	memcpy(e, name11, 11);
	e[11] = attr;
	efs_st16(e + 20, (uint16_t)(cluster >> 16));
	efs_st16(e + 26, (uint16_t)cluster);
	efs_st32(e + 28, size);
}

static uint8_t sum11(const uint8_t *n)
{
	uint8_t s = 0;
	for (int i = 0; i < 11; i++)
		s = (uint8_t)(((s & 1) << 7) + (s >> 1) + n[i]);
	return s;
}

/* The long-name entries of name (ASCII) for short name sfn, last part
 * first, into the root: how many. */
static int lfn(struct img *f, const char *name, const char *sfn)
{
	int len = (int)strlen(name), parts = (len + 13) / 13;
	for (int p = parts; p >= 1; p--) {
		uint8_t *e = root_entry(f);
		uint16_t u[13];
		for (int i = 0; i < 13; i++) {
			int k = (p - 1) * 13 + i;
			u[i] = k < len ? (uint16_t)name[k] : k == len ? 0 : 0xffff;
		}
		e[0] = (uint8_t)(p | (p == parts ? 0x40 : 0));
		for (int i = 0; i < 5; i++)
			efs_st16(e + 1 + 2 * i, u[i]);
		e[11] = 0x0f;
		e[13] = sum11((const uint8_t *)sfn);
		for (int i = 0; i < 6; i++)
			efs_st16(e + 14 + 2 * i, u[5 + i]);
		for (int i = 0; i < 2; i++)
			efs_st16(e + 28 + 2 * i, u[11 + i]);
	}
	return parts;
}

/* The standard content: a label entry, user-data (600 bytes over
 * clusters 3 and 5: a chain that jumps), a directory SUB (cluster 6)
 * holding F (cluster 7). */
static uint8_t *user_ent, *sub_ent, *f_ent, *lfn_ent;
static char user_body[600];

static void standard(struct img *f, int bits, uint32_t clusters)
{
	build(f, bits, clusters, 1);
	dirent(root_entry(f), "CIDATA     ", 0x08, 0, 0);
	lfn_ent = root_entry(f);
	f->root_used--;
	lfn(f, "user-data", "USER-D~1   ");
	user_ent = root_entry(f);
	dirent(user_ent, "USER-D~1   ", 0x20, 3, sizeof(user_body));
	for (size_t i = 0; i < sizeof(user_body); i++)
		user_body[i] = (char)('a' + i % 26);
	memcpy(cl(f, 3), user_body, 512);
	memcpy(cl(f, 5), user_body + 512, sizeof(user_body) - 512);
	fat_set(f, 3, 5);
	fat_set(f, 5, eoc(f));
	sub_ent = root_entry(f);
	dirent(sub_ent, "SUB        ", 0x10, 6, 0);
	fat_set(f, 6, eoc(f));
	dirent(cl(f, 6), ".          ", 0x10, 6, 0);
	dirent(cl(f, 6) + 32, "..         ", 0x10, 0, 0);
	f_ent = cl(f, 6) + 64;
	dirent(f_ent, "F          ", 0x20, 7, 5);
	fat_set(f, 7, eoc(f));
	memcpy(cl(f, 7), "file\n", 5);
}

static int64_t try_read(struct img *f, const char *path, const char **why)
{
	struct seedfs fs;
	char buf[700];
	uint64_t size;
	int err = seedfs_open(&f->m.io, &fs);
	int64_t n = err ? err : seedfs_read(&fs, path, buf, sizeof(buf), &size);
	if (n == (int64_t)sizeof(user_body) && memcmp(buf, user_body, (size_t)n))
		n = -100;	/* the wrong bytes */
	*why = fs.why;
	return n;
}

static void built(void)
{
	struct img f;
	struct seedfs fs;
	const char *why;
	static const uint32_t sizes[] = { 100, 5000, 70000 };
	for (int i = 0; i < 3; i++) {
		int bits = i == 0 ? 12 : i == 1 ? 16 : 32;
		standard(&f, bits, sizes[i]);
		CHECK_INT(seedfs_open(&f.m.io, &fs), 0);
		CHECK_INT(fs.type, SEEDFS_FAT12 + i);
		CHECK_STR(fs.label, "CIDATA");	/* the root's, not BOOTLABEL */
		CHECK_INT(try_read(&f, "user-data", &why), 600);
		CHECK_INT(try_read(&f, "user-d~1", &why), 600);
		CHECK_INT(try_read(&f, "sub/f", &why), 5);
		CHECK_INT(try_read(&f, "sub/./f", &why), SEEDFS_ERR_NOT_FOUND);
		/* Without the label entry, the boot sector's label. */
		memset(f.m.data + (bits == 32 ? f.data : f.root), 0xe5, 1);
		CHECK_INT(seedfs_open(&f.m.io, &fs), 0);
		CHECK_STR(fs.label, "BOOTLABEL");
		memdev_free(&f.m);
	}
	/* FAT12 entries across a FAT window: a chain over 2..400. */
	build(&f, 12, 1000, 1);
	uint8_t *e = root_entry(&f);
	dirent(e, "BIG     BIN", 0x20, 2, 399 * 512);
	for (uint32_t c = 2; c <= 400; c++) {
		fat_set(&f, c, c == 400 ? eoc(&f) : c + 1);
		memset(cl(&f, c), (int)(c & 0xff), 512);
	}
	uint8_t *b = malloc(399 * 512);
	uint64_t size;
	CHECK_INT(seedfs_open(&f.m.io, &fs), 0);
	CHECK_INT(seedfs_read(&fs, "big.bin", b, 399 * 512, &size), 399 * 512);
	int ok = 1;
	for (uint32_t c = 2; c <= 400; c++)
		ok &= b[(c - 2) * 512] == (c & 0xff) &&
		      b[(c - 2) * 512 + 511] == (c & 0xff);
	CHECK(ok);
	free(b);
	memdev_free(&f.m);
}

/* One damage to the standard FAT16 volume (FAT32 when bits is 32): the
 * read of path must give err and a reason containing want. */
static void damaged(const char *what, int bits, void (*hurt)(struct img *),
		    const char *path, int err, const char *want)
{
	struct img f;
	const char *why;
	standard(&f, bits, bits == 32 ? 70000 : 5000);
	hurt(&f);
	int64_t got = try_read(&f, path, &why);
	if (got != err || !strstr(why, want))
		fprintf(stderr, "  %s: got %lld (%s), want %d (%s)\n", what,
			(long long)got, why, err, want);
	CHECK(got == err && strstr(why, want));
	memdev_free(&f.m);
}

static void spc3(struct img *f) { f->m.data[13] = 3; }
static void no_rsvd(struct img *f) { efs_st16(f->m.data + 14, 0); }
static void no_fatsz(struct img *f) { efs_st16(f->m.data + 22, 0);
	efs_st32(f->m.data + 36, 0); }
static void too_big(struct img *f) { efs_st16(f->m.data + 19, 0);
	efs_st32(f->m.data + 32, 1u << 30); }
static void full(struct img *f) { efs_st16(f->m.data + 22, 0xfff0); }
static void root_clus(struct img *f) { efs_st32(f->m.data + 44, 0x0ffffff0); }
static void fixed32(struct img *f) { efs_st16(f->m.data + 17, 16); }
static void no_root16(struct img *f) { efs_st16(f->m.data + 17, 0); }
static void active(struct img *f) { efs_st16(f->m.data + 40, 0x85); }
static void small_fat(struct img *f) { efs_st16(f->m.data + 22, 2); }
static void loop(struct img *f) { fat_set(f, 3, 3); }
static void to_free(struct img *f) { fat_set(f, 3, 0); }
static void to_bad(struct img *f) { fat_set(f, 3, 0xfff7); }
static void out_range(struct img *f) { fat_set(f, 3, 0xffef); }
static void short_chain(struct img *f) { fat_set(f, 3, 0xffff); }
static void first_out(struct img *f) { (void)f; efs_st16(user_ent + 26,
							 9999); }
static void huge(struct img *f) { (void)f; efs_st32(user_ent + 28,
						    0xffffffff); }
static void dir_out(struct img *f) { (void)f; efs_st16(sub_ent + 26, 1); }
static void dir_loop(struct img *f)	/* SUB's chain never ends ... */
{
	fat_set(f, 6, 6);
	memset(cl(f, 6) + 64, 0, 32);	/* ... and holds no end marker */
	memcpy(cl(f, 6) + 64, "X          ", 11);
	for (int i = 3; i < 16; i++)
		dirent(cl(f, 6) + 32 * i, "X          ", 0x20, 0, 0);
}
static void dir_loop32(struct img *f)	/* the root's chain, on FAT32 */
{
	fat_set(f, 2, 2);
	for (int i = 0; i < 16; i++)
		if (!cl(f, 2)[32 * i])
			dirent(cl(f, 2) + 32 * i, "X          ", 0x20, 0, 0);
}

static void dir_loop32_unlabelled(struct img *f)
{
	dir_loop32(f);
	cl(f, 2)[0] = 0xe5;	/* no label entry: open's search loops */
}

static void hostile(void)
{
	struct img f;
	const char *why;
	damaged("sectors per cluster", 16, spc3, "user-data",
		SEEDFS_ERR_CORRUPT, "power of two");
	damaged("no reserved sectors", 16, no_rsvd, "user-data",
		SEEDFS_ERR_CORRUPT, "zero");
	damaged("no FAT size", 16, no_fatsz, "user-data", SEEDFS_ERR_CORRUPT,
		"zero");
	damaged("bigger than the device", 16, too_big, "user-data",
		SEEDFS_ERR_CORRUPT, "larger than its device");
	damaged("FATs fill the volume", 16, full, "user-data",
		SEEDFS_ERR_CORRUPT, "fill the volume");
	damaged("FAT32 root cluster", 32, root_clus, "user-data",
		SEEDFS_ERR_CORRUPT, "root directory's cluster");
	damaged("FAT32 with a fixed root", 32, fixed32, "user-data",
		SEEDFS_ERR_CORRUPT, "fixed root");
	damaged("FAT16 without a root", 16, no_root16, "user-data",
		SEEDFS_ERR_CORRUPT, "without a root");
	damaged("active FAT 5 of 2", 32, active, "user-data",
		SEEDFS_ERR_CORRUPT, "active FAT");
	damaged("FAT too small", 16, small_fat, "user-data",
		SEEDFS_ERR_CORRUPT, "too small");
	damaged("chain loops", 16, loop, "user-data", -100, "");
	damaged("chain to a free cluster", 16, to_free, "user-data",
		SEEDFS_ERR_CORRUPT, "free, bad");
	damaged("chain to a bad cluster", 16, to_bad, "user-data",
		SEEDFS_ERR_CORRUPT, "free, bad");
	damaged("chain out of range", 16, out_range, "user-data",
		SEEDFS_ERR_CORRUPT, "out-of-range");
	damaged("chain shorter than the file", 16, short_chain, "user-data",
		SEEDFS_ERR_CORRUPT, "shorter");
	damaged("first cluster out of range", 16, first_out, "user-data",
		SEEDFS_ERR_CORRUPT, "first cluster");
	damaged("file of 4 GiB", 16, huge, "user-data", SEEDFS_ERR_CORRUPT,
		"bigger than the volume");
	damaged("directory cluster 1", 16, dir_out, "sub/f",
		SEEDFS_ERR_CORRUPT, "directory's first cluster");
	damaged("directory chain loops", 16, dir_loop, "sub/g",
		SEEDFS_ERR_CORRUPT, "65536");
	damaged("FAT32 root chain loops", 32, dir_loop32, "nothing",
		SEEDFS_ERR_CORRUPT, "65536");
	damaged("FAT32 root chain loops (label)", 32, dir_loop32_unlabelled,
		"user-data", SEEDFS_ERR_CORRUPT, "65536");

	/* Long names: a wrong checksum or parts out of order drop the long
	 * name, never the short one. */
	standard(&f, 16, 5000);
	lfn_ent[13] ^= 1;
	CHECK_INT(try_read(&f, "user-data", &why), SEEDFS_ERR_NOT_FOUND);
	CHECK_INT(try_read(&f, "user-d~1", &why), 600);
	memdev_free(&f.m);
	standard(&f, 16, 5000);
	lfn_ent[0] = 0x5f;	/* "last" of 31 parts: more than a name has */
	CHECK_INT(try_read(&f, "user-data", &why), SEEDFS_ERR_NOT_FOUND);
	memdev_free(&f.m);

	/* Not FAT: no jump, no 0x55AA, a sector size FAT never has. */
	static const struct { int at; uint8_t v; } notfat[] = {
		{ 0, 0x00 }, { 510, 0x00 }, { 12, 0x01 }, { 11, 0x01 } };
	for (unsigned i = 0; i < 4; i++) {
		standard(&f, 16, 5000);
		f.m.data[notfat[i].at] = notfat[i].v;
		CHECK_INT(try_read(&f, "user-data", &why), SEEDFS_ERR_NOT_FS);
		memdev_free(&f.m);
	}
	/* A read error is an I/O error. */
	for (long at = 0; at < 5; at++) {
		standard(&f, 16, 5000);
		f.m.fail_read_at = at;
		CHECK_INT(try_read(&f, "sub/f", &why), SEEDFS_ERR_IO);
		memdev_free(&f.m);
	}
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	RUN(real_images);
	RUN(built);
	RUN(hostile);
	seedimg_done();
	return check_done();
}
