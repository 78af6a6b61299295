/* app/net/gso.c over the real virtio-net driver, against a device played
 * by this test that does what a host's segmentation does (Linux's
 * tcp_gso_segment: the headers repeated, lengths, ids, sequence numbers
 * and flags per segment, the checksum's pseudo-header sum moved from the
 * whole length to the segment's, then completed) and checks every
 * segment it would put on the wire from scratch: IPv4 and TCP checksums,
 * flags, and the byte stream in order. TCP segments as lwIP makes them
 * (headers in one piece, the payload in another) of one flow are
 * gathered into 64 KiB frames; other flows, gaps, changes, flags that
 * end a stream, short segments each end a frame; a device without the
 * offloads gets the frames as they were; every token comes back exactly
 * once, after the device is done with its frame, also when the ring
 * stays full and the frame is dropped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/net/gso.h"
#include "../../drivers/virtio/virtio_net.h"
#include "check.h"
#include "dmamem.h"
#include "fakevirtio.h"

#define F_CSUM (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)
#define F_MAC (1ull << 5)
#define F_HOST_TSO4 (1ull << 11)
#define F_HOST_TSO6 (1ull << 12)
#define F_MRG (1ull << 15)
#define F_INDIRECT (1ull << 28)
#define F_V1 (1ull << 32)
#define F_TSO (F_CSUM | F_GUEST_CSUM | F_MAC | F_HOST_TSO4 | F_MRG | \
	       F_INDIRECT | F_V1)

#define MSS 1460
#define MSS6 1440		/* 1500 less IPv6's and TCP's headers */
#define STREAM (256 * 1024)
#define TOKENS 1024

static uint8_t stream[STREAM];		/* what the flows send */
static uint8_t wire[STREAM];		/* what the device put on the wire */
static uint8_t seen[STREAM];
static int released[TOKENS];

static void release(void *ctx, void *token)
{
	(void)ctx;
	int *t = token;
	CHECK(t >= released && t < released + TOKENS);
	if (t >= released && t < released + TOKENS)
		(*t)++;
}

/* --- the headers lwIP would build ---------------------------------------- */

struct flow {
	uint16_t sport, dport;
	uint32_t seq0, ack;
	uint16_t id;
	int v6;			/* IPv6, else IPv4 */
};

