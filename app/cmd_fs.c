/* Storage and file commands: lsblk, ls, cat, stat, sha256. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../drivers/blk.h"
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
				   d->cache ? d->cache : "unknown", d->queue_depth,
				   d->can_discard ? " discard" : "",
				   d->can_write_zeroes ? " write-zeroes" : "",
				   d->failed ? " FAILED" : "",
				   d == storage_root_dev() ? " (root)" : "");
	}
	return 0;
}

static void ls_line(struct efs *fs, uint32_t ino, const char *name, int lng)
{
	struct efs_stat st;
	if (!lng || efs_stat(fs, ino, &st)) {
		con_printf("%s\n", name);
		return;
	}
	char m[11];
	efs_mode_string(st.mode, st.kind, m);
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

/* --- changes ------------------------------------------------------------ */

static int text_to_file(int argc, char **argv, int append)
{
	if (argc < 3)
		return shell_err(argv[0], SHELL_USAGE, "usage: %s PATH TEXT...",
				 argv[0]);
	struct efs *fs = app_fs(argv[0]);
	if (!fs)
		return 1;
	const char *path = app_path(argv[1]);
	uint32_t ino;
	int err = efs_lookup(fs, path, 1, &ino);
	if (err == EFS_ERR_NOT_FOUND)
		err = efs_create(fs, path, 0644, &ino);
	else if (!err && !append)
		err = efs_truncate(fs, ino, 0);
	for (int i = 2; !err && i < argc; i++) {
		int64_t n = efs_append(fs, ino, argv[i], strlen(argv[i]));
		if (n >= 0)
			n = efs_append(fs, ino, i + 1 < argc ? " " : "\n", 1);
		err = n < 0 ? (int)n : 0;
	}
	return err ? app_fs_err(argv[0], path, err) : 0;
}

static int cmd_write(int argc, char **argv)
{
	return text_to_file(argc, argv, 0);
}

static int cmd_append(int argc, char **argv)
{
	return text_to_file(argc, argv, 1);
}

/* The last component of a path. */
static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int cmd_cp(int argc, char **argv)
{
	if (argc != 3)
		return shell_err(argv[0], SHELL_USAGE, "usage: cp SRC DST");
	struct efs *fs = app_fs(argv[0]);
	uint32_t src, dst, dir;
	struct efs_stat st;
	if (!fs || app_open_file(argv[0], argv[1], &src, &st))
		return 1;
	char *to = malloc(EFS_PATH_MAX + 2);
	if (!to)
		return shell_err(argv[0], 1, "out of memory");
	fmt_snprintf(to, EFS_PATH_MAX + 2, "%s", app_path(argv[2]));
	struct efs_stat dst_st;
	if (!efs_lookup(fs, to, 1, &dir) && !efs_stat(fs, dir, &dst_st) &&
	    dst_st.kind == EFS_DIR) {
		size_t n = strlen(to);
		fmt_snprintf(to + n, EFS_PATH_MAX + 2 - n, "%s%s",
			     n && to[n - 1] == '/' ? "" : "/", base_name(argv[1]));
	}
	int err = efs_lookup(fs, to, 1, &dst);
	if (err == EFS_ERR_NOT_FOUND)
		err = efs_create(fs, to, st.mode & 07777, &dst);
	else if (!err && dst == src)
		err = EFS_ERR_INVALID;
	else if (!err)
		err = efs_truncate(fs, dst, 0);
	uint8_t *buf = err ? 0 : page_alloc_zero(CHUNK / PAGE_SIZE);
	if (!err && !buf)
		err = EFS_ERR_NO_MEMORY;
	int64_t n = 0;
	for (uint64_t off = 0; !err &&
	     (n = efs_read(fs, src, off, buf, CHUNK)) > 0; off += (uint64_t)n) {
		int64_t w = efs_write(fs, dst, off, buf, (size_t)n);
		if (w < 0)
			err = (int)w;
	}
	if (!err && n < 0)
		err = (int)n;
	if (!err)
		err = efs_chmod(fs, dst, st.mode & 07777);
	if (buf)
		page_free((uintptr_t)buf, CHUNK / PAGE_SIZE);
	int r = err ? app_fs_err(argv[0], to, err) : 0;
	free(to);
	return r;
}

