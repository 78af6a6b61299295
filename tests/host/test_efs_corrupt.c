/* Corrupt images: truncated, bit-flipped, bad offsets, cycles, duplicate
 * names, huge lengths. Each must give a clear error (never a crash, a
 * hang or an access outside the image: ASan and the device's bounds
 * check watch), writes on a damaged image must change nothing, and fsck
 * --repair must leave what it can repair clean. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/efs_int.h"
#include "check.h"
#include "efs_util.h"
#include "memdev.h"

#define SIZE (512u << 10)

/* A small tree: /, /etc, /etc/motd, /bin, /bin/sh -> busybox,
 * /bin/busybox (2000 bytes), /empty. */
static void make_base(struct memdev *m)
{
	struct efs *fs;
	uint32_t ino;
	static uint8_t data[2000];
	memdev_init(m, SIZE);
	CHECK_INT(efs_format(&m->io, 0, m->now), 0);
	CHECK_INT(efs_mount(&m->io, &fs), 0);
	CHECK_INT(efs_mkdir(fs, "/etc", 0755), 0);
	CHECK_INT(efs_create(fs, "/etc/motd", 0644, &ino), 0);
	CHECK_INT(efs_write(fs, ino, 0, "hello\n", 6), 6);
	CHECK_INT(efs_mkdir(fs, "/bin", 0755), 0);
	CHECK_INT(efs_create(fs, "/bin/busybox", 0755, &ino), 0);
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	CHECK_INT(efs_write(fs, ino, 0, data, sizeof(data)), 2000);
	CHECK_INT(efs_symlink(fs, "busybox", "/bin/sh"), 0);
	CHECK_INT(efs_create(fs, "/empty", 0644, &ino), 0);
	CHECK_INT(efs_unmount(fs), 0);
}

/* Mounts, walks everything, runs fsck: returns the first error seen (or
 * 0); must simply return. */
static int exercise(struct memdev *m)
{
	struct efs *fs;
	uint64_t d;
	struct efs_fsck_result r;
	int err = efs_mount(&m->io, &fs);
	if (!err) {
		err = tree_digest(fs, &d);
		uint32_t ino;
		int e2 = efs_lookup(fs, "/bin/sh", 1, &ino);
		if (!err && e2 && e2 != EFS_ERR_NOT_FOUND)
			err = e2;
		efs_unmount(fs);
	}
	int f = efs_fsck(&m->io, 0, 0, 0, &r);
	if (!err && (f || r.errors))
		err = f ? f : EFS_ERR_CORRUPT;
	return err;
}

static int clear_error(int err)
{
	return err == 0 || err == EFS_ERR_CORRUPT || err == EFS_ERR_NOT_EFS ||
	       err == EFS_ERR_VERSION || err == EFS_ERR_LOOP ||
	       err == EFS_ERR_NOT_FOUND || err == EFS_ERR_NOT_DIR ||
	       err == EFS_ERR_TOO_BIG || err == EFS_ERR_INVALID;
}

static void test_truncated(const struct memdev *base)
{
	int errors = 0, bad = 0;
	for (uint64_t len = 0; len < 20000; len += 37) {
		struct memdev m;
		memdev_clone(&m, base);
		m.io.size = len;
		m.io.read_only = 1;
		int err = exercise(&m);
		errors += err != 0;
		if (!clear_error(err)) {
			printf("truncated at %llu: %s\n",
			       (unsigned long long)len, efs_strerror(err));
			bad++;
		}
		memdev_free(&m);
	}
	CHECK_INT(bad, 0);
	CHECK(errors > 100);
}

