/* drivers/virtio/virtio_net.c and drivers/net.c against a device played
 * by this test on a fake transport (two split rings, no event index):
 * attach (modern and legacy framing), frames out with a checksum to
 * complete and for the device to segment (headers exact), their pieces
 * referenced and handed back once each, queued until a flush, the ring
 * full; frames in (one buffer, merged buffers, 64 KiB ones, what the
 * device says of their checksums); then a hostile device: short
 * buffers, num_buffers that lie, ids and lengths that were never posted,
 * transmit buffers it was never given. Each is a drop or a clear error
 * that stops the device (its frames in flight handed back), never a
 * read or write outside a buffer. */
#include <stdint.h>
#include <string.h>

#include "../../drivers/net.h"
#include "../../drivers/virtio/virtio_net.h"
#include "check.h"
#include "dmamem.h"
#include "fakevirtio.h"

#define QSIZE 16
#define F_CSUM (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)
#define F_MAC (1ull << 5)
#define F_GUEST_TSO4 (1ull << 7)
#define F_HOST_TSO4 (1ull << 11)
#define F_MRG (1ull << 15)
#define F_STATUS (1ull << 16)
#define F_INDIRECT (1ull << 28)
#define F_V1 (1ull << 32)
#define F_ALL (F_CSUM | F_GUEST_CSUM | F_MAC | F_GUEST_TSO4 | F_HOST_TSO4 | \
	       F_MRG | F_STATUS | F_INDIRECT | F_V1)

/* --- the transport and the device's side ------------------------------- */

struct fake {
	struct fakevirtio v;	/* first */
};

static void fake_init(struct fake *f, uint64_t features, int legacy)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	memset(f, 0, sizeof(*f));
	fakevirtio_init(&f->v, features, legacy);
	f->v.qmax[0] = f->v.qmax[1] = QSIZE;
	memcpy(f->v.config, mac, 6);
	f->v.config[6] = 1;	/* VIRTIO_NET_S_LINK_UP */
}

typedef struct fakevirtio_chain chain_t;


static int take(struct fake *f, int q, chain_t *c)
{
	return fakevirtio_take(&f->v, q, c);
}

static void used(struct fake *f, int q, uint32_t id, uint32_t len)
{
	fakevirtio_used(&f->v, q, id, len);
}

static uint16_t avail_idx(struct fake *f, int q)
{
	uint16_t v;
	memcpy(&v, P(f->v.driver[q] + 2), 2);
	return v;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* A received frame into the next receive buffer: a header (num_buffers
 * nbuf, flags, csum_start and csum_offset) and n bytes. */
static chain_t rx_put_flags(struct fake *f, unsigned hdr, uint16_t nbuf,
			    uint8_t flags, uint16_t start, uint16_t off,
			    const uint8_t *data, uint32_t n)
{
	chain_t c;
	CHECK(take(f, 0, &c));
	uint8_t *b = P(c.addr[0]);
	memset(b, 0, hdr);
	b[0] = flags;
	memcpy(b + 6, &start, 2);
	memcpy(b + 8, &off, 2);
	if (hdr == 12)
		memcpy(b + 10, &nbuf, 2);
	memcpy(b + hdr, data, n);
	used(f, 0, c.head, hdr + n);
	return c;
}

static chain_t rx_put(struct fake *f, unsigned hdr, uint16_t nbuf,
		      const uint8_t *data, uint32_t n)
{
	return rx_put_flags(f, hdr, nbuf, 0, 0, 0, data, n);
}

/* The rest of a merged frame: n bytes into the next buffer, no header. */
static void rx_more(struct fake *f, const uint8_t *data, uint32_t n)
{
	chain_t c;
	CHECK(take(f, 0, &c));
	memcpy(P(c.addr[0]), data, n);
	used(f, 0, c.head, n);
}

/* --- the stack's side ----------------------------------------------------- */

static uint8_t got[70000];
static size_t got_len;
static unsigned got_pieces;
static struct net_rx_info got_info;
static int frames;

static void rx(void *ctx, const struct net_frag *f, unsigned n, size_t len,
	       const struct net_rx_info *info)
{
	(void)ctx;
	size_t at = 0;
	for (unsigned i = 0; i < n; i++) {
		if (at + f[i].len <= sizeof(got))
			memcpy(got + at, f[i].data, f[i].len);
		at += f[i].len;
	}
	CHECK_INT(at, len);
	got_len = len;
	got_pieces = n;
	got_info = *info;
	frames++;
}

/* tx_done: how often each token came back. */
static int done[64];
static int done_bad;

static void tx_done(void *ctx, void *token)
{
	(void)ctx;
	int *p = token;
	if (p >= done && p < done + 64)
		(*p)++;
	else
		done_bad++;
}

static struct net_dev *attach_q(struct fake *f, uint64_t features,
				int legacy, uint16_t qsize)
{
	const char *why = 0;
	fake_init(f, features, legacy);
	f->v.qmax[0] = f->v.qmax[1] = qsize;
	CHECK_INT(vnet_attach(&f->v.dev, &why), 0);
	struct net_dev *d = net_get(net_count() - 1);
	d->tx_done = tx_done;
	d->tx_ctx = 0;
	memset(done, 0, sizeof(done));
	done_bad = 0;
	return d;
}

static struct net_dev *attach(struct fake *f, uint64_t features, int legacy)
{
	return attach_q(f, features, legacy, QSIZE);
}

static void frame(uint8_t *b, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + (size_t)seed);
}

