/* Storage bring-up for the app: drive every disk found, register GPT
 * partitions, and mount the root EclipseFS volume. */
#ifndef UMBRA_STORAGE_H
#define UMBRA_STORAGE_H

#include "../drivers/virtio/virtio_mmio.h"
#include "../fs/eclipsefs.h"

struct blk_dev;

/* Probes the disk controllers on PCI and virtio-mmio (virtio-blk first),
 * then the partition tables. Reports problems on the console; never
 * fails. */
void storage_probe(void);

/* A virtio-mmio transport storage_probe looked at: where, the device
 * type (0: none), and what became of it (a disk's name, or why not). */
struct storage_mmio {
	struct virtio_mmio_loc loc;
	uint16_t type;
	const char *state;
};

/* The i-th one, or NULL past the last. */
const struct storage_mmio *storage_mmio_get(unsigned i);

/* What became of the i-th one when another part of the app drove it
 * (screen.c: the screen and keyboards); state must stay valid. */
void storage_mmio_set_state(unsigned i, const char *state);

/* Mounts the first GPT partition (any disk, in order) or whole disk that
 * starts with an EclipseFS header. Returns 0 when a volume is mounted. */
int storage_mount_root(void);

/* The mounted root (NULL when there is none) and its device. */
struct efs *storage_root(void);
struct blk_dev *storage_root_dev(void);

/* Commits the root volume's pending changes. */
int storage_sync(void);

/* fsck of the root volume: after a sync, on its own read-only mount; with
 * repair, the volume is unmounted, repaired and mounted again. */
int storage_fsck(int repair, efs_report_fn *report,
		 struct efs_fsck_result *res);

/* fsfreeze (the guest agent's): commits the root volume and clears its
 * journal entry (efs_quiesce: a copy of the disk needs no replay), then
 * holds every change of it until storage_thaw or `seconds` from now. A
 * change from the shell waits for the thaw in the app's loop (the agent
 * and the network go on); one from inside the loop (an upload of serve's,
 * which checks storage_frozen and pauses) gets EFS_ERR_FROZEN. Returns 1
 * (frozen, or already), 0 (no volume), or an fs error (not frozen). */
int storage_freeze(uint64_t seconds);

/* Ends a freeze: 1 when one was on, 0 when none; *ended_early is set
 * when the last freeze ended at its deadline before this call. */
int storage_thaw(int *ended_early);

/* Nonzero while the volume is frozen (only looks: interrupts may be
 * off). */
int storage_frozen(void);

/* efs_strerror, but for errors that came from the device, the block
 * layer's sentence ("timeout on vda after 15 s"). */
const char *storage_strerror(int err);

/* d's first sector (d->sector_size bytes), read once and kept, so the
 * probes that look at it (EclipseFS, seed drives) share one read; NULL
 * when it cannot be read. */
const uint8_t *storage_head(struct blk_dev *d);

/* An efs_io on a block device (for other volumes and tests). */
void storage_efs_io(struct blk_dev *d, struct efs_io *io);

#endif
