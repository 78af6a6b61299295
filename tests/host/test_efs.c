/* EclipseFS: the worked examples byte for byte, reading them back, every
 * change against a model, names and limits, running out of space, and the
 * cost of an append. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../fs/efs_int.h"
#include "check.h"
#include "efs_util.h"
#include "efs_vectors.h"
#include "memdev.h"

#define T0 1640995200ull	/* the examples' timestamps */
#define MIB (1ull << 20)

struct content {
	const char *data[8];
};

static int content_cb(void *ctx, uint32_t ino, uint64_t off, void *buf,
		      size_t len)
{
	struct content *c = ctx;
	memcpy(buf, c->data[ino] + off, len);
	return 0;
}

static struct efs_build_node dir(uint32_t n, const struct efs_build_child *c)
{
	return (struct efs_build_node){ EFS_DIR, 040755, 0, 0, 2, T0, T0, T0,
					0, n, c };
}

static struct efs_build_node file(uint8_t kind, uint64_t size)
{
	return (struct efs_build_node){ kind, kind == EFS_FILE ? 0100644
							       : 0120777,
					0, 0, 1, T0, T0, T0, size, 0, 0 };
}

static int build_plain(struct memdev *m, uint32_t n,
		       const struct efs_build_node *nodes, struct content *c)
{
	struct efs_build_opts o = { .plain = 1 };
	memset(m->data, 0xaa, m->size);	/* to see what was written */
	return efs_build(&m->io, &o, n, nodes, content_cb, c);
}

/* The image is exactly the vector: header, zero fill, table, records,
 * and not a byte beyond. */
static void check_vector(struct memdev *m, unsigned len,
			 const unsigned char *hdr, const unsigned char *tail)
{
	CHECK(!memcmp(m->data, hdr, 33));
	int zero = 1;
	for (unsigned i = 33; i < 4096; i++)
		zero &= m->data[i] == 0;
	CHECK(zero);
	CHECK(!memcmp(m->data + 4096, tail, len - 4096));
	CHECK(m->data[len] == 0xaa);
}

static void test_examples(void)
{
	struct memdev m;
	struct content c = { { 0 } };
	memdev_init(&m, 64 << 10);

	/* §8.1: an empty root. */
	struct efs_build_node n1[] = { dir(0, 0) };
	CHECK_INT(build_plain(&m, 1, n1, &c), 0);
	check_vector(&m, ex1_len, ex1_hdr, ex1_tail);

	/* §8.2: /hello.txt, /etc, /etc/motd with inodes 1 /, 2 /etc,
	 * 3 /hello.txt, 4 /etc/motd; entries sorted by name. */
	struct efs_build_child root2[] = { { "etc", 2 }, { "hello.txt", 3 } };
	struct efs_build_child etc2[] = { { "motd", 4 } };
	c.data[3] = "hi\n";
	c.data[4] = "Welcome to Eclipse OS\n";
	struct efs_build_node n2[] = { dir(2, root2), dir(1, etc2),
				       file(EFS_FILE, 3), file(EFS_FILE, 22) };
	CHECK_INT(build_plain(&m, 4, n2, &c), 0);
	check_vector(&m, ex2_len, ex2_hdr, ex2_tail);

	/* Read it back. */
	struct efs *fs;
	uint32_t ino;
	char buf[64];
	m.io.size = ex2_len;	/* exactly the image, nothing after it */
	m.io.read_only = 1;
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &ino), 0);
	CHECK_INT(ino, 4);
	CHECK_INT(efs_read(fs, ino, 0, buf, sizeof(buf)), 22);
	CHECK(!memcmp(buf, "Welcome to Eclipse OS\n", 22));
	CHECK_INT(efs_read(fs, ino, 11, buf, 4), 4);
	CHECK(!memcmp(buf, "Ecli", 4));
	CHECK_INT(efs_read(fs, ino, 22, buf, 4), 0);
	CHECK_INT(efs_lookup(fs, "/hello.txt", 1, &ino), 0);
	struct efs_stat st;
	CHECK_INT(efs_stat(fs, ino, &st), 0);
	CHECK_INT(st.size, 3);
	CHECK_INT(st.mode, 0100644);
	CHECK_INT(st.mtime, T0);
	CHECK_INT(efs_lookup(fs, "/etc/../hello.txt", 1, &ino), 0);
	CHECK_INT(efs_lookup(fs, "/nope", 1, &ino), EFS_ERR_NOT_FOUND);
	CHECK_INT(efs_lookup(fs, "/hello.txt/x", 1, &ino), EFS_ERR_NOT_DIR);
	CHECK_INT(efs_create(fs, "/new", 0644, &ino), EFS_ERR_READ_ONLY);
	struct efs_dir *d;
	struct efs_dirent e;
	CHECK_INT(efs_opendir(fs, EFS_ROOT, &d), 0);
	CHECK_INT(efs_readdir(d, &e), 1);
	CHECK_STR(e.name, "etc");
	CHECK_INT(efs_readdir(d, &e), 1);
	CHECK_STR(e.name, "hello.txt");
	CHECK_INT(efs_readdir(d, &e), 0);
	efs_closedir(d);
	CHECK_INT(efs_unmount(fs), 0);
	m.io.read_only = 0;
	m.io.size = m.size;

	/* §8.3: /sh -> hello. */
	struct efs_build_child root3[] = { { "sh", 2 } };
	c.data[2] = "hello";
	struct efs_build_node n3[] = { dir(1, root3), file(EFS_SYMLINK, 5) };
	CHECK_INT(build_plain(&m, 2, n3, &c), 0);
	CHECK(m.data[4361] == 0xaa && m.data[4360] != 0xaa);
	CHECK_INT(efs_ld32(m.data + 4096 + 8 + 4), 127);	/* rel of 2 */
	CHECK_INT(efs_ld32(m.data + 4096 + 16 + 4), 127);	/* root size */
	CHECK_INT(efs_ld32(m.data + 4096 + 16 + 127 + 4), 122);
	CHECK(!memcmp(m.data + 4361 - 11,
		      "\x0a\x00\x05\x00\x00\x00hello", 11));
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_lookup(fs, "/sh", 0, &ino), 0);
	CHECK_INT(efs_readlink(fs, ino, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "hello");
	CHECK_INT(efs_lookup(fs, "/sh", 1, &ino), EFS_ERR_NOT_FOUND);
	efs_unmount(fs);

	/* §8.4: an empty file has no CONTENT tag. */
	struct efs_build_child root4[] = { { "empty", 2 } };
	struct efs_build_node n4[] = { dir(1, root4), file(EFS_FILE, 0) };
	CHECK_INT(build_plain(&m, 2, n4, &c), 0);
	CHECK(m.data[4353] == 0xaa && m.data[4352] != 0xaa);
	CHECK(!memcmp(m.data + 4096 + 16 + 111,
		      "\x0b\x00\x0d\x00\x00\x00\x05\x00\x00\x00\x02\x00\x00"
		      "\x00" "empty", 19));
	memdev_free(&m);
}

static struct efs *fresh(struct memdev *m, uint64_t size)
{
	struct efs *fs = 0;
	memdev_init(m, size);
	CHECK_INT(efs_format(&m->io, 0, m->now), 0);
	CHECK_INT(efs_mount(&m->io, &fs), 0);
	return fs;
}

