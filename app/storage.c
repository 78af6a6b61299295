/* Storage bring-up; see storage.h. The glue between drivers/ and fs/:
 * neither knows the other. */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

#include "../drivers/ata/ahci.h"
#include "../drivers/ata/ide.h"
#include "../drivers/blk.h"
#include "../drivers/nvme/nvme.h"
#include "../drivers/virtio/virtio_blk.h"
#include "../drivers/virtio/virtio_console.h"
#include "../drivers/virtio/virtio_mmio.h"
#include "../drivers/virtio/virtio_net.h"
#include "../drivers/virtio/virtio_pci.h"
#include "../drivers/virtio/virtio_scsi.h"
#include "../fs/gpt.h"
#include "../runtime/console.h"
#include "../runtime/fmt.h"
#include "../runtime/idle.h"
#include "../runtime/pci.h"
#include "../runtime/power.h"
#include "../runtime/rtc.h"
#include "../runtime/time.h"
#include "loop.h"

static struct efs *root;
static struct blk_dev *root_dev;
static struct storage_mmio mmio[VIRTIO_MMIO_MAX];
static unsigned nmmio;
/* The last device error fs/ was given, with its sentence, taken at the
 * moment it happened: fs/ hands only the code up, and by the time the
 * shell prints it the device may have run other requests (or another
 * disk may have failed). */
static struct {
	int code;		/* the EFS_ERR_* it became */
	char why[192];
} last_err;
static struct {
	struct blk_dev *dev;
	uint8_t *sector;
} heads[BLK_MAX_DEVS];

/* The guest agent's fsfreeze: changes held at the gate until thaw or
 * the deadline. */
static int frozen, expired;
static uint64_t frozen_until, frozen_secs;
static struct idle_timer freeze_timer;

static int efs_code_of(int err)
{
	switch (err) {
	case BLK_OK: return 0;
	case BLK_ERR_TIMEOUT: return EFS_ERR_TIMEOUT;
	case BLK_ERR_DEVICE: return EFS_ERR_DEVICE;
	case BLK_ERR_RO: return EFS_ERR_READ_ONLY;
	case BLK_ERR_NOMEM: return EFS_ERR_NO_MEMORY;
	default: return EFS_ERR_IO;
	}
}

/* A block-layer error in fs/'s terms (the efs_io contract); a failure
 * keeps its sentence: the engine's, or one made here when the request
 * never reached the device. */
static int efs_code(struct blk_dev *d, int err)
{
	int code = efs_code_of(err);
	if (!code)
		return 0;
	last_err.code = code;
	if (err == BLK_ERR_RO)
		fmt_snprintf(last_err.why, sizeof(last_err.why),
			     "%s is read-only", d->name);
	else if (blk_last_error(d)[0])
		fmt_snprintf(last_err.why, sizeof(last_err.why), "%s",
			     blk_last_error(d));
	else
		fmt_snprintf(last_err.why, sizeof(last_err.why), "%s: %s",
			     d->name, blk_strerror(err));
	return code;
}

static int io_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return efs_code(ctx, blk_read_bytes(ctx, off, buf, len));
}

static int io_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	return efs_code(ctx, blk_write_bytes(ctx, off, buf, len));
}

static int io_sync(void *ctx)
{
	return efs_code(ctx, blk_flush(ctx));
}

const char *storage_strerror(int err)
{
	int from_device = err == EFS_ERR_IO || err == EFS_ERR_TIMEOUT ||
			  err == EFS_ERR_DEVICE || err == EFS_ERR_READ_ONLY;
	if (from_device && err == last_err.code && last_err.why[0])
		return last_err.why;
	return efs_strerror(err);
}

static uint64_t io_now(void *ctx)
{
	(void)ctx;
	return rtc_now();
}

static void expire(void)
{
	frozen = 0;
	expired = 1;
	idle_timer_cancel(&freeze_timer);
	con_printf("storage: %s: the freeze ended at its deadline (%llu s); "
		   "writes go on\n", root_dev->name,
		   (unsigned long long)frozen_secs);
}

static void deadline(void *ctx)
{
	(void)ctx;
	if (frozen && time_us() >= frozen_until)
		expire();
}

static int thawed(void *ctx)
{
	(void)ctx;
	return !frozen || time_us() >= frozen_until;
}

/* The efs_io gate: while frozen, a change from the shell waits in the
 * loop (the agent that will thaw, the network) until thaw or the
 * deadline; one from inside the loop (lwIP's callbacks, the agent)
 * cannot wait there and is refused: serve holds its uploads itself. */
static int gate(void *ctx)
{
	(void)ctx;
	deadline(0);
	if (!frozen)
		return 0;
	if (loop_inside() || power_button_pressed())
		return EFS_ERR_FROZEN;
	con_printf("storage: %s is frozen (guest agent): the change waits for "
		   "the thaw (at most %llu s)\n", root_dev->name,
		   (unsigned long long)((frozen_until - time_us()) / 1000000 +
					1));
	loop_wait(thawed, 0, frozen_until);
	deadline(0);
	return frozen ? EFS_ERR_FROZEN : 0;
}

