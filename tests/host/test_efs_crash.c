/* Power cuts: a workload runs on a device that dies after write N, for
 * every N the workload makes (a random sample when there are many),
 * sometimes tearing write N, sometimes losing writes the device had not
 * flushed. After each cut the image must mount, fsck clean, hold
 * everything synced, and show the state after one whole operation: never
 * half of one. File contents follow the guarantee of fs/README.md ("What
 * a power cut leaves"): bytes overwritten in place after the recovered
 * state may hold their old value or one a later step wrote; every other
 * byte is exactly that state's.
 *
 * A failing case prints its id, which holds everything the case depends
 * on (workload, sector size, device and journal size, seed, cut, tear,
 * lose). Replay it alone, verbosely, with
 *     EFS_CRASH_CASE='<id>' build/tests/test_efs_crash
 * (EFS_CRASH_STEP=N also lists the reference tree after step N). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "churn.h"
#include "efs_util.h"
#include "memdev.h"

#define STEPS 200
#define MAX_CUTS 700
#ifndef NSEEDS
#define NSEEDS 8
#endif

static int verbose, verbose_step;
static long explained;	/* cuts that needed the overwrite rule */

/* Everything one case depends on; its id is this, printed. */
struct crash_case {
	const char *workload;
	uint32_t sector;
	uint64_t dev_size, journal;
	uint64_t seed;
	long cut;
	int tear, lose;
};

typedef int step_fn(struct efs *fs, uint64_t *seed, const char **kind);

/* churn: files written and deleted with the live bytes bounded (churn.h),
 * scaled to the device; the free space is reused over and over, and
 * runs out in pieces, so records are moved to make room. */
static struct churn churn;

static int churn_wl(struct efs *fs, uint64_t *seed, const char **kind)
{
	churn.seed = *seed;
	int err = churn.limit ? churn_step(&churn, fs, kind) : EFS_ERR_INVALID;
	*seed = churn.seed;
	return err;
}

/* compact: the random steps, and every eighth an online compaction. */
static int compact_wl(struct efs *fs, uint64_t *seed, const char **kind)
{
	if (memdev_rand(seed) % 8)
		return workload_step(fs, seed, kind);
	*kind = "compact";
	return efs_compact(fs, 0);
}

/* growth: a volume made with 8 slots takes new files and directories,
 * and sometimes loses one, so its table grows again and again. */
static int growth_wl(struct efs *fs, uint64_t *seed, const char **kind)
{
	char path[32];
	uint32_t ino;
	uint64_t r = memdev_rand(seed);
	struct efs_space sp;
	int err = efs_space(fs, &sp);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/n%llu",
		 (unsigned long long)(r % (sp.slots + 8)));
	*kind = r % 5 == 0 ? "unlink" : r % 5 == 1 ? "mkdir" : "create";
	if (r % 5 == 0)
		return efs_unlink(fs, path);
	if (r % 5 == 1)
		return efs_mkdir(fs, path, 0755);
	return efs_create(fs, path, 0644, &ino);
}

/* pieces: the free space is in two pieces around a placeholder (two big
 * files made and removed in setup); a file grows in appends of 128 KiB
 * past the size of either piece, so the planner empties a window (moving
 * the placeholder, and the growing file itself when it lies in the way),
 * then goes, with a small file now and then in the holes. */
static uint64_t pieces_max;	/* the big file's size at most */

static int pieces_wl(struct efs *fs, uint64_t *seed, const char **kind)
{
	static uint8_t buf[128 << 10];
	uint64_t r = memdev_rand(seed);
	uint32_t ino;
	struct efs_stat st;
	if (r % 8 == 0) {
		char path[16];
		snprintf(path, sizeof(path), "/s%llu",
			 (unsigned long long)(r / 8 % 6));
		*kind = "small";
		int err = efs_create(fs, path, 0644, &ino);
		if (err == EFS_ERR_EXISTS)
			return efs_unlink(fs, path);
		int64_t w = err ? err : efs_write(fs, ino, 0, buf, 300);
		return w < 0 ? (int)w : 0;
	}
	int err = efs_lookup(fs, "/big", 1, &ino);
	if (err == EFS_ERR_NOT_FOUND) {
		*kind = "create";
		return efs_create(fs, "/big", 0644, &ino);
	}
	if (!err)
		err = efs_stat(fs, ino, &st);
	if (err)
		return err;
	if (st.size >= pieces_max) {
		*kind = "unlink";
		return efs_unlink(fs, "/big");
	}
	*kind = "append";
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(st.size / sizeof(buf) + i * 13);
	int64_t w = efs_append(fs, ino, buf, sizeof(buf));
	return w < 0 ? (int)w : 0;
}

