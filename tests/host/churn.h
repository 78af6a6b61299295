/* A churn workload: files of growing numbers written into /data while the
 * oldest are deleted to keep the live bytes under a limit, and a directory
 * /small of at most 200 small files filled and emptied. Everything it
 * needs to know is read back from the volume (names, sizes), so a run cut
 * by a power loss can go on from whatever the volume holds; contents are
 * a function of the file's number, so any file can be checked. */
#ifndef UMBRA_CHURN_H
#define UMBRA_CHURN_H

#include <stdint.h>

#include "../../fs/eclipsefs.h"

struct churn {
	uint64_t limit;		/* live bytes in /data at most */
	uint64_t max_file;	/* file sizes: 1 KiB .. max_file */
	uint32_t small_max;	/* files in /small at most */
	uint64_t seed;
	/* counted */
	uint64_t written, live;
	uint32_t nfiles, nsmall;
};

/* Limits for a volume of `volume` bytes: a quarter live, files up to
 * 1 MiB (less on small volumes). */
void churn_init(struct churn *c, uint64_t volume, uint64_t seed);
void churn_free(struct churn *c);
/* Makes /data and /small if missing. */
int churn_setup(struct churn *c, struct efs *fs);
/* One step (a file written with the deletes it needs, or a small file
 * created or removed); returns the fs result, *what says what failed. */
int churn_step(struct churn *c, struct efs *fs, const char **what);
/* Checks every file's contents; returns how many are wrong. */
int churn_verify(struct churn *c, struct efs *fs);

#endif