static void test_bit_flips(const struct memdev *base)
{
	uint64_t seed = 42;
	int bad = 0, noticed = 0;
	/* Where the metadata lives: the header, umbra's sector, the used
	 * table entries, and the records after the journal. */
	struct efs *fs;
	struct efs_space sp;
	CHECK_INT(efs_mount((struct efs_io *)&base->io, &fs), 0);
	CHECK_INT(efs_space(fs, &sp), 0);
	uint64_t rec0 = fs->jnl_off + fs->jnl_size, rec1 = sp.used;
	efs_unmount(fs);
	for (int i = 0; i < 3000; i++) {
		struct memdev m;
		memdev_clone(&m, base);
		m.io.read_only = 1;
		uint64_t r = memdev_rand(&seed), at;
		switch (r % 4) {
		case 0: at = r / 4 % 65; break;
		case 1: at = 512 + r / 4 % 40; break;
		case 2: at = 4096 + r / 4 % 64; break;
		default: at = rec0 + r / 4 % (rec1 - rec0); break;
		}
		m.data[at] ^= (uint8_t)(1 << (memdev_rand(&seed) % 8));
		int err = exercise(&m);
		noticed += err != 0;
		if (!clear_error(err)) {
			printf("flip at %llu: %s\n", (unsigned long long)at,
			       efs_strerror(err));
			bad++;
		}
		memdev_free(&m);
	}
	CHECK_INT(bad, 0);
	CHECK(noticed > 50);
}

/* Record and entry positions of the base image, found through the
 * library's own view. */
static uint64_t rec_of(struct memdev *m, const char *path)
{
	struct efs *fs;
	uint32_t ino;
	struct efs_node nd;
	uint64_t at = 0;
	if (efs_mount(&m->io, &fs))
		return 0;
	if (!efs_lookup(fs, path, 0, &ino) && !efs_node_get(fs, ino, &nd))
		at = nd.rec;
	efs_unmount(fs);
	return at;
}

/* Each damage gives a clear error where the damage is, and a write
 * attempt changes no byte of the image. */
static void expect_damage(const struct memdev *base, const char *what,
			  void (*damage)(struct memdev *), int want)
{
	struct memdev m;
	memdev_clone(&m, base);
	damage(&m);
	int err = exercise(&m);
	if (err != want)
		printf("%s: got %s, want %s\n", what, efs_strerror(err),
		       efs_strerror(want));
	CHECK_INT(err, want);
	uint8_t *before = malloc(m.size);
	memcpy(before, m.data, m.size);
	struct efs *fs;
	if (!efs_mount(&m.io, &fs)) {
		uint32_t ino;
		int e = efs_create(fs, "/new", 0644, &ino);
		if (!e)
			printf("%s: a change was accepted\n", what);
		CHECK(e != 0);
		/* compaction refuses too (fsck names the damage) */
		CHECK(efs_compact(fs, 0) != 0);
		efs_unmount(fs);
	}
	CHECK(!memcmp(before, m.data, m.size));
	free(before);
	memdev_free(&m);
}

static uint64_t dirents_of(struct memdev *m, const char *path)
{
	return rec_of(m, path) + V_DATA;
}