/* The IP header's length in a flow's frames, and all the headers'. */
static unsigned iplen(const struct flow *fl)
{
	return fl->v6 ? 40 : 20;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint32_t sum(const uint8_t *p, size_t n, uint32_t acc)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += get16(p + i);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* Ethernet, IPv4 (its checksum done) or IPv6, and TCP (checksum left 0,
 * as lwIP leaves it for a device that completes it) headers of a
 * segment of n payload bytes at stream offset off. */
static void headers(uint8_t *h, struct flow *fl, uint32_t off, unsigned n,
		    uint8_t flags)
{
	static const uint8_t eth[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	memcpy(h, eth, 12);
	uint8_t *ip = h + 14, *tcp = ip + iplen(fl);
	memset(ip, 0, iplen(fl) + 20);
	if (fl->v6) {
		put16(h + 12, 0x86dd);
		ip[0] = 0x60;
		ip[1] = 0x0a;	/* a traffic class and a flow label */
		ip[3] = 0x42;
		put16(ip + 4, (uint16_t)(20 + n));
		ip[6] = 6;
		ip[7] = 64;
		ip[8] = 0xfd;
		ip[23] = 2;	/* fd00::2 to fd00::1 */
		ip[24] = 0xfd;
		ip[39] = 1;
	} else {
		put16(h + 12, 0x0800);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(40 + n));
		put16(ip + 4, fl->id++);
		ip[8] = 255;
		ip[9] = 6;
		put32(ip + 12, 0x0a000302);
		put32(ip + 16, 0x0a000301);
		put16(ip + 10, (uint16_t)~fold(sum(ip, 20, 0)));
	}
	put16(tcp, fl->sport);
	put16(tcp + 2, fl->dport);
	put32(tcp + 4, fl->seq0 + off);
	put32(tcp + 8, fl->ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 8192);
}

#define ACK 0x10
#define PSH 0x08
#define FIN 0x01

/* One segment into the coalescer: headers in one piece, payload at
 * stream offset off in another, token t. */
static int segment(struct gso *g, struct flow *fl, uint32_t off, unsigned n,
		   uint8_t flags, int t)
{
	uint8_t h[74];
	headers(h, fl, off, n, flags);
	struct net_frag rest = { stream + off, n };
	struct gso_frame f = { h, 34 + iplen(fl), &rest, n ? 1 : 0,
			       n ? &released[t] : 0 };
	return gso_send(g, &f);
}

/* --- the device ------------------------------------------------------------ */

struct seg_seen {
	uint32_t seq;
	unsigned len;
	uint8_t flags;
	uint16_t sport;
};

static struct seg_seen segs[4096];
static unsigned nsegs;

struct frame_seen {
	uint8_t gso;
	uint16_t gso_size, hdr_len, csum_start, csum_offset;
	uint8_t csum, flags;
	unsigned len;
};

static struct frame_seen frames[1024];
static unsigned nframes;
static int bad;			/* a segment that would fail on the wire */

/* A segment as the wire carries it: checked from scratch (IPv4 header
 * checksum, or IPv6's payload length; TCP checksum over the
 * pseudo-header), its payload recorded by sequence number. */
static void on_wire(struct flow *fl, const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *tcp = ip + iplen(fl);
	unsigned tcp_len = (unsigned)len - 14 - iplen(fl);
	uint32_t acc;
	if (fl->v6) {
		if (get16(ip + 4) != tcp_len) {
			bad++;
			return;
		}
		acc = sum(ip + 8, 32, 6 + tcp_len);
	} else {
		if (get16(ip + 2) + 14u != len ||
		    fold(sum(ip, 20, 0)) != 0xffff) {
			bad++;
			return;
		}
		acc = sum(ip + 12, 8, 6 + tcp_len);
	}
	if (fold(sum(tcp, tcp_len, acc)) != 0xffff) {
		bad++;
		return;
	}
	unsigned n = tcp_len - 20;
	uint32_t seq = get32(tcp + 4);
	struct seg_seen *s = &segs[nsegs++];
	*s = (struct seg_seen){ seq, n, tcp[13], get16(tcp) };
	uint32_t off = seq - fl->seq0;
	if (off + n <= STREAM) {
		memcpy(wire + off, tcp + 20, n);
		memset(seen + off, 1, n);
	}
}

/* The checksum at start + offset completed over [start, len): the field
 * holds the pseudo-header's sum (§5.1.6.2). */
static void complete(uint8_t *f, size_t len, unsigned start, unsigned off)
{
	uint16_t c = fold(sum(f + start, len - start, 0));
	put16(f + start + off, (uint16_t)~c);
}

/* What the host does with a frame: as Linux's tcp_gso_segment with
 * inet_gso_segment or ipv6_gso_segment (per segment: IPv4's length and
 * id and header checksum, or IPv6's payload length; TCP's sequence, PSH
 * and FIN on the last only, the checksum's length part replaced), then
 * completes the checksum. */
static void device_frame(struct flow *fl, uint8_t *f, size_t len,
			 const uint8_t *vh)
{
	unsigned il = iplen(fl), to = 14 + il;
	struct frame_seen *fs = &frames[nframes++];
	*fs = (struct frame_seen){ vh[1], (uint16_t)(vh[4] | vh[5] << 8),
				   (uint16_t)(vh[2] | vh[3] << 8),
				   (uint16_t)(vh[6] | vh[7] << 8),
				   (uint16_t)(vh[8] | vh[9] << 8),
				   vh[0] & 1, f[to + 13], (unsigned)len };
	if (!fs->gso) {
		if (fs->csum)
			complete(f, len, fs->csum_start, fs->csum_offset);
		on_wire(fl, f, len);
		return;
	}
	CHECK_INT(fs->gso, fl->v6 ? 4 : 1);
	unsigned hl = to + 20, mss = fs->gso_size;
	uint8_t *ip = f + 14, *tcp = f + to;
	uint16_t whole = (uint16_t)(len - to), id = get16(ip + 4);
	uint32_t seq = get32(tcp + 4);
	uint16_t check = get16(tcp + 16);
	static uint8_t seg[2000];
	for (size_t at = hl, i = 0; at < len; at += mss, i++) {
		unsigned n = len - at < mss ? (unsigned)(len - at) : mss;
		int last = at + n == len;
		memcpy(seg, f, hl);
		memcpy(seg + hl, f + at, n);
		uint8_t *sip = seg + 14, *stcp = seg + to;
		if (fl->v6) {
			put16(sip + 4, (uint16_t)(20 + n));
		} else {
			put16(sip + 2, (uint16_t)(40 + n));
			put16(sip + 4, (uint16_t)(id + i));
			put16(sip + 10, 0);
			put16(sip + 10, (uint16_t)~fold(sum(sip, 20, 0)));
		}
		put32(stcp + 4, seq + (uint32_t)(at - hl));
		if (!last)
			stcp[13] &= (uint8_t)~(PSH | FIN);
		/* ~whole + new: the whole TCP length taken out, the
		 * segment's put in (ones' complement) */
		put16(stcp + 16, fold((uint32_t)check + (uint16_t)~whole +
				      20 + n));
		complete(seg, hl + n, to, 16);
		on_wire(fl, seg, hl + n);
	}
}

struct fake {
	struct fakevirtio v;
	struct flow *fl;
};

/* Everything queued on the transmit ring: read, put on the wire, used. */
static unsigned device_run(struct fake *f, int complete_them)
{
	struct fakevirtio_chain c;
	static uint8_t buf[70000];
	unsigned n = 0;
	while (fakevirtio_take(&f->v, 1, &c)) {
		size_t len = fakevirtio_read(&c, 0, buf, sizeof(buf));
		CHECK(len >= 12 + 54);
		device_frame(f->fl, buf + 12, len - 12, buf);
		if (complete_them)
			fakevirtio_used(&f->v, 1, c.head, 0);
		n++;
	}
	return n;
}

static struct net_dev *start(struct fake *f, struct gso *g, uint64_t features,
			     uint16_t qsize, struct flow *fl)
{
	const char *why;
	memset(f, 0, sizeof(*f));
	fakevirtio_init(&f->v, features, 0);
	f->v.qmax[0] = f->v.qmax[1] = qsize;
	f->fl = fl;
	CHECK_INT(vnet_attach(&f->v.dev, &why), 0);
	struct net_dev *d = net_get(net_count() - 1);
	free(g->records);
	CHECK_INT(gso_init(g, d, release, 0), 0);
	memset(released, 0, sizeof(released));
	memset(seen, 0, sizeof(seen));
	memset(wire, 0, sizeof(wire));
	nsegs = nframes = 0;
	bad = 0;
	return d;
}

static void fill_stream(void)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < STREAM; i++) {
		x = x * 1103515245u + 12345u;
		stream[i] = (uint8_t)(x >> 16);
	}
}

