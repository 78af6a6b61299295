/* libFuzzer target: the input is an EclipseFS image. Mount, walk every
 * node, read files and links, run fsck; then, on a writable copy, make a
 * few changes and check again. Nothing may crash or read outside the
 * image (the test device aborts on that). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/eclipsefs.h"
#include "../host/efs_util.h"
#include "../host/memdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_changes(struct memdev *m)
{
	struct efs *fs;
	uint32_t ino;
	if (efs_mount(&m->io, &fs))
		return;
	if (!efs_create(fs, "/fz", 0644, &ino)) {
		efs_write(fs, ino, 3, "fuzz", 4);
		efs_append(fs, ino, "more", 4);
	}
	efs_mkdir(fs, "/fzd", 0755);
	efs_rename(fs, "/fz", "/fzd/x");
	efs_unlink(fs, "/fzd/x");
	efs_rmdir(fs, "/fzd");
	efs_unmount(fs);
	struct efs_fsck_result r;
	efs_fsck(&m->io, 1, 0, 0, &r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memdev m;
	struct efs *fs;
	uint64_t d;
	struct efs_fsck_result r;
	if (size > (4u << 20))
		return 0;
	memdev_init(&m, size ? size : 1);
	memcpy(m.data, data, size);
	m.io.size = size;
	m.io.read_only = 1;
	if (!efs_mount(&m.io, &fs)) {
		uint32_t ino;
		char buf[64];
		tree_digest(fs, &d);
		if (!efs_lookup(fs, "/etc/motd", 1, &ino))
			efs_read(fs, ino, 1, buf, sizeof(buf));
		efs_unmount(fs);
	}
	efs_fsck(&m.io, 0, 0, 0, &r);
	m.io.read_only = 0;
	try_changes(&m);
	memdev_free(&m);
	return 0;
}
