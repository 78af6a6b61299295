/* lwIP over a network device; see inet.h. */
#include "inet.h"

#include <string.h>

#include "../../drivers/net.h"
#include "../../drivers/virtio/virtio_net.h"
#include "../../drivers/virtio/virtio_pci.h"
#include "../../runtime/console.h"
#include "../../runtime/fmt.h"
#include "../../runtime/idle.h"
#include "../../runtime/page.h"
#include "../../runtime/pci.h"
#include "../../runtime/random.h"
#include "../../runtime/time.h"
#include "../loop.h"
#include "lwip/altcp.h"
#include "lwip/altcp_tcp.h"
#include "lwip/dhcp.h"
#include "lwip/dhcp6.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip_hooks.h"
#include "netif/ethernet.h"

#define RX_BUDGET 64		/* frames per round, then the timers */
#define TX_WAIT_US 200000	/* a full transmit ring gets this long */
#define MAX_FRAGS 8

static struct net_dev *dev;
static struct netif nif;
static struct idle_timer timer;
static volatile int timers_due;
static int started;		/* lwIP runs (from the first net up on) */
static int inside;		/* in lwIP now: poll must not enter */
static int dhcp_on;
static uint64_t rx_nomem;
static ip_addr_t dns4[DNS_MAX_SERVERS];	/* DHCP's or static: first */
static uint8_t flat[NET_FRAME_MAX];	/* a frame of many pieces */

const char *inet_strerror(int err)
{
	switch (err) {
	case INET_OK: return "success";
	case INET_ERR_NODEV: return "no network device";
	case INET_ERR_TIMEOUT: return "timed out";
	case INET_ERR_NOT_FOUND: return "unknown host";
	case INET_ERR_DOWN: return "the network is not up (net up first)";
	case INET_ERR_LINK: return "the link is down";
	case INET_ERR_NOMEM: return "out of memory";
	default: return "unknown error";
	}
}

u32_t sys_now(void)
{
	return (u32_t)(time_us() / 1000);
}

/* An address folded to 32 bits (for the keyed hash below). */
static uint32_t fold(const ip_addr_t *a)
{
	if (IP_IS_V4(a))
		return ip4_addr_get_u32(ip_2_ip4(a));
	const u32_t *w = ip_2_ip6(a)->addr;
	return w[0] ^ w[1] ^ w[2] ^ w[3];
}

/* RFC 6528 §3: M + F(4-tuple, secret), M a 4-microsecond clock. */
u32_t inet_tcp_isn(const ip_addr_t *local_ip, u16_t local_port,
		   const ip_addr_t *remote_ip, u16_t remote_port)
{
	uint32_t in[4] = { fold(local_ip), fold(remote_ip),
			   (uint32_t)local_port << 16 | remote_port,
			   IP_IS_V6(remote_ip) ? ip_2_ip6(remote_ip)->addr[3]
					       : 0 };
	return (u32_t)(time_us() / 4) + random_keyed(in);
}

/* lwIP's tcp_alloc, out of pcbs, aborts the oldest connection of a
 * lower priority than the new one's (tcp.c: tcp_kill_prio), and a
 * connection made by a SYN is allocated at its listener's priority.
 * Half-open connections drop to the lowest right after (the
 * passive_open callback of an extension slot, lwIP's hook for a new
 * pcb), accepted ones rise back: a SYN evicts the oldest half-open
 * connection, and nothing established. */
#define PRIO_HALF_OPEN TCP_PRIO_MIN
#define PRIO_OPEN TCP_PRIO_NORMAL	/* the listener's, and accepted */

static err_t half_open(u8_t id, struct tcp_pcb_listen *lpcb,
		       struct tcp_pcb *pcb)
{
	(void)id;
	(void)lpcb;
	tcp_setprio(pcb, PRIO_HALF_OPEN);
	return ERR_OK;
}

static const struct tcp_ext_arg_callbacks guard = { 0, half_open };

static void listen_guard(struct tcp_pcb *pcb)
{
	static u8_t id = LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID;
	if (id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		id = tcp_ext_arg_alloc_id();	/* once: ids are never freed */
	tcp_setprio(pcb, PRIO_OPEN);
	tcp_ext_arg_set_callbacks(pcb, id, &guard);
}

static void listen_kept(struct tcp_pcb *pcb)
{
	tcp_setprio(pcb, PRIO_OPEN);
}

/* The pseudo-header's sum (RFC 9293 §3.1; RFC 8200 §8.1) where TCP's
 * checksum goes, at start + 16 (the device adds the rest). */
static void put_sum(struct pbuf *p, uint32_t sum, struct net_csum *c,
		    unsigned start)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c->start = (uint16_t)start;
	c->offset = 16;		/* RFC 9293 §3.1: the checksum field */
	pbuf_put_at(p, (u16_t)(c->start + c->offset), (u8_t)(sum >> 8));
	pbuf_put_at(p, (u16_t)(c->start + c->offset + 1), (u8_t)sum);
}

