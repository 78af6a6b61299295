/* VirtIO device core: the transport interface (PCI modern and legacy,
 * MMIO version 2 and version 1), status and feature bits, and the
 * initialization sequence of virtio 1.2 §3.1. The device drivers see only
 * this. */
#ifndef UMBRA_VIRTIO_H
#define UMBRA_VIRTIO_H

#include <stdint.h>

#include "../../runtime/irq.h"

/* virtio 1.2 §2.1 device status */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* virtio 1.2 §6 reserved feature bits */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_RING_PACKED 34

#define VIRTIO_BIT(f) (1ull << (f))

/* virtio 1.2 §5 device ids */
#define VIRTIO_TYPE_NET 1
#define VIRTIO_TYPE_BLOCK 2
#define VIRTIO_TYPE_CONSOLE 3
#define VIRTIO_TYPE_RNG 4
#define VIRTIO_TYPE_SCSI 8
#define VIRTIO_TYPE_GPU 16
#define VIRTIO_TYPE_INPUT 18

enum virtio_err {
	VIRTIO_OK = 0,
	VIRTIO_ERR_FEATURES = -301,	/* FEATURES_OK did not stick */
	VIRTIO_ERR_QUEUE = -302,		/* queue missing or unusable */
	VIRTIO_ERR_NOMEM = -303,
	VIRTIO_ERR_DEVICE = -304,		/* the device misbehaved */
	VIRTIO_ERR_RESET = -305,		/* a reset did not complete */
	VIRTIO_ERR_NODEV = -306,		/* a transport with no device behind */
};

#define VIRTIO_RESET_US 1000000ull	/* a reset takes at most this */

/* A sentence for each VIRTIO_ERR_*. */
const char *virtio_strerror(int err);

/* Legacy queues (§2.7.2 and the legacy PCI and MMIO interfaces) live in
 * one block from a page-aligned base: descriptors, available ring, then
 * the used ring at the next boundary of this alignment. */
#define VIRTIO_LEGACY_ALIGN 4096

struct virtio_dev;

/* What a transport provides. Config offsets are device-specific config
 * space; queue addresses are physical. */
struct virtio_ops {
	uint64_t (*get_features)(struct virtio_dev *d);
	void (*set_features)(struct virtio_dev *d, uint64_t f);
	uint8_t (*get_status)(struct virtio_dev *d);
	void (*set_status)(struct virtio_dev *d, uint8_t s);	/* 0 resets */
	void (*read_config)(struct virtio_dev *d, uint32_t off, void *buf,
			    uint32_t len);
	/* Largest size queue q supports (0: no such queue), and whether
	 * the size is fixed (legacy). */
	uint16_t (*queue_max)(struct virtio_dev *d, uint16_t q, int *fixed);
	/* Programs and enables queue q: size, descriptor area, driver area
	 * (avail / driver event suppression), device area (used / device
	 * event suppression). Legacy needs the split layout at one base. */
	int (*queue_enable)(struct virtio_dev *d, uint16_t q, uint16_t size,
			    uint64_t desc, uint64_t driver, uint64_t device);
	void (*notify)(struct virtio_dev *d, uint16_t q);
	/* Interrupts for queue q (after queue_enable, before DRIVER_OK):
	 * allocates a vector named name whose handler calls fn(ctx) for the
	 * queue's notifications (and notes configuration changes) and
	 * routes it (MSI-X, or INTx with the ISR read). Returns the vector,
	 * or 0: then the queue is polled. NULL: the transport cannot. */
	int (*irq)(struct virtio_dev *d, uint16_t q, const char *name,
		   irq_fn *fn, void *ctx);
	/* Writes device-specific config (virtio-input's select and
	 * subsel), byte by byte. */
	void (*write_config)(struct virtio_dev *d, uint32_t off,
			     const void *buf, uint32_t len);
};

struct virtio_dev {
	const struct virtio_ops *ops;
	void *transport;		/* the transport's own state */
	const char *transport_name;	/* "modern", "legacy", "mmio v2" ... */
	uint16_t type;			/* virtio 1.2 §5: 2 = block */
	struct pci_dev *pci;		/* the PCI function, or NULL */
	int legacy;
	uint64_t features;		/* negotiated */
};

/* Resets d (status 0) and waits, bounded, until it reads back 0: no more
 * DMA from then on. VIRTIO_ERR_RESET when it never does. */
int virtio_reset(struct virtio_dev *d);

/* virtio 1.2 §3.1.1: reset, ACKNOWLEDGE, DRIVER, offer `wanted` (of what
 * the device has), FEATURES_OK and read it back. On failure sets FAILED.
 * The driver then sets up queues and calls virtio_ready. */
int virtio_negotiate(struct virtio_dev *d, uint64_t wanted);
/* The same, fix(offered & wanted) choosing what of it to accept (a
 * feature whose requirements are missing dropped, §6.1). */
int virtio_negotiate_fix(struct virtio_dev *d, uint64_t wanted,
			 uint64_t (*fix)(uint64_t features));
void virtio_ready(struct virtio_dev *d);
void virtio_fail(struct virtio_dev *d);
/* Gives up on a device whose setup failed: marked FAILED and reset, so
 * that it stops all DMA. 0 when the reset took (the driver may free what
 * it gave the device); VIRTIO_ERR_RESET, and *why saying so, when it did
 * not: the device may still write, so its rings and buffers must stay. */
int virtio_give_up(struct virtio_dev *d, const char **why);

/* Whether a queue's three areas are laid out as a legacy device expects
 * (see VIRTIO_LEGACY_ALIGN), with the base's page number in 32 bits. */
int virtio_legacy_layout_ok(uint16_t size, uint64_t desc, uint64_t driver,
			    uint64_t device);

static inline int virtio_has(const struct virtio_dev *d, int feature)
{
	return (d->features >> feature) & 1;
}

#endif
