/* The block device interface every driver implements, and the registry.
 * Sectors are the device's logical sectors (512 or 4096 bytes).
 * Partitions are block devices too: views of a parent, bounds-checked. */
#ifndef UMBRA_BLK_H
#define UMBRA_BLK_H

#include <stddef.h>
#include <stdint.h>

#define BLK_MAX_DEVS 32
#define BLK_TIMEOUT_US 15000000ull	/* no progress for this long: fail */

enum blk_err {
	BLK_OK = 0,
	BLK_ERR_IO = -1,	/* the device reported an error */
	BLK_ERR_TIMEOUT = -2,	/* no answer before the deadline */
	BLK_ERR_RANGE = -3,	/* past the end of the device */
	BLK_ERR_RO = -4,	/* the device is read-only */
	BLK_ERR_UNSUPP = -5,	/* the device cannot do this */
	BLK_ERR_NOMEM = -6,
	BLK_ERR_BUSY = -7,	/* queue full (submit only) */
	BLK_ERR_DEVICE = -8,	/* the device broke the protocol; failed */
	BLK_ERR_INVALID = -9,
};

const char *blk_strerror(int err);

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH, BLK_DISCARD, BLK_WRITE_ZEROES };

/* One request. The driver sets done and status when it completes. */
struct blk_req {
	uint8_t op;
	uint8_t done;
	int status;
	uint64_t lba;
	uint32_t count;		/* sectors */
	uint64_t addr;		/* DMA address of count * sector_size bytes */
	uint32_t tag;		/* the driver's */
};

struct blk_dev;

struct blk_ops {
	/* Queues req; BLK_ERR_BUSY when the queue is full. The request is
	 * within range and allowed (blk_io checked). */
	int (*submit)(struct blk_dev *d, struct blk_req *req);
	/* Tells the device about requests queued since the last call. */
	void (*kick)(struct blk_dev *d);
	/* Reaps completions (setting done/status); returns how many, or an
	 * error when the device misbehaved (it is then failed). */
	int (*poll)(struct blk_dev *d);
	/* Stops the device for good (reset: no more DMA), after a timeout or
	 * a protocol error. */
	void (*fail)(struct blk_dev *d);
};

struct blk_dev {
	char name[16];		/* vda, vda1, sda, nvme0n1 ... */
	char model[48], serial[24];
	const char *transport;	/* "virtio", "ahci", "ide", "nvme" */
	const char *cache;	/* "write-back", "write-through", "unknown" */
	uint64_t sectors;
	uint32_t sector_size;
	uint32_t max_sectors;	/* per request */
	uint32_t queue_depth;	/* requests in flight at most */
	uint32_t dma_align;	/* buffer addresses must be multiples */
	uint8_t read_only, can_flush, can_discard, can_write_zeroes;
	uint8_t failed;
	const struct blk_ops *ops;
	void *priv;
	struct blk_dev *parent;	/* partitions: the disk ... */
	uint64_t start;		/* ... and where they start on it */
	uint32_t partno;
};

/* Adds d to the registry (the driver keeps ownership). */
int blk_register(struct blk_dev *d);
unsigned blk_count(void);
struct blk_dev *blk_get(unsigned i);
struct blk_dev *blk_find(const char *name);

/* A partition of disk: sectors [first, first + count). Named disk name +
 * number ("vda2", or "nvme0n1p2" when the disk name ends in a digit). */
struct blk_dev *blk_add_partition(struct blk_dev *disk, uint32_t partno,
				  uint64_t first, uint64_t count);

/* Does op on [lba, lba + count) and waits: split to the device's request
 * size, as many in flight as its queue holds, each wait bounded. */
int blk_io(struct blk_dev *d, int op, uint64_t lba, uint64_t count,
	   void *buf);
int blk_write(struct blk_dev *d, uint64_t lba, uint64_t count,
	      const void *buf);
int blk_flush(struct blk_dev *d);

/* Byte-granular access (read-modify-write at the edges). */
int blk_read_bytes(struct blk_dev *d, uint64_t off, void *buf, size_t len);
int blk_write_bytes(struct blk_dev *d, uint64_t off, const void *buf,
		    size_t len);

/* The queued path, for benchmarks: submit many, then wait for each. */
int blk_submit(struct blk_dev *d, struct blk_req *req);
int blk_wait(struct blk_dev *d, struct blk_req *req);
/* Tells the device about what was submitted and reaps completions once;
 * returns how many completed, or an error (the device is then failed). */
int blk_poll(struct blk_dev *d);

/* The disk under a partition (d itself for a disk) and the offset. */
struct blk_dev *blk_disk(struct blk_dev *d, uint64_t *first);

#endif