static const struct {
	const char *name;
	step_fn *step;
} workloads[] = {
	{ "random", workload_step },
	{ "churn", churn_wl },
	{ "compact", compact_wl },
	{ "growth", growth_wl },
	{ "pieces", pieces_wl },
};

static step_fn *find_workload(const char *name)
{
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (!strcmp(workloads[i].name, name))
			return workloads[i].step;
	return 0;
}

/* The volume built with two files back to back, "a" 56 KiB bigger than
 * "b", then both removed: their placeholders split the free space in two,
 * the upper piece a little smaller. A file starts there (the best fit),
 * fills it, and then fits neither piece: it moves to the lower piece's
 * start and grows over the upper one. */
static void setup_pieces(const struct crash_case *c, struct memdev *m)
{
	struct efs_build_opts o = { .journal_size = c->journal };
	struct efs *fs;
	struct efs_space sp;
	uint64_t a = c->dev_size / 2, b = 64 << 10;
	for (int pass = 0; pass < 2; pass++) {
		CHECK_INT(build_ab(&m->io, &o, a, b, 0), 0);
		CHECK_INT(efs_mount(&m->io, &fs), 0);
		CHECK_INT(efs_space(fs, &sp), 0);
		if (pass == 0) {	/* all but 8 KiB, a 56 KiB more than b */
			uint64_t all = a + b + sp.largest - (8 << 10);
			b = (all - (56 << 10)) / 2;
			a = all - b;
			CHECK_INT(efs_unmount(fs), 0);
		}
	}
	CHECK_INT(efs_unlink(fs, "/a"), 0);
	CHECK_INT(efs_unlink(fs, "/b"), 0);
	CHECK_INT(efs_sync(fs), 0);
	CHECK_INT(efs_space(fs, &sp), 0);
	pieces_max = sp.largest + (128 << 10);
	CHECK(sp.free > pieces_max + (256 << 10));
	CHECK_INT(efs_unmount(fs), 0);
}

/* What a workload needs on the volume before its first step. */
static void setup(const struct crash_case *c, struct memdev *m)
{
	struct efs *fs;
	if (!strcmp(c->workload, "pieces")) {
		setup_pieces(c, m);
		return;
	}
	if (strcmp(c->workload, "churn") || efs_mount(&m->io, &fs))
		return;
	churn_free(&churn);
	churn_init(&churn, c->dev_size, 0);
	CHECK_INT(churn_setup(&churn, fs), 0);
	CHECK_INT(efs_unmount(fs), 0);
}

static void case_id(const struct crash_case *c, char *out, size_t n)
{
	snprintf(out, n, "%s,%u,%llu,%llu,%llu,%ld,%d,%d", c->workload,
		 c->sector, (unsigned long long)c->dev_size,
		 (unsigned long long)c->journal, (unsigned long long)c->seed,
		 c->cut, c->tear, c->lose);
}

static int parse_id(const char *s, struct crash_case *c, char *name,
		    size_t n)
{
	unsigned long long dev, jnl, seed;
	char fmt[64];
	snprintf(fmt, sizeof(fmt), "%%%zu[^,],%%u,%%llu,%%llu,%%llu,%%ld,"
		 "%%d,%%d", n - 1);
	if (sscanf(s, fmt, name, &c->sector, &dev, &jnl, &seed, &c->cut,
		   &c->tear, &c->lose) != 8 || !find_workload(name) ||
	    (c->sector != 512 && c->sector != 4096))
		return -1;
	c->workload = name;
	c->dev_size = dev;
	c->journal = jnl;
	c->seed = seed;
	return 0;
}

struct run {
	uint64_t digest[STEPS + 1];	/* state after step i (0: start) */
	uint64_t meta[STEPS + 1];	/* the same without file contents */
	int synced;			/* last step a sync completed after */
	int attempted;			/* steps started */
	long writes;
	/* Called after each step when set. */
	void (*after)(struct efs *fs, int step, void *ctx);
	void *ctx;
};

/* The workload: random steps, a sync after some. Stops at an I/O error
 * (the power is gone). */