/* A plain frame of the pieces, all copied. */
static int send_copy(struct net_dev *d, const struct net_frag *f, unsigned n,
		     const struct net_offload *off)
{
	size_t len = 0;
	for (unsigned i = 0; i < n; i++)
		len += f[i].len;
	struct net_tx t = { f, n, len, off, 0 };
	return net_send(d, &t);
}

static void test_modern(void)
{
	static struct fake f;
	struct net_dev *d = attach(&f, F_CSUM | F_MAC | F_STATUS | F_MRG | F_V1,
				   0);
	CHECK(d != 0);
	CHECK_STR(d->model, "virtio-net fake, split ring, mergeable buffers, "
			    "offloads tx-csum");
	CHECK(!memcmp(d->mac, "\x02\x11\x22\x33\x44\x55", 6));
	CHECK(d->tx_csum && !d->tx_gso && !d->rx_csum);
	CHECK_INT(d->rx_max, NET_FRAME_MAX);
	CHECK(f.v.status & 4);		/* DRIVER_OK */
	CHECK_INT(avail_idx(&f, 0), QSIZE);	/* every buffer offered */
	CHECK(d->ops->link(d));
	/* out: three pieces, a checksum to complete, all copied */
	uint8_t a[14], b[20], c[100];
	frame(a, 14, 1);
	frame(b, 20, 2);
	frame(c, 100, 3);
	struct net_frag fr[3] = { { a, 14 }, { b, 20 }, { c, 100 } };
	struct net_offload cs = { 1, NET_GSO_NONE, 34, 16, 0, 0 };
	int kicks = f.v.notified[1];
	CHECK_INT(send_copy(d, fr, 3, &cs), 0);
	chain_t t;
	CHECK_INT(f.v.notified[1], kicks);	/* queued, the device not told */
	net_flush(d);
	CHECK_INT(f.v.notified[1], kicks + 1);
	net_flush(d);				/* nothing new: no word */
	CHECK_INT(f.v.notified[1], kicks + 1);
	CHECK(take(&f, 1, &t));
	CHECK_INT(t.n, 1);
	CHECK_INT(t.len[0], 12 + 134);
	CHECK(!t.writes[0]);
	uint8_t *h = P(t.addr[0]);
	CHECK_INT(h[0], 1);		/* NEEDS_CSUM */
	CHECK_INT(h[1], 0);		/* no segmentation */
	CHECK_INT(le16(h + 6), 34);
	CHECK_INT(le16(h + 8), 16);
	CHECK_INT(le16(h + 10), 0);	/* num_buffers */
	CHECK(!memcmp(h + 12, a, 14) && !memcmp(h + 26, b, 20) &&
	      !memcmp(h + 46, c, 100));
	used(&f, 1, t.head, 0);
	/* a checksum past the copied bytes; segments to a device that
	 * cannot; a frame longer than Ethernet's without them */
	struct net_offload far = { 1, NET_GSO_NONE, 130, 16, 0, 0 };
	CHECK_INT(send_copy(d, fr, 3, &far), NET_ERR_SIZE);
	struct net_offload tso = { 1, NET_GSO_TCPV4, 34, 16, 1460, 54 };
	CHECK_INT(send_copy(d, fr, 3, &tso), NET_ERR_SIZE);
	/* the ring fills, then takes again once the device has sent */
	int sent = 0;
	while (send_copy(d, fr, 1, 0) == 0 && sent < 100)
		sent++;
	CHECK_INT(sent, QSIZE);
	CHECK_INT(d->stats.tx_busy, 1);
	net_flush(d);
	while (take(&f, 1, &t))
		used(&f, 1, t.head, 0);
	CHECK_INT(send_copy(d, fr, 1, 0), 0);
	/* in: one buffer */
	uint8_t in[1514];
	frame(in, 1514, 4);
	rx_put(&f, 12, 1, in, 60);
	frames = 0;
	CHECK_INT(net_recv(d, rx, 0, 64), 1);
	CHECK(frames == 1 && got_len == 60 && !memcmp(got, in, 60));
	CHECK_INT(got_pieces, 1);
	CHECK_INT(avail_idx(&f, 0), QSIZE + 1);	/* given back */
	/* in: a full-size frame, then one merged from two buffers, handed
	 * over as two pieces */
	rx_put(&f, 12, 1, in, 1514);
	rx_put(&f, 12, 2, in, 1000);
	rx_more(&f, in + 1000, 400);
	frames = 0;
	CHECK_INT(net_recv(d, rx, 0, 64), 2);
	CHECK(frames == 2 && got_len == 1400 && !memcmp(got, in, 1400));
	CHECK_INT(got_pieces, 2);
	CHECK_INT(d->stats.rx_frames, 3);
	CHECK_INT(d->stats.rx_dropped, 0);
	/* no GUEST_CSUM: what the header says of checksums is not passed on */
	rx_put_flags(&f, 12, 1, 2, 0, 0, in, 60);
	CHECK_INT(net_recv(d, rx, 0, 64), 1);
	CHECK_INT(got_info.flags, 0);
	/* the budget: two frames waiting, one taken */
	rx_put(&f, 12, 1, in, 60);
	rx_put(&f, 12, 1, in, 61);
	CHECK_INT(net_recv(d, rx, 0, 1), 1);
	CHECK(d->ops->pending(d, 0));
	CHECK_INT(net_recv(d, rx, 0, 8), 1);
	CHECK(got_len == 61 && !d->ops->pending(d, 0));
}