static struct efs *remount(struct memdev *m, struct efs *fs)
{
	CHECK_INT(efs_unmount(fs), 0);
	CHECK_INT(efs_mount(&m->io, &fs), 0);
	return fs;
}

static int fsck_errors(struct memdev *m)
{
	struct efs_fsck_result r;
	int err = efs_fsck(&m->io, 0, 0, 0, &r);
	return err ? 1000 : (int)r.errors;
}

/* Example 2 with the late kernel's 16-byte table (format §5.3): u64
 * entries, every record 32 bytes further on. */
static void make_wide(struct memdev *m, uint64_t size)
{
	memdev_init(m, size);
	memcpy(m->data, ex2_hdr, 33);
	efs_st64(m->data + 21, 0x40);
	for (int i = 0; i < 4; i++) {
		efs_st64(m->data + 4096 + 16 * i, (uint64_t)i + 1);
		efs_st64(m->data + 4096 + 16 * i + 8,
			 efs_ld32(ex2_tail + 8 * i + 4));
	}
	memcpy(m->data + 4096 + 64, ex2_tail + 32, ex2_len - 4096 - 32);
}

static void expect_rules(struct memdev *m, int width)
{
	char why[128] = "";
	int w = original_rules(m->data, m->size, why, sizeof(why));
	if (w != width)
		printf("original readers' rules: %s\n", why);
	CHECK_INT(w, width);
}

/* 16-byte tables are read, and written keeping their width (the late
 * kernel made them and reads them); efs_copy writes 8-byte ones. */
static void test_wide_table(void)
{
	struct memdev m;
	struct efs *fs;
	uint32_t ino;
	char buf[32];
	make_wide(&m, 1 * MIB);
	expect_rules(&m, 16);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &ino), 0);
	CHECK_INT(efs_read(fs, ino, 0, buf, sizeof(buf)), 22);
	/* The table is full: it grows, still 16 bytes wide. */
	CHECK_INT(efs_create(fs, "/x", 0644, &ino), 0);
	CHECK_INT(efs_write(fs, ino, 0, "wide", 4), 4);
	CHECK_INT(efs_unlink(fs, "/hello.txt"), 0);
	CHECK_INT(efs_mkdir(fs, "/etc/more", 0755), 0);
	struct efs_space sp;
	CHECK_INT(efs_space(fs, &sp), 0);
	CHECK_INT(sp.entry_width, 16);
	CHECK(sp.slots > 4);
	fs = remount(&m, fs);
	CHECK_INT(efs_lookup(fs, "/x", 1, &ino), 0);
	CHECK_INT(efs_read(fs, ino, 0, buf, sizeof(buf)), 4);
	CHECK(!memcmp(buf, "wide", 4));
	CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &ino), 0);
	CHECK_INT(efs_read(fs, ino, 0, buf, sizeof(buf)), 22);
	CHECK_INT(efs_unmount(fs), 0);
	CHECK_INT(fsck_errors(&m), 0);
	expect_rules(&m, 16);
	/* efs_copy writes it back with 8-byte entries. */
	struct memdev c;
	struct efs_build_opts more = { .slots = 16 };
	memdev_init(&c, 1 * MIB);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_copy(fs, &c.io, &more), 0);
	efs_unmount(fs);
	CHECK_INT(efs_mount(&c.io, &fs), 0);
	CHECK_INT(efs_space(fs, &sp), 0);
	CHECK_INT(sp.entry_width, 8);
	CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &ino), 0);
	CHECK_INT(efs_read(fs, ino, 0, buf, sizeof(buf)), 22);
	efs_unmount(fs);
	expect_rules(&c, 8);
	memdev_free(&c);
	memdev_free(&m);
}

/* A plain image made by the original tools, its table full: the first
 * change adds the journal after the records and the table grows; the
 * image stays what the original readers accept. */
static void test_upgrade(void)
{
	struct memdev m;
	struct efs *fs;
	uint32_t ino;
	memdev_init(&m, 1 * MIB);
	memcpy(m.data, ex2_hdr, 33);
	memcpy(m.data + 4096, ex2_tail, ex2_len - 4096);
	expect_rules(&m, 8);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_create(fs, "/new", 0644, &ino), 0);
	CHECK_INT(ino, 5);
	CHECK_INT(efs_write(fs, ino, 0, "fresh", 5), 5);
	CHECK_INT(efs_mkdir(fs, "/out", 0755), 0);
	CHECK_INT(efs_unmount(fs), 0);
	/* The header's fields but the table's size and count are as they
	 * were; umbra's sector is there. */
	CHECK(!memcmp(m.data, ex2_hdr, 21));
	CHECK_INT(efs_ld64(m.data + 21), 8 * efs_ld32(m.data + 29));
	CHECK(efs_ld32(m.data + 29) > 4);
	CHECK(!memcmp(m.data + 512, "UMBRAEFS", 8));
	expect_rules(&m, 8);
	struct efs_fsck_result r;
	CHECK_INT(efs_fsck(&m.io, 0, 0, 0, &r), 0);
	CHECK_INT(r.errors, 0);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	char buf[8];
	CHECK_INT(efs_lookup(fs, "/new", 1, &ino), 0);
	CHECK_INT(efs_read(fs, ino, 0, buf, 8), 5);
	CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &ino), 0);
	CHECK_INT(efs_read(fs, ino, 0, buf, 8), 8);
	CHECK(!memcmp(buf, "Welcome ", 8));
	efs_unmount(fs);
	memdev_free(&m);
}

/* An image from the original tools with a full table takes 1000 new
 * files (the table grows several times, on 512- and 4096-byte sectors);
 * it passes fsck and the original readers' rules, every file intact. */
static void test_table_growth(void)
{
	for (int big = 0; big < 2; big++) {
		struct memdev m;
		struct efs *fs;
		uint32_t ino;
		char path[32], buf[32];
		memdev_init(&m, 8 * MIB);
		m.sector = m.io.block_size = big ? 4096 : 512;
		memcpy(m.data, ex2_hdr, 33);
		memcpy(m.data + 4096, ex2_tail, ex2_len - 4096);
		CHECK_INT(efs_mount(&m.io, &fs), 0);
		int bad = 0;
		for (int i = 0; i < 1000; i++) {
			snprintf(path, sizeof(path), "/etc/f%d", i);
			bad += efs_create(fs, path, 0644, &ino) != 0;
			bad += efs_write(fs, ino, 0, path, strlen(path)) < 0;
			if (i % 250 == 249)
				fs = remount(&m, fs);
		}
		CHECK_INT(bad, 0);
		CHECK_INT(efs_unmount(fs), 0);
		CHECK_INT(fsck_errors(&m), 0);
		expect_rules(&m, 8);
		CHECK_INT(efs_mount(&m.io, &fs), 0);
		for (int i = 0; i < 1000; i += 37) {
			snprintf(path, sizeof(path), "/etc/f%d", i);
			memset(buf, 0, sizeof(buf));
			CHECK_INT(efs_lookup(fs, path, 1, &ino), 0);
			CHECK_INT(efs_read(fs, ino, 0, buf, sizeof(buf)),
				  strlen(path));
			CHECK_STR(buf, path);
		}
		CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &ino), 0);
		CHECK_INT(efs_read(fs, ino, 0, buf, 22), 22);
		CHECK(!memcmp(buf, "Welcome to Eclipse OS\n", 22));
		efs_unmount(fs);
		memdev_free(&m);
	}
}

