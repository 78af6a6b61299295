/* The network device interface, beside the block one (blk.h): Ethernet
 * frames in, Ethernet frames out. A driver fills a struct net_dev and its
 * net_ops and calls net_register; the stack above (app/net/) sends with
 * net_send, takes what arrived with net_recv and waits with net_wait.
 * A frame is a whole Ethernet frame, destination address first, without
 * the frame check sequence, given in pieces: sent ones are partly
 * copied, partly referenced until the device is done with them
 * (tx_done), and queued until a flush tells the device of a burst;
 * received ones are handed over where the device put them. Devices that
 * can complete checksums and cut large TCP frames into segments say so
 * (tx_csum, tx_gso), and which received checksums they checked
 * (rx_csum). Drivers never print: they put their words for a failure
 * into the device's `detail` and return an error. */
#ifndef UMBRA_NET_H
#define UMBRA_NET_H

#include <stddef.h>
#include <stdint.h>

#define NET_MAX_DEVS 16
#define NET_FRAME_MIN 14	/* an Ethernet header */
#define NET_FRAME_MAX 1518	/* 1500 bytes of payload and a VLAN tag */
#define NET_GSO_MAX 65535	/* a frame the device segments (and a
				 * large one it hands in): at most this */
#define NET_COPY_MAX 256	/* leading bytes of a frame copied at send */
#define NET_RX_FRAGS 40		/* pieces a received frame may come in */
#define NET_TICK_US 250000	/* a halted wait looks at the device at
				 * least this often */
#define NET_POLL_US 1000	/* ... and this often without interrupts */
#define NET_LOST_IRQS 3		/* frames found without their interrupt,
				 * then the device is polled for good */

enum net_err {
	NET_OK = 0,
	NET_ERR_BUSY = -401,	/* no room to send now */
	NET_ERR_SIZE = -402,	/* a frame of no size or offload the device
				 * takes */
	NET_ERR_DEVICE = -403,	/* the device broke the protocol; stopped */
	NET_ERR_DOWN = -404,	/* the device was stopped earlier */
};

const char *net_strerror(int err);

struct net_dev;

/* A piece of a frame. */
struct net_frag {
	const void *data;
	size_t len;
};

/* Segmentation offload kinds (virtio 1.2 §5.1.6.2's gso_type). */
enum net_gso {
	NET_GSO_NONE = 0,
	NET_GSO_TCPV4 = 1,
	NET_GSO_TCPV6 = 4,
};

/* What the device is to do to a frame on its way out (a device with
 * tx_csum, and tx_gso for segmentation; virtio 1.2 §5.1.6.2):
 * csum: complete the 16-bit ones' complement sum from byte csum_start of
 * the frame to its end, stored at csum_start + csum_offset, where the
 * sender left the sum of the pseudo-header (TCP's checksum);
 * gso: cut the frame into segments of gso_size payload bytes each, the
 * first hdr_len bytes (Ethernet, IP and TCP headers) repeated, lengths,
 * sequence numbers, identifiers and checksums adjusted (the pseudo-header
 * sum left in the frame counts the whole TCP length, as Linux's
 * tcp_gso_segment expects). */
struct net_offload {
	uint8_t csum;
	uint8_t gso;		/* enum net_gso */
	uint16_t csum_start, csum_offset;
	uint16_t gso_size, hdr_len;
};

/* A frame to send, in n pieces. Its first `copy` bytes (at most
 * NET_COPY_MAX: the headers, or a whole small frame) are copied at send;
 * the rest is referenced, not copied: it must stay as it is until the
 * driver hands token to the device's tx_done (all memory is
 * identity-mapped: the device reads it where it lies). token may be NULL
 * only when everything is copied. */
struct net_tx {
	const struct net_frag *frags;
	unsigned n;
	size_t copy;
	const struct net_offload *off;	/* NULL: none */
	void *token;
};

/* What the device said of a received frame's checksums (virtio 1.2
 * §5.1.6.4): DATA_VALID, it checked them; NEEDS_CSUM, the data is good
 * and the checksum at csum_start + csum_offset holds only the
 * pseudo-header's sum (to be completed from csum_start to the end if it
 * matters); neither, nothing is known. Only from a device with rx_csum. */
#define NET_RX_DATA_VALID 1
#define NET_RX_NEEDS_CSUM 2
struct net_rx_info {
	uint8_t flags;
	uint16_t csum_start, csum_offset;
};

