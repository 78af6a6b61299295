/* What the file commands share: paths, the volume, errors, sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fs/eclipsefs.h"
#include "../runtime/fmt.h"
#include "app.h"
#include "shell.h"
#include "storage.h"

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
	return shell_err(cmd, 1, "%s: %s", path, storage_strerror(err));
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
