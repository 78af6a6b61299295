/* The network device interface, beside the block one (blk.h): Ethernet
 * frames in, Ethernet frames out. A driver fills a struct net_dev and its
 * net_ops and calls net_register; the stack above (app/net/) sends with
 * net_send, takes what arrived with net_recv and waits with net_wait.
 * A frame is a whole Ethernet frame, destination address first, without
 * the frame check sequence. Drivers never print: they put their words
 * for a failure into the device's `detail` and return an error. */
#ifndef UMBRA_NET_H
#define UMBRA_NET_H

#include <stddef.h>
#include <stdint.h>

#define NET_MAX_DEVS 16
#define NET_FRAME_MIN 14	/* an Ethernet header */
#define NET_FRAME_MAX 1518	/* 1500 bytes of payload and a VLAN tag */
#define NET_TICK_US 250000	/* a halted wait looks at the device at
				 * least this often */
#define NET_POLL_US 1000	/* ... and this often without interrupts */
#define NET_LOST_IRQS 3		/* frames found without their interrupt,
				 * then the device is polled for good */

enum net_err {
	NET_OK = 0,
	NET_ERR_BUSY = -401,	/* no room to send now */
	NET_ERR_SIZE = -402,	/* a frame shorter or longer than Ethernet's */
	NET_ERR_DEVICE = -403,	/* the device broke the protocol; stopped */
	NET_ERR_DOWN = -404,	/* the device was stopped earlier */
};

const char *net_strerror(int err);

struct net_dev;

/* A piece of a frame to send. */
struct net_frag {
	const void *data;
	size_t len;
};

/* A checksum the device is to complete (a device with tx_csum): the
 * 16-bit ones' complement sum from byte start of the frame to its end,
 * stored at start + offset, where the sender left the sum of the
 * pseudo-header (virtio 1.2 §5.1.6.2, TCP's checksum). */
struct net_csum {
	uint16_t start, offset;
};

/* Called by recv for each frame; the frame is valid during the call. */
typedef void net_rx_fn(void *ctx, const void *frame, size_t len);

struct net_ops {
	/* Queues the frame made of n pieces, copying them: they may be
	 * reused on return; csum (NULL: none) only when tx_csum. NET_ERR_BUSY
	 * when the transmit ring is full after taking back what the device
	 * has sent. */
	int (*send)(struct net_dev *d, const struct net_frag *f, unsigned n,
		    const struct net_csum *csum);
	/* Hands up to budget received frames to fn and gives their buffers
	 * back to the device. Returns how many, or an error. */
	int (*recv)(struct net_dev *d, net_rx_fn *fn, void *ctx,
		    unsigned budget);
	/* Nonzero when recv has a frame, or (want_tx) send has room again.
	 * Runs with interrupts off and never waits. */
	int (*pending)(struct net_dev *d, int want_tx);
	/* Interrupts for transmit completions on or off (receive ones are
	 * always on when the device has an interrupt). */
	void (*tx_irq)(struct net_dev *d, int on);
	/* 1 when the link is up (devices that cannot tell: always). */
	int (*link)(struct net_dev *d);
	/* Stops the device for good (a reset: no more DMA). */
	void (*stop)(struct net_dev *d);
};

/* Counted by net.c (frames and bytes) and by the driver (drops). */
struct net_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_dropped;	/* the driver threw away: bad or too long */
	uint64_t tx_busy;	/* sends refused for want of room */
	uint64_t halts;		/* waits that halted for an interrupt */
};

struct net_dev {
	char name[8];		/* net0, net1 ... (set by net_register) */
	char model[80];		/* "virtio-net modern, split ring" */
	const char *transport;	/* "virtio" */
	uint8_t mac[6];
	uint16_t mtu;		/* payload bytes per frame */
	int irq_vec;		/* the receive interrupt; 0: none */
	int tx_vec;		/* the transmit one (may equal irq_vec) */
	uint8_t polling;	/* wait by polling even with an interrupt */
	uint8_t tx_csum;	/* completes TCP checksums (struct net_csum) */
	uint8_t failed;
	uint32_t lost_irqs;
	const struct net_ops *ops;
	void *priv;
	struct net_stats stats;
	char detail[96];	/* the driver's words for the last failure */
};

/* Adds d (the driver keeps ownership) and names it. 0, or NET_ERR_BUSY
 * when NET_MAX_DEVS are registered. */
int net_register(struct net_dev *d);
unsigned net_count(void);
struct net_dev *net_get(unsigned i);
struct net_dev *net_find(const char *name);

/* Sends one frame of n pieces (NET_FRAME_MIN..NET_FRAME_MAX bytes in
 * all), its checksum completed by the device when csum is given (only to
 * a device with tx_csum, and inside the frame: else NET_ERR_SIZE).
 * NET_ERR_BUSY when the ring stays full; the caller may net_wait with
 * want_tx and try again. An error that stops the device is kept in
 * d->detail. */
int net_send(struct net_dev *d, const struct net_frag *f, unsigned n,
	     const struct net_csum *csum);

/* Hands up to budget received frames to fn; how many, or an error. */
int net_recv(struct net_dev *d, net_rx_fn *fn, void *ctx, unsigned budget);

/* The one network wait: returns 1 as soon as the device has a frame (or,
 * with want_tx, room to send), or ready(ctx) says so (ready may be NULL;
 * it runs with interrupts off), 0 at deadline_us. With an interrupt the
 * CPU halts in between, looking at the device every NET_TICK_US; frames
 * found there without their interrupt, NET_LOST_IRQS times, turn the
 * device to polling (one line on the console). */
int net_wait(struct net_dev *d, int want_tx, int (*ready)(void *ctx),
	     void *ctx, uint64_t deadline_us);

/* For a wait of the app's own (app/loop.h) that looks at d among other
 * things: how soon to look at d without its interrupt (us), and in *irqs
 * the count of its receive (want_tx: transmit) interrupts. After that
 * wait halted, net_woke counts the halt and, when the interrupt did not
 * come and yet a frame waits, counts a lost interrupt (NET_LOST_IRQS of
 * them turn the device to polling, as in net_wait). */
uint64_t net_watch(struct net_dev *d, int want_tx, uint64_t *irqs);
void net_woke(struct net_dev *d, int irq_came);

/* "interrupt", "polling" or "polling (no interrupts)". */
const char *net_wait_mode(const struct net_dev *d);

/* The driver's words for a failure (kept in d->detail). */
void net_detail(struct net_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
