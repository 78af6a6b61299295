/* drivers/virtio/virtio_console.c against a device played by this test
 * on a fake transport (split rings, no event index, no interrupts): the
 * multiport handshake (DEVICE_READY, DEVICE_ADD, PORT_READY, PORT_NAME,
 * PORT_OPEN both ways), bytes in (read in pieces, buffers given back) and
 * out (split over buffers, the ring full, room again), a port removed
 * and added again, the host closing and reopening; one port without
 * MULTIPORT; then a hostile device: short and unknown messages, ports
 * beyond max_nr_ports or beyond what umbra drives, names too long or
 * not printable, a flood, a port without queues, ids and lengths that
 * were never posted. Each is refused and counted, or stops the device;
 * nothing is read or written outside a buffer and nothing waits. */
#include <stdint.h>
#include <string.h>

#include "../../drivers/virtio/virtio_console.h"
#include "check.h"
#include "dmamem.h"
#include "fakevirtio.h"

#define QSIZE 16
#define F_MULTIPORT (1ull << 1)
#define F_V1 (1ull << 32)
#define AGENT "org.qemu.guest_agent.0"

enum { DEVICE_READY, DEVICE_ADD, DEVICE_REMOVE, PORT_READY, CONSOLE_PORT,
       RESIZE, PORT_OPEN, PORT_NAME };


static uint16_t rxq(uint32_t id)
{
	return (uint16_t)(id ? 2 * id + 2 : 0);
}

/* A device with max_nr_ports ports, each with both queues. */
static struct vcon_dev *attach(struct fakevirtio *f, uint64_t features,
			       uint32_t max_ports)
{
	const char *why = 0;
	memset(f, 0, sizeof(*f));
	fakevirtio_init(f, features, 0);
	memcpy(f->config + 4, &max_ports, 4);
	for (int q = 0; q < FAKEVIRTIO_QUEUES; q++)
		f->qmax[q] = QSIZE;
	unsigned before = vcon_count();
	CHECK_INT(vcon_attach(&f->dev, &why), 0);
	CHECK_INT(vcon_count(), before + 1);
	return vcon_get(vcon_count() - 1);
}

/* A control message from the device (name appended for PORT_NAME). */
static void ctl_in(struct fakevirtio *f, uint32_t id, uint16_t ev,
		   uint16_t val, const char *extra, uint32_t len)
{
	struct fakevirtio_chain c;
	CHECK(fakevirtio_take(f, 2, &c));
	uint8_t *b = P(c.addr[0]);
	memcpy(b, &id, 4);
	memcpy(b + 4, &ev, 2);
	memcpy(b + 6, &val, 2);
	uint32_t n = extra ? (uint32_t)strlen(extra) : 0;
	if (n)
		memcpy(b + 8, extra, n);
	fakevirtio_used(f, 2, c.head, len ? len : 8 + n);
}

/* The next control message from the driver: 1 with it, 0 when none. */
static int ctl_out(struct fakevirtio *f, uint32_t *id, uint16_t *ev,
		   uint16_t *val)
{
	struct fakevirtio_chain c;
	if (!fakevirtio_take(f, 3, &c))
		return 0;
	CHECK(c.n == 1 && c.len[0] == 8 && !c.writes[0]);
	memcpy(id, P(c.addr[0]), 4);
	memcpy(ev, P(c.addr[0]) + 4, 2);
	memcpy(val, P(c.addr[0]) + 6, 2);
	fakevirtio_used(f, 3, c.head, 0);
	return 1;
}

static void expect_out(struct fakevirtio *f, uint32_t id, uint16_t ev,
		       uint16_t val)
{
	uint32_t i = ~0u;
	uint16_t e = 0xffff, v = 0xffff;
	CHECK(ctl_out(f, &i, &e, &v));
	CHECK_INT(i, id);
	CHECK_INT(e, ev);
	CHECK_INT(v, val);
}

/* Bytes from the host into port id's next receive buffer. */
static void data_in(struct fakevirtio *f, uint32_t id, const char *s,
		    uint32_t len)
{
	struct fakevirtio_chain c;
	CHECK(fakevirtio_take(f, rxq(id), &c));
	CHECK(c.n == 1 && c.writes[0] && c.len[0] == 4096);
	memcpy(P(c.addr[0]), s, len);
	fakevirtio_used(f, rxq(id), c.head, len);
}

/* Everything port id sent, into out; returns the byte count. */
static size_t data_out(struct fakevirtio *f, uint32_t id, char *out,
		       size_t size)
{
	struct fakevirtio_chain c;
	size_t n = 0;
	while (fakevirtio_take(f, rxq(id) + 1, &c)) {
		CHECK(c.n == 1 && !c.writes[0]);
		if (n + c.len[0] <= size)
			memcpy(out + n, P(c.addr[0]), c.len[0]);
		n += c.len[0];
		fakevirtio_used(f, rxq(id) + 1, c.head, 0);
	}
	return n;
}

