/* The check both seed-reader tests make: the file at path reads back
 * as want, whole. Included by test files only (check.h's counters). */
#ifndef UMBRA_SEEDCHECK_H
#define UMBRA_SEEDCHECK_H

#include <stdio.h>
#include <string.h>

#include "../../fs/seedfs.h"
#include "check.h"

static inline void expect_file(struct seedfs *fs, const char *path,
			       const char *want)
{
	char buf[256];
	uint64_t size;
	int64_t n = seedfs_read(fs, path, buf, sizeof(buf) - 1, &size);
	CHECK_INT(n, (int64_t)strlen(want));
	CHECK_INT(size, strlen(want));
	if (n >= 0) {
		buf[n] = 0;
		CHECK_STR(buf, want);
	} else {
		fprintf(stderr, "  %s: %s (%s)\n", path,
			seedfs_strerror((int)n), fs->why);
	}
}

#endif