/* A TCP segment in IPv6 (lwIP puts no extension header before it). */
static int offload6(struct pbuf *p, struct net_csum *c)
{
	uint8_t ip[40];
	if (p->tot_len < SIZEOF_ETH_HDR + 60 ||
	    pbuf_copy_partial(p, ip, 40, SIZEOF_ETH_HDR) != 40)
		return 0;
	unsigned len = (unsigned)ip[4] << 8 | ip[5];
	if ((ip[0] >> 4) != 6 || ip[6] != IP_PROTO_TCP || len < 20 ||
	    SIZEOF_ETH_HDR + 40u + len > p->tot_len)
		return 0;
	uint32_t sum = IP_PROTO_TCP + len;
	for (int i = 8; i < 40; i += 2)	/* source, destination */
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	put_sum(p, sum, c, SIZEOF_ETH_HDR + 40);
	return 1;
}

/* For a device that completes checksums: a TCP segment gets the sum of
 * its pseudo-header where the checksum goes, and the device is told
 * where to start (virtio 1.2 §5.1.6.2). 0 when p is something else. */
static int offload(struct pbuf *p, struct net_csum *c)
{
	uint8_t ip[20];
	if (pbuf_get_at(p, 12) == 0x86 && pbuf_get_at(p, 13) == 0xdd)
		return offload6(p, c);
	if (p->tot_len < SIZEOF_ETH_HDR + 40 ||
	    pbuf_get_at(p, 12) != 0x08 || pbuf_get_at(p, 13) != 0x00 ||
	    pbuf_copy_partial(p, ip, 20, SIZEOF_ETH_HDR) != 20)
		return 0;
	unsigned ihl = (ip[0] & 15u) * 4, total = (unsigned)ip[2] << 8 | ip[3];
	if ((ip[0] >> 4) != 4 || ip[9] != IP_PROTO_TCP || ihl < 20 ||
	    total < ihl + 20 || SIZEOF_ETH_HDR + total > p->tot_len ||
	    (ip[6] & 0x3f) || ip[7])
		return 0;	/* not TCP, or a fragment */
	uint32_t sum = IP_PROTO_TCP + total - ihl;
	for (int i = 12; i < 20; i += 2)	/* source, destination */
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	put_sum(p, sum, c, SIZEOF_ETH_HDR + ihl);
	return 1;
}

static err_t if_output(struct netif *n, struct pbuf *p)
{
	(void)n;
	struct net_csum csum, *cs = 0;
	if (dev->tx_csum && offload(p, &csum))
		cs = &csum;
	struct net_frag f[MAX_FRAGS];
	unsigned k = 0;
	for (struct pbuf *q = p; q && k <= MAX_FRAGS; q = q->next)
		if (k < MAX_FRAGS)
			f[k++] = (struct net_frag){ q->payload, q->len };
		else
			k++;
	if (k > MAX_FRAGS) {	/* rare: flatten it */
		if (p->tot_len > sizeof(flat))
			return ERR_BUF;
		pbuf_copy_partial(p, flat, p->tot_len, 0);
		f[0] = (struct net_frag){ flat, p->tot_len };
		k = 1;
	}
	int err = net_send(dev, f, k, cs);
	if (err == NET_ERR_BUSY) {
		net_wait(dev, 1, 0, 0, time_us() + TX_WAIT_US);
		err = net_send(dev, f, k, cs);
	}
	return err == NET_ERR_BUSY ? ERR_MEM : err ? ERR_IF : ERR_OK;
}

static err_t if_init(struct netif *n)
{
	n->name[0] = 'e';
	n->name[1] = 'n';
	n->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(n->hwaddr, dev->mac, ETH_HWADDR_LEN);
	n->mtu = dev->mtu;
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		   NETIF_FLAG_ETHERNET | NETIF_FLAG_MLD6;
	n->output = inet_route_output;	/* routes, then etharp_output */
	n->output_ip6 = ethip6_output;
	n->linkoutput = if_output;
	if (dev->tx_csum)	/* the device completes TCP's (offload) */
		NETIF_SET_CHECKSUM_CTRL(n, NETIF_CHECKSUM_ENABLE_ALL &
				       ~NETIF_CHECKSUM_GEN_TCP);
	netif_set_hostname(n, INET_HOSTNAME);
	return ERR_OK;
}