static void workload(struct memdev *m, const struct crash_case *c,
		     struct run *r, int record)
{
	struct efs *fs;
	step_fn *step = find_workload(c->workload);
	uint64_t seed = c->seed;
	r->synced = 0;
	r->attempted = 0;
	churn_forget(&churn);
	if (efs_mount(&m->io, &fs))
		return;
	if (record)
		tree_digests(fs, &r->digest[0], &r->meta[0]);
	if (r->after)
		r->after(fs, 0, r->ctx);
	for (int i = 1; i <= STEPS; i++) {
		const char *kind;
		r->attempted = i;
		int err = step(fs, &seed, &kind);
		if (verbose)
			printf("step %d %s: %s (writes %ld)\n", i, kind,
			       efs_strerror(err), m->writes);
		if (err == EFS_ERR_IO)
			break;
		tree_verbose = verbose && record && i == verbose_step;
		if (tree_verbose)
			printf("reference after step %d:\n", i);
		if (record && tree_digests(fs, &r->digest[i], &r->meta[i]))
			printf("digest failed at step %d\n", i);
		tree_verbose = 0;
		if (r->after)
			r->after(fs, i, r->ctx);
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

/* A fresh formatted device for the case. */
static int make_base(const struct crash_case *c, struct memdev *m)
{
	struct efs_build_opts o = { .journal_size = c->journal,
				    .slots = strcmp(c->workload, "growth") ? 0 : 8 };
	memdev_init(m, c->dev_size);
	m->sector = m->io.block_size = c->sector;
	int err = efs_format(&m->io, &o, m->now);
	if (!err)
		setup(c, m);
	return err;
}

static void fail(const struct crash_case *c, const char *what,
		 const char *detail)
{
	char id[160];
	case_id(c, id, sizeof(id));
	printf("case %s: %s%s\n", id, what, detail);
}

/* After the cut: mounts, digests and fscks the image. */
static int recovered(const struct crash_case *c, struct memdev *m,
		     uint64_t *d, uint64_t *meta)
{
	struct efs *fs;
	struct efs_fsck_result fr;
	int err = efs_mount(&m->io, &fs);
	if (!err) {
		tree_verbose = verbose;
		if (verbose)
			printf("recovered:\n");
		err = tree_digests(fs, d, meta);
		tree_verbose = 0;
		efs_unmount(fs);
	}
	if (err) {
		fail(c, "mount/read: ", efs_strerror(err));
		return 0;
	}
	if (efs_fsck(&m->io, 0, verbose ? print_line : 0, 0, &fr) ||
	    fr.errors) {
		fail(c, "fsck found errors", "");
		return 0;
	}
	return 1;
}

/* The recovered volume takes changes again. */
static int writable(const struct crash_case *c, struct memdev *m)
{
	struct efs *fs;
	uint32_t ino;
	if (efs_mount(&m->io, &fs))
		return 0;
	int e = efs_create(fs, "/after-cut", 0644, &ino);
	if (e == EFS_ERR_EXISTS)
		e = 0;
	if (!e)
		e = efs_sync(fs);
	efs_unmount(fs);
	if (e && e != EFS_ERR_NO_SPACE && e != EFS_ERR_NO_INODES) {
		fail(c, "no changes after recovery: ", efs_strerror(e));
		return 0;
	}
	return 1;
}

/* Checking the recovered files against states j.. of a second run. */
struct overwrites {
	struct tree_file *got;	/* the recovered files */
	size_t n;
	uint8_t **odd;		/* per file, per byte: not explained yet */
	int from, to;		/* the states that may explain them */
};

static struct tree_file *by_ino(struct tree_file *f, size_t n, uint32_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].ino == ino)
			return &f[i];
	return 0;
}

/* After step k >= j: bytes equal to state k's are explained. */
static void explain(struct efs *fs, int k, void *ctx)
{
	struct overwrites *o = ctx;
	struct tree_file *now;
	size_t n;
	if (k < o->from || k > o->to || tree_files(fs, &now, &n))
		return;
	for (size_t i = 0; i < o->n; i++) {
		struct tree_file *g = &o->got[i], *s = by_ino(now, n, g->ino);
		for (uint64_t p = 0; s && p < g->size && p < s->size; p++)
			if (g->data[p] == s->data[p])
				o->odd[i][p] = 0;
	}
	tree_files_free(now, n);
}

/* Whether the recovered contents are state j's but for bytes that later
 * steps wrote (the ordered-overwrite guarantee). */
static int overwrites_explain(const struct memdev *base,
			      const struct crash_case *c, struct memdev *got,
			      int j, int upto)
{
	struct overwrites o = { .from = j, .to = upto };
	struct efs *fs;
	struct memdev m;
	struct run r = { .after = explain, .ctx = &o };
	if (efs_mount(&got->io, &fs))
		return 0;
	int err = tree_files(fs, &o.got, &o.n);
	efs_unmount(fs);
	o.odd = calloc(o.n + 1, sizeof(*o.odd));
	for (size_t i = 0; !err && i < o.n; i++) {
		o.odd[i] = malloc(o.got[i].size + 1);
		memset(o.odd[i], 1, o.got[i].size);
	}
	memdev_clone(&m, base);
	workload(&m, c, &r, 0);
	memdev_free(&m);
	int ok = !err;
	for (size_t i = 0; i < o.n; i++) {
		for (uint64_t p = 0; ok && p < o.got[i].size; p++)
			if (o.odd[i][p]) {
				if (verbose)
					printf("  %s byte %llu: no state has "
					       "it\n", o.got[i].path,
					       (unsigned long long)p);
				ok = 0;
			}
		free(o.odd[i]);
	}
	free(o.odd);
	tree_files_free(o.got, o.n);
	return ok;
}

