/* A virtio transport played by a host test: drivers/virtio/virtio.h's
 * ops on plain memory, with features, status, a device configuration and
 * up to FAKEVIRTIO_QUEUES queues whose rings the test reads and writes as
 * the device would (it sees where the driver put them). No interrupts.
 * Shared by test_virtq and test_vnet. */
#ifndef UMBRA_FAKEVIRTIO_H
#define UMBRA_FAKEVIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "../../drivers/virtio/virtio.h"

/* Guest memory as the device sees it: physical addresses are the test's
 * own pointers (fakevirtio hands the driver identity-mapped memory). */
static inline uint8_t *P(uint64_t a) { return (uint8_t *)(uintptr_t)a; }
static inline uint16_t r16(uint64_t a) { uint16_t v; memcpy(&v, P(a), 2); return v; }
static inline uint32_t r32(uint64_t a) { uint32_t v; memcpy(&v, P(a), 4); return v; }
static inline uint64_t r64(uint64_t a) { uint64_t v; memcpy(&v, P(a), 8); return v; }
static inline void w16(uint64_t a, uint16_t v) { memcpy(P(a), &v, 2); }
static inline void w32(uint64_t a, uint32_t v) { memcpy(P(a), &v, 4); }

#define FAKEVIRTIO_QUEUES 20
#define FAKEVIRTIO_CHAIN 128	/* descriptors of a chain the device reads */

struct fakevirtio {
	struct virtio_dev dev;	/* first: what the driver is given */
	uint64_t features;	/* offered */
	uint8_t status;
	uint8_t config[160];
	uint16_t qmax[FAKEVIRTIO_QUEUES];	/* 0: no such queue */
	uint16_t size[FAKEVIRTIO_QUEUES];	/* as enabled */
	uint64_t desc[FAKEVIRTIO_QUEUES], driver[FAKEVIRTIO_QUEUES];
	uint64_t device[FAKEVIRTIO_QUEUES];
	int notified[FAKEVIRTIO_QUEUES];
	uint16_t seen[FAKEVIRTIO_QUEUES];	/* available entries taken */
	/* The test's device, told of a notification (may be NULL). */
	void (*on_notify)(struct fakevirtio *f, uint16_t q);
	/* ... and of a config write (may be NULL). */
	void (*on_config)(struct fakevirtio *f);
};

/* Offers features; queue 0 of 16 entries and no other; legacy: sizes are
 * fixed, as the legacy interface has them. */
void fakevirtio_init(struct fakevirtio *f, uint64_t features, int legacy);

/* The device's side of a split ring (virtio 1.2 §2.7): a chain the
 * driver made available, its descriptors followed through an indirect
 * table (§2.7.5.3) when it has one. */
struct fakevirtio_chain {
	uint16_t head;
	unsigned n;
	int indirect;		/* it came through an indirect table */
	uint64_t addr[FAKEVIRTIO_CHAIN];
	uint32_t len[FAKEVIRTIO_CHAIN];
	int writes[FAKEVIRTIO_CHAIN];
};

/* The next available chain on queue q: 1, or 0 when none. */
int fakevirtio_take(struct fakevirtio *f, int q, struct fakevirtio_chain *c);

/* Puts (id, len) in queue q's used ring. */
void fakevirtio_used(struct fakevirtio *f, int q, uint32_t id, uint32_t len);

/* The chain's bytes from offset off (device-readable and writable
 * alike), n of them into out; how many there were. */
size_t fakevirtio_read(const struct fakevirtio_chain *c, size_t off,
		       void *out, size_t n);

/* The driver's available index of queue q. */
uint16_t fakevirtio_avail(struct fakevirtio *f, int q);

#endif
