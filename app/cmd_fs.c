/* Storage and file commands: lsblk, ls, cat, stat, sha256. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../drivers/blk.h"
#include "../drivers/virtio/virtio_blk.h"
#include "../fs/eclipsefs.h"
#include "../runtime/console.h"
#include "../runtime/fmt.h"
#include "../runtime/page.h"
#include "app.h"
#include "sha256.h"
#include "shell.h"
#include "storage.h"

#define CHUNK (1u << 20)

static char pathbuf[EFS_PATH_MAX + 2];

const char *app_path(const char *arg)
{
	if (arg[0] == '/')
		return arg;
	fmt_snprintf(pathbuf, sizeof(pathbuf), "/%s", arg);
	return pathbuf;
}

struct efs *app_fs(const char *cmd)
{
	struct efs *fs = storage_root();
	if (!fs)
		shell_err(cmd, 1, "no volume mounted");
	return fs;
}

int app_fs_err(const char *cmd, const char *path, int err)
{
	return shell_err(cmd, 1, "%s: %s", path, efs_strerror(err));
}

void app_size(uint64_t bytes, char *out, unsigned n)
{
	static const char unit[] = "BKMGTP";
	int u = 0;
	uint64_t tenths = bytes * 10;
	while (tenths >= 10240 && u < 5) {
		tenths /= 1024;
		u++;
	}
	if (!u)
		fmt_snprintf(out, n, "%lluB", (unsigned long long)bytes);
	else
		fmt_snprintf(out, n, "%llu.%llu%c",
			     (unsigned long long)(tenths / 10),
			     (unsigned long long)(tenths % 10), unit[u]);
}

static int cmd_lsblk(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	con_printf("%-10s %-9s %8s %6s %-2s %s\n", "NAME", "TRANSPORT", "SIZE",
		   "SECTOR", "RO", "DETAILS");
	for (unsigned i = 0; i < blk_count(); i++) {
		struct blk_dev *d = blk_get(i);
		char size[16];
		app_size(d->sectors * d->sector_size, size, sizeof(size));
		con_printf("%-10s %-9s %8s %6u %-2s ", d->name,
			   d->parent ? "part" : d->transport, size,
			   d->sector_size, d->read_only ? "ro" : "rw");
		if (d->parent)
			con_printf("start=%llu sectors=%llu%s\n",
				   (unsigned long long)d->start,
				   (unsigned long long)d->sectors,
				   d == storage_root_dev() ? " (root)" : "");
		else
			con_printf("model=\"%s\" serial=\"%s\" cache=%s "
				   "queue=%u%s%s%s%s\n", d->model, d->serial,
				   vblk_cache_mode(d), d->queue_depth,
				   d->can_discard ? " discard" : "",
				   d->can_write_zeroes ? " write-zeroes" : "",
				   d->failed ? " FAILED" : "",
				   d == storage_root_dev() ? " (root)" : "");
	}
	return 0;
}

static void mode_string(uint32_t mode, uint8_t kind, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	out[0] = kind == EFS_DIR ? 'd' : kind == EFS_SYMLINK ? 'l' : '-';
	for (int i = 0; i < 9; i++)
		out[1 + i] = mode & (0400 >> i) ? rwx[i] : '-';
	out[10] = 0;
}

static void ls_line(struct efs *fs, uint32_t ino, const char *name, int lng)
{
	struct efs_stat st;
	if (!lng || efs_stat(fs, ino, &st)) {
		con_printf("%s\n", name);
		return;
	}
	char m[11];
	mode_string(st.mode, st.kind, m);
	con_printf("%s %3u %5u %5u %10llu %s", m, st.nlink, st.uid, st.gid,
		   (unsigned long long)st.size, name);
	if (st.kind == EFS_SYMLINK) {
		char *t = malloc(EFS_PATH_MAX + 1);
		if (t && efs_readlink(fs, ino, t, EFS_PATH_MAX + 1) >= 0)
			con_printf(" -> %s", t);
		free(t);
	}
	con_puts("\n");
}

static int cmd_ls(int argc, char **argv)
{
	int lng = argc > 1 && !strcmp(argv[1], "-l");
	if (argc > 2 + lng)
		return shell_err(argv[0], SHELL_USAGE, "usage: ls [-l] [PATH]");
	struct efs *fs = app_fs(argv[0]);
	if (!fs)
		return 1;
	const char *path = app_path(argc > 1 + lng ? argv[1 + lng] : "/");
	uint32_t ino;
	struct efs_stat st;
	int err = efs_lookup(fs, path, 0, &ino);
	if (!err)
		err = efs_stat(fs, ino, &st);
	if (!err && st.kind == EFS_SYMLINK && efs_lookup(fs, path, 1, &ino) == 0)
		err = efs_stat(fs, ino, &st);
	if (err)
		return app_fs_err(argv[0], path, err);
	if (st.kind != EFS_DIR) {
		ls_line(fs, ino, path, lng);
		return 0;
	}
	struct efs_dir *d;
	struct efs_dirent *e = malloc(sizeof(*e));
	int r = e ? efs_opendir(fs, ino, &d) : EFS_ERR_NO_MEMORY;
	if (r) {
		free(e);
		return app_fs_err(argv[0], path, r);
	}
	while ((r = efs_readdir(d, e)) > 0)
		ls_line(fs, e->ino, e->name, lng);
	efs_closedir(d);
	free(e);
	return r ? app_fs_err(argv[0], path, r) : 0;
}

/* Opens a file for reading: follows links, refuses directories. */
int app_open_file(const char *cmd, const char *arg, uint32_t *ino,
		  struct efs_stat *st)
{
	struct efs *fs = app_fs(cmd);
	if (!fs)
		return 1;
	const char *path = app_path(arg);
	int err = efs_lookup(fs, path, 1, ino);
	if (!err)
		err = efs_stat(fs, *ino, st);
	if (!err && st->kind == EFS_DIR)
		err = EFS_ERR_IS_DIR;
	return err ? app_fs_err(cmd, path, err) : 0;
}

