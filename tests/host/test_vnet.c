/* drivers/virtio/virtio_net.c and drivers/net.c against a device played
 * by this test on a fake transport (two split rings, no event index):
 * attach (modern and legacy framing), frames out with and without a
 * checksum to complete, the ring full, frames in (one buffer, merged
 * buffers), then a hostile device: short buffers, num_buffers that lie,
 * ids and lengths that were never posted. Each is a drop or a clear
 * error that stops the device, never a read or write outside a buffer. */
#include <stdint.h>
#include <string.h>

#include "../../drivers/net.h"
#include "../../drivers/virtio/virtio_net.h"
#include "check.h"
#include "dmamem.h"
#include "fakevirtio.h"

#define QSIZE 16
#define F_CSUM (1ull << 0)
#define F_MAC (1ull << 5)
#define F_MRG (1ull << 15)
#define F_STATUS (1ull << 16)
#define F_V1 (1ull << 32)

/* --- the transport ------------------------------------------------------- */

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

/* --- the device side ------------------------------------------------------ */


static int take(struct fake *f, int q, struct fakevirtio_chain *c)
{
	return fakevirtio_take(&f->v, q, c);
}

static void used(struct fake *f, int q, uint32_t id, uint32_t len)
{
	fakevirtio_used(&f->v, q, id, len);
}

static uint16_t avail_idx(struct fake *f, int q)
{
	return fakevirtio_avail(&f->v, q);
}

/* A received frame into the next receive buffer: header (num_buffers
 * nbuf) and bytes; the used length is hdr + n (or len_override). */
static struct fakevirtio_chain rx_put(struct fake *f, unsigned hdr,
				      uint16_t nbuf, const uint8_t *data,
				      uint32_t n)
{
	struct fakevirtio_chain c;
	CHECK(take(f, 0, &c));
	uint8_t *b = P(c.addr[0]);
	memset(b, 0, hdr);
	if (hdr == 12)
		memcpy(b + 10, &nbuf, 2);
	memcpy(b + hdr, data, n);
	used(f, 0, c.head, hdr + n);
	return c;
}

/* --- the receiving side of the test -------------------------------------- */

static uint8_t got[4096];
static size_t got_len;
static int frames;

static void rx(void *ctx, const void *frame, size_t len)
{
	(void)ctx;
	memcpy(got, frame, len < sizeof(got) ? len : sizeof(got));
	got_len = len;
	frames++;
}

static struct net_dev *attach(struct fake *f, uint64_t features, int legacy)
{
	const char *why = 0;
	fake_init(f, features, legacy);
	CHECK_INT(vnet_attach(&f->v.dev, &why), 0);
	return net_get(net_count() - 1);
}

static void frame(uint8_t *b, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + (size_t)seed);
}