/* Every record canonical: what the original readers expect (format §7.4
 * item 6), whatever changes were made. */
static int all_canonical(struct efs *fs)
{
	for (uint32_t i = 1; i <= fs->n; i++) {
		struct efs_node nd;
		if (efs_node_get(fs, i, &nd) || !nd.canonical)
			return 0;
	}
	return 1;
}

static void test_changes(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 8 * MIB);
	uint32_t a, b;
	struct efs_stat st;
	char buf[600];

	CHECK_INT(efs_mkdir(fs, "/etc", 0755), 0);
	CHECK_INT(efs_create(fs, "/etc/motd", 0640, &a), 0);
	CHECK_INT(efs_create(fs, "/etc/motd", 0640, &b), EFS_ERR_EXISTS);
	CHECK_INT(efs_write(fs, a, 0, "hello world", 11), 11);
	CHECK_INT(efs_write(fs, a, 6, "there", 5), 5);
	CHECK_INT(efs_read(fs, a, 0, buf, sizeof(buf)), 11);
	CHECK(!memcmp(buf, "hello there", 11));
	/* Writing past the end leaves zeros in the gap. */
	CHECK_INT(efs_write(fs, a, 20, "!", 1), 1);
	CHECK_INT(efs_read(fs, a, 0, buf, sizeof(buf)), 21);
	CHECK(buf[11] == 0 && buf[19] == 0 && buf[20] == '!');
	CHECK_INT(efs_append(fs, a, "?", 1), 1);
	CHECK_INT(efs_stat(fs, a, &st), 0);
	CHECK_INT(st.size, 22);
	CHECK_INT(st.mode, 0100640);
	CHECK_INT(efs_truncate(fs, a, 5), 0);
	CHECK_INT(efs_read(fs, a, 0, buf, sizeof(buf)), 5);
	CHECK_INT(efs_truncate(fs, a, 0), 0);
	CHECK_INT(efs_read(fs, a, 0, buf, sizeof(buf)), 0);
	CHECK_INT(efs_truncate(fs, a, 1000), 0);
	CHECK_INT(efs_read(fs, a, 0, buf, sizeof(buf)), 600);
	CHECK(buf[0] == 0 && buf[599] == 0);
	CHECK_INT(efs_chmod(fs, a, 0755), 0);
	CHECK_INT(efs_chown(fs, a, 7, 8), 0);
	CHECK_INT(efs_set_times(fs, a, 100, 200), 0);
	CHECK_INT(efs_stat(fs, a, &st), 0);
	CHECK_INT(st.mode, 0100755);
	CHECK_INT(st.uid, 7);
	CHECK_INT(st.gid, 8);
	CHECK_INT(st.atime, 100);
	CHECK_INT(st.mtime, 200);

	CHECK_INT(efs_symlink(fs, "etc/motd", "/m"), 0);
	CHECK_INT(efs_lookup(fs, "/m", 1, &b), 0);
	CHECK_INT(b, a);
	CHECK_INT(efs_symlink(fs, "/loop", "/loop"), 0);
	CHECK_INT(efs_lookup(fs, "/loop", 1, &b), EFS_ERR_LOOP);

	/* Directories: rmdir only when empty, not files; unlink not dirs. */
	CHECK_INT(efs_rmdir(fs, "/etc"), EFS_ERR_NOT_EMPTY);
	CHECK_INT(efs_unlink(fs, "/etc"), EFS_ERR_IS_DIR);
	CHECK_INT(efs_rmdir(fs, "/m"), EFS_ERR_NOT_DIR);
	CHECK_INT(efs_rmdir(fs, "/"), EFS_ERR_INVALID);

	/* Rename: across directories, replacing a file, into itself. */
	CHECK_INT(efs_mkdir(fs, "/var", 0755), 0);
	CHECK_INT(efs_rename(fs, "/etc/motd", "/var/motd"), 0);
	CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &b), EFS_ERR_NOT_FOUND);
	CHECK_INT(efs_lookup(fs, "/var/motd", 1, &b), 0);
	CHECK_INT(b, a);
	CHECK_INT(efs_create(fs, "/var/other", 0644, &b), 0);
	CHECK_INT(efs_rename(fs, "/var/other", "/var/motd"), 0);
	CHECK_INT(efs_lookup(fs, "/var/motd", 1, &a), 0);
	CHECK_INT(a, b);
	CHECK_INT(efs_rename(fs, "/var", "/var/inside"), EFS_ERR_INVALID);
	CHECK_INT(efs_rename(fs, "/var/motd", "/etc"), EFS_ERR_IS_DIR);
	CHECK_INT(efs_rename(fs, "/var", "/etc"), 0);	/* empty dir: replace */
	CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &a), 0);

	fs = remount(&m, fs);
	CHECK_INT(efs_lookup(fs, "/etc/motd", 1, &a), 0);
	CHECK_INT(efs_lookup(fs, "/m", 1, &b), 0);
	CHECK_INT(a, b);
	CHECK(all_canonical(fs));
	CHECK_INT(efs_unmount(fs), 0);
	CHECK_INT(fsck_errors(&m), 0);
	memdev_free(&m);
}

static void test_names(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 1 * MIB);
	uint32_t ino;
	char longname[300] = "/";
	memset(longname + 1, 'x', 256);
	CHECK_INT(efs_create(fs, "/", 0644, &ino), EFS_ERR_INVALID);
	CHECK_INT(efs_create(fs, "/.", 0644, &ino), EFS_ERR_INVALID);
	CHECK_INT(efs_create(fs, "/..", 0644, &ino), EFS_ERR_INVALID);
	CHECK_INT(efs_create(fs, "relative", 0644, &ino), EFS_ERR_INVALID);
	CHECK_INT(efs_create(fs, "/bad\xff", 0644, &ino), EFS_ERR_NAME);
	CHECK_INT(efs_create(fs, "/over\xc0\xaf", 0644, &ino), EFS_ERR_NAME);
	CHECK_INT(efs_create(fs, longname, 0644, &ino), EFS_ERR_NAME);
	longname[256] = 0;
	CHECK_INT(efs_create(fs, longname, 0644, &ino), 0);
	CHECK_INT(efs_create(fs, "/caf\xc3\xa9 \xf0\x9f\x98\x80", 0644, &ino), 0);
	CHECK_INT(efs_create(fs, "/no/parent", 0644, &ino), EFS_ERR_NOT_FOUND);
	CHECK_INT(efs_create(fs, "/trailing/", 0644, &ino), 0);
	CHECK_INT(efs_lookup(fs, "/trailing", 1, &ino), 0);
	efs_unmount(fs);
	CHECK_INT(fsck_errors(&m), 0);
	memdev_free(&m);
}

/* Files of several MiB, rewritten in the middle, appended to, moved. */
static void test_big(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 40 * MIB);
	uint32_t ino;
	size_t n = 5 * MIB + 123;
	uint8_t *want = malloc(n), *got = malloc(n);
	for (size_t i = 0; i < n; i++)
		want[i] = (uint8_t)(i * 7 + i / 511);
	CHECK_INT(efs_create(fs, "/big", 0644, &ino), 0);
	CHECK_INT(efs_write(fs, ino, 0, want, n), (int64_t)n);
	memset(want + 1000000, 0x5a, 3000);
	CHECK_INT(efs_write(fs, ino, 1000000, want + 1000000, 3000), 3000);
	fs = remount(&m, fs);
	CHECK_INT(efs_read(fs, ino, 0, got, n), (int64_t)n);
	CHECK(!memcmp(got, want, n));
	CHECK_INT(efs_unmount(fs), 0);
	CHECK_INT(fsck_errors(&m), 0);
	free(want);
	free(got);
	memdev_free(&m);
}