/* A 64 KiB TCP frame for the device to segment: one ring entry through
 * an indirect table: the header and the copied headers, then each piece
 * where it lies; the token comes back once, when the device is done. */
static void test_tso(void)
{
	static struct fake f;
	static uint8_t data[44][1460];
	struct net_dev *d = attach(&f, F_ALL, 0);
	CHECK_STR(d->model, "virtio-net fake, split ring, mergeable buffers, "
			    "offloads tx-csum tso4 rx-csum rx-tso4");
	CHECK(d->tx_gso == 1 << NET_GSO_TCPV4 && d->rx_csum);
	CHECK_INT(d->rx_max, NET_GSO_MAX);
	CHECK_INT(d->tx_frags, 63);
	uint8_t hdr[54];
	frame(hdr, 54, 9);
	struct net_frag fr[45];
	fr[0] = (struct net_frag){ hdr, 54 };
	for (int i = 0; i < 44; i++) {
		frame(data[i], 1460, i);
		fr[1 + i] = (struct net_frag){ data[i], 1460 };
	}
	struct net_offload tso = { 1, NET_GSO_TCPV4, 34, 16, 1460, 54 };
	struct net_tx tx = { fr, 45, 54, &tso, &done[0] };
	CHECK_INT(net_send(d, &tx), 0);
	CHECK_INT(d->stats.tx_gso, 1);
	CHECK_INT(d->stats.tx_bytes, 54 + 44 * 1460);
	net_flush(d);
	chain_t t;
	CHECK(take(&f, 1, &t));
	CHECK(t.indirect);
	CHECK_INT(t.n, 45);
	CHECK_INT(t.len[0], 12 + 54);
	uint8_t *h = P(t.addr[0]);
	CHECK_INT(h[0], 1);			/* NEEDS_CSUM */
	CHECK_INT(h[1], 1);			/* GSO_TCPV4 */
	CHECK_INT(le16(h + 2), 54);		/* hdr_len */
	CHECK_INT(le16(h + 4), 1460);		/* gso_size */
	CHECK_INT(le16(h + 6), 34);		/* csum_start */
	CHECK_INT(le16(h + 8), 16);		/* csum_offset */
	CHECK_INT(le16(h + 10), 0);		/* num_buffers */
	CHECK(!memcmp(h + 12, hdr, 54));
	int by_ref = 1;
	for (int i = 0; i < 44; i++)
		by_ref &= t.addr[1 + i] == (uintptr_t)data[i] &&
			  t.len[1 + i] == 1460 && !t.writes[1 + i];
	CHECK(by_ref);
	/* the header is copied: changing it now changes nothing sent */
	hdr[0] ^= 0xff;
	CHECK(h[12] != hdr[0]);
	/* not before the device is done; then once */
	CHECK_INT(net_reap(d), 0);
	CHECK_INT(done[0], 0);
	used(&f, 1, t.head, 0);
	CHECK_INT(net_reap(d), 1);
	CHECK_INT(done[0], 1);
	CHECK_INT(net_reap(d), 0);
	CHECK_INT(done[0], 1);
	/* copied headers and a piece that starts inside the first: the
	 * rest of that piece is referenced from where copying stopped */
	uint8_t whole[200];
	frame(whole, 200, 5);
	struct net_frag one = { whole, 200 };
	struct net_tx part = { &one, 1, 54, 0, &done[1] };
	CHECK_INT(net_send(d, &part), 0);
	net_flush(d);
	CHECK(take(&f, 1, &t));
	CHECK(t.n == 2 && t.len[0] == 12 + 54 && t.addr[1] ==
	      (uintptr_t)whole + 54 && t.len[1] == 146);
	CHECK(!memcmp(P(t.addr[0]) + 12, whole, 54));
	/* more pieces than the device takes; gso_size 0; headers not all
	 * copied; a frame over 64 KiB; pieces without a token */
	struct net_frag many[70];
	for (int i = 0; i < 70; i++)
		many[i] = (struct net_frag){ data[i % 44], 100 };
	struct net_tx big = { many, 70, 54, 0, &done[2] };
	CHECK_INT(net_send(d, &big), NET_ERR_SIZE);
	struct net_offload zero = tso;
	zero.gso_size = 0;
	tx.off = &zero;
	CHECK_INT(net_send(d, &tx), NET_ERR_SIZE);
	struct net_offload deep = tso;
	deep.hdr_len = 60;
	tx.off = &deep;
	CHECK_INT(net_send(d, &tx), NET_ERR_SIZE);
	tx.off = &tso;
	tx.token = 0;
	CHECK_INT(net_send(d, &tx), NET_ERR_SIZE);
	struct net_frag over[46];
	memcpy(over, fr, sizeof(fr));
	over[45] = (struct net_frag){ data[0], 1460 };
	struct net_tx huge = { over, 46, 54, &tso, &done[3] };
	CHECK_INT(net_send(d, &huge), NET_ERR_SIZE);
	CHECK(!d->failed && !done_bad);
	CHECK_INT(done[2] + done[3], 0);
}

