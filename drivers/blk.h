/* The block device interface every driver implements, the registry, and
 * the one request engine every I/O goes through. Sectors are the device's
 * logical sectors (512 or 4096 bytes; 2048 on CD/DVD media, 1024 on some
 * magneto-optical ones). Partitions are block devices too:
 * views of a parent, bounds-checked.
 *
 * Diagnostics are printed here, once, with the device's name: drivers put
 * their words for a failure into the device's `detail` (blk_detail) and
 * return an error; they never print. */
#ifndef UMBRA_BLK_H
#define UMBRA_BLK_H

#include <stddef.h>
#include <stdint.h>

#define BLK_MAX_DEVS 32
#define BLK_MAX_BROKEN 16
#define BLK_TIMEOUT_US 15000000ull	/* default: no completion this long */
#define BLK_MAX_BYTES (1ull << 60)	/* capacity bound: byte math never
					 * overflows */
#define BLK_SPIN_US 50		/* hybrid polling: spin at least this, */
#define BLK_SPIN_MAX_US 2000	/* at most this, then halt */
#define BLK_TICK_US 20000	/* a halted wait polls at least this often */
#define BLK_LOST_IRQS 3		/* completions without an interrupt, then
				 * the device is polled for good */

enum blk_err {
	BLK_OK = 0,
	BLK_ERR_IO = -201,	/* the device reported an error */
	BLK_ERR_TIMEOUT = -202,	/* no answer before the deadline */
	BLK_ERR_RANGE = -203,	/* past the end of the device */
	BLK_ERR_RO = -204,	/* the device is read-only */
	BLK_ERR_UNSUPP = -205,	/* the device cannot do this */
	BLK_ERR_NOMEM = -206,
	BLK_ERR_BUSY = -207,	/* queue full (submit only) */
	BLK_ERR_DEVICE = -208,	/* the device broke the protocol; failed */
	BLK_ERR_INVALID = -209,
};

const char *blk_strerror(int err);

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH, BLK_DISCARD, BLK_WRITE_ZEROES };

/* One request. The driver sets done and status when it completes. */
struct blk_req {
	uint8_t op;
	uint8_t done;
	int status;
	uint64_t lba;
	uint32_t count;		/* sectors (0 for a flush) */
	uint64_t addr;		/* DMA address of count * sector_size bytes */
	uint32_t tag;		/* the driver's */
};

struct blk_dev;
struct pci_dev;

struct blk_ops {
	/* Queues req; BLK_ERR_BUSY when the queue is full. The request is
	 * within range and allowed (the engine checked). A driver may also
	 * complete it at once (done = 1) and count it at the next poll. */
	int (*submit)(struct blk_dev *d, struct blk_req *req);
	/* Tells the device about requests queued since the last call. */
	void (*kick)(struct blk_dev *d);
	/* Reaps completions (setting done/status); returns how many, or an
	 * error when the device misbehaved (it is then failed). */
	int (*poll)(struct blk_dev *d);
	/* Stops the device for good (reset: no more DMA), after a timeout or
	 * a protocol error. 0, or an error when the reset did not take. */
	int (*fail)(struct blk_dev *d);
	/* Optional: fills d->serial with a request of its own, for a
	 * device whose serial costs one (virtio-blk's GET_ID); called
	 * once, by blk_serial, when someone first asks. */
	void (*ident)(struct blk_dev *d);
};

struct blk_dev {
	char name[16];		/* vda, vda1, sda, nvme0n1 ... */
	char model[64], serial[24];	/* serial: read it by blk_serial */
	const char *transport;	/* "virtio", "ahci", "ide", "nvme" */
	const struct pci_dev *pci;	/* the function it is on, or NULL */
	uint32_t target, unit;	/* virtio-scsi: its SCSI address */
	const char *cache;	/* "write-back", "write-through", "unknown" */
	uint64_t sectors;
	uint32_t sector_size;
	uint32_t max_sectors;	/* per request */
	uint32_t queue_depth;	/* requests in flight at most */
	uint32_t dma_align;	/* buffer addresses must be multiples */
	uint64_t dma_limit;	/* buffers must end below; 0: anywhere */
	uint8_t read_only, can_flush, can_discard, can_write_zeroes;
	uint8_t failed;
	uint64_t timeout_us;	/* 0: BLK_TIMEOUT_US */
	int irq_vec;		/* the driver's completion interrupt; 0: none */
	uint8_t polling;	/* wait by polling even with an interrupt */
	uint8_t identified;	/* ops->ident has run (blk_serial) */
	uint32_t spin_us;	/* spin this long before halting; 0: adapt */
	const struct blk_ops *ops;
	void *priv;
	struct blk_dev *parent;	/* partitions: the disk ... */
	uint64_t start;		/* ... and where they start on it */
	uint32_t partno;