int storage_freeze(uint64_t seconds)
{
	if (!root)
		return 0;
	if (frozen)
		return 1;
	int err = efs_quiesce(root);
	if (err)
		return err;
	frozen = 1;
	expired = 0;
	frozen_secs = seconds;
	frozen_until = time_us() + seconds * 1000000;
	idle_timer_add(&freeze_timer, frozen_until, deadline, 0);
	return 1;
}

int storage_thaw(int *ended_early)
{
	deadline(0);
	int was = frozen;
	*ended_early = !was && expired;
	frozen = expired = 0;
	idle_timer_cancel(&freeze_timer);
	return was;
}

int storage_frozen(void)
{
	return frozen && time_us() < frozen_until;	/* only looks */
}

void storage_efs_io(struct blk_dev *d, struct efs_io *io)
{
	uint64_t first;
	struct blk_dev *disk = blk_disk(d, &first);
	*io = (struct efs_io){
		.ctx = d, .read = io_read, .write = io_write, .sync = io_sync,
		.size = d->sectors * d->sector_size,
		.block_size = d->sector_size, .now = io_now,
		.read_only = disk->read_only, .gate = gate,
	};
}

static void probe_virtio(struct pci_dev *p)
{
	char where[8];
	const char *why;
	int (*attach)(struct virtio_dev *d, const char **why) =
		virtio_pci_type(p) == VIRTIO_TYPE_SCSI ? vscsi_attach
						       : vblk_attach;
	if (virtio_pci_drive(p, attach, &why) && why) {
		pci_where(p, where);
		blk_broken(where, "virtio", "%s", why);
	}
}

/* virtio-blk and virtio-scsi over MMIO (and virtio-net, for app/net/):
 * other device types and empty slots are left alone. */
static void probe_mmio(void)
{
	struct virtio_mmio_loc loc[VIRTIO_MMIO_MAX];
	unsigned n = virtio_mmio_find(loc, VIRTIO_MMIO_MAX, pci_count() > 0);
	for (unsigned i = 0; i < n; i++) {
		struct storage_mmio *m = &mmio[nmmio++];
		struct virtio_dev *v = calloc(1, sizeof(*v));
		m->loc = loc[i];
		m->state = "out of memory";
		int err = v ? virtio_mmio_attach(&loc[i], v, &m->state)
			    : VIRTIO_ERR_NOMEM;
		if (!err) {
			m->type = v->type;
			m->state = "no driver";
		}
		unsigned before = blk_count();
		if (!err && v->type == VIRTIO_TYPE_BLOCK) {
			err = vblk_attach(v, &m->state);
			if (!err)
				m->state = blk_get(blk_count() - 1)->name;
		} else if (!err && v->type == VIRTIO_TYPE_SCSI) {
			err = vscsi_attach(v, &m->state);
			if (!err)	/* its first disk, when it has one */
				m->state = blk_count() > before
					   ? blk_get(before)->name : "no disks";
		} else if (!err && v->type == VIRTIO_TYPE_NET) {
			/* not storage, but found here with the rest */
			err = vnet_attach(v, &m->state);
			if (!err)
				m->state = net_get(net_count() - 1)->name;
		} else if (!err && (v->type == VIRTIO_TYPE_GPU ||
				    v->type == VIRTIO_TYPE_INPUT)) {
			err = VIRTIO_ERR_NODEV;	/* screen.c drives them */
			m->state = "left for the screen";
		} else if (!err && v->type == VIRTIO_TYPE_CONSOLE) {
			err = vcon_attach(v, &m->state);	/* the agent's */
			if (!err)
				m->state = vcon_get(vcon_count() - 1)->name;
		} else if (!err) {
			err = VIRTIO_ERR_NODEV;
		}
		if (err == VIRTIO_ERR_NODEV && !m->type) {
			m->state = "empty";
		} else if (err && err != VIRTIO_ERR_NODEV && !m->state) {
			m->state = "refused by the block layer";  /* it said why */
		} else if (err && err != VIRTIO_ERR_NODEV) {
			char where[16];
			fmt_snprintf(where, sizeof(where), "0x%llx",
				     (unsigned long long)loc[i].base);
			blk_broken(where, "virtio-mmio", "%s (%s)", m->state,
				   loc[i].from);
		}
		if (err && v) {
			virtio_mmio_release(v);
			free(v);
		}
	}
}

const struct storage_mmio *storage_mmio_get(unsigned i)
{
	return i < nmmio ? &mmio[i] : 0;
}

void storage_mmio_set_state(unsigned i, const char *state)
{
	if (i < nmmio)
		mmio[i].state = state;
}

/* virtio first (virtio-blk, then virtio-scsi on PCI; then both over
 * MMIO), then NVMe, AHCI and IDE: every disk is registered, in that
 * order, and the root volume is looked for on all of them. A probe that
 * finds its device broken has said so (blk_broken). */