/* Appending 1 KiB to a 64 MiB file writes about 1 KiB and a few
 * journal blocks, not the file (fs/README.md, constraint 4). */
static void test_append_cost(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 200 * MIB);
	uint32_t ino;
	size_t n = 64 * MIB;
	uint8_t *buf = calloc(1, n);
	CHECK_INT(efs_create(fs, "/log", 0644, &ino), 0);
	CHECK_INT(efs_write(fs, ino, 0, buf, n), (int64_t)n);
	CHECK_INT(efs_sync(fs), 0);
	/* The first append may move the record (its slack); then it has
	 * room: measure the next ones. */
	CHECK_INT(efs_append(fs, ino, buf, 1024), 1024);
	CHECK_INT(efs_sync(fs), 0);
	uint64_t before = m.bytes_written;
	CHECK_INT(efs_append(fs, ino, buf, 1024), 1024);
	CHECK_INT(efs_sync(fs), 0);
	uint64_t cost = m.bytes_written - before;
	printf("append 1 KiB to a 64 MiB file: %llu bytes written\n",
	       (unsigned long long)cost);
	CHECK(cost < 16 * 1024);
	efs_unmount(fs);
	free(buf);
	memdev_free(&m);
}

/* Writes files /f1, /f2... of len bytes of buf until the volume says
 * something; returns that, *files how many were made, *ino the last. */
static int fill(struct efs *fs, const void *buf, size_t len, int *files,
		uint32_t *ino)
{
	char name[32];
	int err = 0;
	*files = 0;
	while (!err && *files < 1000) {
		snprintf(name, sizeof(name), "/f%d", *files + 1);
		err = efs_create(fs, name, 0644, ino);
		if (!err) {
			++*files;
			int64_t w = efs_write(fs, *ino, 0, buf, len);
			err = w < 0 ? (int)w : 0;
		}
	}
	return err;
}

/* A full volume: a clear error, nothing changed by the failed call,
 * everything before it intact. */
static void test_no_space(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 2 * MIB);
	uint32_t ino;
	static uint8_t buf[64 << 10];
	int files;
	CHECK_INT(efs_create(fs, "/keep", 0644, &ino), 0);
	CHECK_INT(efs_write(fs, ino, 0, "precious", 8), 8);
	CHECK_INT(efs_sync(fs), 0);
	CHECK_INT(fill(fs, buf, sizeof(buf), &files, &ino), EFS_ERR_NO_SPACE);
	uint64_t before;
	CHECK_INT(tree_digest(fs, &before), 0);
	int64_t w = efs_write(fs, ino, 0, buf, sizeof(buf) * 4);
	CHECK_INT(w, EFS_ERR_NO_SPACE);
	uint64_t after;
	CHECK_INT(tree_digest(fs, &after), 0);
	CHECK(before == after);
	struct efs_space sp;
	CHECK_INT(efs_space(fs, &sp), 0);
	CHECK(sp.free < sizeof(buf) * 4);
	/* Room comes back when files go. */
	CHECK_INT(efs_unlink(fs, "/f1"), 0);
	fs = remount(&m, fs);
	CHECK_INT(efs_lookup(fs, "/keep", 1, &ino), 0);
	char got[8];
	CHECK_INT(efs_read(fs, ino, 0, got, 8), 8);
	CHECK(!memcmp(got, "precious", 8));
	CHECK(files > 10);
	efs_unmount(fs);
	CHECK_INT(fsck_errors(&m), 0);
	memdev_free(&m);
}

/* 8 MB free in two pieces of 4 MB around a placeholder (two 4,000,000
 * byte files made back to back and deleted: each leaves its placeholder
 * where it began), and a 4 MiB file written as the HTTP server (256 KiB
 * at a time), the host tool (1 MiB) and a program (at once) write it:
 * the free space holds it, so it must go in without a compaction by hand.
 * The planner empties the window it needs, moving the placeholder and,
 * when it lies in the way, the growing file itself (found by trying: a
 * 4 MiB PUT answered 507 with 8 MB free). */
static void make_two_pieces(struct memdev *m, uint64_t a, uint64_t b)
{
	struct efs *fs;
	struct efs_build_opts o = { .slots = 16, .journal_size = 96 << 10 };
	uint64_t end = 0;
	/* Built once to learn where the records end, then on a device
	 * that ends 4 KiB later. */
	memdev_init(m, 3 * a);
	CHECK_INT(build_ab(&m->io, &o, a, b, 0), 0);
	CHECK_INT(efs_mount(&m->io, &fs), 0);
	struct efs_space sp;
	CHECK_INT(efs_space(fs, &sp), 0);
	end = m->size - sp.largest;
	efs_unmount(fs);
	memdev_free(m);
	memdev_init(m, end + 4096);
	CHECK_INT(build_ab(&m->io, &o, a, b, 0), 0);
	CHECK_INT(efs_mount(&m->io, &fs), 0);
	CHECK_INT(efs_unlink(fs, "/a"), 0);
	CHECK_INT(efs_unlink(fs, "/b"), 0);
	CHECK_INT(efs_unmount(fs), 0);
}

static void test_two_pieces(void)
{
	static uint8_t buf[4 << 20];
	static const struct {
		uint64_t a, b, chunk;
	} cases[] = {
		{ 4000000, 4000000, 256 << 10 }, { 3990000, 4000000, 256 << 10 },
		{ 4000000, 3990000, 256 << 10 }, { 4000000, 4000000, 1 << 20 },
		{ 4100000, 4000000, 1 << 20 }, { 4000000, 4000000, 64 << 10 },
		{ 4000000, 4000000, 4 << 20 },
	};
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + i / 4096);
	for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
		struct memdev m;
		struct efs *fs;
		struct efs_space sp;
		uint32_t ino;
		make_two_pieces(&m, cases[t].a, cases[t].b);
		CHECK_INT(efs_mount(&m.io, &fs), 0);
		CHECK_INT(efs_space(fs, &sp), 0);
		CHECK(sp.free > 2 * sizeof(buf) - (400 << 10));
		CHECK(sp.largest < sizeof(buf) + V_DATA);	/* no piece holds it */
		CHECK_INT(efs_create(fs, "/c", 0644, &ino), 0);
		int64_t r = 0;
		for (uint64_t off = 0; off < sizeof(buf) && r >= 0;
		     off += cases[t].chunk)
			r = efs_write(fs, ino, off, buf + off, cases[t].chunk);
		if (r < 0)
			printf("two pieces %llu/%llu, %llu at a time: %s\n",
			       (unsigned long long)cases[t].a,
			       (unsigned long long)cases[t].b,
			       (unsigned long long)cases[t].chunk,
			       efs_strerror((int)r));
		CHECK_INT(r, (int64_t)cases[t].chunk);
		fs = remount(&m, fs);
		CHECK_INT(efs_lookup(fs, "/c", 1, &ino), 0);
		static uint8_t back[sizeof(buf)];
		CHECK_INT(efs_read(fs, ino, 0, back, sizeof(back)),
			  (int64_t)sizeof(back));
		CHECK(!memcmp(back, buf, sizeof(buf)));
		CHECK_INT(efs_unmount(fs), 0);
		CHECK_INT(fsck_errors(&m), 0);
		memdev_free(&m);
	}
}