static void dmg_magic(struct memdev *m) { m->data[0] = 'X'; }
static void dmg_version(struct memdev *m) { m->data[11] = 3; }
static void dmg_zero_inodes(struct memdev *m) { efs_st32(m->data + 29, 0); }
static void dmg_table_size(struct memdev *m)
{
	efs_st64(m->data + 21, efs_ld64(m->data + 21) + 4);
}
static void dmg_table_off(struct memdev *m)
{
	efs_st64(m->data + 13, 1ull << 40);
}
static void dmg_rel(struct memdev *m)	/* /etc's entry points far away */
{
	efs_st32(m->data + 4096 + 8 * 1 + 4, 0xfffffff0u);
}
static void dmg_rec_inode(struct memdev *m)
{
	efs_st32(m->data + rec_of(m, "/etc/motd"), 77);
}
static void dmg_rec_size(struct memdev *m)
{
	efs_st32(m->data + rec_of(m, "/etc/motd") + 4, 0xffffffffu);
}
static void dmg_tlv_len(struct memdev *m)	/* MODE claims 4 GiB */
{
	efs_st32(m->data + rec_of(m, "/etc/motd") + 15 + 2, 0xfffffff0u);
}
static void dmg_kind(struct memdev *m)
{
	m->data[rec_of(m, "/etc/motd") + V_TYPE] = 7;
}
static void dmg_size(struct memdev *m)	/* SIZE != CONTENT length */
{
	efs_st64(m->data + rec_of(m, "/etc/motd") + V_SIZE, 5);
}
static void dmg_name_len(struct memdev *m)
{
	efs_st32(m->data + dirents_of(m, "/etc"), 0x7fffffffu);
}
static void dmg_child_zero(struct memdev *m)
{
	efs_st32(m->data + dirents_of(m, "/etc") + 4, 0);
}
static void dmg_child_range(struct memdev *m)
{
	efs_st32(m->data + dirents_of(m, "/etc") + 4, 0xfffffu);
}
static void dmg_cycle(struct memdev *m)	/* /etc/motd names /etc again */
{
	uint64_t e = dirents_of(m, "/etc");
	efs_st32(m->data + e + 4, efs_ld32(m->data + dirents_of(m, "/") + 4));
}
static void dmg_root_child(struct memdev *m)	/* an entry naming / */
{
	efs_st32(m->data + dirents_of(m, "/etc") + 4, EFS_ROOT);
}
static void dmg_dup(struct memdev *m)	/* /bin: "sh" becomes "bu"... */
{
	/* Rename the two-letter entry "sh" to match nothing else, then make
	 * the root's "bin" and "etc" collide: both 3 letters. */
	uint64_t e = dirents_of(m, "/");
	for (int i = 0; i < 4; i++) {
		uint32_t nl = efs_ld32(m->data + e);
		if (nl == 3 && !memcmp(m->data + e + 8, "etc", 3)) {
			memcpy(m->data + e + 8, "bin", 3);
			return;
		}
		e += 8 + nl;
	}
}
/* The root's "empty" names /etc's inode: /etc has two parents. */
static void dmg_second_parent(struct memdev *m)
{
	uint64_t e = dirents_of(m, "/"), etc = 0, empty = 0;
	for (int i = 0; i < 3; i++) {
		uint32_t nl = efs_ld32(m->data + e);
		if (nl == 3 && !memcmp(m->data + e + 8, "etc", 3))
			etc = e;
		if (nl == 5 && !memcmp(m->data + e + 8, "empty", 5))
			empty = e;
		e += 8 + nl;
	}
	efs_st32(m->data + empty + 4, efs_ld32(m->data + etc + 4));
}
/* Table entry 4 says inode 77 (the strict loader refuses it). */
static void dmg_entry_field(struct memdev *m)
{
	efs_st32(m->data + 4096 + 3 * 8, 77);
}
/* /etc/motd's GID tag becomes an unknown tag: a base tag is missing. */
static void dmg_no_gid(struct memdev *m)
{
	efs_st16(m->data + rec_of(m, "/etc/motd") + V_GID - TLV_HDR, 0x00ff);
}
static void dmg_bad_utf8(struct memdev *m)
{
	m->data[dirents_of(m, "/etc") + 8] = 0xff;
}
static void dmg_slash(struct memdev *m)
{
	m->data[dirents_of(m, "/etc") + 8] = '/';
}
static void dmg_root_kind(struct memdev *m)
{
	m->data[rec_of(m, "/") + V_TYPE] = EFS_FILE;
}
static void dmg_link_target(struct memdev *m)	/* NUL inside the target */
{
	m->data[rec_of(m, "/bin/sh") + V_DATA + 2] = 0;
}

