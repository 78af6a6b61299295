/* compact: online compaction of the root volume (fs/README.md,
 * "Compaction"), through the same library call as the host tool. */
#include <stdint.h>

#include "../fs/eclipsefs.h"
#include "../runtime/console.h"
#include "app.h"
#include "shell.h"
#include "storage.h"

static void finding(void *ctx, const char *line)
{
	(void)ctx;
	con_printf("compact: fsck: %s\n", line);
}

static int cmd_compact(int argc, char **argv)
{
	struct efs *fs = app_fs(argv[0]);
	struct efs_compact_result r;
	if (argc != 1)
		return shell_err(argv[0], SHELL_USAGE, "usage: compact");
	if (!fs)
		return 1;
	int err = efs_compact(fs, &r);
	if (err == EFS_ERR_CORRUPT) {
		struct efs_fsck_result f;
		storage_fsck(0, finding, &f);	/* names what is wrong */
		return shell_err(argv[0], 1, "refused: the volume is damaged "
				 "(fsck above); run fsck --repair first");
	}
	if (err)
		return app_fs_err(argv[0], "/", err);
	char line[256];
	efs_compact_text(&r, line, sizeof(line));
	con_printf("%s\n", line);
	return 0;
}

const struct shell_cmd shell_compact_cmds[] = {
	{ "compact", "", "move records together: close the holes between "
	  "them (crash-safe, online)", cmd_compact },
	{ 0, 0, 0, 0 },
};