static int cmd_mv(int argc, char **argv)
{
	if (argc != 3)
		return shell_err(argv[0], SHELL_USAGE, "usage: mv FROM TO");
	struct efs *fs = app_fs(argv[0]);
	if (!fs)
		return 1;
	char *from = malloc(EFS_PATH_MAX + 2);
	if (!from)
		return shell_err(argv[0], 1, "out of memory");
	fmt_snprintf(from, EFS_PATH_MAX + 2, "%s", app_path(argv[1]));
	const char *to = app_path(argv[2]);
	int err = efs_rename(fs, from, to);
	int r = err ? shell_err(argv[0], 1, "%s -> %s: %s", from, to,
				efs_strerror(err)) : 0;
	free(from);
	return r;
}

static int cmd_rm(int argc, char **argv)
{
	if (argc < 2)
		return shell_err(argv[0], SHELL_USAGE, "usage: rm PATH...");
	struct efs *fs = app_fs(argv[0]);
	for (int i = 1; fs && i < argc; i++) {
		int err = efs_unlink(fs, app_path(argv[i]));
		if (err)
			return app_fs_err(argv[0], app_path(argv[i]), err);
	}
	return fs ? 0 : 1;
}

static int cmd_mkdir(int argc, char **argv)
{
	int parents = argc > 1 && !strcmp(argv[1], "-p");
	if (argc < 2 + parents)
		return shell_err(argv[0], SHELL_USAGE, "usage: mkdir [-p] PATH...");
	struct efs *fs = app_fs(argv[0]);
	for (int i = 1 + parents; fs && i < argc; i++) {
		char *p = malloc(EFS_PATH_MAX + 2);
		if (!p)
			return shell_err(argv[0], 1, "out of memory");
		fmt_snprintf(p, EFS_PATH_MAX + 2, "%s", app_path(argv[i]));
		int err = 0;
		/* -p: every missing directory on the way, and no error for
		 * one that exists. */
		for (char *s = p + 1; parents && !err && (s = strchr(s, '/'));
		     s++) {
			*s = 0;
			err = efs_mkdir(fs, p, 0755);
			if (err == EFS_ERR_EXISTS)
				err = 0;
			*s = '/';
		}
		if (!err)
			err = efs_mkdir(fs, p, 0755);
		if (err == EFS_ERR_EXISTS && parents)
			err = 0;
		int r = err ? app_fs_err(argv[0], p, err) : 0;
		free(p);
		if (r)
			return r;
	}
	return fs ? 0 : 1;
}

static int cmd_rmdir(int argc, char **argv)
{
	if (argc < 2)
		return shell_err(argv[0], SHELL_USAGE, "usage: rmdir PATH...");
	struct efs *fs = app_fs(argv[0]);
	for (int i = 1; fs && i < argc; i++) {
		int err = efs_rmdir(fs, app_path(argv[i]));
		if (err)
			return app_fs_err(argv[0], app_path(argv[i]), err);
	}
	return fs ? 0 : 1;
}

static int cmd_ln(int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[1], "-s"))
		return shell_err(argv[0], SHELL_USAGE, "usage: ln -s TARGET PATH "
				 "(EclipseFS has no hard links)");
	struct efs *fs = app_fs(argv[0]);
	if (!fs)
		return 1;
	int err = efs_symlink(fs, argv[2], app_path(argv[3]));
	return err ? app_fs_err(argv[0], app_path(argv[3]), err) : 0;
}

#define TREE_DEPTH 64

static int tree(struct efs *fs, uint32_t ino, const char *name, int depth,
		uint32_t *stack)
{
	struct efs_stat st;
	int err = efs_stat(fs, ino, &st);
	if (err)
		return err;
	con_printf("%*s%s%s\n", depth * 2, "", name,
		   st.kind == EFS_DIR && depth ? "/" : "");
	if (st.kind != EFS_DIR)
		return 0;
	for (int i = 0; i < depth; i++)
		if (stack[i] == ino)
			return EFS_ERR_LOOP;	/* a directory inside itself */
	if (depth >= TREE_DEPTH)
		return EFS_ERR_TOO_BIG;
	stack[depth] = ino;
	struct efs_dir *d;
	struct efs_dirent *e = malloc(sizeof(*e));
	err = e ? efs_opendir(fs, ino, &d) : EFS_ERR_NO_MEMORY;
	if (err) {
		free(e);
		return err;
	}
	int r;
	while (!err && (r = efs_readdir(d, e)) > 0)
		err = tree(fs, e->ino, e->name, depth + 1, stack);
	efs_closedir(d);
	free(e);
	return err;
}

