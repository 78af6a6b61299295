/* TCP segments coalesced into frames the device segments; see gso.h. */
#include "gso.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/time.h"

#define ETH_HLEN 14
#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define PROTO_TCP 6
/* RFC 9293 §3.1: TCP's flags (byte 13 of its header) */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80
#define TCP_CSUM 16		/* the checksum's offset in TCP's header */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The ones' complement sum of n bytes (RFC 1071), folded to 16 bits. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += be16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* A TCP segment in IPv4 or IPv6 (TCP next: lwIP puts no extension
 * header before it) over Ethernet, exactly its headers in head: where
 * they start, and its payload length. 0 when f is anything else. */
struct tcp_seg {
	unsigned ip_off, tcp_off, hlen;
	uint32_t payload, seq;
	uint8_t flags, gso;
};

/* The IP header: its length and the TCP length it says; 0 when it is
 * no TCP segment (or a fragment). */
static unsigned ip_header(const struct gso_frame *f, unsigned *tcp_len,
			  uint8_t *gso)
{
	const uint8_t *ip = f->head + ETH_HLEN;
	uint16_t type = be16(f->head + 12);
	if (type == ETH_IPV4) {
		unsigned ihl = (ip[0] & 15u) * 4;
		if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != PROTO_TCP ||
		    (be16(ip + 6) & 0x3fff) || be16(ip + 2) < ihl)
			return 0;	/* not TCP, or a fragment */
		*tcp_len = be16(ip + 2) - ihl;
		*gso = NET_GSO_TCPV4;
		return ihl;
	}
	if (type == ETH_IPV6 && f->head_len >= ETH_HLEN + 60 &&
	    (ip[0] >> 4) == 6 && ip[6] == PROTO_TCP) {
		*tcp_len = be16(ip + 4);
		*gso = NET_GSO_TCPV6;
		return 40;
	}
	return 0;
}

static int parse(const struct gso_frame *f, struct tcp_seg *s)
{
	unsigned tcp_len;
	size_t rest = 0;
	if (f->head_len < ETH_HLEN + 40)
		return 0;
	unsigned iphl = ip_header(f, &tcp_len, &s->gso);
	if (!iphl || ETH_HLEN + iphl + 20 > f->head_len)
		return 0;
	const uint8_t *tcp = f->head + ETH_HLEN + iphl;
	unsigned thl = (tcp[12] >> 4) * 4u;
	for (unsigned i = 0; i < f->nrest; i++)
		rest += f->rest[i].len;
	if (thl < 20 || ETH_HLEN + iphl + thl != f->head_len ||
	    tcp_len != thl + rest)
		return 0;	/* not exactly the headers copied */
	s->ip_off = ETH_HLEN;
	s->tcp_off = ETH_HLEN + iphl;
	s->hlen = ETH_HLEN + iphl + thl;
	s->payload = (uint32_t)rest;
	s->seq = be32(tcp + 4);
	s->flags = tcp[13];
	return 1;
}

/* Worth gathering: data with an ACK and none of the flags that end or
 * mark a stream, its pieces referenced. */
static int gatherable(const struct tcp_seg *s, const struct gso_frame *f)
{
	return s->payload && f->token && f->nrest &&
	       (s->flags & TCP_ACK) && !(s->flags & (TCP_FIN | TCP_SYN |
		TCP_RST | TCP_URG | TCP_ECE | TCP_CWR)) &&
	       s->hlen <= GSO_HDR_MAX;
}

/* TCP's checksum field gets the sum of the pseudo-header (RFC 9293
 * §3.1, RFC 8200 §8.1) for tcp_len bytes; the device completes it
 * (virtio 1.2 §5.1.6.2). */
static void pseudo_sum(uint8_t *h, unsigned ip_off, unsigned tcp_off,
		       uint32_t tcp_len)
{
	const uint8_t *ip = h + ip_off;
	uint32_t sum = (ip[0] >> 4) == 6 ? sum16(ip + 8, 32, PROTO_TCP + tcp_len)
					 : sum16(ip + 12, 8, PROTO_TCP + tcp_len);
	put16(h + tcp_off + TCP_CSUM, (uint16_t)sum);
}

/* The IPv4 header's own checksum (RFC 791), after a change. */
static void ip_checksum(uint8_t *ip)
{
	unsigned ihl = (ip[0] & 15u) * 4;
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~sum16(ip, ihl, 0));
}

static struct gso_record *record(struct gso *g)
{
	struct gso_record *r = g->free;
	if (!r)
		return 0;
	g->free = r->next;
	r->n = 0;
	r->seq = ++g->seq;
	r->older = g->newest;
	r->newer = 0;
	if (g->newest)
		g->newest->newer = r;
	else
		g->oldest = r;
	g->newest = r;
	return r;
}