static void test_damage(const struct memdev *base)
{
	expect_damage(base, "magic", dmg_magic, EFS_ERR_NOT_EFS);
	expect_damage(base, "version", dmg_version, EFS_ERR_VERSION);
	expect_damage(base, "zero inodes", dmg_zero_inodes, EFS_ERR_CORRUPT);
	expect_damage(base, "table size", dmg_table_size, EFS_ERR_CORRUPT);
	expect_damage(base, "table offset", dmg_table_off, EFS_ERR_CORRUPT);
	expect_damage(base, "rel offset", dmg_rel, EFS_ERR_CORRUPT);
	expect_damage(base, "record inode", dmg_rec_inode, EFS_ERR_CORRUPT);
	expect_damage(base, "record size", dmg_rec_size, EFS_ERR_CORRUPT);
	expect_damage(base, "TLV length", dmg_tlv_len, EFS_ERR_CORRUPT);
	expect_damage(base, "kind", dmg_kind, EFS_ERR_CORRUPT);
	expect_damage(base, "SIZE", dmg_size, EFS_ERR_CORRUPT);
	expect_damage(base, "name length", dmg_name_len, EFS_ERR_CORRUPT);
	expect_damage(base, "child 0", dmg_child_zero, EFS_ERR_CORRUPT);
	expect_damage(base, "child range", dmg_child_range, EFS_ERR_CORRUPT);
	expect_damage(base, "cycle", dmg_cycle, EFS_ERR_LOOP);
	expect_damage(base, "root named", dmg_root_child, EFS_ERR_LOOP);
	expect_damage(base, "duplicate", dmg_dup, EFS_ERR_CORRUPT);
	expect_damage(base, "UTF-8", dmg_bad_utf8, EFS_ERR_CORRUPT);
	expect_damage(base, "slash", dmg_slash, EFS_ERR_CORRUPT);
	expect_damage(base, "root kind", dmg_root_kind, EFS_ERR_CORRUPT);
	expect_damage(base, "link target", dmg_link_target, EFS_ERR_CORRUPT);
	expect_damage(base, "second parent", dmg_second_parent, EFS_ERR_CORRUPT);
	expect_damage(base, "entry field", dmg_entry_field, EFS_ERR_CORRUPT);
	expect_damage(base, "no GID", dmg_no_gid, EFS_ERR_CORRUPT);
}

/* What fsck --repair can fix, it fixes; what was good survives. */
static void expect_repair(const struct memdev *base, const char *what,
			  void (*damage)(struct memdev *), const char *keep)
{
	struct memdev m;
	struct efs_fsck_result r;
	memdev_clone(&m, base);
	damage(&m);
	CHECK_INT(efs_fsck(&m.io, 1, 0, 0, &r), 0);
	CHECK(r.repaired > 0);
	CHECK_INT(efs_fsck(&m.io, 0, 0, 0, &r), 0);
	if (r.errors)
		printf("%s: %u errors left after repair\n", what, r.errors);
	CHECK_INT(r.errors, 0);
	struct efs *fs;
	uint32_t ino;
	char why[128] = "";
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_lookup(fs, keep, 1, &ino), 0);
	/* Clean means writable again, and valid for the original readers. */
	int e = efs_create(fs, "/after-repair", 0644, &ino);
	if (e)
		printf("%s: after repair: %s\n", what, efs_strerror(e));
	CHECK_INT(e, 0);
	CHECK_INT(efs_unmount(fs), 0);
	int w = original_rules(m.data, m.size, why, sizeof(why));
	if (w < 0)
		printf("%s: after repair: %s\n", what, why);
	CHECK_INT(w, 8);
	memdev_free(&m);
}

static void test_repair(const struct memdev *base)
{
	expect_repair(base, "cycle", dmg_cycle, "/bin/busybox");
	expect_repair(base, "root named", dmg_root_child, "/bin/busybox");
	expect_repair(base, "kind", dmg_kind, "/bin/sh");
	expect_repair(base, "child range", dmg_child_range, "/bin/sh");
	expect_repair(base, "duplicate", dmg_dup, "/empty");
	/* An unreachable file lands in /lost+found. */
	expect_repair(base, "unlinked", dmg_child_zero, "/bin/sh");
	/* The later name goes; /etc keeps its children. */
	expect_repair(base, "second parent", dmg_second_parent, "/etc/motd");
	expect_repair(base, "entry field", dmg_entry_field, "/bin/sh");
	expect_repair(base, "no GID", dmg_no_gid, "/etc/motd");
}