static void rx_frame(void *ctx, const void *frame, size_t len)
{
	(void)ctx;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	if (!p) {
		rx_nomem++;
		return;
	}
	pbuf_take(p, frame, (u16_t)len);
	if (nif.input(p, &nif) != ERR_OK)
		pbuf_free(p);
}

static void timer_fn(void *ctx)
{
	(void)ctx;
	timers_due = 1;		/* poll runs them, outside any wait */
}

static void rearm(void)
{
	u32_t ms = sys_timeouts_sleeptime();
	if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
		idle_timer_cancel(&timer);
	else
		idle_timer_add(&timer, time_us() + (uint64_t)ms * 1000,
			       timer_fn, 0);
}

/* Stateless DHCPv6 puts its server into DNS's first slot, over the one
 * DHCP or `net up` gave: the IPv4 servers go back in front, the IPv6
 * one after them when there is room. */
static void dns_order(void)
{
	const ip_addr_t *first = dns_getserver(0);
	if (ip_addr_isany(&dns4[0]) || !IP_IS_V6(first))
		return;
	ip_addr_t v6 = *first;
	dns_setserver(0, &dns4[0]);
	dns_setserver(1, ip_addr_isany(&dns4[1]) ? &v6 : &dns4[1]);
}

/* Runs what is due: received frames into lwIP, then lwIP's timers. Not
 * from inside lwIP (a callback that reached a wait). */
static void poll(void *ctx)
{
	(void)ctx;
	if (!started || inside)
		return;
	inside = 1;
	int n = net_recv(dev, rx_frame, 0, RX_BUDGET);
	if (n < 0 && !dev->failed)
		con_printf("%s: %s\n", dev->name, net_strerror(n));
	timers_due = 0;
	sys_check_timeouts();
	dns_order();
	rearm();
	inside = 0;
}

/* Interrupts off: only looks. */
static int pending(void *ctx)
{
	(void)ctx;
	return started && !inside && (timers_due || (!dev->failed &&
				      dev->ops->pending(dev, 0)));
}

static uint64_t watch(void *ctx, uint64_t *irqs)
{
	(void)ctx;
	return net_watch(dev, 0, irqs);
}

static void woke(void *ctx, int irq_came)
{
	(void)ctx;
	net_woke(dev, irq_came);
}

/* The network as a source of the app's loop, from the first net up. */
static struct loop_source source = { "network", pending, poll, watch, woke,
				     0, 0, 0, 0 };

static void probe_one(struct pci_dev *p)
{
	char where[8];
	const char *why;
	if (virtio_pci_drive(p, vnet_attach, &why)) {
		pci_where(p, where);
		con_printf("net: %s virtio-net refused: %s\n", where, why);
	}
}

void inet_probe(void)
{
	for (unsigned i = 0; i < pci_count(); i++)
		if (virtio_pci_type(pci_get(i)) == VIRTIO_TYPE_NET)
			probe_one(pci_get(i));
	dev = net_get(0);
}

/* lwIP's heap (LWIP_RAM_HEAP_POINTER): pages taken at the first net
 * up, so that an appliance without a network neither zeroes nor keeps
 * 2 MiB at boot (a PVH boot zeroes .bss byte by byte). */
uint8_t *inet_ram_heap;

/* lwIP on the device, at the first net up: until then nothing of the
 * network wakes the CPU. */
