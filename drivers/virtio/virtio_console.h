/* virtio-console (virtio 1.2 §5.3) with MULTIPORT: the device announces
 * ports (DEVICE_ADD), names them (PORT_NAME) and says when the host side
 * opens or closes one (PORT_OPEN); each port is a byte stream both ways,
 * one receive and one transmit queue. This is how QEMU's virtio-serial
 * (-device virtio-serial-pci / virtio-serial-device, virtserialport)
 * reaches a guest, and the QEMU guest agent's channel is a port named
 * org.qemu.guest_agent.0. The driver knows the transport's interface,
 * not which transport it is on; it never prints and never waits: its
 * user polls it (vcon_poll) from the app's loop. */
#ifndef UMBRA_VIRTIO_CONSOLE_H
#define UMBRA_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "virtio.h"

#define VCON_MAX_DEVS 8
#define VCON_MAX_PORTS 8	/* ids 0..7 per device; later ones are
				 * refused (PORT_READY 0) */
#define VCON_NAME_MAX 64	/* a longer name is kept cut and marked */
#define VCON_TICK_US 250000	/* with an interrupt, look this often */
#define VCON_POLL_US 10000	/* without one (or waiting for room) */
#define VCON_LOST_IRQS 3	/* work found without the interrupt, then
				 * the device is polled */

enum vcon_err {
	VCON_OK = 0,
	VCON_ERR_DEVICE = -901,	/* the device broke the protocol; stopped */
	VCON_ERR_DOWN = -902,	/* the device was stopped earlier */
	VCON_ERR_GONE = -903,	/* the port is not (or no longer) there */
};

const char *vcon_strerror(int err);

struct vcon_dev;

struct vcon_port {
	struct vcon_dev *dev;
	uint32_t id;
	char name[VCON_NAME_MAX];	/* from PORT_NAME; "" without one */
	uint8_t name_cut;	/* the device's name was longer */
	uint8_t added;		/* announced by the device and ready */
	uint8_t console;	/* nominated a console port */
	uint8_t host_open;	/* the host side is connected */
	uint8_t guest_open;	/* we told the device we are */
	uint32_t opens;		/* host opens so far (a new one: a new
				 * peer) */
	uint64_t rx_bytes, tx_bytes;
};

struct vcon_dev {
	char name[8];		/* vport0, vport1 ... */
	char model[72];		/* "virtio-console modern, split ring, ..." */
	uint32_t max_ports;	/* the device's max_nr_ports (1 without
				 * MULTIPORT) */
	uint32_t nports;	/* ports driven: min(max_ports, MAX_PORTS) */
	int irq_vec;		/* the control queue's vector; 0: polled */
	uint8_t polling;	/* polled although it has interrupts */
	uint8_t failed;
	uint32_t lost_irqs;
	uint64_t bad_events;	/* control messages refused */
	char detail[96];	/* why it failed, or the last refusal */
};

/* Drives d (a virtio device of type 3 on any transport; d must outlive
 * it): features, queues for the control pair and every port up to
 * VCON_MAX_PORTS, interrupts, DRIVER_OK and DEVICE_READY. On failure a
 * negative VIRTIO_ERR_* with *why; the device is left reset and FAILED. */
int vcon_attach(struct virtio_dev *d, const char **why);

unsigned vcon_count(void);
struct vcon_dev *vcon_get(unsigned i);

/* Port id of d, or NULL when the device has not announced it. */
struct vcon_port *vcon_port(struct vcon_dev *d, uint32_t id);

/* The first announced port named name on any device (not a cut name). */
struct vcon_port *vcon_find(const char *name);

/* Takes the device's control messages (ports added, removed, named,
 * opened; at most a budget of them) and what it has sent. 0, or
 * VCON_ERR_DEVICE when it broke the protocol (it is stopped). */
int vcon_poll(struct vcon_dev *d);

/* Nonzero when vcon_poll has control messages to take; vcon_readable:
 * vcon_read on p would return bytes; vcon_writable: vcon_write would
 * take some. Interrupts off: they only look. (Bytes nobody reads are
 * not work: a reader that waits for room does not spin on them.) */
int vcon_pending(struct vcon_dev *d);
int vcon_readable(struct vcon_port *p);
int vcon_writable(struct vcon_port *p);

/* Tells the device that we opened (1) or closed (0) port p: only an open
 * port gets the host's bytes. */
int vcon_open(struct vcon_port *p, int open);

/* Up to len received bytes of p into buf: the count (0: none now) or an
 * error. */
long vcon_read(struct vcon_port *p, void *buf, size_t len);

/* Queues up to len bytes of buf on p (copied): the count, 0 when no
 * transmit buffer is free now (vcon_writable turns true when one is),
 * or an error. */
long vcon_write(struct vcon_port *p, const void *buf, size_t len);

/* For the app's loop: how soon to look at d without an interrupt (us;
 * soon while a port waits for room: transmit queues have none), and in
 * *irqs the interrupts it has taken. vcon_lost_irq: after a halted wait
 * the caller found work of d's though its interrupt did not come;
 * VCON_LOST_IRQS of them turn the device to polling: 1 when this one did
 * (the caller says so). */
uint64_t vcon_watch(struct vcon_dev *d, uint64_t *irqs);
int vcon_lost_irq(struct vcon_dev *d);

/* "interrupt", "polling" or "polling (no interrupts)". */
const char *vcon_wait_mode(const struct vcon_dev *d);

#endif