static int check_cut(const struct memdev *base, const struct crash_case *c,
		     const struct run *ref)
{
	struct memdev after;
	struct run r = { 0 };
	memdev_clone(&after, base);
	after.cut_after = c->cut;
	after.tear = c->tear;
	after.lose_unsynced = c->lose;
	after.seed = c->seed * 31 + (uint64_t)c->cut + 1;
	workload(&after, c, &r, 0);
	memdev_settle(&after);
	memdev_power_on(&after);

	uint64_t d = 0, meta = 0;
	int ok = recovered(c, &after, &d, &meta);
	/* The state of some step between the last sync and the cut, or its
	 * names and sizes with bytes that later steps overwrote. */
	int found = -1;
	for (int i = r.synced; ok && i <= r.attempted && found < 0; i++)
		if (ref->digest[i] == d)
			found = i;
	for (int i = r.synced; ok && i <= r.attempted && found < 0; i++)
		if (ref->meta[i] == meta &&
		    overwrites_explain(base, c, &after, i, r.attempted)) {
			found = i;
			explained++;
		}
	if (ok && found < 0 && verbose)
		for (int i = 0; i <= STEPS; i++)
			if (ref->digest[i] == d)
				printf("  (the state of step %d)\n", i);
	if (ok && found < 0) {
		char what[64];
		snprintf(what, sizeof(what), "state is no step in %d..%d",
			 r.synced, r.attempted);
		fail(c, what, "");
		ok = 0;
	}
	ok = ok && writable(c, &after);
	memdev_free(&after);
	return ok;
}

/* Every cut point of one workload (a sample when there are many). */
static long run_cuts(struct crash_case *c)
{
	struct memdev base, ref;
	struct run r = { 0 };
	long cases = 0;
	CHECK_INT(make_base(c, &base), 0);
	memdev_clone(&ref, &base);
	workload(&ref, c, &r, 1);
	memdev_free(&ref);
	long w = r.writes;
	uint64_t pick = c->seed;
	for (long k = 0; k < MAX_CUTS && k <= w; k++) {
		c->cut = w <= MAX_CUTS ? k : (long)(memdev_rand(&pick) % (w + 1));
		c->tear = (int)(memdev_rand(&pick) % 2);
		c->lose = (int)(memdev_rand(&pick) % 3 == 0);
		CHECK(check_cut(&base, c, &r));
		cases++;
	}
	printf("%s seed %llu (%u-byte sectors): %ld writes in the workload\n",
	       c->workload, (unsigned long long)c->seed, c->sector, w);
	memdev_free(&base);
	return cases;
}

static int replay(const char *id)
{
	struct crash_case c;
	char name[32];
	struct memdev base, ref;
	struct run r = { 0 };
	if (parse_id(id, &c, name, sizeof(name))) {
		fprintf(stderr, "EFS_CRASH_CASE: want WORKLOAD,SECTOR,DEVSIZE,"
			"JOURNAL,SEED,CUT,TEAR,LOSE (as a failure prints it)\n");
		return 2;
	}
	CHECK_INT(make_base(&c, &base), 0);
	memdev_clone(&ref, &base);
	verbose = 1;
	verbose_step = getenv("EFS_CRASH_STEP") ?
		atoi(getenv("EFS_CRASH_STEP")) : -1;
	workload(&ref, &c, &r, 1);
	CHECK(check_cut(&base, &c, &r));
	memdev_free(&ref);
	memdev_free(&base);
	return check_done();
}

int main(void)
{
	long cases = 0;
	const char *one = getenv("EFS_CRASH_CASE");
	if (one)
		return replay(one);
	for (size_t w = 0; w < sizeof(workloads) / sizeof(workloads[0]); w++) {
		uint64_t seeds = w ? 2 : NSEEDS;
		for (uint64_t s = 1; s <= seeds; s++) {
			/* Half the seeds on a disk with 4096-byte sectors. */
			int big = s > seeds / 2;
			struct crash_case c = {
				.workload = workloads[w].name,
				.sector = big ? 4096 : 512,
				.dev_size = big ? 6u << 20 : 3u << 20,
				.journal = big ? 192 * 4096 : 0,
				.seed = s * 7919,
			};
			cases += run_cuts(&c);
		}
	}
	printf("%ld power cuts checked (%ld with bytes overwritten in place "
	       "after the recovered state)\n", cases, explained);
	return check_done();
}