static int cmd_tree(int argc, char **argv)
{
	if (argc > 2)
		return shell_err(argv[0], SHELL_USAGE, "usage: tree [PATH]");
	struct efs *fs = app_fs(argv[0]);
	uint32_t ino, stack[TREE_DEPTH + 1];
	if (!fs)
		return 1;
	const char *path = app_path(argc > 1 ? argv[1] : "/");
	int err = efs_lookup(fs, path, 1, &ino);
	if (!err)
		err = tree(fs, ino, path, 0, stack);
	return err ? app_fs_err(argv[0], path, err) : 0;
}

static int cmd_df(int argc, char **argv)
{
	(void)argc;
	struct efs *fs = app_fs(argv[0]);
	struct efs_space sp;
	if (!fs)
		return 1;
	int err = efs_space(fs, &sp);
	if (err)
		return app_fs_err(argv[0], "/", err);
	char a[16], b[16], c[16], d[16];
	app_size(sp.size, a, sizeof(a));
	app_size(sp.used, b, sizeof(b));
	app_size(sp.free, c, sizeof(c));
	app_size(sp.reclaimable, d, sizeof(d));
	con_printf("%s: size %s, used %s, free %s, reclaimable %s; inodes %u, "
		   "free %u\n", storage_root_dev()->name, a, b, c, d, sp.slots,
		   sp.free_slots);
	con_printf("df: %llu %llu %llu %llu %u %u\n",
		   (unsigned long long)sp.size, (unsigned long long)sp.used,
		   (unsigned long long)sp.free,
		   (unsigned long long)sp.reclaimable, sp.slots, sp.free_slots);
	return 0;
}

static int cmd_sync(int argc, char **argv)
{
	(void)argc;
	if (!app_fs(argv[0]))
		return 1;
	int err = storage_sync();
	return err ? app_fs_err(argv[0], "/", err) : 0;
}

static void fsck_line(void *ctx, const char *line)
{
	(void)ctx;
	con_printf("fsck: %s\n", line);
}

static int cmd_fsck(int argc, char **argv)
{
	int repair = argc == 2 && !strcmp(argv[1], "--repair");
	if (argc > 2 || (argc == 2 && !repair))
		return shell_err(argv[0], SHELL_USAGE, "usage: fsck [--repair]");
	if (!app_fs(argv[0]))
		return 1;
	struct efs_fsck_result r;
	int err = storage_fsck(repair, fsck_line, &r);
	if (err && !r.errors)
		return app_fs_err(argv[0], "/", err);
	con_printf("fsck: %u inodes: %u directories, %u files, %u symlinks, "
		   "%u free; %u errors, %u repaired\n", r.nodes, r.dirs,
		   r.files, r.symlinks, r.free_slots, r.errors, r.repaired);
	return r.errors ? 1 : 0;
}

const struct shell_cmd shell_fs2_cmds[] = {
	{ "tree", "[PATH]", "list a directory recursively", cmd_tree },
	{ "write", "PATH TEXT...", "write the words (and a newline) to a file",
	  cmd_write },
	{ "append", "PATH TEXT...", "append the words and a newline",
	  cmd_append },
	{ "cp", "SRC DST", "copy a file", cmd_cp },
	{ "mv", "FROM TO", "rename", cmd_mv },
	{ "rm", "PATH...", "remove files or symlinks", cmd_rm },
	{ "mkdir", "[-p] PATH...", "make directories", cmd_mkdir },
	{ "rmdir", "PATH...", "remove empty directories", cmd_rmdir },
	{ "ln", "-s TARGET PATH", "make a symbolic link", cmd_ln },
	{ "df", "", "space and inodes of the volume", cmd_df },
	{ "fsck", "[--repair]", "check (and repair) the volume", cmd_fsck },
	{ "sync", "", "make every change durable", cmd_sync },
	{ 0, 0, 0, 0 },
};