static void test_multiport(void)
{
	static struct fakevirtio f;
	struct vcon_dev *d = attach(&f, F_MULTIPORT | F_V1, 3);
	CHECK_STR(d->model, "virtio-console fake, split ring, multiport");
	CHECK_INT(d->max_ports, 3);
	CHECK_INT(d->nports, 3);
	CHECK(f.status & 4);			/* DRIVER_OK */
	CHECK_INT(fakevirtio_avail(&f, 2), 16);	/* control buffers */
	expect_out(&f, 0, DEVICE_READY, 1);
	CHECK(!vcon_pending(d));
	CHECK(!vcon_port(d, 1));
	/* the port: added, named, opened by the host, then by us */
	ctl_in(&f, 1, DEVICE_ADD, 0, 0, 0);
	CHECK(vcon_pending(d));
	CHECK_INT(vcon_poll(d), 0);
	expect_out(&f, 1, PORT_READY, 1);
	CHECK_INT(fakevirtio_avail(&f, rxq(1)), 4);
	CHECK_INT(fakevirtio_avail(&f, 2), 17);	/* the buffer given back */
	ctl_in(&f, 1, PORT_NAME, 0, AGENT, 0);
	ctl_in(&f, 1, PORT_OPEN, 1, 0, 0);
	CHECK_INT(vcon_poll(d), 0);
	struct vcon_port *p = vcon_find(AGENT);
	CHECK(p && p == vcon_port(d, 1) && p->id == 1);
	CHECK(p->host_open && p->opens == 1 && !p->guest_open);
	CHECK_INT(vcon_open(p, 1), 0);
	expect_out(&f, 1, PORT_OPEN, 1);
	CHECK(p->guest_open);
	/* bytes in, read in pieces; the buffer goes back when empty */
	char buf[16];
	CHECK(!vcon_readable(p) && vcon_writable(p));
	data_in(&f, 1, "{\"ping\"}", 8);
	CHECK(vcon_readable(p) && !vcon_pending(d));
	CHECK_INT(vcon_read(p, buf, 3), 3);
	CHECK(vcon_readable(p));	/* the rest of the buffer */
	CHECK(!memcmp(buf, "{\"p", 3));
	CHECK_INT(fakevirtio_avail(&f, rxq(1)), 4);
	CHECK_INT(vcon_read(p, buf, sizeof(buf)), 5);
	CHECK(!memcmp(buf, "ing\"}", 5));
	CHECK_INT(fakevirtio_avail(&f, rxq(1)), 5);
	CHECK_INT(vcon_read(p, buf, sizeof(buf)), 0);
	CHECK(!vcon_readable(p));
	/* bytes out: 10000 over three buffers; the ring fills; room again */
	static char big[20000], got[20000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	CHECK_INT(vcon_write(p, big, 10000), 10000);
	CHECK_INT(data_out(&f, 1, got, sizeof(got)), 10000);
	CHECK(!memcmp(got, big, 10000));
	CHECK_INT(vcon_write(p, big, 20000), 16384);	/* four buffers */
	CHECK_INT(vcon_write(p, big, 10), 0);
	uint64_t irqs;
	CHECK_INT(vcon_watch(d, &irqs), VCON_POLL_US);	/* looks for room */
	CHECK(!vcon_writable(p));
	CHECK_INT(data_out(&f, 1, got, sizeof(got)), 16384);
	CHECK(vcon_writable(p));
	CHECK_INT(vcon_write(p, "ok", 2), 2);
	CHECK(vcon_writable(p) && !vcon_pending(d));
	CHECK_INT(p->tx_bytes, 10000 + 16384 + 2);
	/* the host closes and opens again: a new peer */
	ctl_in(&f, 1, PORT_OPEN, 0, 0, 0);
	CHECK_INT(vcon_poll(d), 0);
	CHECK(!p->host_open);
	ctl_in(&f, 1, PORT_OPEN, 1, 0, 0);
	ctl_in(&f, 1, PORT_OPEN, 1, 0, 0);	/* said twice: one open */
	CHECK_INT(vcon_poll(d), 0);
	CHECK(p->host_open && p->opens == 2);
	/* removed (with bytes unread), then added again: its buffers stay
	 * with the device, none posted twice */
	data_in(&f, 1, "xy", 2);
	CHECK_INT(vcon_read(p, buf, 1), 1);
	ctl_in(&f, 1, DEVICE_REMOVE, 0, 0, 0);
	CHECK_INT(vcon_poll(d), 0);
	CHECK(!vcon_port(d, 1) && !vcon_find(AGENT));
	CHECK_INT(vcon_read(p, buf, 1), VCON_ERR_GONE);
	CHECK_INT(vcon_write(p, "x", 1), VCON_ERR_GONE);
	uint16_t before = fakevirtio_avail(&f, rxq(1));
	ctl_in(&f, 1, DEVICE_ADD, 0, 0, 0);
	CHECK_INT(vcon_poll(d), 0);
	expect_out(&f, 1, PORT_READY, 1);
	CHECK_INT(fakevirtio_avail(&f, rxq(1)), before);
	CHECK(vcon_port(d, 1) && !p->host_open && !p->name[0]);
	/* a console port must be opened (§5.3.6.2) */
	ctl_in(&f, 0, DEVICE_ADD, 0, 0, 0);
	ctl_in(&f, 0, CONSOLE_PORT, 1, 0, 0);
	ctl_in(&f, 0, RESIZE, 0, 0, 0);
	CHECK_INT(vcon_poll(d), 0);
	expect_out(&f, 0, PORT_READY, 1);
	expect_out(&f, 0, PORT_OPEN, 1);
	CHECK(vcon_port(d, 0)->console && vcon_port(d, 0)->guest_open);
	CHECK_INT(d->bad_events, 0);
	CHECK(!d->failed);
}

/* Messages no device may send: each refused and counted; the device and
 * its good ports go on. */
static void test_bad_messages(void)
{
	static struct fakevirtio f;
	struct vcon_dev *d = attach(&f, F_MULTIPORT | F_V1, 100);
	CHECK_INT(d->nports, VCON_MAX_PORTS);
	expect_out(&f, 0, DEVICE_READY, 1);
	uint64_t bad = 0;
	ctl_in(&f, 1, DEVICE_ADD, 0, 0, 7);	/* shorter than a message */
	CHECK_INT(vcon_poll(d), 0);
	CHECK_INT(d->bad_events, ++bad);
	CHECK(!vcon_port(d, 1));
	ctl_in(&f, 100, DEVICE_ADD, 0, 0, 0);	/* >= max_nr_ports */
	ctl_in(&f, 1, 99, 0, 0, 0);		/* no such event */
	ctl_in(&f, 1, PORT_READY, 1, 0, 0);	/* the driver's event */
	CHECK_INT(vcon_poll(d), 0);
	bad += 3;
	CHECK_INT(d->bad_events, bad);
	uint32_t id;
	uint16_t ev, val;
	CHECK(!ctl_out(&f, &id, &ev, &val));
	/* a port beyond what umbra drives: refused politely */
	ctl_in(&f, 50, DEVICE_ADD, 0, 0, 0);
	ctl_in(&f, 50, PORT_OPEN, 1, 0, 0);
	CHECK_INT(vcon_poll(d), 0);
	expect_out(&f, 50, PORT_READY, 0);
	CHECK(!ctl_out(&f, &id, &ev, &val));
	/* events for a port never added: ignored */
	ctl_in(&f, 2, PORT_NAME, 0, AGENT, 0);
	ctl_in(&f, 2, PORT_OPEN, 1, 0, 0);
	CHECK_INT(vcon_poll(d), 0);
	CHECK(!vcon_port(d, 2) && !vcon_find(AGENT));
	/* a name too long for umbra, and one with control bytes */
	ctl_in(&f, 2, DEVICE_ADD, 0, 0, 0);
	ctl_in(&f, 3, DEVICE_ADD, 0, 0, 0);
	char longname[121];
	memset(longname, 'n', 120);
	longname[120] = 0;
	memcpy(longname, AGENT, strlen(AGENT));
	ctl_in(&f, 2, PORT_NAME, 0, longname, 0);
	ctl_in(&f, 3, PORT_NAME, 0, "a\x01\x1b[2Jb\xff", 0);
	CHECK_INT(vcon_poll(d), 0);
	expect_out(&f, 2, PORT_READY, 1);
	expect_out(&f, 3, PORT_READY, 1);
	CHECK(vcon_port(d, 2)->name_cut);
	CHECK_INT(strlen(vcon_port(d, 2)->name), VCON_NAME_MAX - 1);
	CHECK(!vcon_find(AGENT) && !vcon_find(longname));
	CHECK_STR(vcon_port(d, 3)->name, "a??[2Jb?");
	/* a flood: at most a budget per poll, every message taken */
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 15; i++)
			ctl_in(&f, 3, PORT_OPEN, (uint16_t)(i & 1), 0, 0);
		CHECK_INT(vcon_poll(d), 0);
	}
	CHECK(!vcon_pending(d));
	CHECK_INT(d->bad_events, bad);
	CHECK(!d->failed);
}