/* In: a 64 KiB frame over many merged buffers, handed up as pieces
 * where the device put them; what the device says of its checksums. */
static void test_rx_large(void)
{
	static struct fake f;
	static uint8_t in[65000];
	struct net_dev *d = attach_q(&f, F_ALL, 0, 64);
	frame(in, sizeof(in), 8);
	/* 65000 bytes: 2036 in the first buffer, 2048 in each after */
	unsigned nbuf = 1 + (65000 - 2036 + 2047) / 2048;
	chain_t first = rx_put_flags(&f, 12, (uint16_t)nbuf, 1, 34, 16, in,
				     2036);
	(void)first;
	for (unsigned at = 2036; at < 65000; at += 2048)
		rx_more(&f, in + at, 65000 - at < 2048 ? 65000 - at : 2048);
	frames = 0;
	CHECK_INT(net_recv(d, rx, 0, 64), 1);
	CHECK(frames == 1 && got_len == 65000 && !memcmp(got, in, 65000));
	CHECK_INT(got_pieces, nbuf);
	CHECK_INT(got_info.flags, NET_RX_NEEDS_CSUM);
	CHECK(got_info.csum_start == 34 && got_info.csum_offset == 16);
	CHECK_INT(d->stats.rx_large, 1);
	CHECK_INT(avail_idx(&f, 0), 64 + nbuf);	/* all given back */
	/* DATA_VALID; a checksum position outside the frame (dropped) */
	rx_put_flags(&f, 12, 1, 2, 0, 0, in, 100);
	CHECK_INT(net_recv(d, rx, 0, 64), 1);
	CHECK_INT(got_info.flags, NET_RX_DATA_VALID);
	frames = 0;
	rx_put_flags(&f, 12, 1, 1, 90, 16, in, 100);
	CHECK_INT(net_recv(d, rx, 0, 64), 1);
	CHECK_INT(frames, 0);
	CHECK_INT(d->stats.rx_dropped, 1);
	/* more than NET_RX_FRAGS buffers: dropped, every buffer given back */
	uint16_t before = avail_idx(&f, 0);
	rx_put(&f, 12, NET_RX_FRAGS + 2, in, 100);
	for (int i = 0; i < NET_RX_FRAGS + 1; i++)
		rx_more(&f, in, 10);
	CHECK_INT(net_recv(d, rx, 0, 64), 1);
	CHECK_INT(frames, 0);
	CHECK_INT(d->stats.rx_dropped, 2);
	CHECK_INT(avail_idx(&f, 0), before + NET_RX_FRAGS + 2);
	CHECK(!d->failed);
}

