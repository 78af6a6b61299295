/* A churn workload: files of growing numbers written into /data while the
 * oldest are deleted to keep the live bytes under a limit, and a directory
 * /small of at most 200 small files filled and emptied. Everything it
 * needs to know is read back from the volume (names, sizes), so a run cut
 * by a power loss can go on from whatever the volume holds; contents are
 * a function of the file's number, so any file can be checked (and its
 * name says how big it is meant to grow). */
#ifndef UMBRA_CHURN_H
#define UMBRA_CHURN_H

#include <stdint.h>

#include "../../fs/eclipsefs.h"

/* What a directory holds, oldest first: each file's number, size and
 * the size it is meant to reach (names are "f<number>_<target>"), and the
 * total. Read from the volume, then kept up to date by the steps (read
 * again after an error). */
struct churn_file {
	uint32_t n;
	uint64_t size, target;
};
struct churn_listing {
	int valid;
	struct churn_file *v;
	uint32_t head, count, cap;	/* v[head .. head+count) */
	uint64_t bytes;
};

struct churn {
	uint64_t limit;		/* live bytes in /data at most */
	uint64_t max_file;	/* file sizes: 1 KiB .. max_file */
	uint32_t small_max;	/* files in /small at most */
	uint64_t seed;
	/* counted */
	uint64_t written, live;
	uint32_t nfiles, nsmall;
	struct churn_listing data, small;
};

/* Limits for a volume of `volume` bytes: a quarter live, files up to
 * 1 MiB (less on small volumes). */
void churn_init(struct churn *c, uint64_t volume, uint64_t seed);
void churn_free(struct churn *c);
/* Makes /data and /small if missing. */
int churn_setup(struct churn *c, struct efs *fs);
/* One operation: a file created, the next 64 KiB of the newest file, or
 * the oldest file deleted (in /data or /small).
 * Returns the fs result; *what says what was tried. */
int churn_step(struct churn *c, struct efs *fs, const char **what);
/* Forgets what it knew of the volume (another run starts on it). */
void churn_forget(struct churn *c);
/* Checks every file's contents; returns how many are wrong. */
int churn_verify(struct churn *c, struct efs *fs);

#endif
