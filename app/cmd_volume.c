/* The disks and the volume as a whole: lsblk, df, sync, fsck. */
#include <stdint.h>
#include <string.h>

#include "../drivers/blk.h"
#include "../fs/eclipsefs.h"
#include "../runtime/console.h"
#include "app.h"
#include "shell.h"
#include "storage.h"

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
				   "queue=%u%s%s%s%s\n", d->model, blk_serial(d),
				   d->cache ? d->cache : "unknown", d->queue_depth,
				   d->can_discard ? " discard" : "",
				   d->can_write_zeroes ? " write-zeroes" : "",
				   d->failed ? " FAILED" : "",
				   d == storage_root_dev() ? " (root)" : "");
		if (!d->parent && d->failed && d->error[0])
			con_printf("%-10s %-9s %8s %6s %-2s error: %s\n", "", "",
				   "", "", "", d->error);
	}
	/* Devices a driver claimed but could not bring up. */
	for (unsigned i = 0; i < blk_broken_count(); i++) {
		const struct blk_broken *b = blk_broken_get(i);
		con_printf("%-10s %-9s %8s %6s %-2s broken: %s\n", b->where,
			   b->transport, "-", "-", "-", b->why);
	}
	return 0;
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
	app_size(sp.pending, d, sizeof(d));
	con_printf("%s: size %s, used %s, free %s, not yet reusable %s (until "
		   "sync); inodes %u, free %u\n", storage_root_dev()->name, a,
		   b, c, d, sp.slots, sp.free_slots);
	con_printf("df: %llu %llu %llu %llu %u %u\n",
		   (unsigned long long)sp.size, (unsigned long long)sp.used,
		   (unsigned long long)sp.free, (unsigned long long)sp.pending,
		   sp.slots, sp.free_slots);
	if (*efs_notice(fs))
		con_printf("%s: %s\n", storage_root_dev()->name, efs_notice(fs));
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

const struct shell_cmd shell_volume_cmds[] = {
	{ "lsblk", "", "disks and partitions", cmd_lsblk },
	{ "df", "", "space and inodes of the volume", cmd_df },
	{ "fsck", "[--repair]", "check (and repair) the volume", cmd_fsck },
	{ "sync", "", "make every change durable", cmd_sync },
	{ 0, 0, 0, 0 },
};
