/* fs/iso9660.c on images made here by genisoimage and xorriso (Rock
 * Ridge and Joliet, each alone, and neither), and on images this test
 * builds itself and then damages: descriptors, records, extents, SUSP
 * entries and continuation loops. A damaged image must give a clear error,
 * never a crash, a read outside the image (the RAM device aborts) or a
 * hang. */
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

#define BIG (1536u << 10)	/* a file bigger than a script may be */
#define LONGNAME "a-name-of-two-hundred-bytes-that-only-rock-ridge-can-" \
	"hold-0123456789-0123456789-0123456789-0123456789-0123456789-" \
	"0123456789-0123456789-0123456789-0123456789-0123456789-01234567"

static uint8_t big[BIG];

/* The file at path, read with max; its count, or the error. */
static int64_t rd(struct seedfs *fs, const char *path, char *buf, size_t max,
		  uint64_t *size)
{
	int64_t n = seedfs_read(fs, path, buf, max, size);
	if (n >= 0 && (size_t)n < max)
		buf[n] = 0;
	return n;
}

static void tree(void)
{
	static int made;
	if (made++)
		return;
	seedimg_file("t/user-data", "echo from-seed\n", 15);
	seedimg_file("t/meta-data", "instance-id: iid-test\n", 22);
	seedimg_file("t/openstack/latest/user_data", "poweroff 3\n", 11);
	seedimg_file("t/openstack/latest/meta_data.json",
		     "{\"uuid\": \"0b5a2520\"}\n", 21);
	seedimg_file("t/Mixed.Case", "case\n", 5);
	seedimg_file("t/" LONGNAME, "long\n", 5);
	seedimg_pattern(big, BIG, 7);
	seedimg_file("t/big.bin", big, BIG);
	for (int i = 0; i < 300; i++) {
		char rel[64], body[16];
		snprintf(rel, sizeof(rel), "t/many/file-%03d.txt", i);
		int n = snprintf(body, sizeof(body), "%d\n", i);
		seedimg_file(rel, body, (size_t)n);
	}
}

/* An image of the tree made by cmd (DIR/out.iso), checked with the names
 * it should have: rock (Rock Ridge), joliet, or neither. */
static void real_image(const char *what, const char *cmd, int rock,
		       int joliet)
{
	struct memdev m;
	struct seedfs fs;
	char buf[64];
	uint64_t size;
	tree();
	seedimg_run("rm -f out.iso");
	if (seedimg_run("%s", cmd) || seedimg_load("out.iso", &m)) {
		CHECK(!"image made");
		return;
	}
	printf("%s\n", what);
	CHECK_INT(seedfs_open(&m.io, &fs), 0);
	CHECK_INT(fs.type, SEEDFS_ISO9660);
	CHECK_STR(seedfs_type_name(&fs), "ISO 9660");
	CHECK_STR(fs.label, "cidata");
	CHECK_INT(fs.u.iso.names, rock ? SEEDFS_NAMES_ROCK : joliet ?
		  SEEDFS_NAMES_JOLIET : SEEDFS_NAMES_PRIMARY);
	if (rock || joliet) {
		expect_file(&fs, "user-data", "echo from-seed\n");
		expect_file(&fs, "/meta-data", "instance-id: iid-test\n");
		expect_file(&fs, "openstack/latest/user_data", "poweroff 3\n");
		expect_file(&fs, "//openstack//latest/meta_data.json",
			    "{\"uuid\": \"0b5a2520\"}\n");
		expect_file(&fs, "Mixed.Case", "case\n");
		CHECK_INT(rd(&fs, "mixed.case", buf, 8, &size),
			  SEEDFS_ERR_NOT_FOUND);
		expect_file(&fs, "many/file-299.txt", "299\n");
		expect_file(&fs, "many/file-000.txt", "0\n");
	} else {	/* the primary tree: "USER_DAT.;1" */
		CHECK_INT(rd(&fs, "user-data", buf, 8, &size),
			  SEEDFS_ERR_NOT_FOUND);
		expect_file(&fs, "user_dat", "echo from-seed\n");
		expect_file(&fs, "OPENSTAC/LATEST/USER_DAT",
			    "poweroff 3\n");
	}
	if (rock)	/* 200 bytes: several SUSP entries, maybe a CE */
		expect_file(&fs, LONGNAME, "long\n");
	/* Bigger than asked: the first max bytes, and the whole size. */
	uint8_t *b = malloc(BIG);
	const char *bn = rock || joliet ? "big.bin" : "BIG.BIN";
	CHECK_INT(seedfs_read(&fs, bn, b, 1 << 20, &size), 1 << 20);
	CHECK_INT(size, BIG);
	CHECK(!memcmp(b, big, 1 << 20));
	CHECK_INT(seedfs_read(&fs, bn, b, BIG, &size), BIG);
	CHECK(!memcmp(b, big, BIG));
	free(b);
	CHECK_INT(rd(&fs, "", buf, 8, &size), SEEDFS_ERR_IS_DIR);
	CHECK_INT(rd(&fs, rock || joliet ? "openstack" : "OPENSTAC", buf, 8,
		     &size), SEEDFS_ERR_IS_DIR);
	CHECK_INT(rd(&fs, rock || joliet ? "user-data/x" : "USER_DAT/X", buf,
		     8, &size), SEEDFS_ERR_NOT_DIR);
	CHECK_INT(rd(&fs, "nothing/here", buf, 8, &size),
		  SEEDFS_ERR_NOT_FOUND);
	memdev_free(&m);
}