/* A device without the offloads (QEMU's user network): plain frames,
 * short receive frames only; and one that offers TSO without the
 * checksum it needs (§5.1.3.1) does not get it. */
static void test_no_offload(void)
{
	static struct fake f;
	struct net_dev *d = attach(&f, F_MAC | F_MRG | F_V1 | F_INDIRECT, 0);
	CHECK(!d->tx_csum && !d->tx_gso && !d->rx_csum);
	CHECK_INT(d->rx_max, NET_FRAME_MAX);
	static struct fake g;
	d = attach(&g, F_HOST_TSO4 | F_GUEST_TSO4 | F_MRG | F_V1, 0);
	CHECK(!d->tx_gso && d->rx_max == NET_FRAME_MAX);
	static struct fake h;	/* large frames in need mergeable buffers */
	d = attach(&h, F_GUEST_CSUM | F_GUEST_TSO4 | F_V1, 0);
	CHECK(d->rx_csum && d->rx_max == NET_FRAME_MAX);
	uint8_t in[1514];
	frame(in, sizeof(in), 1);
	rx_put(&h, 12, 1, in, 1514);
	frames = 0;
	CHECK_INT(net_recv(d, rx, 0, 8), 1);
	CHECK_INT(frames, 1);
}

/* A device that sends what no frame can be: each dropped, nothing read
 * past the buffers, the device goes on. */
