/* Between the two halves of the virtio-scsi driver: the I/O path
 * (virtio_scsi.c) and the bring-up (virtio_scsi_scan.c). Nothing else
 * includes this. */
#ifndef UMBRA_VIRTIO_SCSI_INT_H
#define UMBRA_VIRTIO_SCSI_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../blk.h"
#include "../scsi/scsi.h"
#include "virtio_scsi.h"
#include "virtq.h"

/* §5.6.2 virtqueues */
#define Q_CONTROL 0
#define Q_EVENT 1
#define Q_REQUEST 2

/* §5.6.6.1 virtio_scsi_req_cmd: the device-readable header ... */
#define REQ_LUN 0		/* u8[8] */
#define REQ_ID 8		/* le64, the tag */
#define REQ_CDB 19		/* u8[cdb_size], after task_attr, prio, crn */
/* ... and the device-writable response */
#define RESP_SENSE_LEN 0	/* le32 */
#define RESP_RESIDUAL 4		/* le32 */
#define RESP_STATUS 10		/* u8 */
#define RESP_RESPONSE 11	/* u8 */
#define RESP_SENSE 12		/* u8[sense_size] */
/* §5.6.6.1 response values */
#define S_OK 0
#define S_OVERRUN 1
#define S_ABORTED 2
#define S_BAD_TARGET 3
#define S_RESET 4
#define S_BUSY 5
#define S_TRANSPORT_FAILURE 6
#define S_TARGET_FAILURE 7
#define S_NEXUS_FAILURE 8
#define S_FAILURE 9
/* §5.6.6.3 events */
#define EVT_MISSED 0x80000000u

#define CDB_SIZE_MAX 64		/* the config's cdb_size we accept */
#define SENSE_SIZE_MAX SCSI_SENSE_MAX
#define EVENTS 8		/* event buffers kept posted */
#define EVENT_BYTES 64		/* each; §5.6.6.3 events are 16 bytes */
#define NONE UINT32_MAX

struct vscsi_lun;

/* Per command in flight: header and response in DMA memory, and what
 * the device was given (to post it again on a retry). */
struct slot {
	uint8_t req[REQ_CDB + CDB_SIZE_MAX];
	uint8_t resp[RESP_SENSE + SENSE_SIZE_MAX];
	uint8_t param[SCSI_UNMAP_PARAM];
	struct virtq_buf b[3];
	uint8_t nbuf, retries, probe;
	uint32_t data_len;	/* bytes of data-in or data-out */
	struct blk_req *r;	/* 0 and !probe: free */
	struct vscsi_lun *lun;
	uint32_t next_free;
};

struct vscsi {
	struct virtio_dev *dev;
	struct virtq ctl, evt, req;
	struct slot *slots;
	uint32_t nslots, free_slot;
	uint8_t *events;	/* EVENTS buffers of EVENT_BYTES */
	uint32_t cdb_size, sense_size, event_size, cmd_per_lun, cfg_max;
	uint32_t max_target, max_lun;
	struct vscsi_lun *lun[VSCSI_MAX_LUNS];
	unsigned nluns, index;
	uint8_t dead, kick;
	char dead_why[80];
	uint64_t events_seen, events_missed;
	char irq_name[12];
	/* the probe: one command at a time, before any LUN is registered */
	struct scsi_result probe;
	uint8_t probe_done;
	char probe_why[80];
};

struct vscsi_lun {
	struct vscsi *h;
	struct blk_dev blk;
	uint8_t addr[8];	/* §5.6.6.1 LUN format */
	uint32_t target, number;
	uint32_t depth, inflight, completed;
	struct scsi_disk info;
};

/* A free slot (0: none), and back. */
struct slot *vscsi_slot_get(struct vscsi *h);
void vscsi_slot_put(struct vscsi *h, struct slot *s);

/* Header and buffers for cdb on LUN addr, with len bytes of data at
 * data going to the device (write) or coming from it. */
void vscsi_slot_fill(struct vscsi *h, struct slot *s, const uint8_t *addr,
		     const uint8_t *cdb, unsigned clen, uint64_t data,
		     uint32_t len, int write);

/* Makes s available (kicked at the next drain or kick); -1: ring full. */
int vscsi_slot_post(struct vscsi *h, struct slot *s);

/* Reaps the request and event queues: each completion to its LUN, or to
 * the probe; BLK_ERR_DEVICE with why when the device broke the
 * protocol. */
int vscsi_drain(struct vscsi *h, char *why, size_t n);

/* The request queue's interrupt handler (ctx: the vscsi). */
int vscsi_irq(void *ctx);

extern const struct blk_ops vscsi_ops;

#endif
