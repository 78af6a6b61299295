/* The host side of struct efs_io: a file, a partition of a GPT disk image
 * in a file, or a file at an offset. */
#ifndef UMBRA_HOSTIO_H
#define UMBRA_HOSTIO_H

#include <stddef.h>
#include <stdint.h>

#include "../eclipsefs.h"

#define HOST_NO_EFS 2	/* opened, but no EclipseFS header there */

struct host_target {
	int fd;
	uint64_t base;		/* where the filesystem starts in the file */
	int is_partition;
	struct efs_io io;
};

/* Opens path and finds the filesystem: at --offset, in GPT partition
 * `part` (from 1), or (both 0/-1) at the start of the file or in the first
 * GPT partition that starts with an EclipseFS header. Returns 0, or
 * nonzero with a message in msg (HOST_NO_EFS when nothing is there). */
int host_open(struct host_target *t, const char *path, int writable,
	      int part, int64_t offset, char *msg, size_t msglen);

/* Like host_open, without looking for a header (for mkfs). */
int host_open_raw(struct host_target *t, const char *path, int part,
		  int64_t offset, char *msg, size_t msglen);

/* Creates (or truncates) path as a file of size bytes. */
int host_create(struct host_target *t, const char *path, uint64_t size,
		char *msg, size_t msglen);

void host_close(struct host_target *t);

/* Builds an image on io from the host tree at dir: directories, then
 * files, then symlinks, each group by depth and path; entries sorted by
 * name; permission bits and times kept, owner 0. */
int fromdir_build(const char *dir, const struct efs_io *io,
		  const struct efs_build_opts *opts, char *msg, size_t msglen);

#endif