/* A port whose queues the device lacks is refused when announced; a
 * ring the device breaks stops the device. */
static void test_broken_rings(void)
{
	for (int kind = 0; kind < 4; kind++) {
		static struct fakevirtio f;
		const char *why;
		memset(&f, 0, sizeof(f));
		fakevirtio_init(&f, F_MULTIPORT | F_V1, 0);
		uint32_t max = 3;
		memcpy(f.config + 4, &max, 4);
		for (int q = 0; q < 8; q++)
			f.qmax[q] = q == 6 || q == 7 ? 0 : QSIZE;
		CHECK_INT(vcon_attach(&f.dev, &why), 0);
		struct vcon_dev *d = vcon_get(vcon_count() - 1);
		expect_out(&f, 0, DEVICE_READY, 1);
		ctl_in(&f, 2, DEVICE_ADD, 0, 0, 0);	/* no queues */
		ctl_in(&f, 1, DEVICE_ADD, 0, 0, 0);
		CHECK_INT(vcon_poll(d), 0);
		expect_out(&f, 2, PORT_READY, 0);
		expect_out(&f, 1, PORT_READY, 1);
		struct vcon_port *p = vcon_port(d, 1);
		char buf[8];
		struct fakevirtio_chain c;
		long r = 0;
		switch (kind) {
		case 0:		/* a control buffer never posted */
			fakevirtio_used(&f, 2, QSIZE + 3, 8);
			r = vcon_poll(d);
			break;
		case 1:		/* longer than the receive buffer */
			CHECK(fakevirtio_take(&f, rxq(1), &c));
			fakevirtio_used(&f, rxq(1), c.head, 5000);
			r = vcon_read(p, buf, sizeof(buf));
			break;
		case 2:		/* a transmit buffer never sent */
			CHECK_INT(vcon_write(p, "x", 1), 1);
			CHECK(fakevirtio_take(&f, rxq(1) + 1, &c));
			fakevirtio_used(&f, rxq(1) + 1, c.head + 1u, 0);
			r = vcon_write(p, "y", 1);
			break;
		case 3:		/* a control message never sent */
			fakevirtio_used(&f, 3, 9, 0);
			r = vcon_poll(d);
			break;
		}
		CHECK_INT(r, VCON_ERR_DEVICE);
		CHECK(d->failed && d->detail[0]);
		CHECK_INT(f.status, 0);		/* reset: no more DMA */
		CHECK_INT(vcon_poll(d), VCON_ERR_DOWN);
		CHECK_INT(vcon_read(p, buf, 1), VCON_ERR_DOWN);
		CHECK_INT(vcon_write(p, "z", 1), VCON_ERR_DOWN);
		CHECK(!vcon_pending(d) && !vcon_readable(p) &&
		      !vcon_writable(p));
	}
}

