/* Power cuts: a workload runs on a device that dies after write N, for
 * every N the workload makes (a random sample when there are many),
 * sometimes tearing write N, sometimes losing writes the device had not
 * flushed. After each cut the image must mount, fsck clean, hold
 * everything synced, and show the state after one whole operation: never
 * half of one. Reproduce a failure with its printed case id. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "efs_util.h"
#include "memdev.h"

#define DEV_SIZE (3u << 20)
#define STEPS 200
#define MAX_CUTS 700
#ifndef NSEEDS
#define NSEEDS 8
#endif

static int verbose, verbose_step;

struct run {
	uint64_t digest[STEPS + 1];	/* state after step i (0: start) */
	int synced;			/* last step a sync completed after */
	int attempted;			/* steps started */
	long writes;
};

/* The workload: random steps, a sync after some. Stops at an I/O error
 * (the power is gone). */
static void workload(struct memdev *m, uint64_t seed, struct run *r,
		     int record)
{
	struct efs *fs;
	r->synced = 0;
	r->attempted = 0;
	if (efs_mount(&m->io, &fs))
		return;
	if (record)
		tree_digest(fs, &r->digest[0]);
	for (int i = 1; i <= STEPS; i++) {
		const char *kind;
		r->attempted = i;
		int err = workload_step(fs, &seed, &kind);
		if (verbose)
			printf("step %d %s: %s (writes %ld)\n", i, kind,
			       efs_strerror(err), m->writes);
		if (err == EFS_ERR_IO)
			break;
		tree_verbose = verbose && record && i == verbose_step;
		if (tree_verbose)
			printf("reference after step %d:\n", i);
		if (record && tree_digest(fs, &r->digest[i]))
			printf("digest failed at step %d\n", i);
		tree_verbose = 0;
		if (memdev_rand(&seed) % 6 == 0) {
			if (efs_sync(fs))
				break;
			r->synced = i;
		}
	}
	efs_unmount(fs);
	r->writes = m->writes;
}

static void print_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("  fsck: %s\n", line);
}

static int check_cut(const struct memdev *base, uint64_t seed, long n,
		     int tear, int lose, const struct run *ref)
{
	struct memdev m, after;
	struct run r;
	memdev_clone(&m, base);
	m.cut_after = n;
	m.tear = tear;
	m.lose_unsynced = lose;
	m.seed = seed * 31 + (uint64_t)n + 1;
	workload(&m, seed, &r, 0);
	memdev_settle(&m);
	memdev_clone(&after, &m);
	memdev_free(&m);

	int ok = 1;
	struct efs *fs;
	struct efs_fsck_result fr;
	uint64_t d = 0;
	int err = efs_mount(&after.io, &fs);
	if (!err) {
		tree_verbose = verbose;
		if (verbose)
			printf("recovered:\n");
		err = tree_digest(fs, &d);
		tree_verbose = 0;
		efs_unmount(fs);
	}
	if (err) {
		printf("case seed=%llu cut=%ld tear=%d lose=%d: mount/read: "
		       "%s\n", (unsigned long long)seed, n, tear, lose,
		       efs_strerror(err));
		ok = 0;
	}
	if (ok && (efs_fsck(&after.io, 0, verbose ? print_line : 0, 0, &fr) ||
		   fr.errors)) {
		printf("case seed=%llu cut=%ld tear=%d lose=%d: fsck found "
		       "%u errors\n", (unsigned long long)seed, n, tear, lose,
		       fr.errors);
		ok = 0;
	}
	/* The state of some step between the last sync and the cut. */
	int found = -1;
	for (int i = r.synced; ok && i <= r.attempted && found < 0; i++)
		if (ref->digest[i] == d)
			found = i;
	if (ok && found < 0 && verbose)
		for (int i = 0; i <= STEPS; i++)
			if (ref->digest[i] == d)
				printf("  (the state of step %d)\n", i);
	if (ok && found < 0) {
		printf("case seed=%llu cut=%ld tear=%d lose=%d: state is no "
		       "step in %d..%d\n", (unsigned long long)seed, n, tear,
		       lose, r.synced, r.attempted);
		ok = 0;
	}
	/* And it takes changes again. */
	if (ok && !efs_mount(&after.io, &fs)) {
		uint32_t ino;
		int e = efs_create(fs, "/after-cut", 0644, &ino);
		if (e == EFS_ERR_EXISTS)
			e = 0;
		if (!e)
			e = efs_sync(fs);
		efs_unmount(fs);
		if (e && e != EFS_ERR_NO_SPACE && e != EFS_ERR_NO_INODES) {
			printf("case seed=%llu cut=%ld: no changes after "
			       "recovery: %s\n", (unsigned long long)seed, n,
			       efs_strerror(e));
			ok = 0;
		}
	}
	memdev_free(&after);
	return ok;
}

int main(void)
{
	long cases = 0;
	const char *one = getenv("EFS_CRASH_CASE");	/* seed,cut,tear,lose */
	if (one) {
		unsigned long long seed;
		long n;
		int tear, lose;
		struct memdev base, ref;
		struct run r;
		if (sscanf(one, "%llu,%ld,%d,%d", &seed, &n, &tear, &lose) != 4)
			return 2;
		memdev_init(&base, DEV_SIZE);
		efs_format(&base.io, 0, base.now);	/* 512-byte sectors */
		memdev_clone(&ref, &base);
		verbose = 1;
		verbose_step = getenv("EFS_CRASH_STEP") ?
			atoi(getenv("EFS_CRASH_STEP")) : -1;
		workload(&ref, seed, &r, 1);
		CHECK(check_cut(&base, seed, n, tear, lose, &r));
		return check_done();
	}
	for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
		struct memdev base, ref;
		struct run r;
		/* Half the seeds on a disk with 4096-byte sectors. */
		int big = seed > NSEEDS / 2;
		struct efs_build_opts o = { .journal_size = big ? 192 * 4096 : 0 };
		memdev_init(&base, big ? 2 * DEV_SIZE : DEV_SIZE);
		base.sector = base.io.block_size = big ? 4096 : 512;
		CHECK_INT(efs_format(&base.io, &o, base.now), 0);
		memdev_clone(&ref, &base);
		workload(&ref, seed * 7919, &r, 1);
		memdev_free(&ref);
		long w = r.writes;
		uint64_t pick = seed;
		for (long k = 0; k < MAX_CUTS && k <= w; k++) {
			/* Every cut point when there are few, else a sample. */
			long n = w <= MAX_CUTS ? k
					       : (long)(memdev_rand(&pick) % (w + 1));
			int tear = (int)(memdev_rand(&pick) % 2);
			int lose = (int)(memdev_rand(&pick) % 3 == 0);
			CHECK(check_cut(&base, seed * 7919, n, tear, lose, &r));
			cases++;
		}
		printf("seed %llu (%u-byte sectors): %ld writes in the "
		       "workload\n", (unsigned long long)seed, base.sector, w);
		memdev_free(&base);
	}
	printf("%ld power cuts checked\n", cases);
	return check_done();
}