/* Called by recv for each frame, given in n pieces (n <= NET_RX_FRAGS)
 * valid during the call. */
typedef void net_rx_fn(void *ctx, const struct net_frag *f, unsigned n,
		       size_t len, const struct net_rx_info *info);

/* Called by the driver (reap, send, stop) once for each frame sent with
 * a token, when the device is done with its referenced pieces. */
typedef void net_tx_done_fn(void *ctx, void *token);

struct net_ops {
	/* Queues frame t without telling the device (flush does), after
	 * taking back what the device has sent. NET_ERR_BUSY when the
	 * transmit ring is full. */
	int (*send)(struct net_dev *d, const struct net_tx *t);
	/* Tells the device of the frames queued since the last flush (one
	 * notification, when the device wants one). */
	void (*flush)(struct net_dev *d);
	/* Takes back what the device has sent (tx_done for each). Returns
	 * how many, or an error. */
	int (*reap)(struct net_dev *d);
	/* Hands up to budget received frames to fn and gives their buffers
	 * back to the device. Returns how many, or an error. */
	int (*recv)(struct net_dev *d, net_rx_fn *fn, void *ctx,
		    unsigned budget);
	/* Nonzero when recv has a frame, or (want_tx) reap has something.
	 * Runs with interrupts off and never waits. */
	int (*pending)(struct net_dev *d, int want_tx);
	/* Interrupts for transmit completions on or off (receive ones are
	 * always on when the device has an interrupt). */
	void (*tx_irq)(struct net_dev *d, int on);
	/* 1 when the link is up (devices that cannot tell: always). */
	int (*link)(struct net_dev *d);
	/* Stops the device for good (a reset: no more DMA); the frames in
	 * flight are handed to tx_done. */
	void (*stop)(struct net_dev *d);
};

/* Counted by net.c (frames and bytes) and by the driver (drops). */
struct net_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t tx_gso;	/* of tx_frames: segmented by the device */
	uint64_t rx_large;	/* of rx_frames: longer than NET_FRAME_MAX */
	uint64_t rx_dropped;	/* the driver threw away: bad or too long */
	uint64_t tx_busy;	/* sends refused for want of room */
	uint64_t halts;		/* waits that halted for an interrupt */
};

struct net_dev {
	char name[8];		/* net0, net1 ... (set by net_register) */
	char model[112];	/* "virtio-net modern, split ring" */
	const char *transport;	/* "virtio" */
	uint8_t mac[6];
	uint16_t mtu;		/* payload bytes per frame */
	int irq_vec;		/* the receive interrupt; 0: none */
	int tx_vec;		/* the transmit one (may equal irq_vec) */
	uint8_t polling;	/* wait by polling even with an interrupt */
	uint8_t tx_csum;	/* completes TCP checksums (net_offload) */
	uint8_t tx_gso;		/* segments: bits 1 << NET_GSO_TCPV4 ... */
	uint8_t rx_csum;	/* says which received checksums it checked
				 * (net_rx_info) */
	uint8_t failed;
	uint16_t tx_frags;	/* pieces a frame may have beyond the
				 * copied bytes */
	uint32_t rx_max;	/* the longest frame recv hands over */
	uint32_t lost_irqs;
	const struct net_ops *ops;
	void *priv;
	/* The stack's, set before the first send by reference. */
	net_tx_done_fn *tx_done;
	void *tx_ctx;
	struct net_stats stats;
	char detail[96];	/* the driver's words for the last failure */
};

/* Adds d (the driver keeps ownership) and names it. 0, or NET_ERR_BUSY
 * when NET_MAX_DEVS are registered. */
int net_register(struct net_dev *d);
unsigned net_count(void);
struct net_dev *net_get(unsigned i);
struct net_dev *net_find(const char *name);

/* Queues frame t (NET_FRAME_MIN..NET_FRAME_MAX bytes in all, or up to
 * NET_GSO_MAX with segmentation), its offload only what the device
 * does (checksum and headers within the copied bytes; segments only of
 * TCP with the headers copied): else NET_ERR_SIZE. The device hears of
 * it at net_flush. NET_ERR_BUSY when the ring stays full; the caller may
 * net_flush, net_wait with want_tx and try again. An error that stops
 * the device is kept in d->detail. */
int net_send(struct net_dev *d, const struct net_tx *t);

/* Tells the device of what net_send queued. */
void net_flush(struct net_dev *d);

/* Takes back what the device has sent (d->tx_done for each token). */
int net_reap(struct net_dev *d);

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