/* The journal's place (a mount tells). */
static void journal_of(struct memdev *m, uint64_t *off, uint32_t *bs)
{
	struct efs *fs;
	*off = 0;
	*bs = 512;
	if (efs_mount(&m->io, &fs))
		return;
	*off = fs->jnl_off;
	*bs = fs->bs;
	efs_unmount(fs);
}

/* A committed entry (good CRC, a newer generation) of one block at
 * address a, whose image is the block as it is, passed to edit (NULL:
 * 0x5a bytes). */
static void forge_block(struct memdev *m, uint64_t a,
			void (*edit)(uint8_t *blk, uint32_t bs, uint64_t a))
{
	uint64_t j;
	uint32_t bs;
	journal_of(m, &j, &bs);
	uint8_t *e = m->data + j;
	memset(e, 0, 2 * bs);
	memcpy(e, "UMBRAJNL", 8);
	efs_st64(e + 8, 9);
	efs_st32(e + 16, 1);
	efs_st32(e + 20, bs);
	efs_st64(e + 32, a);
	if (edit && a + bs <= m->size) {
		memcpy(e + bs, m->data + a, bs);
		edit(e + bs, bs, a);
	} else {
		memset(e + bs, 0x5a, bs);	/* the block's image */
	}
	uint32_t crc = efs_crc32(0, e, 24);
	efs_st32(e + 24, efs_crc32(crc, e + 32, 2 * bs - 32));
}

static void forge_entry(struct memdev *m, uint64_t a)
{
	forge_block(m, a, 0);
}

/* Mounted read-only as it was, saying why; a change refused; fsck says
 * it; fsck --repair fixes it; then clean and writable. */
static void expect_notice(const struct memdev *base, const char *what,
			  void (*damage)(struct memdev *), const char *says)
{
	struct memdev m;
	struct efs *fs;
	struct efs_fsck_result r;
	uint32_t ino;
	uint64_t d0, d1;
	memdev_clone(&m, base);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(tree_digest(fs, &d0), 0);
	efs_unmount(fs);
	damage(&m);
	uint8_t *before = malloc(m.size);
	memcpy(before, m.data, m.size);
	int err = efs_mount(&m.io, &fs);
	CHECK_INT(err, 0);
	if (err) {
		printf("%s: mount: %s\n", what, efs_strerror(err));
		CHECK(!memcmp(before, m.data, m.size));	/* nothing written */
		free(before);
		memdev_free(&m);
		return;
	}
	const char *n = efs_notice(fs);
	if (!strstr(n, says))
		printf("%s: notice \"%s\"\n", what, n);
	CHECK(strstr(n, says) != 0);
	CHECK_INT(tree_digest(fs, &d1), 0);
	CHECK(d0 == d1);
	CHECK_INT(efs_create(fs, "/x", 0644, &ino), EFS_ERR_READ_ONLY);
	efs_unmount(fs);
	CHECK(!memcmp(before, m.data, m.size));	/* nothing written */
	CHECK_INT(efs_fsck(&m.io, 0, 0, 0, &r), 0);
	CHECK(r.errors > 0);
	CHECK(!memcmp(before, m.data, m.size));
	CHECK_INT(efs_fsck(&m.io, 1, 0, 0, &r), 0);
	CHECK(r.repaired > 0);
	CHECK_INT(efs_fsck(&m.io, 0, 0, 0, &r), 0);
	CHECK_INT(r.errors, 0);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_STR(efs_notice(fs), "");
	CHECK_INT(tree_digest(fs, &d1), 0);
	CHECK(d0 == d1);
	CHECK_INT(efs_create(fs, "/x", 0644, &ino), 0);
	CHECK_INT(efs_unmount(fs), 0);
	free(before);
	memdev_free(&m);
}

