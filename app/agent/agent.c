/* The guest agent between its port and the protocol; see agent.h. One
 * answer is in flight at a time: the next request is read only once the
 * last answer is queued, so a host that does not read stops the agent
 * (and, through the device's rings, QEMU reading its socket), nothing
 * else. A new peer (the host's side opened again) starts clean. */
#include "agent.h"

#include <stdlib.h>

#include "../../drivers/virtio/virtio_console.h"
#include "../../drivers/virtio/virtio_pci.h"
#include "../../runtime/console.h"
#include "../../runtime/fmt.h"
#include "../../runtime/irq.h"
#include "../../runtime/pci.h"
#include "../loop.h"
#include "../storage.h"

#define ROUNDS 64		/* reads or answers per run: then the others */
#define CHUNK 4096

static struct qga *qga;
static struct vcon_port *port;
static uint32_t opens;		/* the port's opens when last seen */
static const char *out;		/* the answer being sent */
static size_t out_len;
static int busy;		/* work left over from the last run */
static uint8_t said_stop[VCON_MAX_DEVS];

unsigned agent_freeze_limit = AGENT_FREEZE_S;

static int frozen(void *ctx)
{
	(void)ctx;
	return storage_frozen();
}

static void new_peer(void)
{
	qga_reset(qga);
	out_len = 0;
}

static void port_name(const struct vcon_port *p, char out_name[16])
{
	fmt_snprintf(out_name, 16, "%sp%u", p->dev->name, p->id);
}

/* The port, once the host has named it (the device tells after boot,
 * so `agent` and `ports` say it, not a line that would cut into the
 * prompt); a port that went away is let go (it may come back). */
static void find_port(void)
{
	if (port && !port->added)
		port = 0;
	if (port || !(port = vcon_find(AGENT_PORT)))
		return;
	vcon_open(port, 1);
	opens = port->opens;
	new_peer();
}

/* Answers what the host sent, as far as the transmit ring takes. */
static void serve_port(void)
{
	if (port->opens != opens) {
		opens = port->opens;
		new_peer();
	}
	if (!port->host_open) {
		out_len = 0;	/* nobody reads it */
		return;
	}
	for (int round = 0; round < ROUNDS; round++) {
		if (out_len) {
			long n = vcon_write(port, out, out_len);
			if (n <= 0)
				return;		/* no room (or gone): later */
			out += n;
			out_len -= (size_t)n;
			if (out_len)
				return;
		}
		if (qga_next(qga, &out, &out_len))
			continue;
		static char buf[CHUNK];
		size_t room = qga_room(qga) < CHUNK ? qga_room(qga) : CHUNK;
		long n = room ? vcon_read(port, buf, room) : 0;
		if (n <= 0)
			return;
		qga_feed(qga, buf, (size_t)n);
	}
	busy = 1;
}

/* The port has what serve_port waits for: a new peer, room for the
 * answer being sent, or (none being sent) bytes to read. Interrupts off. */
static int port_work(void)
{
	if (!port || !port->added)
		return 0;
	if (port->opens != opens || (out_len && !port->host_open))
		return 1;
	return out_len ? vcon_writable(port) : vcon_readable(port);
}

static int pending(void *ctx)
{
	(void)ctx;
	for (unsigned i = 0; i < vcon_count(); i++)
		if (vcon_pending(vcon_get(i)))
			return 1;
	return busy || port_work();
}

static void run(void *ctx)
{
	(void)ctx;
	busy = 0;
	for (unsigned i = 0; i < vcon_count(); i++) {
		struct vcon_dev *d = vcon_get(i);
		if (vcon_poll(d) == VCON_ERR_DEVICE && !said_stop[i]++)
			con_printf("%s: %s: %s\n", d->name,
				   vcon_strerror(VCON_ERR_DEVICE), d->detail);
	}
	find_port();
	if (port && port->added)
		serve_port();
}

static uint64_t watch(void *ctx, uint64_t *irqs)
{
	uint64_t tick = 0;
	(void)ctx;
	*irqs = 0;
	for (unsigned i = 0; i < vcon_count(); i++) {
		uint64_t n, t = vcon_watch(vcon_get(i), &n);
		*irqs += n;
		if (!tick || t < tick)
			tick = t;
	}
	return tick;
}

/* Work found after a halt without the interrupt: a device's control
 * message, or what the agent's port waits for. */
static void woke(void *ctx, int irq_came)
{
	(void)ctx;
	if (irq_came)
		return;
	for (unsigned i = 0; i < vcon_count(); i++) {
		struct vcon_dev *d = vcon_get(i);
		int on = irq_save();
		int work = vcon_pending(d) || (port && port->dev == d &&
					       port_work());
		irq_restore(on);
		if (work && vcon_lost_irq(d))
			con_printf("%s: messages arrive without their interrupt "
				   "(vector %d); polling from now on\n", d->name,
				   d->irq_vec);
	}
}

static struct loop_source source = { "guest agent", pending, run, watch,
				     woke, 0, 0, 0, 0 };

void agent_probe(void)
{
	for (unsigned i = 0; i < pci_count(); i++) {
		struct pci_dev *p = pci_get(i);
		const char *why;
		char where[8];
		if (virtio_pci_type(p) != VIRTIO_TYPE_CONSOLE ||
		    !virtio_pci_drive(p, vcon_attach, &why))
			continue;
		pci_where(p, where);
		con_printf("agent: %s virtio-console refused: %s\n", where, why);
	}
	if (!vcon_count() || qga)
		return;
	qga = malloc(sizeof(*qga));
	if (!qga || qga_init(qga, agent_cmds, agent_ncmds, frozen, 0)) {
		con_printf("agent: out of memory\n");
		free(qga);
		qga = 0;
		return;
	}
	loop_add(&source);
}

void agent_status(struct agent_status *st)
{
	static char name[16];
	st->port = 0;
	st->host_open = 0;
	st->requests = qga ? qga->requests : 0;
	st->errors = qga ? qga->errors : 0;
	st->dropped = qga ? qga->dropped : 0;
	if (port && port->added) {
		port_name(port, name);
		st->port = name;
		st->host_open = port->host_open;
	}
}