static void real_images(void)
{
	if (seedimg_have("genisoimage")) {
		real_image("genisoimage -J -R", "genisoimage -quiet -o out.iso "
			   "-V cidata -J -R t", 1, 1);
		real_image("genisoimage -J", "genisoimage -quiet -o out.iso "
			   "-V cidata -J t", 0, 1);
		real_image("genisoimage -R", "genisoimage -quiet -o out.iso "
			   "-V cidata -R t", 1, 0);
		real_image("genisoimage (8.3 only)", "genisoimage -quiet -o "
			   "out.iso -V cidata t", 0, 0);
	} else {
		printf("skipped: genisoimage is not installed\n");
	}
	if (seedimg_have("xorriso")) {
		real_image("xorriso -joliet -rock", "xorriso -as mkisofs "
			   "-quiet -o out.iso -V cidata -joliet -rock t", 1, 1);
		/* xorriso writes Rock Ridge unless told not to. */
		real_image("xorriso -joliet --norock", "xorriso -as mkisofs "
			   "-quiet -o out.iso -V cidata -joliet --norock t", 0,
			   1);
		real_image("xorriso --norock", "xorriso -as mkisofs -quiet "
			   "-o out.iso -V cidata --norock t", 0, 0);
	} else {
		printf("skipped: xorriso is not installed\n");
	}
}

/* --- images built here ---------------------------------------------- */

#define B 2048
#define SECTORS 96
#define ROOT 20			/* primary root directory */
#define SUB 21			/* /sub */
#define JROOT 22		/* Joliet root */
#define DATA 30			/* user-data's bytes */
#define FDATA 31		/* sub/f's bytes */
#define CEB 32			/* a continuation area */