static void release_record(struct gso *g, struct gso_record *r)
{
	for (unsigned i = 0; i < r->n; i++)
		g->release(g->ctx, r->tokens[i]);
	r->n = 0;
	if (r->older)
		r->older->newer = r->newer;
	else
		g->oldest = r->newer;
	if (r->newer)
		r->newer->older = r->older;
	else
		g->newest = r->older;
	r->next = g->free;
	g->free = r;
}

uint64_t gso_mark(const struct gso *g)
{
	return g->seq;
}

int gso_passed(const struct gso *g, uint64_t mark)
{
	return !g->oldest || g->oldest->seq > mark;
}

void gso_tx_done(void *ctx, void *token)
{
	release_record(ctx, token);
}

/* Hands t to the device; a full ring gets wait_us (the device told, its
 * completions taken back). On failure the record goes back. */
static int send_now(struct gso *g, struct net_tx *t, struct gso_record *r)
{
	int err = net_send(g->dev, t);
	if (err == NET_ERR_BUSY) {
		net_flush(g->dev);
		net_wait(g->dev, 1, 0, 0, time_us() + g->wait_us);
		err = net_send(g->dev, t);
	}
	if (err) {
		g->dropped++;
		if (r)
			release_record(g, r);
	} else if (!t->off || !t->off->gso) {
		/* a small frame (a handshake, a short answer) at once: the
		 * host works on it while the guest goes on; 64 KiB ones,
		 * which come in bursts, at the flush */
		net_flush(g->dev);
	} else {
		g->queued = 1;
	}
	return err;
}

/* A frame to the device as it is: a TCP segment with its checksum for
 * the device to complete when it can. */
static int send_plain(struct gso *g, const struct gso_frame *f,
		      const struct tcp_seg *s)
{
	uint8_t head[NET_COPY_MAX];
	struct net_frag frags[1 + GSO_FRAGS];
	struct net_offload off = { 0, 0, 0, 0, 0, 0 };
	struct gso_record *r = 0;
	if (f->head_len > sizeof(head) || f->nrest > GSO_FRAGS) {
		if (f->token)
			g->release(g->ctx, f->token);
		g->dropped++;
		return NET_ERR_SIZE;
	}
	memcpy(head, f->head, f->head_len);
	if (s && g->dev->tx_csum) {
		pseudo_sum(head, s->ip_off, s->tcp_off,
			   s->hlen - s->tcp_off + s->payload);
		off = (struct net_offload){ 1, NET_GSO_NONE,
					    (uint16_t)s->tcp_off, TCP_CSUM,
					    0, 0 };
	}
	if (f->token) {
		r = record(g);
		if (!r) {	/* every record in flight: take some back */
			net_flush(g->dev);
			net_reap(g->dev);
			r = record(g);
		}
		if (!r) {
			g->release(g->ctx, f->token);
			g->dropped++;
			return NET_ERR_BUSY;
		}
		r->tokens[r->n++] = f->token;
	}
	frags[0] = (struct net_frag){ head, f->head_len };
	if (f->nrest)
		memcpy(frags + 1, f->rest, f->nrest * sizeof(*frags));
	struct net_tx t = { frags, 1 + f->nrest, f->head_len,
			    off.csum ? &off : 0, r };
	g->frames++;
	g->segments++;
	return send_now(g, &t, r);
}

/* The gathered segments as one frame for the device to cut (or the one
 * segment as it was). */
static int send_gathered(struct gso *g)
{
	unsigned n = g->nseg;
	if (!n)
		return 0;
	g->nseg = 0;
	uint8_t *h = g->hdr;
	struct net_offload off = { 1, NET_GSO_NONE, (uint16_t)g->tcp_off,
				   TCP_CSUM, 0, 0 };
	uint32_t tcp_len = g->hlen - g->tcp_off + g->payload;
	if (n > 1 && g->gso == NET_GSO_TCPV6) {
		put16(h + g->ip_off + 4, (uint16_t)tcp_len);
	} else if (n > 1) {
		put16(h + g->ip_off + 2,
		      (uint16_t)(g->tcp_off - g->ip_off + tcp_len));
		ip_checksum(h + g->ip_off);
	}
	if (n > 1) {
		h[g->tcp_off + 13] |= g->psh;
		off.gso = g->gso;
		off.gso_size = g->seg_size;
		off.hdr_len = (uint16_t)g->hlen;
	}
	pseudo_sum(h, g->ip_off, g->tcp_off, tcp_len);
	g->frags[0] = (struct net_frag){ h, g->hlen };
	struct net_tx t = { g->frags, 1 + g->nfrags, g->hlen, &off, g->rec };
	struct gso_record *r = g->rec;
	g->rec = 0;
	g->frames++;
	g->segments += n;
	return send_now(g, &t, r);
}