static void test_drops(void)
{
	static struct fake f;
	struct net_dev *d = attach(&f, F_MAC | F_MRG | F_V1, 0);
	uint8_t in[3000];
	frame(in, sizeof(in), 5);
	rx_put(&f, 0, 0, in, 5);	/* shorter than the header */
	rx_put(&f, 12, 0, in, 60);	/* num_buffers 0 */
	rx_put(&f, 12, 1, in, 10);	/* shorter than Ethernet's header */
	rx_put(&f, 12, 2, in, 1500);	/* merged: longer than a frame */
	rx_more(&f, in, 1500);
	frames = 0;
	CHECK_INT(net_recv(d, rx, 0, 64), 4);
	CHECK_INT(frames, 0);
	CHECK_INT(d->stats.rx_dropped, 4);
	CHECK_INT(avail_idx(&f, 0), QSIZE + 5);	/* all five given back */
	rx_put(&f, 12, 1, in, 64);
	CHECK_INT(net_recv(d, rx, 0, 64), 1);
	CHECK_INT(frames, 1);
	CHECK(!d->failed);
}

/* Lies that break the protocol: the device is stopped (reset), says no
 * more, and the frames it held come back to the stack once each. */
static void test_hostile(void)
{
	static uint8_t in[256];
	chain_t c;
	struct net_frag fr = { in, 256 };
	for (int kind = 0; kind < 6; kind++) {
		static struct fake f;
		struct net_dev *d = attach(&f, F_ALL, 0);
		/* a frame by reference in flight */
		struct net_tx held = { &fr, 1, 54, 0, &done[7] };
		CHECK_INT(net_send(d, &held), 0);
		net_flush(d);
		switch (kind) {
		case 0:		/* more buffers than were used */
			rx_put(&f, 12, 3, in, 64);
			CHECK(take(&f, 0, &c));
			used(&f, 0, c.head, 64);
			break;
		case 1:		/* an id never posted */
			used(&f, 0, QSIZE + 3, 64);
			break;
		case 2:		/* longer than the buffer */
			CHECK(take(&f, 0, &c));
			used(&f, 0, c.head, 4096);
			break;
		case 3:		/* a transmit buffer never sent */
			CHECK(take(&f, 1, &c));
			used(&f, 1, (uint16_t)(c.head + 1), 0);
			break;
		case 4:		/* the same transmit buffer twice */
			CHECK(take(&f, 1, &c));
			used(&f, 1, c.head, 0);
			CHECK_INT(net_reap(d), 1);
			CHECK_INT(done[7], 1);
			used(&f, 1, c.head, 0);
			break;
		case 5:		/* a transmit id past the ring */
			used(&f, 1, QSIZE + 1, 0);
			break;
		}
		int r = kind >= 3 ? net_reap(d) : net_recv(d, rx, 0, 64);
		CHECK_INT(r, NET_ERR_DEVICE);
		CHECK(d->failed && d->detail[0]);
		CHECK_INT(f.v.status, 0);		/* reset */
		CHECK_INT(done[7], 1);		/* handed back, once */
		CHECK(!done_bad);
		CHECK_INT(send_copy(d, &fr, 1, 0), NET_ERR_DOWN);
		CHECK_INT(net_recv(d, rx, 0, 64), NET_ERR_DOWN);
		CHECK_INT(net_reap(d), NET_ERR_DOWN);
		CHECK_INT(done[7], 1);
	}
}

/* Legacy framing without ANY_LAYOUT (virtio 1.2 §2.6.4.3, §5.1.6.1): a
 * 10-byte header in a descriptor of its own; no MAC in the config: a
 * random locally administered one; no STATUS: the link is up. */
