/* virtio-console's parts (virtio_console.c: the device, its control
 * queues and ports coming and going; virtio_console_port.c: the bytes of
 * a port and the waiting). Nothing else includes this. */
#ifndef UMBRA_VIRTIO_CONSOLE_INT_H
#define UMBRA_VIRTIO_CONSOLE_INT_H

#include "virtio_console.h"
#include "virtq.h"

#define F_MULTIPORT 1		/* §5.3.3 */
#define CFG_MAX_NR_PORTS 4	/* §5.3.4: le32 max_nr_ports */

/* §5.3.6.2 control events */
#define EV_DEVICE_READY 0
#define EV_DEVICE_ADD 1
#define EV_DEVICE_REMOVE 2
#define EV_PORT_READY 3
#define EV_CONSOLE_PORT 4
#define EV_RESIZE 5
#define EV_PORT_OPEN 6
#define EV_PORT_NAME 7
#define CTL_LEN 8

/* §5.3.2: receiveq(port0) 0, transmitq(port0) 1, control 2 and 3, then
 * port N at 2N + 2 and 2N + 3. */
#define CTL_RXQ 2
#define CTL_TXQ 3

#define CTL_BUF 128		/* a message and a name of up to 120 bytes */
#define CTL_RX_BUFS 16
#define CTL_TX_BUFS 16
#define CTL_BUDGET 64		/* messages per poll */
#define PORT_BUF 4096
#define PORT_RX_BUFS 4
#define PORT_TX_BUFS 4
#define QUEUE_WANT 16

struct port {
	struct vcon_port pub;	/* first */
	struct virtq rx, tx;
	uint8_t *rxbuf, *txbuf;	/* allocated when first announced */
	uint8_t queues;		/* both queues set up */
	uint8_t posted;		/* its receive buffers are with the device */
	uint8_t want_room;	/* a write found no free transmit buffer */
	uint8_t *cur;		/* a received buffer being read */
	uint32_t cur_len, cur_off;
	uint16_t tx_free[PORT_TX_BUFS];
	uint32_t tx_nfree;
	char irq_name[12];
};

struct vcon {
	struct vcon_dev pub;	/* first */
	struct virtio_dev *dev;
	struct virtq crx, ctx;
	uint8_t *ctlbuf;	/* receive buffers, then transmit ones */
	uint16_t ctx_free[CTL_TX_BUFS];
	uint32_t ctx_nfree;
	uint8_t multiport, all_irqs;
	int vecs[1 + VCON_MAX_PORTS];
	unsigned nvecs;
	struct port ports[VCON_MAX_PORTS];
};

static inline struct vcon *vcon_of(struct vcon_dev *d)
{
	return (struct vcon *)d;
}

/* §5.3.2: port 0's receive queue is 0, port N's is 2N + 2; transmit
 * follows. */
static inline uint16_t vcon_rxq(uint32_t id)
{
	return (uint16_t)(id ? 2 * id + 2 : 0);
}

/* A ring the device broke: says what in its detail, stops it for good
 * (a reset: no more DMA); VCON_ERR_DEVICE. */
int vcon_fail(struct vcon *v, const char *what);

/* One device-writable buffer to the device (queue full: -1). */
int vcon_post(struct virtq *q, uint8_t *buf, uint32_t len);

/* The port behind pub when its device runs and it is there; else NULL
 * and the error in *err. */
struct port *vcon_usable(struct vcon_port *pub, int *err);

#endif