static int start(void)
{
	if (started)
		return 0;
	uint64_t bytes = MEM_SIZE + 4096;	/* with lwIP's own headers */
	inet_ram_heap = page_alloc_zero((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!inet_ram_heap)
		return INET_ERR_NOMEM;
	started = 1;
	lwip_init();
	netif_add(&nif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, 0,
		  if_init, ethernet_input);
	netif_set_default(&nif);
	netif_set_up(&nif);
	/* IPv6 (RFC 4862): a link-local address now, global ones from
	 * router advertisements, DNS by stateless DHCPv6 when they say so */
	netif_create_ip6_linklocal_address(&nif, 1);
	netif_set_ip6_autoconfig_enabled(&nif, 1);
	dhcp6_enable_stateless(&nif);
	rearm();
	loop_add(&source);
	return 0;
}

struct net_dev *inet_dev(void)
{
	return dev;
}

static int bound(void *ctx)
{
	(void)ctx;
	return dhcp_supplied_address(&nif);
}

/* Forgets the address (and stops DHCP) before a new one. */
static void reset_addr(void)
{
	if (dhcp_on) {
		dhcp_release_and_stop(&nif);
		dhcp_on = 0;
	}
	netif_set_addr(&nif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4);
	inet_route_reset(&nif, dev->mtu);
	memset(dns4, 0, sizeof(dns4));
}

static int check_link(void)
{
	if (!dev)
		return INET_ERR_NODEV;
	if (start())
		return INET_ERR_NOMEM;
	if (!dev->ops->link(dev)) {
		netif_set_link_down(&nif);
		return INET_ERR_LINK;
	}
	netif_set_link_up(&nif);
	return 0;
}

int inet_up_dhcp(uint64_t deadline_us)
{
	int err = check_link();
	if (err)
		return err;
	if (dhcp_on && dhcp_supplied_address(&nif))
		return 0;	/* a lease is bound (the cloud's): kept */
	inside = 1;
	reset_addr();
	err = dhcp_start(&nif) == ERR_OK ? 0 : INET_ERR_NOMEM;
	dhcp_on = !err;
	inside = 0;
	if (err)
		return err;
	if (!loop_wait(bound, 0, deadline_us))
		return INET_ERR_TIMEOUT;
	inside = 1;
	inet_route_apply(&nif, dev);	/* options 26 and 121 */
	for (int i = 0; i < DNS_MAX_SERVERS; i++)
		if (IP_IS_V4(dns_getserver((u8_t)i)))
			dns4[i] = *dns_getserver((u8_t)i);
	inside = 0;
	return 0;
}

int inet_up_static(uint32_t addr, unsigned prefix, uint32_t gateway,
		   uint32_t dns)
{
	int err = check_link();
	if (err)
		return err;
	ip4_addr_t a, m, g, d;
	ip4_addr_set_u32(&a, addr);
	ip4_addr_set_u32(&m, prefix ? lwip_htonl(~0u << (32 - prefix)) : 0);
	ip4_addr_set_u32(&g, gateway);
	ip4_addr_set_u32(&d, dns);
	inside = 1;
	reset_addr();
	netif_set_addr(&nif, &a, &m, &g);
	ip_addr_set_ip4_u32_val(dns4[0], ip4_addr_get_u32(&d));
	dns_setserver(0, dns ? &dns4[0] : 0);
	inside = 0;
	return 0;
}

_Static_assert(INET_ADDR6_MAX == LWIP_IPV6_NUM_ADDRESSES, "inet.h");
_Static_assert(INET_DNS_MAX == DNS_MAX_SERVERS, "inet.h");

void inet_status(struct inet_status *st)
{
	memset(st, 0, sizeof(*st));
	st->rx_nomem = rx_nomem;
	if (!started)
		return;
	st->addr = ip4_addr_get_u32(netif_ip4_addr(&nif));
	st->mask = ip4_addr_get_u32(netif_ip4_netmask(&nif));
	st->gateway = ip4_addr_get_u32(netif_ip4_gw(&nif));
	st->up = st->addr != 0;
	st->dhcp = dhcp_on && dhcp_supplied_address(&nif);
	st->mtu = nif.mtu;
	for (int i = 0; i < INET_DNS_MAX; i++)
		inet_from_lwip(dns_getserver((u8_t)i), &st->dns[i]);
	for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
		u8_t state = netif_ip6_addr_state(&nif, i);
		if (!ip6_addr_isvalid(state) && !ip6_addr_istentative(state))
			continue;
		inet_from_lwip(&nif.ip6_addr[i], &st->addr6[st->n6]);
		st->tentative6[st->n6++] = ip6_addr_istentative(state) != 0;
	}
}

struct lookup {
	int done;
	ip_addr_t addr;
};

static void found(const char *name, const ip_addr_t *a, void *arg)
{
	(void)name;
	struct lookup *l = arg;
	l->done = a ? 1 : -1;
	if (a)
		l->addr = *a;
}

static int looked_up(void *ctx)
{
	return ((struct lookup *)ctx)->done != 0;
}