static void jnl_outside(struct memdev *m) { forge_entry(m, 1ull << 40); }
static void jnl_in_ext(struct memdev *m) { forge_entry(m, 512); }
static void jnl_in_journal(struct memdev *m)
{
	uint64_t j;
	uint32_t bs;
	journal_of(m, &j, &bs);
	forge_entry(m, j + 4 * bs);
}
/* Entries whose blocks are whole and in place, but whose replay would
 * leave no volume to mount: block 0 of zeros (the header gone), a header
 * whose table lies past the device, a root record that is no record. */
static void zeros(uint8_t *blk, uint32_t bs, uint64_t a)
{
	(void)a;
	memset(blk, 0, bs);
}
static void far_table(uint8_t *blk, uint32_t bs, uint64_t a)
{
	(void)bs;
	(void)a;
	efs_st64(blk + 13, 1ull << 40);
}
static uint64_t root_at;
static void root_gone(uint8_t *blk, uint32_t bs, uint64_t a)
{
	memset(blk + (root_at - a), 0xee, bs - (root_at - a) < 16
						? bs - (root_at - a) : 16);
}
static void jnl_header(struct memdev *m) { forge_block(m, 0, zeros); }
static void jnl_table(struct memdev *m) { forge_block(m, 0, far_table); }
static void jnl_root(struct memdev *m)
{
	uint32_t bs;
	uint64_t j;
	journal_of(m, &j, &bs);
	root_at = rec_of(m, "/");
	forge_block(m, root_at / bs * bs, root_gone);
}
static void ext_crc(struct memdev *m) { m->data[512 + 100] ^= 1; }
static void ext_far(struct memdev *m)	/* journal past the device */
{
	uint8_t *x = m->data + 512;
	efs_st64(x + 16, m->size + (1 << 20));
	efs_st32(x + 508, efs_crc32(0, x, 508));
}

static void test_notices(const struct memdev *base)
{
	expect_notice(base, "entry outside", jnl_outside, "outside the volume");
	expect_notice(base, "entry in ext", jnl_in_ext, "umbra sector");
	expect_notice(base, "entry in journal", jnl_in_journal,
		      "inside the journal");
	expect_notice(base, "entry for the header", jnl_header,
		      "would leave the volume unmountable");
	expect_notice(base, "entry for the table", jnl_table,
		      "would leave the volume unmountable");
	expect_notice(base, "entry for the root", jnl_root,
		      "would leave the volume unmountable");
	expect_notice(base, "sector CRC", ext_crc, "bad CRC");
	expect_notice(base, "journal far", ext_far, "outside the node area");
}

/* A device shorter than the volume: said first, then what it hides. */
static void report(void *ctx, const char *line)
{
	int *n = ctx;
	if ((*n)++ == 0 && !strstr(line, "truncated"))
		printf("first fsck line: %s\n", line);
	CHECK(*n > 1 || strstr(line, "truncated") != 0);
}

static void test_short_device(const struct memdev *base)
{
	struct memdev m;
	struct efs *fs;
	struct efs_fsck_result r;
	int lines = 0;
	memdev_clone(&m, base);
	m.io.size = 300 << 10;
	m.io.read_only = 1;
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK(strstr(efs_notice(fs), "truncated") != 0);
	efs_unmount(fs);
	CHECK_INT(efs_fsck(&m.io, 0, report, &lines, &r), 0);
	CHECK(r.errors > 0);
	memdev_free(&m);
	/* A plain image, no umbra sector: the records tell. */
	memdev_init(&m, 64 << 10);
	struct efs_build_opts plain = { .plain = 1 };
	CHECK_INT(build_ab(&m.io, &plain, 0, 0, 0), 0);
	m.io.size = 4096 + 24 + 111 + 60;	/* the last record cut off */
	m.io.read_only = 1;
	lines = 0;
	CHECK_INT(efs_fsck(&m.io, 0, report, &lines, &r), 0);
	CHECK(r.errors > 0);
	CHECK(lines >= 2);
	memdev_free(&m);
}

/* fsck's lines, gathered. */
struct lines {
	char text[8192];
	int n;
};

