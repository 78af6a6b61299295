/* What fs/seedfs.c shares with its two readers, iso9660.c and fat.c. */
#ifndef UMBRA_SEEDFS_INT_H
#define UMBRA_SEEDFS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "seedfs.h"

/* CORRUPT (or UNSUPPORTED) with fs->why = why. */
int seedfs_bad(struct seedfs *fs, int err, const char *why);

/* Reads len bytes at off, which must lie inside the device: CORRUPT
 * ("... past the end of the device") when they do not, IO when the
 * callback fails. what names the structure being read. */
int seedfs_get(struct seedfs *fs, uint64_t off, void *buf, size_t len,
	       const char *what);

/* The next component of *path into comp (NUL-terminated), *path moved
 * past it: its length, 0 at the end, INVALID when longer than
 * SEEDFS_NAME_MAX. */
int seedfs_next(const char **path, char comp[SEEDFS_NAME_MAX + 1]);

/* n UCS-2 units (big- or little-endian) as UTF-8 into out (size bytes,
 * NUL-terminated), stopping at a 0 unit; a lone surrogate becomes '?'.
 * Returns the length, or -1 when it does not fit. */
int seedfs_ucs2(const uint8_t *in, size_t n, int big_endian, char *out,
		size_t size);

/* a (alen bytes) and b equal, ASCII letters folded. */
int seedfs_same_nocase(const char *a, size_t alen, const char *b);

/* Bytes as a label: trailing blanks and NULs cut, anything outside
 * printable ASCII shown as '?'. */
void seedfs_label(char *out, const uint8_t *in, size_t n);

/* The readers' halves of seedfs_read: comp by comp from the root. */
int64_t iso_read(struct seedfs *fs, const char *path, void *buf, size_t max,
		 uint64_t *size);
int64_t fat_read(struct seedfs *fs, const char *path, void *buf, size_t max,
		 uint64_t *size);

#endif
