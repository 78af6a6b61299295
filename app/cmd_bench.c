/* bench: sequential and random reads and writes on a file or a raw
 * device, printing MB/s, IOPS and the median latency. The output lines
 * are parsed by tests/bench (see app/README.md). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../drivers/blk.h"
#include "../fs/eclipsefs.h"
#include "../runtime/console.h"
#include "../runtime/cpu.h"
#include "../runtime/page.h"
#include "../runtime/time.h"
#include "app.h"
#include "shell.h"
#include "storage.h"

#define SEQ_CHUNK (32u << 20)
#define MAX_DEPTH 256
#define MAX_OPS 100000

struct opts {
	const char *mode, *target;
	uint64_t size;		/* bytes (sequential), or the span (random) */
	uint32_t bs;		/* random: bytes per op */
	uint32_t depth, ops;
	int poll;		/* -p: wait by polling */
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void report_rate(const struct opts *o, uint64_t bytes, uint64_t us)
{
	uint64_t kbs = us ? bytes * 1000000 / 1024 / us : 0;
	con_printf("bench: %s %s: %llu bytes in %llu us: %llu.%02llu MB/s\n",
		   o->mode, o->target, (unsigned long long)bytes,
		   (unsigned long long)us, (unsigned long long)(kbs / 1024),
		   (unsigned long long)(kbs % 1024 * 100 / 1024));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report_ops(const struct opts *o, uint32_t n, uint64_t us,
		       uint64_t *lat)
{
	qsort(lat, n, sizeof(*lat), cmp_u64);
	con_printf("bench: %s %s bs=%u depth=%u: %u ops in %llu us: %llu IOPS, "
		   "median %llu us, p99 %llu us\n", o->mode, o->target, o->bs,
		   o->depth, n, (unsigned long long)us,
		   (unsigned long long)(us ? (uint64_t)n * 1000000 / us : 0),
		   (unsigned long long)time_tsc_to_us(lat[n / 2]),
		   (unsigned long long)time_tsc_to_us(lat[n * 99 / 100]));
}

/* --- files ------------------------------------------------------------- */

static int file_seq(const struct opts *o, int write, uint8_t *buf)
{
	struct efs *fs = app_fs("bench");
	const char *path = app_path(o->target);
	uint32_t ino;
	int err;
	if (!fs)
		return 1;
	if (write) {
		err = efs_lookup(fs, path, 1, &ino);
		if (err == EFS_ERR_NOT_FOUND)
			err = efs_create(fs, path, 0644, &ino);
		else if (!err)
			err = efs_truncate(fs, ino, 0);
		if (err)
			return app_fs_err("bench", path, err);
	} else if ((err = efs_lookup(fs, path, 1, &ino))) {
		return app_fs_err("bench", path, err);
	}
	uint64_t t0 = time_us(), done = 0;
	while (write ? done < o->size : 1) {
		uint64_t n = SEQ_CHUNK;
		if (write && o->size - done < n)
			n = o->size - done;
		int64_t r = write ? efs_write(fs, ino, done, buf, n)
				  : efs_read(fs, ino, done, buf, n);
		if (r < 0)
			return app_fs_err("bench", path, (int)r);
		if (r == 0)
			break;
		done += (uint64_t)r;
	}
	if (write && (err = efs_sync(fs)))
		return app_fs_err("bench", path, err);
	report_rate(o, done, time_us() - t0);
	return 0;
}

static int file_rand(const struct opts *o, int write, uint8_t *buf)
{
	struct efs *fs = app_fs("bench");
	const char *path = app_path(o->target);
	uint32_t ino;
	struct efs_stat st;
	if (!fs)
		return 1;
	int err = efs_lookup(fs, path, 1, &ino);
	if (!err)
		err = efs_stat(fs, ino, &st);
	if (err)
		return app_fs_err("bench", path, err);
	if (st.size < o->bs)
		return shell_err("bench", 1, "%s: smaller than one op", path);
	uint64_t *lat = malloc(o->ops * sizeof(*lat)), seed = 0x1234567;
	if (!lat)
		return shell_err("bench", 1, "out of memory");
	uint64_t slots = st.size / o->bs, t0 = time_us();
	for (uint32_t i = 0; i < o->ops; i++) {
		uint64_t off = rnd(&seed) % slots * o->bs, c = cpu_rdtsc();
		int64_t r = write ? efs_write(fs, ino, off, buf, o->bs)
				  : efs_read(fs, ino, off, buf, o->bs);
		lat[i] = cpu_rdtsc() - c;
		if (r < 0) {
			free(lat);
			return app_fs_err("bench", path, (int)r);
		}
	}
	if (write && (err = efs_sync(fs))) {
		free(lat);
		return app_fs_err("bench", path, err);
	}
	report_ops(o, o->ops, time_us() - t0, lat);
	free(lat);
	return 0;
}

/* --- devices ------------------------------------------------------------ */

/* A failed device run: the block layer's sentence when the device said
 * something, else the code's words after the device's name. */
static int dev_err(struct blk_dev *d, int err)
{
	if (blk_last_error(d)[0])
		return shell_err("bench", 1, "%s", blk_last_error(d));
	return shell_err("bench", 1, "%s: %s", d->name, blk_strerror(err));
}

static int dev_seq(const struct opts *o, struct blk_dev *d, int write,
		   uint8_t *buf)
{
	uint64_t total = o->size / d->sector_size, per = SEQ_CHUNK /
							  d->sector_size;
	if (total > d->sectors)
		total = d->sectors;
	uint64_t t0 = time_us();
	for (uint64_t lba = 0; lba < total; lba += per) {
		uint64_t n = total - lba < per ? total - lba : per;
		int err = blk_io(d, write ? BLK_WRITE : BLK_READ, lba, n, buf);
		if (err)
			return dev_err(d, err);
	}
	int err = write ? blk_flush(d) : 0;	/* durable, as a file's sync */
	if (err)
		return dev_err(d, err);
	report_rate(o, total * d->sector_size, time_us() - t0);
	return 0;
}

/* Keeps `depth` requests in flight at random places until ops are done. */
static int dev_rand(const struct opts *o, struct blk_dev *d, int write,
		    uint8_t *buf)
{
	uint32_t per = o->bs / d->sector_size, depth = o->depth;
	if (!per || o->bs % d->sector_size)
		return shell_err("bench", SHELL_USAGE, "-b must be a multiple of "
				 "the sector size (%u)", d->sector_size);
	uint64_t slots = (o->size < d->sectors * d->sector_size
				  ? o->size / d->sector_size : d->sectors) / per;
	struct blk_req *r = calloc(depth, sizeof(*r));
	uint64_t *lat = malloc(o->ops * sizeof(*lat)), *start =
		calloc(depth, sizeof(*start)), seed = 0xabcdef;
	int err = r && lat && start && slots ? 0 : BLK_ERR_NOMEM;
	uint32_t issued = 0, done = 0;
	uint64_t t0 = time_us();
	while (!err && done < o->ops) {
		for (uint32_t i = 0; i < depth && issued < o->ops; i++) {
			if (start[i])
				continue;
			r[i] = (struct blk_req){
				.op = write ? BLK_WRITE : BLK_READ,
				.lba = rnd(&seed) % slots * per, .count = per,
				.addr = (uintptr_t)(buf + (uint64_t)i * o->bs) };
			/* before submit: a synchronous driver (IDE PIO) does
			 * the whole transfer inside it */
			start[i] = cpu_rdtsc();
			if ((err = blk_submit(d, &r[i]))) {
				start[i] = 0;
				break;
			}
			issued++;
		}
		if (err)
			break;
		int n = blk_reap(d);	/* bounded: BLK_TIMEOUT_US */
		if (n < 0) {
			err = n;
			break;
		}
		uint64_t now = cpu_rdtsc();
		for (uint32_t i = 0; n && i < depth; i++) {
			if (!start[i] || !r[i].done)
				continue;
			lat[done++] = now - start[i];
			start[i] = 0;
			if (r[i].status)
				err = r[i].status;
		}
	}
	for (uint32_t i = 0; i < depth && start; i++)
		if (start[i])
			blk_wait(d, &r[i]);
	/* Writes count once durable, as a file's count after its sync. */
	if (!err && write)
		err = blk_flush(d);
	uint64_t us = time_us() - t0;
	if (!err)
		report_ops(o, done, us, lat);
	free(r);
	free(lat);
	free(start);
	return err ? dev_err(d, err) : 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .size = 64ull << 20, .bs = 4096, .depth = 1,
			    .ops = 2000 };
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		unsigned long long v;
		if (!strcmp(argv[i], "-p")) {	/* a flag: no value */
			o->poll = 1;
			i--;
			continue;
		}
		if (shell_parse_u64(argv[i + 1], &v))
			return -1;
		switch (argv[i][1]) {
		case 's': o->size = v << 20; break;	/* MiB */
		case 'b': o->bs = (uint32_t)v; break;
		case 'd': o->depth = (uint32_t)v; break;
		case 'n': o->ops = (uint32_t)v; break;
		default: return -1;
		}
	}
	if (argc - i != 2 || !o->bs || o->bs > (1u << 20) || !o->depth ||
	    o->depth > MAX_DEPTH || !o->ops || o->ops > MAX_OPS)
		return -1;
	o->mode = argv[i];
	o->target = argv[i + 1];
	return 0;
}