static void probe_disks(void)
{
	for (unsigned i = 0; i < pci_count(); i++)
		if (virtio_pci_type(pci_get(i)) == VIRTIO_TYPE_BLOCK)
			probe_virtio(pci_get(i));
	for (unsigned i = 0; i < pci_count(); i++)
		if (virtio_pci_type(pci_get(i)) == VIRTIO_TYPE_SCSI)
			probe_virtio(pci_get(i));
	probe_mmio();
	for (unsigned i = 0; i < pci_count(); i++)
		nvme_probe(pci_get(i));
	for (unsigned i = 0; i < pci_count(); i++)
		ahci_probe(pci_get(i));
	for (unsigned i = 0; i < pci_count(); i++)
		ide_probe(pci_get(i));
}

static int gpt_read_cb(void *ctx, uint64_t lba, uint32_t n, void *buf)
{
	return blk_io(ctx, BLK_READ, lba, n, buf);
}

static void partitions(struct blk_dev *d)
{
	/* GPT has 512- and 4096-byte sectors; optical media (2048) carry
	 * their own filesystem, not a partition table */
	if (d->sector_size != 512 && d->sector_size != 4096)
		return;
	struct gpt *g = malloc(sizeof(*g));
	if (!g)
		return;
	struct gpt_io io = { d, gpt_read_cb, d->sectors, d->sector_size };
	int err = gpt_read(&io, g);
	if (err == GPT_ERR_NO_GPT || err == GPT_ERR_MBR) {
		free(g);
		return;		/* unpartitioned: the whole disk is one */
	}
	if (err)
		con_printf("storage: %s: partition table refused: %s%s%s\n",
			   d->name, gpt_strerror(err), g->why[0] ? ": " : "",
			   g->why);
	else if (g->used_backup)
		con_printf("storage: %s: primary GPT bad (%s), using the "
			   "backup\n", d->name, g->primary_why);
	for (uint32_t i = 0; !err && i < g->count; i++) {
		struct gpt_part *p = &g->parts[i];
		if (!blk_add_partition(d, p->index, p->first,
				       p->last - p->first + 1))
			con_printf("storage: %s: partition %u not added\n",
				   d->name, p->index);
	}
	free(g);
}

void storage_probe(void)
{
	probe_disks();
	unsigned disks = blk_count();
	for (unsigned i = 0; i < disks; i++)
		partitions(blk_get(i));
}

const uint8_t *storage_head(struct blk_dev *d)
{
	unsigned i = 0;
	while (i < BLK_MAX_DEVS && heads[i].dev && heads[i].dev != d)
		i++;
	if (i == BLK_MAX_DEVS)
		return 0;
	if (heads[i].dev)
		return heads[i].sector;
	uint8_t *s = malloc(d->sector_size);
	if (!s || blk_io(d, BLK_READ, 0, 1, s)) {
		free(s);
		return 0;	/* asked again next time */
	}
	heads[i].dev = d;
	heads[i].sector = s;
	return s;
}

static int try_mount(struct blk_dev *d)
{
	const uint8_t *hdr = storage_head(d);
	if (!hdr || !efs_probe(hdr, d->sector_size))
		return -1;
	struct efs_io io;
	int err;
	storage_efs_io(d, &io);
	err = efs_mount(&io, &root);
	if (err) {
		con_printf("root: %s: EclipseFS header, but cannot mount: %s\n",
			   d->name, storage_strerror(err));
		return -1;
	}
	root_dev = d;
	if (*efs_notice(root))	/* what mount worked around, once */
		con_printf("root: %s: %s\n", d->name, efs_notice(root));
	return 0;
}

int storage_mount_root(void)
{
	/* Disks in order; on each, its partitions in table order, or the
	 * whole disk when it has no partitions. The type GUID is not
	 * looked at: Eclipse OS marks its partition "Linux filesystem". */
	for (unsigned i = 0; i < blk_count(); i++) {
		struct blk_dev *d = blk_get(i);
		if (d->parent || d->failed)
			continue;
		int parts = 0;
		for (unsigned k = 0; k < blk_count(); k++) {
			struct blk_dev *p = blk_get(k);
			if (p->parent != d)
				continue;
			parts++;
			if (!try_mount(p))
				return 0;
		}
		if (!parts && !try_mount(d))
			return 0;
	}
	return -1;
}

struct efs *storage_root(void)
{
	return root;
}

struct blk_dev *storage_root_dev(void)
{
	return root_dev;
}

int storage_sync(void)
{
	return root ? efs_sync(root) : 0;
}

int storage_fsck(int repair, efs_report_fn *report,
		 struct efs_fsck_result *res)
{
	struct efs_io io;
	memset(res, 0, sizeof(*res));
	if (!root)
		return EFS_ERR_INVALID;
	int err = repair ? gate(0) : 0;	/* fsck writes with an io of its own */
	if (!err)
		err = efs_sync(root);
	if (err)
		return err;
	storage_efs_io(root_dev, &io);
	if (!repair) {
		io.read_only = 1;
		return efs_fsck(&io, 0, report, 0, res);
	}
	efs_unmount(root);
	root = 0;
	err = efs_fsck(&io, 1, report, 0, res);
	int merr = efs_mount(&io, &root);
	return err ? err : merr;
}
