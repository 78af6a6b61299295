/* Outgoing frames onto a network device, TCP segments (IPv4, IPv6) of
 * one flow that follow each other coalesced into one frame of up to 64
 * KiB that the device cuts back into segments (segmentation offload,
 * drivers/net.h).
 * Between lwIP and drivers/net.h (app/net/inet.c feeds it), but without
 * lwIP: it reads the frames' Ethernet, IP and TCP headers itself.
 *
 * lwIP hands one segment of at most an MSS at a time. A segment that
 * continues the one before (same addresses, ports, ack, window, flags
 * but PSH, options; its sequence number where the last one ended; all
 * before it of the first one's length; no SYN, FIN, RST, URG, ECE, CWR)
 * joins it; the frame goes to the device when the next one does not
 * fit, when it is full, and at gso_flush. Its header is the first
 * segment's with the IP total length of the whole and, where TCP's
 * checksum goes, the sum of the pseudo-header over the whole TCP length
 * (the device adjusts it per segment, as Linux's tcp_gso_segment
 * expects); PSH when any segment had it. The payloads are referenced,
 * never copied: each frame's tokens go back (release) when the device
 * is done with it. */
#ifndef UMBRA_GSO_H
#define UMBRA_GSO_H

#include <stddef.h>
#include <stdint.h>

#include "../../drivers/net.h"

#define GSO_SEGS 45		/* segments per frame: 45 x 1460 < 64 KiB */
#define GSO_FRAGS 64		/* pieces per frame past the header */
#define GSO_RECORDS 256		/* frames in flight */
#define GSO_HDR_MAX 134		/* Ethernet, IP and TCP with options */

/* One frame as the stack built it: its first head_len bytes copied
 * (a TCP segment's headers, exactly; else at most NET_COPY_MAX bytes),
 * the rest as pieces that stay valid until token is released (token
 * NULL: nothing past head). */
struct gso_frame {
	const uint8_t *head;
	size_t head_len;
	const struct net_frag *rest;
	unsigned nrest;
	void *token;
};

/* A frame on its way (or being gathered), and what it holds. */
struct gso_record {
	struct gso_record *next;	/* free list */
	struct gso_record *older, *newer;	/* those taken, in order */
	uint64_t seq;		/* taken as the seq'th */
	unsigned n;
	void *tokens[GSO_SEGS];
};

struct gso {
	struct net_dev *dev;
	void (*release)(void *ctx, void *token);
	void *ctx;
	uint64_t wait_us;	/* a full ring gets this long at a flush */
	struct gso_record *records, *free;
	struct gso_record *oldest, *newest;	/* taken, not yet back */
	uint64_t seq;		/* records taken so far */
	/* the frame being gathered */
	struct gso_record *rec;
	uint8_t hdr[GSO_HDR_MAX];
	unsigned hlen, ip_off, tcp_off;
	unsigned nseg, nfrags;
	uint32_t next_seq, payload;
	uint16_t seg_size;
	uint8_t gso;		/* NET_GSO_TCPV4 or TCPV6 */
	uint8_t psh;
	struct net_frag frags[1 + GSO_FRAGS];
	int queued;		/* frames given to the device since the flush */
	/* counters */
	uint64_t frames, segments, dropped;
};

/* Sets g up on dev (its tx_done is g's from now on); release(ctx,
 * token) gives a frame's token back. 0, or -1 out of memory. */
int gso_init(struct gso *g, struct net_dev *dev,
	     void (*release)(void *ctx, void *token), void *ctx);

/* Queues frame f (gathered, or sent as it is), its token given to g
 * whatever happens. 0, or a NET_ERR_* (the frame is dropped: TCP sends
 * it again). */
int gso_send(struct gso *g, const struct gso_frame *f);

/* Sends what is gathered and tells the device (one notification for the
 * burst of 64 KiB frames; a plain frame is told at once). */
void gso_flush(struct gso *g);

/* Whether frames wait for gso_flush. */
int gso_pending(const struct gso *g);

/* A mark of everything handed to g so far, and whether all of it is
 * back from the device since (memory the frames referred to is then
 * the caller's again, even when TCP let go of it earlier). */
uint64_t gso_mark(const struct gso *g);
int gso_passed(const struct gso *g, uint64_t mark);

/* The device's tx_done (drivers/net.h): the frame's tokens released. */
void gso_tx_done(void *ctx, void *token);

#endif