static int all_released(int n, int times)
{
	for (int i = 0; i < n; i++)
		if (released[i] != times)
			return 0;
	return 1;
}

/* 101 segments of one flow, the last short with PSH: frames of 44
 * segments (64 KiB), 44, then 13 (the short one ends it); two more wait
 * for the flush. The wire carries 103 valid segments holding the
 * stream, PSH on the short one only. */
static void test_gather(void)
{
	static struct fake f;
	static struct gso g;
	struct flow fl = { 40000, 80, 1000000, 777, 1, 0 };
	struct net_dev *d = start(&f, &g, F_TSO, 256, &fl);
	uint32_t off = 0;
	for (int i = 0; i < 101; i++) {
		unsigned n = i == 100 ? 500 : MSS;
		CHECK_INT(segment(&g, &fl, off, n, ACK | (i == 100 ? PSH : 0),
				  i), 0);
		off += n;
	}
	CHECK_INT(d->stats.tx_frames, 3);	/* full, full, ended */
	for (int i = 101; i < 103; i++) {
		CHECK_INT(segment(&g, &fl, off, MSS, ACK, i), 0);
		off += MSS;
	}
	CHECK_INT(d->stats.tx_frames, 3);	/* they wait ... */
	gso_flush(&g);
	CHECK_INT(d->stats.tx_frames, 4);	/* ... for the flush */
	CHECK_INT(d->stats.tx_gso, 4);
	CHECK(all_released(103, 0));		/* the device holds them */
	CHECK_INT(device_run(&f, 1), 4);
	CHECK_INT(nframes, 4);
	CHECK(frames[0].gso == 1 && frames[0].gso_size == MSS &&
	      frames[0].hdr_len == 54 && frames[0].csum &&
	      frames[0].csum_start == 34 && frames[0].csum_offset == 16);
	CHECK_INT(frames[0].len, 54 + 44 * MSS);
	CHECK_INT(frames[1].len, 54 + 44 * MSS);
	CHECK_INT(frames[2].len, 54 + 12 * MSS + 500);
	CHECK_INT(frames[3].len, 54 + 2 * MSS);
	CHECK(!(frames[0].flags & PSH) && (frames[2].flags & PSH) &&
	      !(frames[3].flags & PSH));
	CHECK_INT(bad, 0);
	CHECK_INT(nsegs, 103);
	CHECK(!memcmp(wire, stream, off));
	int psh = 0;
	for (unsigned i = 0; i < nsegs; i++)
		psh += !!(segs[i].flags & PSH);
	CHECK(psh == 1 && (segs[100].flags & PSH) && segs[100].len == 500);
	CHECK(all_released(103, 0));
	CHECK_INT(net_reap(d), 4);
	CHECK(all_released(103, 1));		/* each once */
	CHECK_INT(g.segments, 103);
	CHECK_INT(g.frames, 4);
}

