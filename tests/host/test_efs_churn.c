/* The churn soak: a 32 MiB volume that an appliance keeps rewriting. Files
 * of 1 KiB to 1 MiB are written, the oldest deleted so that at most a
 * quarter of the volume is live, until 20 times the volume has been
 * written; beside them a directory of 200 small files is filled and
 * emptied over and over. No change may ever say "no space"; at every
 * checkpoint the volume is unmounted, fsck must be clean and every live
 * file must read back exactly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "churn.h"
#include "memdev.h"

#define VOLUME (32u << 20)
#define CHECKPOINTS 10

static void print_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("  fsck: %s\n", line);
}

static int checkpoint(struct memdev *m, struct churn *c, struct efs **fs)
{
	struct efs_fsck_result r;
	int ok = 1;
	CHECK_INT(efs_unmount(*fs), 0);
	int err = efs_fsck(&m->io, 0, print_line, 0, &r);
	CHECK_INT(err, 0);
	CHECK_INT(r.errors, 0);
	ok &= !err && !r.errors;
	CHECK_INT(efs_mount(&m->io, fs), 0);
	int bad = churn_verify(c, *fs);
	CHECK_INT(bad, 0);
	return ok && !bad;
}

int main(void)
{
	struct memdev m;
	struct efs *fs;
	struct churn c;
	clock_t t0 = clock();
	memdev_init(&m, VOLUME);
	CHECK_INT(efs_format(&m.io, 0, m.now), 0);
	CHECK_INT(efs_mount(&m.io, &fs), 0);
	churn_init(&c, VOLUME, 1);
	CHECK_INT(churn_setup(&c, fs), 0);
	uint64_t goal = 20ull * VOLUME, step = goal / CHECKPOINTS;
	int failures = 0;
	for (int k = 1; k <= CHECKPOINTS && !failures; k++) {
		while (c.written < step * k && !failures) {
			const char *what;
			int err = churn_step(&c, fs, &what);
			if (err) {
				printf("after %llu bytes: %s: %s\n",
				       (unsigned long long)c.written, what,
				       efs_strerror(err));
				failures++;
			}
		}
		CHECK_INT(failures, 0);
		struct efs_space sp;
		CHECK_INT(efs_space(fs, &sp), 0);
		printf("checkpoint %d: %llu MiB written, %llu KiB live in %u "
		       "files; used %llu KiB, free %llu KiB (largest %llu KiB)\n",
		       k, (unsigned long long)(c.written >> 20),
		       (unsigned long long)(c.live >> 10), c.nfiles,
		       (unsigned long long)(sp.used >> 10),
		       (unsigned long long)(sp.free >> 10),
		       (unsigned long long)(sp.largest >> 10));
		if (!checkpoint(&m, &c, &fs))
			failures++;
	}
	CHECK(c.written >= goal || failures);
	efs_unmount(fs);
	churn_free(&c);
	memdev_free(&m);
	printf("churn: %llu MiB through a %u MiB volume in %.1f s\n",
	       (unsigned long long)(c.written >> 20), VOLUME >> 20,
	       (double)(clock() - t0) / CLOCKS_PER_SEC);
	return check_done();
}