/* Without MULTIPORT: port 0 only, there and open from the start. */
static void test_one_port(void)
{
	static struct fakevirtio f;
	struct vcon_dev *d = attach(&f, F_V1, 0);
	CHECK_STR(d->model, "virtio-console fake, split ring, one port");
	CHECK_INT(d->nports, 1);
	struct vcon_port *p = vcon_port(d, 0);
	CHECK(p && p->host_open && p->guest_open && !p->name[0]);
	uint32_t id;
	uint16_t ev, val;
	CHECK(!ctl_out(&f, &id, &ev, &val));	/* no control queue */
	data_in(&f, 0, "abc", 3);
	char buf[8];
	CHECK(vcon_readable(p) && !vcon_pending(d));
	CHECK_INT(vcon_read(p, buf, sizeof(buf)), 3);
	CHECK_INT(vcon_write(p, "def", 3), 3);
	CHECK_INT(data_out(&f, 0, buf, sizeof(buf)), 3);
	CHECK(!memcmp(buf, "def", 3));
}

static void test_refusals(void)
{
	static struct fakevirtio f;
	const char *why = 0;
	unsigned before = vcon_count();
	fakevirtio_init(&f, F_MULTIPORT | F_V1, 0);	/* max_nr_ports 0 */
	CHECK(vcon_attach(&f.dev, &why) < 0);
	CHECK(why && strstr(why, "max_nr_ports"));
	fakevirtio_init(&f, F_MULTIPORT | F_V1, 0);
	uint32_t max = 2;
	memcpy(f.config + 4, &max, 4);
	f.qmax[0] = f.qmax[1] = QSIZE;		/* no control queues */
	CHECK(vcon_attach(&f.dev, &why) < 0);
	CHECK(why && strstr(why, "control"));
	CHECK_INT(f.status, 0);
	CHECK_INT(vcon_count(), before);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	dmamem_init(32 << 20);
	RUN(test_multiport);
	RUN(test_bad_messages);
	RUN(test_broken_rings);
	RUN(test_one_port);
	RUN(test_refusals);
	return check_done();
}