static int cmd_bench(int argc, char **argv)
{
	struct opts o;
	if (parse(argc, argv, &o))
		return shell_err(argv[0], SHELL_USAGE, "usage: bench [-p] "
				 "[-s MiB] [-b BYTES] [-d DEPTH] [-n OPS] "
				 "seqread|seqwrite|randread|randwrite FILE|DEVICE");
	int seq = !strncmp(o.mode, "seq", 3), write = !strcmp(o.mode + 3 + !seq,
							    "write");
	if ((strcmp(o.mode, "seqread") && strcmp(o.mode, "seqwrite") &&
	     strcmp(o.mode, "randread") && strcmp(o.mode, "randwrite")))
		return shell_err(argv[0], SHELL_USAGE, "unknown mode %s", o.mode);
	struct blk_dev *d = blk_find(o.target);
	if (d && write) {
		uint64_t f;
		struct blk_dev *rd = storage_root_dev();
		if (rd && (rd == d || blk_disk(rd, &f) == d || blk_disk(d, &f) == rd))
			return shell_err(argv[0], 1, "%s holds the mounted volume: "
					 "writing it raw would destroy it",
					 o.target);
	}
	uint64_t bytes = seq ? SEQ_CHUNK : (uint64_t)o.bs * o.depth;
	uint8_t *buf = page_alloc_zero((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!buf)
		return shell_err(argv[0], 1, "out of memory");
	for (uint64_t i = 0; i < bytes; i++)
		buf[i] = (uint8_t)(i * 31);
	/* -p: the disk waits by polling for this run (to compare) */
	uint64_t first;
	struct blk_dev *disk = d ? d : storage_root_dev();
	disk = disk ? blk_disk(disk, &first) : 0;
	uint8_t was = disk ? disk->polling : 0;
	if (disk && o.poll)
		blk_set_polling(disk, 1);
	if (disk)
		con_printf("bench: %s waits by %s\n", disk->name,
			   blk_wait_mode(disk));
	int st;
	if (d)
		st = seq ? dev_seq(&o, d, write, buf) : dev_rand(&o, d, write, buf);
	else
		st = seq ? file_seq(&o, write, buf) : file_rand(&o, write, buf);
	if (disk)
		blk_set_polling(disk, was);
	page_free((uintptr_t)buf, (bytes + PAGE_SIZE - 1) / PAGE_SIZE);
	return st;
}

const struct shell_cmd shell_bench_cmds[] = {
	{ "bench", "[-p] [-s MiB] [-b B] [-d D] [-n N] MODE TARGET",
	  "seqread/seqwrite/randread/randwrite on a file or device",
	  cmd_bench },
	{ 0, 0, 0, 0 },
};
