/* Commands that change the volume: write, append, cp, mv, rm, mkdir,
 * rmdir, ln. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fs/eclipsefs.h"
#include "../runtime/fmt.h"
#include "../runtime/page.h"
#include "app.h"
#include "shell.h"
#include "storage.h"

#define CHUNK (1u << 20)

static int text_to_file(int argc, char **argv, int append)
{
	if (argc < 3)
		return shell_err(argv[0], SHELL_USAGE, "usage: %s PATH TEXT...",
				 argv[0]);
	struct efs *fs = app_fs(argv[0]);
	if (!fs)
		return 1;
	const char *path = app_path(argv[1]);
	/* The words and the newline as one text: one change to the file. */
	size_t len = 0;
	for (int i = 2; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *text = malloc(len);
	if (!text)
		return shell_err(argv[0], 1, "out of memory");
	for (int i = 2, at = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		memcpy(text + at, argv[i], n);
		at += (int)n;
		text[at++] = i + 1 < argc ? ' ' : '\n';
	}
	uint32_t ino;
	int err = efs_lookup(fs, path, 1, &ino);
	if (err == EFS_ERR_NOT_FOUND)
		err = efs_create(fs, path, 0644, &ino);
	else if (!err && !append)
		err = efs_truncate(fs, ino, 0);
	int64_t n = err ? err : efs_append(fs, ino, text, len);
	free(text);
	return n < 0 ? app_fs_err(argv[0], path, (int)n) : 0;
}

static int cmd_write(int argc, char **argv)
{
	return text_to_file(argc, argv, 0);
}

static int cmd_append(int argc, char **argv)
{
	return text_to_file(argc, argv, 1);
}

/* EFS_ERR_TOO_BIG for a path over EFS_PATH_MAX bytes, EFS_ERR_NAME for a
 * component over EFS_NAME_MAX: what mkdir -p checks before it starts. */
static int path_ok(const char *arg)
{
	const char *p = app_path(arg);
	if (strlen(p) > EFS_PATH_MAX)
		return EFS_ERR_TOO_BIG;
	size_t run = 0;		/* bytes of the component so far */
	for (; *p; p++) {
		run = *p == '/' ? 0 : run + 1;
		if (run > EFS_NAME_MAX)
			return EFS_ERR_NAME;
	}
	return 0;
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
				storage_strerror(err)) : 0;
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
		/* Refuse a path that cannot be made before making any of it. */
		int err = path_ok(argv[i]);
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
		int r = err == EFS_ERR_TOO_BIG
			? shell_err(argv[0], 1, "%.40s...: path too long (more "
				    "than %u bytes)", p, EFS_PATH_MAX)
			: err ? app_fs_err(argv[0], p, err) : 0;
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

const struct shell_cmd shell_change_cmds[] = {
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
	{ 0, 0, 0, 0 },
};