/* The same over IPv6 (a device that segments TCPv6): frames of 45
 * segments with the IPv6 payload length of the whole; a device that
 * segments only TCPv4 gets them one by one. */
static void test_gather6(void)
{
	static struct fake f;
	static struct gso g;
	struct flow fl = { 40000, 443, 77, 5, 0, 1 };
	struct net_dev *d = start(&f, &g, F_TSO | F_HOST_TSO6, 256, &fl);
	CHECK(d->tx_gso == (1 << NET_GSO_TCPV4 | 1 << NET_GSO_TCPV6));
	uint32_t off = 0;
	for (int i = 0; i < 50; i++, off += MSS6)
		CHECK_INT(segment(&g, &fl, off, MSS6, ACK | (i == 49 ? PSH : 0),
				  i), 0);
	gso_flush(&g);
	CHECK_INT(device_run(&f, 1), 2);
	CHECK(frames[0].gso == 4 && frames[0].hdr_len == 74 &&
	      frames[0].csum_start == 54 && frames[0].csum_offset == 16 &&
	      frames[0].len == 74 + 45 * MSS6 && frames[1].len == 74 + 5 * MSS6);
	CHECK((frames[1].flags & PSH) && !(frames[0].flags & PSH));
	CHECK_INT(bad, 0);
	CHECK_INT(nsegs, 50);
	CHECK(!memcmp(wire, stream, off));
	CHECK_INT(net_reap(d), 2);
	CHECK(all_released(50, 1));
	/* a device that segments only TCPv4: each IPv6 segment alone */
	static struct fake h;
	d = start(&h, &g, F_TSO, 256, &fl);
	for (int i = 0; i < 3; i++)
		CHECK_INT(segment(&g, &fl, (uint32_t)i * MSS6, MSS6, ACK, i), 0);
	gso_flush(&g);
	CHECK_INT(device_run(&h, 1), 3);
	CHECK(!frames[0].gso && frames[0].csum && frames[0].csum_start == 54);
	CHECK_INT(bad, 0);
}