/* A change by inode number to a slot another operation freed (a PUT's
 * file deleted under it) is refused, clearly, and writes nothing: no
 * unreachable record is left for fsck to find (found by trying: an
 * upload went on into its deleted file's slot). */
static void test_freed_slot(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 1 * MIB);
	uint32_t ino, other;
	static uint8_t big[200 << 10];
	CHECK_INT(efs_create(fs, "/up", 0644, &ino), 0);
	CHECK_INT(efs_write(fs, ino, 0, "first", 5), 5);
	CHECK_INT(efs_create(fs, "/other", 0644, &other), 0);
	for (int synced = 0; synced < 2; synced++) {
		CHECK_INT(efs_unlink(fs, "/up"), 0);
		if (synced)
			CHECK_INT(efs_sync(fs), 0);
		uint64_t before, after;
		struct efs_space sp0, sp1;
		CHECK_INT(tree_digest(fs, &before), 0);
		CHECK_INT(efs_space(fs, &sp0), 0);
		CHECK_INT(efs_write(fs, ino, 0, big, sizeof(big)),
			  EFS_ERR_NOT_FOUND);
		CHECK_INT(efs_write(fs, ino, 5, "x", 1), EFS_ERR_NOT_FOUND);
		CHECK_INT(efs_append(fs, ino, "x", 1), EFS_ERR_NOT_FOUND);
		CHECK_INT(efs_truncate(fs, ino, 10), EFS_ERR_NOT_FOUND);
		CHECK_INT(efs_chmod(fs, ino, 0600), EFS_ERR_NOT_FOUND);
		CHECK_INT(efs_chown(fs, ino, 1, 1), EFS_ERR_NOT_FOUND);
		CHECK_INT(efs_set_times(fs, ino, 1, 1), EFS_ERR_NOT_FOUND);
		CHECK_INT(efs_write(fs, 0, 0, "x", 1), EFS_ERR_INVALID);
		CHECK_INT(efs_write(fs, 1u << 30, 0, "x", 1), EFS_ERR_INVALID);
		CHECK_INT(tree_digest(fs, &after), 0);
		CHECK(before == after);
		CHECK_INT(efs_space(fs, &sp1), 0);
		CHECK_INT(sp1.free_slots, sp0.free_slots);
		CHECK_INT(sp1.free + sp1.pending, sp0.free + sp0.pending);
		/* the volume goes on */
		CHECK_INT(efs_write(fs, other, 0, "ok", 2), 2);
		CHECK_INT(efs_create(fs, "/up", 0644, &ino), 0);
	}
	efs_unmount(fs);
	CHECK_INT(fsck_errors(&m), 0);
	memdev_free(&m);
}

/* A full volume can always be emptied, in the same mount, and what a
 * delete frees is usable at once (found by trying: a full 1 MiB volume
 * said "no space" to rm, and to a write after a reboot). */
static void test_full_volume(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 1 * MIB);
	uint32_t ino;
	static uint8_t buf[8 << 10];
	char name[32];
	int files;
	memset(buf, 'f', sizeof(buf));
	CHECK_INT(fill(fs, buf, sizeof(buf), &files, &ino), EFS_ERR_NO_SPACE);
	CHECK(files > 50);
	/* The same mount: a delete works, and its space is there for a new
	 * file of the same size. */
	CHECK_INT(efs_unlink(fs, "/f1"), 0);
	CHECK_INT(efs_create(fs, "/again", 0644, &ino), 0);
	CHECK_INT(efs_write(fs, ino, 0, buf, sizeof(buf)), sizeof(buf));
	/* Every file can go, one by one, without a sync in between. */
	int bad = 0;
	for (int i = 2; i <= files; i++) {
		snprintf(name, sizeof(name), "/f%d", i);
		bad += efs_unlink(fs, name) != 0;
	}
	CHECK_INT(bad, 0);
	fs = remount(&m, fs);
	struct efs_space sp;
	CHECK_INT(efs_space(fs, &sp), 0);
	CHECK(sp.free > 700 << 10);
	CHECK_INT(efs_create(fs, "/big", 0644, &ino), 0);
	static uint8_t more[512 << 10];
	CHECK_INT(efs_write(fs, ino, 0, more, sizeof(more)), sizeof(more));
	efs_unmount(fs);
	CHECK_INT(fsck_errors(&m), 0);
	memdev_free(&m);
}

/* The format's limits: u32 offsets. */
static void test_limits(void)
{
	struct memdev m;
	memdev_init(&m, 1 * MIB);
	struct efs_build_node n[] = { dir(0, 0), file(EFS_FILE, 0xffffff00ull) };
	struct efs_build_child c[] = { { "huge", 2 } };
	n[0] = dir(1, c);
	CHECK_INT(efs_build(&m.io, 0, 2, n, content_cb, 0), EFS_ERR_TOO_BIG);
	struct efs_build_child dup[] = { { "a", 2 }, { "a", 2 } };
	n[0] = dir(2, dup);
	n[1] = file(EFS_FILE, 0);
	CHECK_INT(efs_build(&m.io, 0, 2, n, content_cb, 0), EFS_ERR_NAME);
	struct efs_build_child slash[] = { { "a/b", 2 } };
	n[0] = dir(1, slash);
	CHECK_INT(efs_build(&m.io, 0, 2, n, content_cb, 0), EFS_ERR_NAME);
	memdev_free(&m);
}

/* A random workload, checked against a fresh mount after every sync and
 * against fsck at the end: the model is the digest before unmount. */
static void test_random(void)
{
	for (uint64_t seed0 = 1; seed0 <= 6; seed0++) {
		struct memdev m;
		struct efs *fs = fresh(&m, 24 * MIB);
		uint64_t seed = seed0 * 0x1234567ull;
		int ok = 0, bad = 0;
		for (int i = 0; i < 400; i++) {
			const char *kind;
			int err = workload_step(fs, &seed, &kind);
			ok += err == 0;
			/* Refusals are fine; damage or a lost device is not. */
			if (err == EFS_ERR_CORRUPT || err == EFS_ERR_IO ||
			    err == EFS_ERR_NO_MEMORY || err == EFS_ERR_TOO_BIG) {
				bad++;
				printf("seed %llu step %d %s: %s\n",
				       (unsigned long long)seed0, i, kind,
				       efs_strerror(err));
			}
			if (i % 50 == 49) {
				uint64_t d1, d2;
				CHECK_INT(tree_digest(fs, &d1), 0);
				fs = remount(&m, fs);
				CHECK_INT(tree_digest(fs, &d2), 0);
				CHECK(d1 == d2);
			}
		}
		CHECK(ok > 50);
		CHECK_INT(bad, 0);
		CHECK(all_canonical(fs));
		efs_unmount(fs);
		CHECK_INT(fsck_errors(&m), 0);
		/* compact keeps the tree and drops the garbage */
		struct memdev c2;
		memdev_init(&c2, m.size);
		CHECK_INT(efs_mount(&m.io, &fs), 0);
		uint64_t d1, d2;
		CHECK_INT(tree_digest(fs, &d1), 0);
		CHECK_INT(efs_copy(fs, &c2.io, 0), 0);
		efs_unmount(fs);
		CHECK_INT(efs_mount(&c2.io, &fs), 0);
		CHECK_INT(tree_digest(fs, &d2), 0);
		CHECK(d1 == d2);
		struct efs_space sp;
		CHECK_INT(efs_space(fs, &sp), 0);
		CHECK_INT(sp.pending, 0);
		efs_unmount(fs);
		CHECK_INT(fsck_errors(&c2), 0);
		memdev_free(&c2);
		memdev_free(&m);
	}
}