static void collect(void *ctx, const char *line)
{
	struct lines *l = ctx;
	size_t have = strlen(l->text);
	snprintf(l->text + have, sizeof(l->text) - have, "%s\n", line);
	l->n++;
}

static int two_files(void *ctx, uint32_t ino, uint64_t off, void *buf,
		     size_t len)
{
	(void)ctx;
	memcpy(buf, (ino == 2 ? "one\n" : "two\n") + off, len);
	return 0;
}

/* A plain volume with three slots, none free (as mkfs --plain makes from
 * two files), whose entry "b" names the first file's inode, on a device
 * of dev bytes. */
static void make_renamed_twice(struct memdev *m, uint64_t dev)
{
	struct efs_build_opts plain = { .plain = 1 };
	memdev_init(m, dev);
	CHECK_INT(build_ab(&m->io, &plain, 4, 4, two_files), 0);
	/* root's record follows the table; entry "a" is 9 bytes */
	efs_st32(m->data + 4096 + 3 * 8 + V_DATA + 9 + 4, 2);
}

/* The orphan this leaves must go to a new /lost+found, and making that
 * directory grows the full table: fsck's per-inode arrays must follow
 * the new count (ASan watches), the new directory is no orphan of its
 * own, and one repair leaves a volume the next fsck finds clean. */
static void test_repair_grows_table(void)
{
	struct memdev m;
	struct efs_fsck_result r;
	struct lines l = { "", 0 };
	make_renamed_twice(&m, 1 << 20);
	CHECK_INT(efs_fsck(&m.io, 1, collect, &l, &r), 0);
	CHECK(strstr(l.text, "inode 3: unreachable file") != 0);
	CHECK(strstr(l.text, "unreachable directory") == 0);
	CHECK(strstr(l.text, "repair failed") == 0);
	if (r.errors)
		printf("renamed twice: after repair:\n%s", l.text);
	CHECK_INT(r.errors, 0);
	CHECK(r.repaired >= 2);
	CHECK(r.nodes > 3);
	CHECK_INT(r.free_slots, r.nodes - 4);

	struct efs *fs;
	uint32_t ino, lf = 0;
	char got[8];
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_lookup(fs, "/a", 1, &ino), 0);
	CHECK_INT(efs_read(fs, ino, 0, got, sizeof(got)), 4);
	CHECK(!memcmp(got, "one\n", 4));
	CHECK_INT(efs_lookup(fs, "/b", 1, &ino), EFS_ERR_NOT_FOUND);
	CHECK_INT(efs_lookup(fs, "/lost+found/#3", 1, &ino), 0);
	CHECK_INT(efs_read(fs, ino, 0, got, sizeof(got)), 4);
	CHECK(!memcmp(got, "two\n", 4));
	CHECK_INT(efs_lookup(fs, "/lost+found", 1, &lf), 0);
	struct efs_dir *d;
	struct efs_dirent e;
	int n = 0;
	if (!efs_opendir(fs, lf, &d)) {
		while (efs_readdir(d, &e) > 0)
			n++;
		efs_closedir(d);
	}
	CHECK_INT(n, 1);	/* #3 only, not itself */
	CHECK_INT(efs_unmount(fs), 0);

	/* Nothing left for a second repair, or a check. */
	l.text[0] = 0;
	CHECK_INT(efs_fsck(&m.io, 1, collect, &l, &r), 0);
	CHECK_INT(r.errors, 0);
	CHECK_INT(r.repaired, 0);
	CHECK_INT(efs_fsck(&m.io, 0, 0, 0, &r), 0);
	CHECK_INT(r.errors, 0);
	char why[128] = "";
	CHECK_INT(original_rules(m.data, m.size, why, sizeof(why)), 8);
	memdev_free(&m);

	/* No free byte at all: the repair cannot be made, and says why. */
	make_renamed_twice(&m, 4096 + 3 * 8 + 135 + 2 * 121);
	uint8_t *before = malloc(m.size);
	memcpy(before, m.data, m.size);
	l.text[0] = 0;
	CHECK_INT(efs_fsck(&m.io, 1, collect, &l, &r), EFS_ERR_NO_SPACE);
	if (!strstr(l.text, "repair failed: no space left"))
		printf("full volume: fsck said:\n%s", l.text);
	CHECK(strstr(l.text, "repair failed: no space left") != 0);
	CHECK(r.errors > 0);
	CHECK(!memcmp(before, m.data, m.size));
	free(before);
	memdev_free(&m);
}