static int have_address(void)
{
	if (ip4_addr_get_u32(netif_ip4_addr(&nif)))
		return 1;
	for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
		if (ip6_addr_isvalid(netif_ip6_addr_state(&nif, i)) &&
		    !ip6_addr_islinklocal(netif_ip6_addr(&nif, i)))
			return 1;
	return 0;
}

int inet_resolve(const char *host, struct inet_ip *addr,
		 uint64_t deadline_us)
{
	if (!inet_ip_parse(host, addr))
		return 0;
	if (!dev)
		return INET_ERR_NODEV;
	if (!started || !have_address())
		return INET_ERR_DOWN;
	struct lookup l;
	memset(&l, 0, sizeof(l));
	ip_addr_t a;
	inside = 1;
	err_t e = dns_gethostbyname_addrtype(host, &a, found, &l,
					     LWIP_DNS_ADDRTYPE_IPV4_IPV6);
	inside = 0;
	if (e == ERR_OK) {
		inet_from_lwip(&a, addr);
		return 0;
	}
	if (e != ERR_INPROGRESS)
		return INET_ERR_NOT_FOUND;
	if (!loop_wait(looked_up, &l, deadline_us))
		return INET_ERR_TIMEOUT;
	if (l.done < 0)
		return INET_ERR_NOT_FOUND;
	inet_from_lwip(&l.addr, addr);
	return 0;
}

struct arp_wait {
	ip4_addr_t addr;
};

static int arp_known(void *ctx)
{
	struct eth_addr *mac;
	const ip4_addr_t *ip;
	return etharp_find_addr(&nif, &((struct arp_wait *)ctx)->addr, &mac,
				&ip) >= 0;
}

int inet_arp(uint32_t addr, uint64_t deadline_us)
{
	if (!started || !ip4_addr_get_u32(netif_ip4_addr(&nif)))
		return INET_ERR_DOWN;
	struct arp_wait w;
	ip4_addr_set_u32(&w.addr, addr);
	/* two requests, the second halfway, in case one is lost */
	uint64_t now = time_us(), half = now + (deadline_us - now) / 2;
	for (int i = 0; i < 2; i++) {
		inside = 1;
		etharp_request(&nif, &w.addr);
		inside = 0;
		if (loop_wait(arp_known, &w, i ? deadline_us : half))
			return 0;
	}
	return INET_ERR_TIMEOUT;
}

/* The listener's accept (what altcp_tcp's does, with the no-pcb call
 * lwIP makes when it is out of TCP pcbs refused): the new pcb as an
 * altcp pcb, to the listener's own accept. */
static err_t accept_tcp(void *arg, struct tcp_pcb *tp, err_t err)
{
	struct altcp_pcb *l = arg;
	if (!tp || !l || !l->accept)
		return ERR_VAL;
	struct altcp_pcb *conn = altcp_tcp_wrap(tp);
	if (!conn)
		return ERR_MEM;		/* lwIP resets tp */
	err_t e = l->accept(l->arg, conn, err);
	if (e == ERR_OK)
		listen_kept(tp);	/* no longer a SYN's to evict */
	return e;
}

struct altcp_pcb *inet_listen(uint16_t port, const char **why)
{
	struct tcp_pcb *tp = tcp_new_ip_type(IPADDR_TYPE_ANY);	/* v4, v6 */
	struct altcp_pcb *l = tp ? altcp_tcp_wrap(tp) : 0;
	*why = "out of memory";
	if (!l) {
		if (tp)
			tcp_close(tp);
		return 0;
	}
	ip_set_option(tp, SOF_REUSEADDR);	/* again on a port in TIME_WAIT */
	listen_guard(tp);	/* a SYN flood evicts its own */
	if (altcp_bind(l, IP_ANY_TYPE, port) != ERR_OK) {
		altcp_close(l);
		*why = "the port is in use";
		return 0;
	}
	struct altcp_pcb *listening = altcp_listen(l);
	if (!listening) {
		altcp_close(l);
		return 0;
	}
	/* altcp_tcp keeps the listening tcp_pcb as its state; its arg is
	 * the altcp pcb */
	tcp_accept((struct tcp_pcb *)listening->state, accept_tcp);
	*why = 0;
	return listening;
}

void inet_ip4_format(uint32_t addr, char out[16])
{
	const uint8_t *b = (const uint8_t *)&addr;	/* network order */
	fmt_snprintf(out, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

int inet_ip4_parse(const char *s, uint32_t *addr)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || v > 255)
			return -1;
		b[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	if (*s)
		return -1;
	memcpy(addr, b, 4);
	return 0;
}