/* A read error is reported, not a crash; the volume reads again after. */
static void test_read_errors(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 1 * MIB);
	uint32_t ino;
	CHECK_INT(efs_create(fs, "/f", 0644, &ino), 0);
	CHECK_INT(efs_write(fs, ino, 0, "data", 4), 4);
	efs_unmount(fs);
	int failures = 0;
	for (long n = 0; n < 40; n++) {
		m.fail_read_at = n;
		m.reads = 0;
		int err = efs_mount(&m.io, &fs);
		if (!err) {
			char b[4];
			err = efs_lookup(fs, "/f", 1, &ino);
			if (!err)
				err = efs_read(fs, ino, 0, b, 4) == 4 ? 0 : -1;
			efs_unmount(fs);
		}
		failures += err != 0;
		CHECK(err == 0 || err == EFS_ERR_IO);
	}
	CHECK(failures > 0);
	m.fail_read_at = -1;
	CHECK_INT(fsck_errors(&m), 0);
	memdev_free(&m);
}

/* 3000 one-byte files in one directory, the volume remounted every 100
 * (as separate runs of the host tool would): adding an entry appends to
 * the directory, so the space used stays what the files need. */
static void test_dir_appends(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 64 * MIB);
	struct efs_space before, after;
	uint32_t ino;
	char path[32];
	int bad = 0;
	CHECK_INT(efs_mkdir(fs, "/d", 0755), 0);
	CHECK_INT(efs_sync(fs), 0);
	CHECK_INT(efs_space(fs, &before), 0);
	uint64_t written = m.bytes_written;
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "/d/file%05d", i);
		bad += efs_create(fs, path, 0644, &ino) != 0;
		bad += efs_write(fs, ino, 0, "x", 1) != 1;
		if (i % 100 == 99)
			fs = remount(&m, fs);
	}
	CHECK_INT(bad, 0);
	CHECK_INT(efs_sync(fs), 0);
	CHECK_INT(efs_space(fs, &after), 0);
	uint64_t grew = after.used - before.used;
	uint64_t wrote = m.bytes_written - written;
	printf("3000 files in one directory: %llu KiB more used, %llu KiB "
	       "written\n", (unsigned long long)(grew >> 10),
	       (unsigned long long)(wrote >> 10));
	/* The records (112 bytes each, some slack) and the entries. */
	CHECK(grew < 3000 * 1024);
	CHECK_INT(after.pending, 0);
	efs_unmount(fs);
	CHECK_INT(fsck_errors(&m), 0);
	memdev_free(&m);
}

/* 100,000 entries in one directory: creating them costs about the same
 * per entry at the end as at the start, and so do lookups (an index, not
 * a scan of the directory each time). */
static void test_huge_dir(void)
{
	struct memdev m;
	struct efs_build_opts o = { .slots = 100100 };
	struct efs *fs;
	uint32_t ino;
	char path[32];
	int bad = 0;
	memdev_init(&m, 256 * MIB);
	CHECK_INT(efs_format(&m.io, &o, m.now), 0);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	clock_t t[3];
	for (int i = 0; i < 100000; i++) {
		if (i == 0 || i == 90000)
			t[i ? 1 : 0] = clock();
		snprintf(path, sizeof(path), "/n%06d", i);
		bad += efs_create(fs, path, 0644, &ino) != 0;
	}
	t[2] = clock();
	CHECK_INT(bad, 0);
	/* The last 10,000 creates against the first 90,000: not slower per
	 * entry than 4 times the average (a scan would be 10 times). */
	double first = (double)(t[1] - t[0]) / 90000;
	double last = (double)(t[2] - t[1]) / 10000;
	printf("100,000 entries: %.1f us per create at the start, %.1f at "
	       "the end\n", first * 1e6 / CLOCKS_PER_SEC,
	       last * 1e6 / CLOCKS_PER_SEC);
	CHECK(last < 4 * first);
	fs = remount(&m, fs);
	clock_t l0 = clock();
	for (int i = 0; i < 100000; i += 7) {
		snprintf(path, sizeof(path), "/n%06d", i);
		bad += efs_lookup(fs, path, 1, &ino) != 0;
	}
	CHECK_INT(bad, 0);
	double per = (double)(clock() - l0) / (100000 / 7);
	printf("lookups: %.1f us each\n", per * 1e6 / CLOCKS_PER_SEC);
	CHECK(per * 1e6 / CLOCKS_PER_SEC < 200);
	CHECK_INT(efs_unmount(fs), 0);
	memdev_free(&m);
}

/* An image (as another writer may make it) whose root holds one file
 * named by `len` bytes of 'n', holding "hi". */
static void long_name_image(struct memdev *m, uint32_t len)
{
	uint8_t *d = m->data;
	uint32_t root = V_DATA + 8 + len;
	memcpy(d, ex1_hdr, 33);
	efs_st64(d + 21, 16);
	efs_st32(d + 29, 2);
	efs_st32(d + 4096, 1);
	efs_st32(d + 4104, 2);
	efs_st32(d + 4108, root);
	struct efs_node r = { .ino = 1, .kind = EFS_DIR, .mode = 040755,
			      .nlink = 2, .rec_size = root, .data_len = 8 + len };
	uint8_t *p = d + 4112;
	p += efs_node_encode(&r, p);
	efs_st32(p, len);
	efs_st32(p + 4, 2);
	memset(p + 8, 'n', len);
	struct efs_node f = { .ino = 2, .kind = EFS_FILE, .mode = 0100644,
			      .nlink = 1, .size = 2, .rec_size = V_DATA + 2,
			      .data_len = 2 };
	p = d + 4112 + root;
	p += efs_node_encode(&f, p);
	memcpy(p, "hi", 2);
}

/* Names longer than 255 bytes, which the format allows, are listed,
 * looked up, read and removed; umbra does not write new ones. */