/* One record with an impossible size (a damaged size field, the device
 * whole): fsck names the record and does not call the volume truncated;
 * --repair restores the size the record's canonical tags give, keeps the
 * file, and says the volume is clean exactly when the next fsck agrees. */
static void size_huge(struct memdev *m)
{
	efs_st32(m->data + rec_of(m, "/etc/motd") + 4, 0xfffffff0u);
}
static void size_small(struct memdev *m)
{
	efs_st32(m->data + rec_of(m, "/etc/motd") + 4, 20);
}
static void size_and_tag(struct memdev *m)	/* nothing tells the size */
{
	uint64_t r = rec_of(m, "/etc/motd");
	efs_st32(m->data + r + 4, 0xfffffff0u);
	efs_st16(m->data + r + BASE_RECORD, 0x00ff);
}

static void expect_size_repair(const struct memdev *base, const char *what,
			       void (*damage)(struct memdev *), int kept)
{
	struct memdev m;
	struct efs_fsck_result r;
	struct lines l = { "", 0 };
	memdev_clone(&m, base);
	struct efs *fs;
	uint32_t ino = 0;
	char got[8], want[64];
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &ino), 0);
	efs_unmount(fs);
	snprintf(want, sizeof(want), "inode %u: its record's size", ino);
	damage(&m);
	CHECK_INT(efs_fsck(&m.io, 0, collect, &l, &r), 0);
	CHECK(r.errors > 0);
	int named = strstr(l.text, want) != 0;
	if (!named || strstr(l.text, "truncated"))
		printf("%s: fsck said:\n%s", what, l.text);
	CHECK(named);
	CHECK(strstr(l.text, "truncated") == 0);
	l.text[0] = 0;
	int err = efs_fsck(&m.io, 1, collect, &l, &r);
	CHECK_INT(err, 0);
	CHECK(r.repaired > 0);
	int left = r.errors;
	CHECK_INT(efs_fsck(&m.io, 0, 0, 0, &r), 0);
	if (left || r.errors)
		printf("%s: repair left %d, then %u:\n%s", what, left, r.errors,
		       l.text);
	CHECK_INT(left, 0);	/* --repair's verdict ... */
	CHECK_INT(r.errors, 0);	/* ... is the next fsck's */
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	if (kept) {
		CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &ino), 0);
		CHECK_INT(efs_read(fs, ino, 0, got, sizeof(got)), 6);
		CHECK(!memcmp(got, "hello\n", 6));
	} else {
		CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &ino),
			  EFS_ERR_NOT_FOUND);
	}
	CHECK_INT(efs_lookup(fs, "/bin/busybox", 1, &ino), 0);
	CHECK_INT(efs_create(fs, "/after-repair", 0644, &ino), 0);
	CHECK_INT(efs_unmount(fs), 0);
	memdev_free(&m);
}

static void test_record_size(const struct memdev *base)
{
	expect_size_repair(base, "huge size", size_huge, 1);
	expect_size_repair(base, "small size", size_small, 1);
	expect_size_repair(base, "size and data tag", size_and_tag, 0);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	struct memdev base;
	make_base(&base);
	CHECK_INT(exercise(&base), 0);
	RUN(test_truncated, &base);
	RUN(test_bit_flips, &base);
	RUN(test_damage, &base);
	RUN(test_repair, &base);
	RUN(test_notices, &base);
	RUN(test_short_device, &base);
	RUN(test_repair_grows_table);
	RUN(test_record_size, &base);
	memdev_free(&base);
	return check_done();
}