static void test_modern(void)
{
	static struct fake f;
	struct net_dev *d = attach(&f, F_CSUM | F_MAC | F_STATUS | F_MRG | F_V1,
				   0);
	CHECK(d != 0);
	CHECK_STR(d->model, "virtio-net fake, split ring, mergeable buffers, "
			    "checksum offload");
	CHECK(!memcmp(d->mac, "\x02\x11\x22\x33\x44\x55", 6));
	CHECK(d->tx_csum);
	CHECK(f.v.status & 4);		/* DRIVER_OK */
	CHECK_INT(avail_idx(&f, 0), QSIZE);	/* every buffer offered */
	CHECK(d->ops->link(d));
	/* out: three pieces, a checksum to complete */
	uint8_t a[14], b[20], c[100];
	frame(a, 14, 1);
	frame(b, 20, 2);
	frame(c, 100, 3);
	struct net_frag fr[3] = { { a, 14 }, { b, 20 }, { c, 100 } };
	struct net_csum cs = { 34, 16 };
	CHECK_INT(net_send(d, fr, 3, &cs), 0);
	struct fakevirtio_chain t;
	CHECK(take(&f, 1, &t));
	CHECK_INT(t.n, 1);
	CHECK_INT(t.len[0], 12 + 134);
	CHECK(!t.writes[0]);
	uint8_t *h = P(t.addr[0]);
	CHECK_INT(h[0], 1);		/* NEEDS_CSUM */
	CHECK_INT(h[6] | h[7] << 8, 34);
	CHECK_INT(h[8] | h[9] << 8, 16);
	CHECK(!memcmp(h + 12, a, 14) && !memcmp(h + 26, b, 20) &&
	      !memcmp(h + 46, c, 100));
	used(&f, 1, t.head, 0);
	/* a checksum past the frame, or to a device that cannot */
	struct net_csum far = { 130, 16 };
	CHECK_INT(net_send(d, fr, 3, &far), NET_ERR_SIZE);
	/* the ring fills, then takes again once the device has sent */
	int sent = 0;
	while (net_send(d, fr, 1, 0) == 0 && sent < 100)
		sent++;
	CHECK_INT(sent, QSIZE);
	CHECK_INT(d->stats.tx_busy, 1);
	while (take(&f, 1, &t))
		used(&f, 1, t.head, 0);
	CHECK_INT(net_send(d, fr, 1, 0), 0);
	/* in: one buffer */
	uint8_t in[1514];
	frame(in, 1514, 4);
	rx_put(&f, 12, 1, in, 60);
	frames = 0;
	CHECK_INT(net_recv(d, rx, 0, 64), 1);
	CHECK(frames == 1 && got_len == 60 && !memcmp(got, in, 60));
	CHECK_INT(avail_idx(&f, 0), QSIZE + 1);	/* given back */
	/* in: a full-size frame, then one merged from two buffers */
	rx_put(&f, 12, 1, in, 1514);
	struct fakevirtio_chain c1 = rx_put(&f, 12, 2, in, 1000);
	struct fakevirtio_chain c2;
	CHECK(take(&f, 0, &c2));
	memcpy(P(c2.addr[0]), in + 1000, 400);
	used(&f, 0, c2.head, 400);
	(void)c1;
	frames = 0;
	CHECK_INT(net_recv(d, rx, 0, 64), 2);
	CHECK(frames == 2 && got_len == 1400 && !memcmp(got, in, 1400));
	CHECK_INT(d->stats.rx_frames, 3);
	CHECK_INT(d->stats.rx_dropped, 0);
	/* the budget: two frames waiting, one taken */
	rx_put(&f, 12, 1, in, 60);
	rx_put(&f, 12, 1, in, 61);
	CHECK_INT(net_recv(d, rx, 0, 1), 1);
	CHECK(d->ops->pending(d, 0));
	CHECK_INT(net_recv(d, rx, 0, 8), 1);
	CHECK(got_len == 61 && !d->ops->pending(d, 0));
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
	struct fakevirtio_chain c;
	CHECK(take(&f, 0, &c));
	memcpy(P(c.addr[0]), in, 1500);
	used(&f, 0, c.head, 1500);
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

/* Lies that break the protocol: the device is stopped (reset) and says
 * no more. */
static void test_hostile(void)
{
	uint8_t in[64] = { 0 };
	struct fakevirtio_chain c;
	struct net_frag fr = { in, 64 };
	for (int kind = 0; kind < 4; kind++) {
		static struct fake f;
		struct net_dev *d = attach(&f, F_MAC | F_MRG | F_V1, 0);
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
			CHECK_INT(net_send(d, &fr, 1, 0), 0);
			CHECK(take(&f, 1, &c));
			used(&f, 1, (uint16_t)(c.head + 1), 0);
			break;
		}
		int r = kind == 3 ? net_send(d, &fr, 1, 0)
				  : net_recv(d, rx, 0, 64);
		CHECK_INT(r, NET_ERR_DEVICE);
		CHECK(d->failed && d->detail[0]);
		CHECK_INT(f.v.status, 0);		/* reset */
		CHECK_INT(net_send(d, &fr, 1, 0), NET_ERR_DOWN);
		CHECK_INT(net_recv(d, rx, 0, 64), NET_ERR_DOWN);
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
	struct fakevirtio_chain c;
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
	struct net_frag fr = { in, 200 };
	CHECK_INT(net_send(d, &fr, 1, 0), 0);
	CHECK(take(&f, 1, &c));
	CHECK(c.n == 2 && c.len[0] == 10 && c.len[1] == 200 &&
	      !memcmp(P(c.addr[1]), in, 200));
	struct net_csum cs = { 34, 16 };
	CHECK_INT(net_send(d, &fr, 1, &cs), NET_ERR_SIZE);	/* no offload */
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
	CHECK_INT(net_send(d, &small, 1, 0), NET_ERR_SIZE);
	CHECK_INT(net_send(d, &big, 1, 0), NET_ERR_SIZE);
	struct fakevirtio_chain c;
	CHECK(!take(&f, 1, &c));
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	dmamem_init(32 << 20);
	RUN(test_modern);
	RUN(test_drops);
	RUN(test_hostile);
	RUN(test_legacy);
	RUN(test_link_and_refusals);
	return check_done();
}