static void test_long_names(void)
{
	struct memdev m;
	struct efs *fs;
	struct efs_dir *d;
	struct efs_dirent e;
	uint32_t ino;
	char path[1100] = "/", buf[4];
	memdev_init(&m, 1 * MIB);
	long_name_image(&m, 1000);
	memset(path + 1, 'n', 1000);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_opendir(fs, EFS_ROOT, &d), 0);
	CHECK_INT(efs_readdir(d, &e), 1);
	CHECK_INT(strlen(e.name), 1000);
	CHECK_INT(e.ino, 2);
	efs_closedir(d);
	CHECK_INT(efs_lookup(fs, path, 1, &ino), 0);
	CHECK_INT(efs_read(fs, ino, 0, buf, sizeof(buf)), 2);
	CHECK(!memcmp(buf, "hi", 2));
	/* umbra writes names of at most 255 bytes */
	strcpy(path + 1, "x");
	memset(path + 1, 'x', 256);
	path[257] = 0;
	CHECK_INT(efs_create(fs, path, 0644, &ino), EFS_ERR_NAME);
	memset(path + 1, 'n', 1000);
	path[1001] = 0;
	CHECK_INT(efs_rename(fs, "/nope", path), EFS_ERR_NAME);
	CHECK_INT(efs_rename(fs, path, "/short"), 0);
	CHECK_INT(efs_lookup(fs, "/short", 1, &ino), 0);
	CHECK_INT(efs_unlink(fs, "/short"), 0);
	CHECK_INT(efs_unmount(fs), 0);
	CHECK_INT(fsck_errors(&m), 0);
	memdev_free(&m);
	/* Past 4095 bytes (more than a path holds): a corrupt directory. */
	memdev_init(&m, 1 * MIB);
	long_name_image(&m, 5000);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_opendir(fs, EFS_ROOT, &d), EFS_ERR_CORRUPT);
	efs_unmount(fs);
	memdev_free(&m);
}

/* A small file is read once: its bytes come with its record into the
 * cache, and reading them does not go back to the device. */
static void test_small_read(void)
{
	struct memdev m;
	struct efs *fs = fresh(&m, 1 * MIB);
	uint32_t ino;
	char b[16];
	CHECK_INT(efs_create(fs, "/s", 0644, &ino), 0);
	CHECK_INT(efs_write(fs, ino, 0, "small file", 10), 10);
	fs = remount(&m, fs);
	CHECK_INT(efs_lookup(fs, "/s", 1, &ino), 0);
	long reads = m.reads;
	CHECK_INT(efs_read(fs, ino, 0, b, sizeof(b)), 10);
	CHECK(!memcmp(b, "small file", 10));
	CHECK_INT(m.reads, reads);
	efs_unmount(fs);
	memdev_free(&m);
}

/* The text both the host tool and the shell print for `stat`. */
static void test_stat_text(void)
{
	struct efs_stat st = { 12, EFS_SYMLINK, 0120777, 1, 2, 1, 5, 7, 8, 9 };
	char out[512], small[20];
	const char *want = "path: /l\ninode: 12\nkind: symlink\nmode: 120777\n"
			   "uid: 1\ngid: 2\nnlink: 1\nsize: 5\natime: 7\n"
			   "mtime: 8\nctime: 9\n";
	CHECK_INT(efs_stat_text("/l", &st, out, sizeof(out)), strlen(want));
	CHECK_STR(out, want);
	CHECK_INT(efs_stat_text("/l", &st, small, sizeof(small)), strlen(want));
	CHECK_INT(strlen(small), sizeof(small) - 1);
	CHECK(!strncmp(small, want, sizeof(small) - 1));
	st.kind = 9;	/* never trusted as an index */
	st.mode = 0644;
	efs_stat_text("/x", &st, out, sizeof(out));
	CHECK(strstr(out, "kind: ?\nmode: 000644\n") != 0);
}

/* The device's own error reaches the caller unchanged: a timeout is a
 * timeout, a failed device a failed device, in mount, read, write and
 * sync; a failed commit stops writes with the same code. */
static void test_device_errors(void)
{
	static const int codes[] = { EFS_ERR_TIMEOUT, EFS_ERR_DEVICE,
				     EFS_ERR_IO };
	for (int i = 0; i < 3; i++) {
		int code = codes[i];
		struct memdev m;
		struct efs *fs = fresh(&m, 1 * MIB);
		uint32_t ino;
		char b[4];
		static uint8_t big[64 << 10];
		m.fail_code = code;
		CHECK_INT(efs_create(fs, "/f", 0644, &ino), 0);
		CHECK_INT(efs_write(fs, ino, 0, big, sizeof(big)), sizeof(big));
		CHECK_INT(efs_write(fs, ino, 0, "data", 4), 4);
		CHECK_INT(efs_unmount(fs), 0);

		m.fail_read_at = 0;
		m.reads = 0;
		CHECK_INT(efs_mount(&m.io, &fs), code);
		m.fail_read_at = -1;
		CHECK_INT(efs_mount(&m.io, &fs), 0);
		CHECK_INT(efs_lookup(fs, "/f", 1, &ino), 0);
		m.fail_read_at = m.reads;	/* the next read: the data */
		CHECK_INT(efs_read(fs, ino, 40000, b, 4), code);
		m.fail_read_at = -1;
		CHECK_INT(efs_read(fs, ino, 40000, b, 4), 4);

		m.fail_write_at = m.writes;	/* the new version's bytes */
		CHECK_INT(efs_write(fs, ino, 4, "more", 4), code);
		/* a change broke off half-way: no more writes, same code */
		CHECK_INT(efs_write(fs, ino, 0, "x", 1), code);
		CHECK_INT(efs_sync(fs), code);
		efs_unmount(fs);

		CHECK_INT(efs_mount(&m.io, &fs), 0);
		CHECK_INT(efs_write(fs, ino, 0, "DATA", 4), 4);
		m.fail_sync_at = m.syncs;
		CHECK_INT(efs_sync(fs), code);
		CHECK_INT(efs_sync(fs), code);
		efs_unmount(fs);
		/* Nothing synced was lost. */
		CHECK_INT(efs_mount(&m.io, &fs), 0);
		CHECK_INT(efs_read(fs, ino, 0, b, 4), 4);
		CHECK(!memcmp(b, "data", 4) || !memcmp(b, "DATA", 4));
		efs_unmount(fs);
		CHECK_INT(fsck_errors(&m), 0);
		memdev_free(&m);
	}
	/* Any other nonzero value from a callback is an I/O error. */
	CHECK_INT(efs_io_result(-77), EFS_ERR_IO);
	CHECK_INT(efs_io_result(1), EFS_ERR_IO);
	CHECK_INT(efs_io_result(EFS_ERR_TIMEOUT), EFS_ERR_TIMEOUT);
	CHECK_STR(efs_strerror(EFS_ERR_TIMEOUT),
		  "the device did not answer in time");
	CHECK_STR(efs_strerror(EFS_ERR_DEVICE), "the device failed");
}

/* The storage's gate (efs_io.gate: the guest agent's fsfreeze). After
 * efs_quiesce no journal entry is live, so a copy of the device mounts
 * as it is and is clean; while the gate refuses, every change returns
 * EFS_ERR_FROZEN and not a byte is written or flushed, reads and a sync
 * with nothing to do go on; once it opens, changes go on. */
static int gate_closed;
static long gate_asked;

static int gate_fn(void *ctx)
{
	(void)ctx;
	gate_asked++;
	return gate_closed ? EFS_ERR_FROZEN : 0;
}