	/* The engine's own (disks only; set by blk_register). */
	struct blk_req *slots;	/* queue_depth requests, reused */
	uint32_t inflight;	/* submitted through the engine, not reaped */
	uint32_t lost_irqs;	/* completions found without their interrupt */
	uint64_t halts;		/* waits that halted for the interrupt */
	uint64_t wait_avg_us;	/* recent waits in reap, averaged */
	char detail[96];	/* the driver's words for the last failure */
	char error[192];	/* the failure of the request that ran last,
				 * as a sentence ("" when it did not fail
				 * or failed before reaching the device);
				 * on a failed disk, why it was stopped */
};

/* Adds d to the registry (the driver keeps ownership). Checks what the
 * driver read from the device: sector size 512, 1024, 2048 or 4096, capacity within
 * BLK_MAX_BYTES; a device that fails the check is listed as broken and
 * BLK_ERR_DEVICE returned. */
int blk_register(struct blk_dev *d);
unsigned blk_count(void);
struct blk_dev *blk_get(unsigned i);
struct blk_dev *blk_find(const char *name);

/* A partition of disk: sectors [first, first + count). Named disk name +
 * number ("vda2", or "nvme0n1p2" when the disk name ends in a digit). */
struct blk_dev *blk_add_partition(struct blk_dev *disk, uint32_t partno,
				  uint64_t first, uint64_t count);

/* Probe functions return 0 when they drove the device, BLK_NOT_MINE when
 * it is not theirs, and a negative error when it is theirs but could not
 * be brought up; then they have called blk_broken to say why. */
#define BLK_NOT_MINE 1

/* A device that is a driver's but does not work: printed once, and
 * listed by lsblk. where: a PCI address or a device name. */
struct blk_broken {
	char where[16];
	const char *transport;
	char why[112];
};
void blk_broken(const char *where, const char *transport, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));
unsigned blk_broken_count(void);
const struct blk_broken *blk_broken_get(unsigned i);

/* The driver's words for a failure it is about to return (kept in
 * d->detail for the engine's report). */
void blk_detail(struct blk_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Something the driver changed for good that the user should know of
 * (a fallback, say), in its words: printed now, once, as "NAME: ...". */
void blk_note(struct blk_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* An IDENTIFY string (ATA words 10-19/27-46, NVMe SN/MN) into out (n + 1
 * bytes): byte pairs swapped when `swapped` (ATA), trailing spaces and
 * NULs dropped, anything unprintable shown as '?'. */
void blk_ident_string(char *out, const uint8_t *in, unsigned n, int swapped);

/* d's (its disk's) serial, "" when it has none: asked of the device the
 * first time where that costs a request (ops->ident), so that the boot
 * does not wait for it. */
const char *blk_serial(struct blk_dev *d);

/* The failure of the last request on d's disk as a sentence ("timeout
 * on vda after 15 s"), or "" when it did not fail at the device: each
 * request clears it as it starts, so a sentence never outlives the
 * request it tells of. On a stopped disk: why it was stopped. */
const char *blk_last_error(struct blk_dev *d);

/* Does op on [lba, lba + count) and waits: validated (range, read-only,
 * supported), split to the device's request size, as many in flight as
 * its queue holds. A flush of a write-through device succeeds at once. */
int blk_io(struct blk_dev *d, int op, uint64_t lba, uint64_t count,
	   void *buf);
int blk_write(struct blk_dev *d, uint64_t lba, uint64_t count,
	      const void *buf);
int blk_flush(struct blk_dev *d);

/* Byte-granular access (blk_bytes.c: read-modify-write at the edges). */
int blk_read_bytes(struct blk_dev *d, uint64_t off, void *buf, size_t len);
int blk_write_bytes(struct blk_dev *d, uint64_t off, const void *buf,
		    size_t len);

/* The queued path (benchmarks): submit many, then reap. blk_submit
 * validates like blk_io and queues req (BLK_ERR_BUSY: reap first; never
 * when nothing is in flight: that is BLK_ERR_DEVICE). */
int blk_submit(struct blk_dev *d, struct blk_req *req);
/* Waits by polling (on) or, when the driver gave an interrupt, by
 * halting until it comes (off, the default). */
void blk_set_polling(struct blk_dev *d, int on);
const char *blk_wait_mode(struct blk_dev *d);

/* Kicks the device and waits until at least one request completes;
 * returns how many did (0 when nothing was in flight), or an error: the
 * device is then failed (a protocol error, or BLK_TIMEOUT_US without a
 * completion). The one wait every path uses. */
int blk_reap(struct blk_dev *d);
/* Reaps until req is done; its status (not reported: the caller says
 * what failed, with blk_strerror). */
int blk_wait(struct blk_dev *d, struct blk_req *req);

/* The disk under a partition (d itself for a disk) and the offset. */
struct blk_dev *blk_disk(struct blk_dev *d, uint64_t *first);

#endif