static void test_legacy(void)
{
	static struct fake f;
	struct net_dev *d = attach(&f, 0, 1);
	CHECK_STR(d->model, "virtio-net fake, split ring");
	CHECK((d->mac[0] & 3) == 2);
	CHECK(d->ops->link(d));
	CHECK(!d->tx_csum);
	CHECK_INT(avail_idx(&f, 0), QSIZE / 2);
	chain_t c;
	CHECK(take(&f, 0, &c));
	CHECK(c.n == 2 && c.len[0] == 10 && c.len[1] == 2048 - 10 &&
	      c.writes[0] && c.writes[1] && c.addr[1] == c.addr[0] + 10);
	uint8_t in[200];
	frame(in, sizeof(in), 6);
	memset(P(c.addr[0]), 0, 10);
	memcpy(P(c.addr[0]) + 10, in, 200);
	used(&f, 0, c.head, 210);
	frames = 0;
	CHECK_INT(net_recv(d, rx, 0, 64), 1);
	CHECK(frames == 1 && got_len == 200 && !memcmp(got, in, 200));
	/* out: the header, the copied bytes, the referenced rest: three
	 * descriptors of the ring (no indirect tables) */
	struct net_frag fr = { in, 200 };
	struct net_tx t = { &fr, 1, 54, 0, &done[4] };
	CHECK_INT(net_send(d, &t), 0);
	net_flush(d);
	CHECK(take(&f, 1, &c));
	CHECK(!c.indirect && c.n == 3 && c.len[0] == 10 && c.len[1] == 54 &&
	      c.len[2] == 146 && !memcmp(P(c.addr[1]), in, 54) &&
	      c.addr[2] == (uintptr_t)in + 54);
	struct net_offload cs = { 1, NET_GSO_NONE, 34, 16, 0, 0 };
	CHECK_INT(send_copy(d, &fr, 1, &cs), NET_ERR_SIZE);	/* no offload */
	f.v.config[6] = 0;
	CHECK(d->ops->link(d));		/* no STATUS: up regardless */
}

static void test_link_and_refusals(void)
{
	static struct fake f;
	struct net_dev *d = attach(&f, F_STATUS | F_V1, 0);
	CHECK(d->ops->link(d));
	f.v.config[6] = 0;
	CHECK(!d->ops->link(d));
	static struct fake g;
	const char *why = 0;
	unsigned before = net_count();
	fake_init(&g, F_V1, 0);
	g.v.qmax[1] = 0;			/* no transmit queue */
	CHECK_INT(vnet_attach(&g.v.dev, &why), VIRTIO_ERR_QUEUE);
	CHECK(why && strstr(why, "transmit queue"));
	CHECK_INT(g.v.status, 0);
	CHECK_INT(net_count(), before);
	fake_init(&g, F_V1, 0);
	g.v.qmax[0] = 12;			/* not a power of two */
	CHECK(vnet_attach(&g.v.dev, &why) < 0);
	CHECK_INT(net_count(), before);
	/* frames of no Ethernet size never reach the device */
	uint8_t x[2000] = { 0 };
	struct net_frag small = { x, 13 }, big = { x, NET_FRAME_MAX + 1 };
	CHECK_INT(send_copy(d, &small, 1, 0), NET_ERR_SIZE);
	struct net_tx t = { &big, 1, 54, 0, &done[0] };
	CHECK_INT(net_send(d, &t), NET_ERR_SIZE);
	struct net_tx many = { &big, 1, NET_COPY_MAX + 1, 0, &done[0] };
	CHECK_INT(net_send(d, &many), NET_ERR_SIZE);
	net_flush(d);
	chain_t c;
	CHECK(!take(&f, 1, &c));
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	dmamem_init(32 << 20);
	RUN(test_modern);
	RUN(test_tso);
	RUN(test_rx_large);
	RUN(test_no_offload);
	RUN(test_drops);
	RUN(test_hostile);
	RUN(test_legacy);
	RUN(test_link_and_refusals);
	return check_done();
}