static void test_gate(void)
{
	struct memdev m, snap;
	struct efs *fs = 0, *s = 0;
	uint32_t a, b;
	char buf[16];
	memdev_init(&m, 8 * MIB);
	CHECK_INT(efs_format(&m.io, 0, m.now), 0);
	m.io.gate = gate_fn;
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	CHECK_INT(efs_mkdir(fs, "/d", 0755), 0);
	CHECK_INT(efs_create(fs, "/d/f", 0644, &a), 0);
	CHECK_INT(efs_write(fs, a, 0, "before", 6), 6);
	CHECK(gate_asked > 0);
	CHECK_INT(efs_quiesce(fs), 0);
	CHECK(!fs->entry_live && !fs->ndirty && !fs->direct_pending);
	memdev_clone(&snap, &m);
	CHECK_INT(fsck_errors(&snap), 0);
	snap.io.read_only = 1;
	CHECK_INT(efs_mount(&snap.io, &s), 0);
	CHECK_INT(efs_lookup(s, "/d/f", 1, &b), 0);
	CHECK_INT(efs_read(s, b, 0, buf, sizeof(buf)), 6);
	CHECK(!memcmp(buf, "before", 6));
	efs_unmount(s);
	memdev_free(&snap);

	gate_closed = 1;
	long writes = m.writes, syncs = m.syncs;
	struct efs_compact_result cr;
	CHECK_INT(efs_create(fs, "/g", 0644, &b), EFS_ERR_FROZEN);
	CHECK_INT(efs_mkdir(fs, "/e", 0755), EFS_ERR_FROZEN);
	CHECK_INT(efs_symlink(fs, "d", "/l"), EFS_ERR_FROZEN);
	CHECK_INT(efs_write(fs, a, 0, "after", 5), EFS_ERR_FROZEN);
	CHECK_INT(efs_append(fs, a, "!", 1), EFS_ERR_FROZEN);
	CHECK_INT(efs_truncate(fs, a, 1), EFS_ERR_FROZEN);
	CHECK_INT(efs_chmod(fs, a, 0600), EFS_ERR_FROZEN);
	CHECK_INT(efs_chown(fs, a, 1, 1), EFS_ERR_FROZEN);
	CHECK_INT(efs_set_times(fs, a, 1, 1), EFS_ERR_FROZEN);
	CHECK_INT(efs_rename(fs, "/d/f", "/f"), EFS_ERR_FROZEN);
	CHECK_INT(efs_unlink(fs, "/d/f"), EFS_ERR_FROZEN);
	CHECK_INT(efs_rmdir(fs, "/d"), EFS_ERR_FROZEN);
	CHECK_INT(efs_grow_slots(fs, 4096), EFS_ERR_FROZEN);
	CHECK_INT(efs_compact(fs, &cr), EFS_ERR_FROZEN);
	CHECK_INT(efs_sync(fs), 0);
	CHECK_INT(efs_quiesce(fs), 0);
	CHECK_INT(efs_read(fs, a, 0, buf, sizeof(buf)), 6);
	CHECK_INT(m.writes, writes);
	CHECK_INT(m.syncs, syncs);
	CHECK(!fs->failed);

	gate_closed = 0;
	CHECK_INT(efs_write(fs, a, 0, "after!", 6), 6);
	fs = remount(&m, fs);
	CHECK_INT(efs_lookup(fs, "/d/f", 1, &a), 0);
	CHECK_INT(efs_read(fs, a, 0, buf, sizeof(buf)), 6);
	CHECK(!memcmp(buf, "after!", 6));
	CHECK_INT(efs_unmount(fs), 0);
	CHECK_INT(fsck_errors(&m), 0);
	memdev_free(&m);
}

/* The cause of a change that broke off reaches its caller as it was, and
 * every later change gets the same one: a timeout, a failed device, no
 * memory for the request (the block layer's bounce buffer), an I/O error;
 * in a file's write, a commit, a compaction and a table growth. */
static void expect_cause(struct memdev *m, struct efs *fs, int code,
			 const char *what, int got)
{
	uint32_t ino;
	if (got != code)
		printf("%s: %s, want %s\n", what, efs_strerror(got),
		       efs_strerror(code));
	CHECK_INT(got, code);
	CHECK_INT(efs_create(fs, "/later", 0644, &ino), code);
	CHECK_INT(efs_sync(fs), code);
	m->fail_write_at = m->fail_sync_at = -1;
	efs_unmount(fs);
	CHECK_INT(fsck_errors(m), 0);
}

static void test_causes(void)
{
	static const int codes[] = { EFS_ERR_TIMEOUT, EFS_ERR_DEVICE,
				     EFS_ERR_NO_MEMORY, EFS_ERR_IO };
	static uint8_t buf[8 << 10];
	for (int i = 0; i < 4; i++) {
		int code = codes[i];
		struct memdev m;
		struct efs *fs = fresh(&m, 2 * MIB);
		uint32_t ino;
		char name[16];
		m.fail_code = code;
		/* a write that relocates the file: its new bytes fail */
		CHECK_INT(efs_create(fs, "/f", 0644, &ino), 0);
		CHECK_INT(efs_sync(fs), 0);
		m.fail_write_at = m.writes;
		expect_cause(&m, fs, code, "write",
			     (int)efs_write(fs, ino, 0, buf, sizeof(buf)));

		/* a commit: its flush fails */
		CHECK_INT(efs_mount(&m.io, &fs), 0);
		CHECK_INT(efs_write(fs, ino, 0, buf, 100), 100);
		m.fail_sync_at = m.syncs;
		expect_cause(&m, fs, code, "sync", efs_sync(fs));

		/* a compaction: its first copy fails */
		CHECK_INT(efs_mount(&m.io, &fs), 0);
		for (int k = 0; k < 40; k++) {
			snprintf(name, sizeof(name), "/c%d", k);
			CHECK_INT(efs_create(fs, name, 0644, &ino), 0);
			CHECK_INT(efs_write(fs, ino, 0, buf, sizeof(buf)),
				  sizeof(buf));
		}
		for (int k = 0; k < 40; k += 2) {
			snprintf(name, sizeof(name), "/c%d", k);
			CHECK_INT(efs_unlink(fs, name), 0);
		}
		CHECK_INT(efs_sync(fs), 0);
		m.fail_write_at = m.writes;
		expect_cause(&m, fs, code, "compact", efs_compact(fs, 0));
		memdev_free(&m);

		/* a table growth: 8 slots, the ninth file moves the journal */
		struct efs_build_opts o = { .slots = 8 };
		memdev_init(&m, 2 * MIB);
		m.fail_code = code;
		CHECK_INT(efs_format(&m.io, &o, m.now), 0);
		CHECK_INT(efs_mount(&m.io, &fs), 0);
		int k = 0, err = 0;
		for (; !err && k < 7; k++) {
			snprintf(name, sizeof(name), "/g%d", k);
			err = efs_create(fs, name, 0644, &ino);
		}
		CHECK_INT(err, 0);
		CHECK_INT(efs_sync(fs), 0);
		m.fail_write_at = m.writes;
		expect_cause(&m, fs, code, "table growth",
			     efs_create(fs, "/g-more", 0644, &ino));
		memdev_free(&m);
	}
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	RUN(test_examples);
	RUN(test_wide_table);
	RUN(test_upgrade);
	RUN(test_table_growth);
	RUN(test_changes);
	RUN(test_names);
	RUN(test_big);
	RUN(test_append_cost);
	RUN(test_no_space);
	RUN(test_two_pieces);
	RUN(test_freed_slot);
	RUN(test_full_volume);
	RUN(test_limits);
	RUN(test_random);
	RUN(test_read_errors);
	RUN(test_device_errors);
	RUN(test_causes);
	RUN(test_stat_text);
	RUN(test_small_read);
	RUN(test_long_names);
	RUN(test_dir_appends);
	RUN(test_huge_dir);
	RUN(test_gate);
	return check_done();
}