static void both16(uint8_t *p, uint16_t v)
{
	efs_st16(p, v);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void both32(uint8_t *p, uint32_t v)
{
	efs_st32(p, v);
	for (int i = 0; i < 4; i++)
		p[4 + i] = (uint8_t)(v >> (24 - 8 * i));
}

/* A directory record at p: its length. */
static unsigned rec(uint8_t *p, uint32_t lba, uint32_t size, uint8_t flags,
		    const void *name, unsigned nlen, const void *su,
		    unsigned sulen)
{
	unsigned len = 33 + nlen + !(nlen & 1) + sulen;
	len += len & 1;
	memset(p, 0, len);
	p[0] = (uint8_t)len;
	both32(p + 2, lba);
	both32(p + 10, size);
	p[25] = flags;
	both16(p + 28, 1);
	p[32] = (uint8_t)nlen;
	memcpy(p + 33, name, nlen);
	if (sulen)
		memcpy(p + 33 + nlen + !(nlen & 1), su, sulen);
	return len;
}

/* An NM entry for name: its length. */
static unsigned nm(uint8_t *p, const char *name, uint8_t flags)
{
	unsigned n = (unsigned)strlen(name);
	p[0] = 'N';
	p[1] = 'M';
	p[2] = (uint8_t)(5 + n);
	p[3] = 1;
	p[4] = flags;
	memcpy(p + 5, name, n);
	return 5 + n;
}

static void vd(uint8_t *p, int type, uint32_t root, uint32_t size)
{
	p[0] = (uint8_t)type;
	memcpy(p + 1, "CD001", 5);
	p[6] = 1;
	if (type == 255)
		return;
	memset(p + 40, ' ', 32);
	memcpy(p + 40, "CIDATA", 6);
	both32(p + 80, SECTORS);
	both16(p + 128, B);
	rec(p + 156, root, size, 2, "", 1, 0, 0);
}

static unsigned user_rec;	/* where user-data's record is, in ROOT */
static unsigned sub_rec;	/* and sub's */

/* A small volume: / holds user-data and sub/f (Rock Ridge names when
 * rock; a Joliet tree too when joliet). */
static void build(struct memdev *m, int rock, int joliet)
{
	uint8_t su[64];
	memdev_init(m, SECTORS * B);
	uint8_t *d = m->data;
	vd(d + 16 * B, 1, ROOT, B);
	if (joliet) {
		vd(d + 17 * B, 2, JROOT, B);
		memcpy(d + 17 * B + 88, "%/E", 3);
		memset(d + 17 * B + 40, 0, 32);
		memcpy(d + 17 * B + 40, "\0c\0i\0d\0a\0t\0a", 12);
	}
	vd(d + (joliet ? 18 : 17) * B, 255, 0, 0);
	/* The primary root: ".", "..", USER_DAT.;1, SUB. */
	uint8_t *r = d + ROOT * B;
	unsigned at = 0, n = 0;
	if (rock) {	/* SP: SUSP is in use, LEN_SKP 0 */
		memcpy(su, "SP\7\1\xbe\xef\0", 7);
		n = 7;
	}
	at += rec(r + at, ROOT, B, 2, "\0", 1, su, n);
	at += rec(r + at, ROOT, B, 2, "\1", 1, 0, 0);
	user_rec = at;
	n = rock ? nm(su, "user-data", 0) : 0;
	at += rec(r + at, DATA, 15, 0, "USER_DAT.;1", 11, su, n);
	sub_rec = at;
	n = rock ? nm(su, "sub", 0) : 0;
	at += rec(r + at, SUB, B, 2, "SUB", 3, su, n);
	uint8_t *s = d + SUB * B;
	at = rec(s, SUB, B, 2, "\0", 1, 0, 0);
	at += rec(s + at, ROOT, B, 2, "\1", 1, 0, 0);
	n = rock ? nm(su, "f", 0) : 0;
	rec(s + at, FDATA, 5, 0, "F.;1", 4, su, n);
	if (joliet) {
		uint8_t *j = d + JROOT * B;
		at = rec(j, JROOT, B, 2, "\0", 1, 0, 0);
		at += rec(j + at, JROOT, B, 2, "\1", 1, 0, 0);
		rec(j + at, DATA, 15, 0, "\0u\0s\0e\0r\0-\0d\0a\0t\0a\0;\0001",
		    22, 0, 0);
	}
	memcpy(d + DATA * B, "echo from-seed\n", 15);
	memcpy(d + FDATA * B, "file\n", 5);
}

/* Opens m's image and reads path: the error, or the count. */
static int64_t try_read(struct memdev *m, const char *path, const char **why)
{
	struct seedfs fs;
	char buf[64];
	uint64_t size;
	int err = seedfs_open(&m->io, &fs);
	int64_t n = err ? err : seedfs_read(&fs, path, buf, sizeof(buf), &size);
	*why = fs.why;
	return n;
}

static void built(void)
{
	struct memdev m;
	struct seedfs fs;
	for (int v = 0; v < 3; v++) {
		build(&m, v == 1, v == 2);
		CHECK_INT(seedfs_open(&m.io, &fs), 0);
		CHECK_INT(fs.u.iso.names, v == 1 ? SEEDFS_NAMES_ROCK : v == 2
			  ? SEEDFS_NAMES_JOLIET : SEEDFS_NAMES_PRIMARY);
		CHECK_STR(fs.label, v == 2 ? "cidata" : "CIDATA");
		expect_file(&fs, v ? "user-data" : "USER_DAT",
			    "echo from-seed\n");
		if (v == 1)
			expect_file(&fs, "sub/f", "file\n");
		if (v == 0)
			expect_file(&fs, "sub/f", "file\n");	/* case */
		memdev_free(&m);
	}
}

/* One damage to a Rock Ridge image: the read of path must fail with err
 * and a reason containing want. */
static void damaged(const char *what, void (*hurt)(uint8_t *d), const char
		    *path, int err, const char *want)
{
	struct memdev m;
	const char *why;
	build(&m, 1, 0);
	hurt(m.data);
	int64_t got = try_read(&m, path, &why);
	if (got != err || !strstr(why, want))
		fprintf(stderr, "  %s: got %lld (%s), want %d (%s)\n", what,
			(long long)got, why, err, want);
	CHECK(got == err && strstr(why, want));
	memdev_free(&m);
}

static void no_term(uint8_t *d)
{
	for (int i = 17; i < 16 + 64; i++)
		vd(d + i * B, 0, 0, 0);		/* boot records, for ever */
}
static void bad_block(uint8_t *d) { both16(d + 16 * B + 128, 4096); }
static void no_pvd(uint8_t *d) { d[16 * B] = 0; }
static void no_cd001(uint8_t *d) { d[17 * B + 1] = 'X'; }
static void root_len(uint8_t *d) { d[16 * B + 156] = 40; }
static void root_file(uint8_t *d) { d[16 * B + 156 + 25] = 0; }
static void short_rec(uint8_t *d) { d[ROOT * B + user_rec] = 20; }
static void cross_rec(uint8_t *d)	/* sub's record past the root's end */
{
	both32(d + 16 * B + 156 + 10, sub_rec + 10);
}
static void name_len(uint8_t *d) { d[ROOT * B + user_rec + 32] = 200; }
static void dir_past(uint8_t *d) { both32(d + ROOT * B + sub_rec + 2,
					  0x00ffffff); }
static void dir_huge(uint8_t *d) { both32(d + ROOT * B + sub_rec + 10,
					  1u << 30); }
static void file_past(uint8_t *d) { both32(d + ROOT * B + user_rec + 10,
					   SECTORS * B); }
static void xattr_wrap(uint8_t *d) { both32(d + ROOT * B + user_rec + 2,
					    0xffffffff);
	d[ROOT * B + user_rec + 1] = 2; }
static void multi(uint8_t *d) { d[ROOT * B + user_rec + 25] |= 0x80; }
static void interleaved(uint8_t *d) { d[ROOT * B + user_rec + 26] = 1; }
static void susp_len(uint8_t *d) { d[ROOT * B + user_rec + 33 + 11 + 2] =
					   200; }
static void susp_zero(uint8_t *d) { d[ROOT * B + user_rec + 33 + 11 + 2] =
					    1; }

/* user-data's NM continues in a CE whose area is a CE to itself. */
static void ce_loop(uint8_t *d)
{
	uint8_t su[64], *r = d + ROOT * B + user_rec;
	unsigned n = nm(su, "user-", 1);
	uint8_t *ce = su + n;
	memcpy(ce, "CE\34\1", 4);
	both32(ce + 4, CEB);
	both32(ce + 12, 0);
	both32(ce + 20, 28);
	rec(r, DATA, 15, 0, "USER_DAT.;1", 11, su, n + 28);
	memcpy(d + CEB * B, ce, 28);	/* the area: the same CE again */
}

/* The continuation area says it runs past its block. */
static void ce_cross(uint8_t *d)
{
	ce_loop(d);
	both32(d + ROOT * B + user_rec + 33 + 11 + 10 + 12, 2040);
}

/* An NM split over a CE the way big names are: the name still found. */
static void ce_name(struct memdev *m)
{
	uint8_t su[64], *r = m->data + ROOT * B + user_rec;
	unsigned n = nm(su, "user-", 1);
	memcpy(su + n, "CE\34\1", 4);
	both32(su + n + 4, CEB);
	both32(su + n + 12, 100);
	both32(su + n + 20, 9);
	rec(r, DATA, 15, 0, "USER_DAT.;1", 11, su, n + 28);
	nm(m->data + CEB * B + 100, "data", 0);
}

/* A name made of NM entries longer than any name (340 bytes, continued
 * in a CE): matches nothing. */
static void nm_overlong(struct memdev *m)
{
	uint8_t su[160], *r = m->data + ROOT * B + user_rec;
	char part[121];
	memset(part, 'x', 120);
	part[120] = 0;
	unsigned n = nm(su, part + 20, 1);
	memcpy(su + n, "CE\34\1", 4);
	both32(su + n + 4, CEB);
	both32(su + n + 12, 0);
	uint8_t *a = m->data + CEB * B;
	unsigned k = nm(a, part, 1);
	k += nm(a + k, part, 0);
	both32(su + n + 20, k);
	rec(r, DATA, 15, 0, "USER_DAT.;1", 11, su, n + 28);
}

static void hostile(void)
{
	struct memdev m;
	const char *why;
	damaged("no terminator", no_term, "user-data", SEEDFS_ERR_CORRUPT,
		"terminator");
	damaged("block size", bad_block, "user-data", SEEDFS_ERR_CORRUPT,
		"block size");
	damaged("no PVD", no_pvd, "user-data", SEEDFS_ERR_CORRUPT, "primary");
	damaged("no CD001", no_cd001, "user-data", SEEDFS_ERR_CORRUPT,
		"CD001");
	damaged("root length", root_len, "user-data", SEEDFS_ERR_CORRUPT,
		"root");
	damaged("root a file", root_file, "user-data", SEEDFS_ERR_CORRUPT,
		"root");
	damaged("short record", short_rec, "user-data", SEEDFS_ERR_CORRUPT,
		"34 bytes");
	damaged("record across sectors", cross_rec, "sub/f",
		SEEDFS_ERR_CORRUPT, "past its sector");
	damaged("name past record", name_len, "user-data", SEEDFS_ERR_CORRUPT,
		"identifier");
	damaged("directory past the end", dir_past, "sub/f",
		SEEDFS_ERR_CORRUPT, "past the end");
	damaged("directory of 1 GiB", dir_huge, "sub/f", SEEDFS_ERR_CORRUPT,
		"4 MiB");
	damaged("file past the end", file_past, "user-data",
		SEEDFS_ERR_CORRUPT, "past the end");
	damaged("extent wraps", xattr_wrap, "user-data", SEEDFS_ERR_CORRUPT,
		"wraps");
	damaged("multi-extent", multi, "user-data", SEEDFS_ERR_UNSUPPORTED,
		"multi-extent");
	damaged("interleaved", interleaved, "user-data",
		SEEDFS_ERR_UNSUPPORTED, "interleaved");
	damaged("SUSP entry too long", susp_len, "user-data",
		SEEDFS_ERR_CORRUPT, "SUSP");
	damaged("SUSP entry too short", susp_zero, "user-data",
		SEEDFS_ERR_CORRUPT, "SUSP");
	damaged("CE loop", ce_loop, "user-data", SEEDFS_ERR_CORRUPT,
		"continuation");
	damaged("CE across its block", ce_cross, "user-data",
		SEEDFS_ERR_CORRUPT, "crosses");

	build(&m, 1, 0);
	ce_name(&m);
	CHECK_INT(try_read(&m, "user-data", &why), 15);
	memdev_free(&m);
	build(&m, 1, 0);
	nm_overlong(&m);
	CHECK_INT(try_read(&m, "user-data", &why), SEEDFS_ERR_NOT_FOUND);
	memdev_free(&m);

	/* A directory that is its own child: a long path ends, not found. */
	char path[SEEDFS_PATH_MAX + 2];
	build(&m, 1, 0);
	both32(m.data + ROOT * B + sub_rec + 2, ROOT);
	strcpy(path, "sub");
	while (strlen(path) < SEEDFS_PATH_MAX - 8)
		strcat(path, "/sub");
	strcat(path, "/f");
	CHECK_INT(try_read(&m, path, &why), SEEDFS_ERR_NOT_FOUND);
	strcpy(path, "sub/user-data");
	CHECK_INT(try_read(&m, path, &why), 15);
	memset(path, 'a', sizeof(path) - 1);	/* longer than a path */
	path[sizeof(path) - 1] = 0;
	CHECK_INT(try_read(&m, path, &why), SEEDFS_ERR_INVALID);
	memset(path, 'a', 300);			/* a name too long */
	path[300] = 0;
	CHECK_INT(try_read(&m, path, &why), SEEDFS_ERR_INVALID);
	memdev_free(&m);

	/* A Joliet name of odd length. */
	build(&m, 0, 1);
	m.data[JROOT * B + 68 + 32] = 21;
	CHECK_INT(try_read(&m, "user-data", &why), SEEDFS_ERR_CORRUPT);
	memdev_free(&m);

	/* Truncated: the volume descriptor set past the end of the device;
	 * a device too small for a descriptor is not ISO 9660 at all. */
	build(&m, 1, 0);
	m.io.size = 17 * B + 100;
	CHECK_INT(try_read(&m, "user-data", &why), SEEDFS_ERR_CORRUPT);
	m.io.size = 16 * B + 100;
	CHECK_INT(try_read(&m, "user-data", &why), SEEDFS_ERR_NOT_FS);
	m.io.size = DATA * B + 10;	/* user-data's bytes cut short */
	CHECK_INT(try_read(&m, "user-data", &why), SEEDFS_ERR_CORRUPT);
	memdev_free(&m);

	/* A read error is an I/O error, not a corrupt volume. */
	for (long at = 0; at < 4; at++) {
		build(&m, 1, 0);
		m.fail_read_at = at;
		CHECK_INT(try_read(&m, "user-data", &why), SEEDFS_ERR_IO);
		memdev_free(&m);
	}

	/* Zeros: neither ISO 9660 nor FAT. */
	memdev_init(&m, 1 << 20);
	CHECK_INT(try_read(&m, "user-data", &why), SEEDFS_ERR_NOT_FS);
	memdev_free(&m);
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
