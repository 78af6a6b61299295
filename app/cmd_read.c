/* Commands that read the volume: ls, tree, cat, stat, sha256. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fs/eclipsefs.h"
#include "../runtime/console.h"
#include "../runtime/page.h"
#include "app.h"
#include "bearssl_hash.h"
#include "shell.h"
#include "storage.h"

#define CHUNK (1u << 20)
#define TREE_DEPTH 64

/* One entry; with lng, its attributes, which means reading its record:
 * an entry whose record is unreadable is named with the error, and the
 * listing fails (1). */
static int ls_line(struct efs *fs, uint32_t ino, const char *name, int lng)
{
	struct efs_stat st;
	if (!lng) {
		con_printf("%s\n", name);
		return 0;
	}
	int err = efs_stat(fs, ino, &st);
	if (err)
		return shell_err("ls", 1, "%s: %s", name, storage_strerror(err));
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
	return 0;
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
	if (st.kind != EFS_DIR)
		return ls_line(fs, ino, path, lng);
	struct efs_dir *d;
	struct efs_dirent *e = malloc(sizeof(*e));
	int r = e ? efs_opendir(fs, ino, &d) : EFS_ERR_NO_MEMORY;
	if (r) {
		free(e);
		return app_fs_err(argv[0], path, r);
	}
	int bad = 0;
	while ((r = efs_readdir(d, e)) > 0)
		bad |= ls_line(fs, e->ino, e->name, lng);
	efs_closedir(d);
	free(e);
	return r ? app_fs_err(argv[0], path, r) : bad;
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
	static char text[EFS_PATH_MAX + 512];
	efs_stat_text(path, &st, text, sizeof(text));
	con_printf("%s", text);
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
		br_sha256_context h;
		uint8_t md[32];
		int64_t n = 0;
		st = app_open_file(argv[0], argv[i], &ino, &s);
		br_sha256_init(&h);
		for (uint64_t off = 0; !st &&
		     (n = efs_read(storage_root(), ino, off, buf, CHUNK)) > 0;
		     off += (uint64_t)n)
			br_sha256_update(&h, buf, (size_t)n);
		if (!st && n < 0)
			st = app_fs_err(argv[0], argv[i], (int)n);
		if (st)
			break;
		br_sha256_out(&h, md);
		for (int k = 0; k < 32; k++)
			con_printf("%02x", md[k]);
		con_printf("  %s\n", argv[i]);
	}
	page_free((uintptr_t)buf, CHUNK / PAGE_SIZE);
	return st;
}

/* Prints the entry and, for a directory, everything below it. An entry
 * that cannot be read is named with the error, the rest still listed;
 * returns 1 when anything failed. */
static int tree(struct efs *fs, uint32_t ino, const char *name, int depth,
		uint32_t *stack)
{
	struct efs_stat st;
	int err = efs_stat(fs, ino, &st);
	if (!err) {
		con_printf("%*s%s%s\n", depth * 2, "", name,
			   st.kind == EFS_DIR && depth ? "/" : "");
		if (st.kind != EFS_DIR)
			return 0;
	}
	for (int i = 0; !err && i < depth; i++)
		if (stack[i] == ino)
			err = EFS_ERR_LOOP;	/* a directory inside itself */
	if (!err && depth >= TREE_DEPTH)
		err = EFS_ERR_TOO_BIG;
	struct efs_dir *d;
	struct efs_dirent *e = err ? 0 : malloc(sizeof(*e));
	if (!err)
		err = e ? efs_opendir(fs, ino, &d) : EFS_ERR_NO_MEMORY;
	if (err) {
		free(e);
		return shell_err("tree", 1, "%s: %s", name,
				 storage_strerror(err));
	}
	stack[depth] = ino;
	int bad = 0, r;
	while ((r = efs_readdir(d, e)) > 0)
		bad |= tree(fs, e->ino, e->name, depth + 1, stack);
	efs_closedir(d);
	free(e);
	if (r < 0)
		return shell_err("tree", 1, "%s: %s", name, storage_strerror(r));
	return bad;
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
	if (err)
		return app_fs_err(argv[0], path, err);
	return tree(fs, ino, path, 0, stack);
}

const struct shell_cmd shell_read_cmds[] = {
	{ "ls", "[-l] [PATH]", "list a directory", cmd_ls },
	{ "tree", "[PATH]", "list a directory recursively", cmd_tree },
	{ "cat", "PATH...", "print files", cmd_cat },
	{ "stat", "PATH", "every field of a node", cmd_stat },
	{ "sha256", "PATH...", "SHA-256 of files, as sha256sum prints it",
	  cmd_sha256 },
	{ 0, 0, 0, 0 },
};