/* Whether segment s of frame f continues the gathered frame. */
static int continues(const struct gso *g, const struct gso_frame *f,
		     const struct tcp_seg *s)
{
	const uint8_t *a = g->hdr, *b = f->head;
	unsigned ip = g->ip_off, tcp = g->tcp_off;
	if (s->gso != g->gso || s->hlen != g->hlen || s->tcp_off != tcp ||
	    s->seq != g->next_seq ||
	    g->payload % g->seg_size || s->payload > g->seg_size ||
	    g->nseg == GSO_SEGS || g->nfrags + f->nrest > GSO_FRAGS ||
	    1 + g->nfrags + f->nrest > (unsigned)g->dev->tx_frags + 1 ||
	    g->hlen + g->payload + s->payload > NET_GSO_MAX)
		return 0;
	/* Ethernet addresses and type; IP but length, id, checksum (IPv6:
	 * but the payload length); TCP ports (seq checked), ack, flags but
	 * PSH, window, options */
	int same_ip = g->gso == NET_GSO_TCPV6
		      ? !memcmp(a + ip, b + ip, 4) &&
			!memcmp(a + ip + 6, b + ip + 6, 34)
		      : a[ip] == b[ip] && a[ip + 1] == b[ip + 1] &&
			!memcmp(a + ip + 6, b + ip + 6, 4) &&
			!memcmp(a + ip + 12, b + ip + 12, tcp - ip - 12);
	return !memcmp(a, b, ETH_HLEN) && same_ip &&
	       !memcmp(a + tcp, b + tcp, 4) &&
	       !memcmp(a + tcp + 8, b + tcp + 8, 5) &&
	       (a[tcp + 13] & ~TCP_PSH) == (b[tcp + 13] & ~TCP_PSH) &&
	       !memcmp(a + tcp + 14, b + tcp + 14, 2) &&
	       !memcmp(a + tcp + 20, b + tcp + 20, g->hlen - tcp - 20);
}

static void add(struct gso *g, const struct gso_frame *f,
		const struct tcp_seg *s)
{
	if (!g->nseg) {
		memcpy(g->hdr, f->head, s->hlen);
		g->hlen = s->hlen;
		g->ip_off = s->ip_off;
		g->tcp_off = s->tcp_off;
		g->payload = 0;
		g->nfrags = 0;
		g->seg_size = (uint16_t)s->payload;
		g->gso = s->gso;
		g->psh = 0;
	}
	g->psh |= f->head[s->tcp_off + 13] & TCP_PSH;
	memcpy(g->frags + 1 + g->nfrags, f->rest, f->nrest * sizeof(*f->rest));
	g->nfrags += f->nrest;
	g->rec->tokens[g->rec->n++] = f->token;
	g->payload += s->payload;
	g->next_seq = s->seq + s->payload;
	g->nseg++;
}

/* Gathers TCP segment s of frame f: it joins the frame being gathered,
 * or that goes out and a new one starts with it. */
static int gather(struct gso *g, const struct gso_frame *f,
		  const struct tcp_seg *s)
{
	int err = 0;
	if (g->nseg && !continues(g, f, s))
		err = send_gathered(g);
	if (!g->nseg && !g->rec && !(g->rec = record(g))) {
		net_flush(g->dev);
		net_reap(g->dev);
		if (!(g->rec = record(g)))
			return send_plain(g, f, s);
	}
	add(g, f, s);
	if (g->nseg == GSO_SEGS || g->payload % g->seg_size ||
	    g->hlen + g->payload + g->seg_size > NET_GSO_MAX)
		err = send_gathered(g);	/* full, or a short one ended it */
	return err;
}

int gso_send(struct gso *g, const struct gso_frame *f)
{
	struct tcp_seg s;
	int tcp = parse(f, &s);
	if (tcp && (g->dev->tx_gso >> s.gso & 1) && gatherable(&s, f) &&
	    f->nrest <= GSO_FRAGS)
		return gather(g, f, &s);
	int err = send_gathered(g);	/* in order */
	int e2 = send_plain(g, f, tcp ? &s : 0);
	return e2 ? e2 : err;
}

void gso_flush(struct gso *g)
{
	send_gathered(g);
	net_flush(g->dev);
	g->queued = 0;
}

int gso_pending(const struct gso *g)
{
	return g->nseg || g->queued;
}

int gso_init(struct gso *g, struct net_dev *dev,
	     void (*release)(void *ctx, void *token), void *ctx)
{
	memset(g, 0, sizeof(*g));
	g->records = calloc(GSO_RECORDS, sizeof(*g->records));
	if (!g->records)
		return -1;
	for (unsigned i = 0; i < GSO_RECORDS; i++) {
		g->records[i].next = g->free;
		g->free = &g->records[i];
	}
	g->dev = dev;
	g->release = release;
	g->ctx = ctx;
	g->wait_us = 200000;
	dev->tx_done = gso_tx_done;
	dev->tx_ctx = g;
	return 0;
}
