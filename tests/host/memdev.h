/* A RAM block device for the fs tests, after littlefs's emulated block
 * device: it counts writes, can cut the power after write N (tearing that
 * write at a sector boundary, and optionally losing any write not yet
 * flushed, as a volatile disk cache would), and injects read errors. */
#ifndef UMBRA_MEMDEV_H
#define UMBRA_MEMDEV_H

#include <stddef.h>
#include <stdint.h>

#include "../../fs/eclipsefs.h"

struct memdev_write {
	uint64_t off;
	uint64_t len;
	uint8_t *old;		/* what the medium held before */
};

struct memdev {
	uint8_t *data;
	uint64_t size;
	uint32_t sector;
	long writes, syncs;	/* counted */
	uint64_t bytes_written;
	long cut_after;		/* -1: never; else writes allowed */
	int cut;		/* the power is off: every write fails */
	int tear;		/* the cut write lands partly */
	int lose_unsynced;	/* at the cut, unflushed writes may vanish */
	long fail_read_at;	/* -1: never; else the n-th read fails */
	long fail_write_at;	/* the same for writes (counted in writes) */
	long fail_sync_at;	/* and for syncs (counted in syncs) */
	int fail_code;		/* what a failed request returns */
	long reads;
	uint64_t seed;
	struct memdev_write *log;	/* writes since the last sync */
	size_t nlog, caplog;
	uint64_t now;
	struct efs_io io;
};

/* A zeroed device of size bytes. */
void memdev_init(struct memdev *m, uint64_t size);
/* A copy of src's contents with fresh counters. */
void memdev_clone(struct memdev *m, const struct memdev *src);
void memdev_free(struct memdev *m);
/* Applies the cut's effects (lost unflushed writes) after a workload. */
void memdev_settle(struct memdev *m);
/* The power is back: no cut, no failures, fresh counters. */
void memdev_power_on(struct memdev *m);
uint64_t memdev_rand(uint64_t *seed);

#endif