/* What ends a frame: another flow, a gap, another ack, a short segment,
 * FIN; a pure ACK goes as it is, copied whole. */
static void test_breaks(void)
{
	static struct fake f;
	static struct gso g;
	struct flow a = { 40000, 80, 5000, 1, 1, 0 };
	struct flow b = { 40001, 80, 5000, 1, 1, 0 };
	start(&f, &g, F_TSO, 256, &a);
	int t = 0;
	segment(&g, &a, 0, MSS, ACK, t++);
	segment(&g, &a, MSS, MSS, ACK, t++);		/* frame 1: 2 */
	segment(&g, &b, 2 * MSS, MSS, ACK, t++);	/* frame 2: other flow */
	segment(&g, &a, 3 * MSS, MSS, ACK, t++);	/* frame 3 */
	segment(&g, &a, 5 * MSS, MSS, ACK, t++);	/* frame 4: a gap */
	a.ack = 2;
	segment(&g, &a, 6 * MSS, MSS, ACK, t++);	/* frame 5: new ack */
	segment(&g, &a, 7 * MSS, 100, ACK, t++);	/* short: joins, ends */
	segment(&g, &a, 7 * MSS + 100, MSS, ACK, t++);	/* frame 6 */
	segment(&g, &a, 8 * MSS + 100, MSS, ACK | FIN, t++);	/* 7: FIN */
	segment(&g, &a, 9 * MSS + 100, 0, ACK, t);	/* 8: a pure ACK */
	gso_flush(&g);
	CHECK_INT(device_run(&f, 1), 8);
	CHECK_INT(nframes, 8);
	unsigned want[8] = { 2 * MSS, MSS, MSS, MSS, MSS + 100, MSS, MSS, 0 };
	int gso[8] = { 1, 0, 0, 0, 1, 0, 0, 0 };
	for (int i = 0; i < 8; i++) {
		CHECK_INT(frames[i].len, 54 + want[i]);
		CHECK_INT(frames[i].gso, gso[i]);
		CHECK(frames[i].csum);	/* every one's checksum to complete */
	}
	CHECK(frames[6].flags & FIN);
	CHECK_INT(bad, 0);
	CHECK_INT(nsegs, 10);
	CHECK_INT(net_reap(g.dev), 8);
	CHECK(all_released(t, 1));		/* the ACK had none to give */
	CHECK_INT(released[t], 0);
}

/* Without segmentation each segment goes as it is, its checksum for the
 * device to complete; without the checksum feature, untouched. */
static void test_plain(void)
{
	static struct fake f;
	static struct gso g;
	struct flow fl = { 1234, 80, 7, 9, 1, 0 };
	struct net_dev *d = start(&f, &g, F_CSUM | F_MRG | F_INDIRECT | F_V1,
				  256, &fl);
	CHECK(d->tx_csum && !d->tx_gso);
	for (int i = 0; i < 10; i++)
		segment(&g, &fl, (uint32_t)i * MSS, MSS, ACK, i);
	gso_flush(&g);
	CHECK_INT(device_run(&f, 1), 10);
	CHECK(!frames[0].gso && frames[0].csum && frames[0].csum_start == 34 &&
	      frames[0].csum_offset == 16 && frames[9].len == 54 + MSS);
	CHECK_INT(bad, 0);
	CHECK(!memcmp(wire, stream, 10 * MSS));
	CHECK_INT(net_reap(d), 10);
	CHECK(all_released(10, 1));
	static struct fake h;
	d = start(&h, &g, F_MRG | F_V1, 64, &fl);
	uint8_t hd[54];
	headers(hd, &fl, 0, MSS, ACK);
	put16(hd + 50, 0xbeef);		/* lwIP's own checksum */
	struct net_frag rest = { stream, MSS };
	struct gso_frame fr = { hd, 54, &rest, 1, &released[0] };
	CHECK_INT(gso_send(&g, &fr), 0);
	gso_flush(&g);
	struct fakevirtio_chain c;
	CHECK(fakevirtio_take(&h.v, 1, &c));
	uint8_t got[12 + 54];
	CHECK_INT(fakevirtio_read(&c, 0, got, sizeof(got)), sizeof(got));
	CHECK(got[0] == 0 && got[1] == 0 && get16(got + 12 + 50) == 0xbeef);
	CHECK(!c.indirect && c.n == 2 && c.addr[1] == (uintptr_t)stream);
	/* not TCP, all of it in the first piece: copied, untouched */
	static uint8_t other[200];
	memset(other, 0x5a, sizeof(other));
	put16(other + 12, 0x0800);
	struct gso_frame udp = { other, sizeof(other), 0, 0, 0 };
	CHECK_INT(gso_send(&g, &udp), 0);
	CHECK(fakevirtio_take(&h.v, 1, &c));
	static uint8_t back[200];
	CHECK_INT(fakevirtio_read(&c, 12, back, sizeof(back)), sizeof(back));
	CHECK(c.n == 1 && !memcmp(back, other, sizeof(other)));
}