static int cmd_cat(int argc, char **argv)
{
	if (argc < 2)
		return shell_err(argv[0], SHELL_USAGE, "usage: cat PATH...");
	uint8_t *buf = malloc(4096);
	int st = buf ? 0 : shell_err(argv[0], 1, "out of memory");
	for (int i = 1; !st && i < argc; i++) {
		uint32_t ino;
		struct efs_stat s;
		st = app_open_file(argv[0], argv[i], &ino, &s);
		int64_t n = 0;
		for (uint64_t off = 0; !st &&
		     (n = efs_read(storage_root(), ino, off, buf, 4096)) > 0;
		     off += (uint64_t)n)
			con_write((const char *)buf, (size_t)n);
		if (!st && n < 0)
			st = app_fs_err(argv[0], argv[i], (int)n);
	}
	free(buf);
	return st;
}

static int cmd_stat(int argc, char **argv)
{
	if (argc != 2)
		return shell_err(argv[0], SHELL_USAGE, "usage: stat PATH");
	struct efs *fs = app_fs(argv[0]);
	if (!fs)
		return 1;
	const char *path = app_path(argv[1]);
	uint32_t ino;
	struct efs_stat st;
	int err = efs_lookup(fs, path, 0, &ino);
	if (!err)
		err = efs_stat(fs, ino, &st);
	if (err)
		return app_fs_err(argv[0], path, err);
	static const char *const kinds[] = { "?", "file", "directory",
					     "symlink" };
	con_printf("path: %s\ninode: %u\nkind: %s\nmode: %06o\nuid: %u\n"
		   "gid: %u\nnlink: %u\nsize: %llu\natime: %llu\nmtime: %llu\n"
		   "ctime: %llu\n", path, ino, kinds[st.kind], st.mode, st.uid,
		   st.gid, st.nlink, (unsigned long long)st.size,
		   (unsigned long long)st.atime, (unsigned long long)st.mtime,
		   (unsigned long long)st.ctime);
	return 0;
}

static int cmd_sha256(int argc, char **argv)
{
	if (argc < 2)
		return shell_err(argv[0], SHELL_USAGE, "usage: sha256 PATH...");
	uint8_t *buf = page_alloc_zero(CHUNK / PAGE_SIZE);
	if (!buf)
		return shell_err(argv[0], 1, "out of memory");
	int st = 0;
	for (int i = 1; !st && i < argc; i++) {
		uint32_t ino;
		struct efs_stat s;
		struct sha256 h;
		uint8_t md[32];
		int64_t n = 0;
		st = app_open_file(argv[0], argv[i], &ino, &s);
		sha256_init(&h);
		for (uint64_t off = 0; !st &&
		     (n = efs_read(storage_root(), ino, off, buf, CHUNK)) > 0;
		     off += (uint64_t)n)
			sha256_update(&h, buf, (size_t)n);
		if (!st && n < 0)
			st = app_fs_err(argv[0], argv[i], (int)n);
		if (st)
			break;
		sha256_final(&h, md);
		for (int k = 0; k < 32; k++)
			con_printf("%02x", md[k]);
		con_printf("  %s\n", argv[i]);
	}
	page_free((uintptr_t)buf, CHUNK / PAGE_SIZE);
	return st;
}

const struct shell_cmd shell_fs_cmds[] = {
	{ "lsblk", "", "disks and partitions", cmd_lsblk },
	{ "ls", "[-l] [PATH]", "list a directory", cmd_ls },
	{ "cat", "PATH...", "print files", cmd_cat },
	{ "stat", "PATH", "every field of a node", cmd_stat },
	{ "sha256", "PATH...", "SHA-256 of files, as sha256sum prints it",
	  cmd_sha256 },
	{ 0, 0, 0, 0 },
};
