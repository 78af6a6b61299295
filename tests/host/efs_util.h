/* Helpers shared by the fs tests: a digest of a whole tree, and a
 * random workload with its own model of what the tree should hold. */
#ifndef UMBRA_EFS_TESTUTIL_H
#define UMBRA_EFS_TESTUTIL_H

#include <stdint.h>

#include "../../fs/eclipsefs.h"

/* FNV-1a over every node: path, kind, permission bits, size, content or
 * target, in name order. Returns 0 and sets *out, or an fs error. */
int tree_digest(struct efs *fs, uint64_t *out);
/* The same, and a digest of everything but file contents (meta may be
 * NULL). */
int tree_digests(struct efs *fs, uint64_t *full, uint64_t *meta);
/* Every regular file of the tree: its inode, path, size and contents. */
struct tree_file {
	uint32_t ino;
	char *path;
	uint64_t size;
	uint8_t *data;
};
int tree_files(struct efs *fs, struct tree_file **out, size_t *n);
void tree_files_free(struct tree_file *f, size_t n);
extern int tree_verbose;	/* tree_digest lists files as it goes */

/* Builds (efs_build, opts NULL: umbra's defaults) a root holding files
 * "a" (inode 2, a bytes) and "b" (inode 3, b bytes); the content of
 * inode i is the byte i, or comes from fn when given. */
int build_ab(const struct efs_io *io, const struct efs_build_opts *opts,
	     uint64_t a, uint64_t b, efs_content_fn *fn);

/* One step of a random workload (seeded); returns the fs result. kind
 * gets a short name of what was tried. */
int workload_step(struct efs *fs, uint64_t *seed, const char **kind);

/* Checks an image against the rules of the three original readers
 * (docs/eclipsefs-format.md §2.2, §3.7, §7.2) without using fs/: header,
 * every table entry (inode field = slot, pointing at a record of that
 * inode), every record (all base tags, in order, exact lengths, SIZE =
 * CONTENT length), directory entries (names, children, no duplicates).
 * Returns the entry width (8 or 16), or -1 with the reason in why. */
int original_rules(const uint8_t *img, uint64_t size, char *why, size_t n);

#endif