/* A ring the device never empties: the frames that do not fit are
 * dropped after the wait, their tokens given back at once; the rest
 * come back when the device is done. Each exactly once. */
static void test_full(void)
{
	static struct fake f;
	static struct gso g;
	struct flow fl = { 1, 2, 0, 0, 1, 0 };
	start(&f, &g, F_CSUM | F_MRG | F_INDIRECT | F_V1, 16, &fl);
	g.wait_us = 1000;
	int refused = 0;
	for (int i = 0; i < 40; i++)
		refused += segment(&g, &fl, (uint32_t)i * MSS, MSS, ACK, i) ==
			   NET_ERR_BUSY;
	CHECK_INT(refused, 24);
	CHECK_INT(g.dropped, 24);
	int back = 0;
	for (int i = 0; i < 40; i++)
		back += released[i];
	CHECK_INT(back, 24);
	CHECK_INT(device_run(&f, 1), 16);
	CHECK_INT(net_reap(g.dev), 16);
	CHECK(all_released(40, 1));
}

/* The mark: everything handed over until then is back only when every
 * frame up to it is, in whatever order the device gives them back. */
static void test_mark(void)
{
	static struct fake f;
	static struct gso g;
	struct flow fl = { 9, 10, 0, 0, 1, 0 };
	start(&f, &g, F_CSUM | F_MRG | F_INDIRECT | F_V1, 16, &fl);
	for (int i = 0; i < 3; i++)
		segment(&g, &fl, (uint32_t)i * MSS, MSS, ACK, i);
	uint64_t m = gso_mark(&g);
	CHECK(!gso_passed(&g, m));
	gso_flush(&g);
	struct fakevirtio_chain c[3];
	for (int i = 0; i < 3; i++)
		CHECK(fakevirtio_take(&f.v, 1, &c[i]));
	fakevirtio_used(&f.v, 1, c[2].head, 0);
	fakevirtio_used(&f.v, 1, c[1].head, 0);
	CHECK_INT(net_reap(g.dev), 2);
	CHECK(!gso_passed(&g, m));
	CHECK(gso_passed(&g, 0));
	segment(&g, &fl, 3 * MSS, MSS, ACK, 3);	/* after the mark */
	gso_flush(&g);
	fakevirtio_used(&f.v, 1, c[0].head, 0);
	CHECK_INT(net_reap(g.dev), 1);
	CHECK(gso_passed(&g, m));
	CHECK(!gso_passed(&g, gso_mark(&g)));
	CHECK(released[0] == 1 && released[1] == 1 && released[2] == 1 &&
	      released[3] == 0);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	dmamem_init(32 << 20);
	fill_stream();
	RUN(test_gather);
	RUN(test_gather6);
	RUN(test_breaks);
	RUN(test_plain);
	RUN(test_full);
	RUN(test_mark);
	return check_done();
}
