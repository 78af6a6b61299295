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
#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "gso.h"
#include "lwip_hooks.h"
#include "netif/ethernet.h"

#define RX_BUDGET 64		/* frames per round, then the timers */

static struct net_dev *dev;
static struct netif nif;
static struct idle_timer timer;
static volatile int timers_due;
static int started;		/* lwIP runs (from the first net up on) */
static int inside;		/* in lwIP now: poll must not enter */
static int dhcp_on;
static uint64_t rx_nomem, rx_badsum;
static struct gso gso;		/* frames on their way to dev */
static ip_addr_t dns4[DNS_MAX_SERVERS];	/* DHCP's or static: first */

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

static void release(void *ctx, void *token)
{
	(void)ctx;
	pbuf_free(token);
}

/* Where a TCP segment's headers end in frame p (IPv4, or IPv6 with TCP
 * next: lwIP puts no extension header before it); 0 for anything else. */
static unsigned tcp_end(struct pbuf *p)
{
	unsigned at;
	u16_t type = (u16_t)(pbuf_get_at(p, 12) << 8 | pbuf_get_at(p, 13));
	if (type == ETHTYPE_IP) {
		unsigned v_ihl = pbuf_get_at(p, SIZEOF_ETH_HDR);
		at = SIZEOF_ETH_HDR + (v_ihl & 15u) * 4;
		if ((v_ihl >> 4) != 4 || (v_ihl & 15u) < 5 ||
		    pbuf_get_at(p, SIZEOF_ETH_HDR + 9) != IP_PROTO_TCP)
			return 0;
	} else if (type == ETHTYPE_IPV6) {
		at = SIZEOF_ETH_HDR + 40;
		if ((pbuf_get_at(p, SIZEOF_ETH_HDR) >> 4) != 6 ||
		    pbuf_get_at(p, SIZEOF_ETH_HDR + 6) != IP_PROTO_TCP)
			return 0;
	} else {
		return 0;
	}
	if (p->tot_len < at + 20)
		return 0;
	return at + (pbuf_get_at(p, (u16_t)(at + 12)) >> 4) * 4u;
}

/* How many of p's first bytes the device copies: a TCP segment's
 * headers exactly (so that its payload can join others', gso.h), else
 * up to NET_COPY_MAX. */
static u16_t head_len(struct pbuf *p)
{
	u16_t most = p->tot_len < NET_COPY_MAX ? p->tot_len : NET_COPY_MAX;
	unsigned h = p->tot_len >= SIZEOF_ETH_HDR + 40 ? tcp_end(p) : 0;
	return h && h <= most ? (u16_t)h : most;
}

/* Whether the device may read p's bytes after we return: lwIP's
 * PBUF_REF pieces are the caller's, valid only during the call. */
static int referable(struct pbuf *p)
{
	for (struct pbuf *q = p; q; q = q->next)
		if (q->type_internal & PBUF_TYPE_FLAG_DATA_VOLATILE)
			return 0;
	return 1;
}

/* The frame goes to the device by way of gso.c: its headers copied, the
 * rest referenced (p held, pbuf_ref, until the device is done with it:
 * lwIP meanwhile leaves a segment still referenced alone, and sends it
 * again only once it is back, tcp_output_segment_busy). A frame of
 * more pieces than that takes, or of volatile ones, is cloned first. */
static err_t if_output(struct netif *n, struct pbuf *p)
{
	(void)n;
	uint8_t head[NET_COPY_MAX];
	struct net_frag rest[GSO_FRAGS];
	struct pbuf *held = p;
	unsigned k = 0;
	for (struct pbuf *q = p; q; q = q->next)
		k++;
	if (k > GSO_FRAGS || !referable(p)) {
		held = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
		if (!held)
			return ERR_MEM;
	} else {
		pbuf_ref(p);
	}
	u16_t h = head_len(held);
	pbuf_copy_partial(held, head, h, 0);
	k = 0;
	u16_t skip = h;
	for (struct pbuf *q = held; q; q = q->next) {
		if (skip >= q->len) {
			skip = (u16_t)(skip - q->len);
			continue;
		}
		rest[k++] = (struct net_frag){ (uint8_t *)q->payload + skip,
					       (size_t)(q->len - skip) };
		skip = 0;
	}
	if (!k) {		/* all of it copied: nothing to hold */
		pbuf_free(held);
		held = 0;
	}
	struct gso_frame f = { head, h, rest, k, held };
	int err = gso_send(&gso, &f);
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
	/* TCP's checksums: the device completes them (gso.c gives it the
	 * pseudo-header's sum), and checks those it hands in, or says
	 * they need none (rx_frame checks the others) */
	u16_t sums = NETIF_CHECKSUM_ENABLE_ALL;
	if (dev->tx_csum)
		sums &= (u16_t)~NETIF_CHECKSUM_GEN_TCP;
	if (dev->rx_csum)
		sums &= (u16_t)~NETIF_CHECKSUM_CHECK_TCP;
	NETIF_SET_CHECKSUM_CTRL(n, sums);
	netif_set_hostname(n, INET_HOSTNAME);
	return ERR_OK;
}

/* The ones' complement checksum (RFC 1071) of p's bytes [from, to),
 * big-endian. */
static uint16_t sum_range(struct pbuf *p, u16_t from, u16_t to)
{
	uint8_t b[64];
	uint32_t acc = 0;
	for (u16_t at = from; at < to;) {
		u16_t k = (u16_t)(to - at < 64 ? to - at : 64);
		pbuf_copy_partial(p, b, k, at);
		for (u16_t i = 0; i < k; i += 2)
			acc += (uint32_t)b[i] << 8 | (i + 1 < k ? b[i + 1] : 0);
		at = (u16_t)(at + k);
	}
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* A received frame's IP packet: where its payload starts and ends (not
 * the Ethernet padding behind it), whether it is TCP, and its
 * addresses; 0 when it is no IP packet lwIP would take. */
struct packet {
	u16_t at, end;
	int tcp, v6;
	uint8_t src[16], dst[16];
};

static int packet_of(struct pbuf *p, struct packet *k)
{
	uint8_t ip[40];
	u16_t type = (u16_t)(pbuf_get_at(p, 12) << 8 | pbuf_get_at(p, 13));
	unsigned end;
	memset(k, 0, sizeof(*k));
	if (type == ETHTYPE_IP && pbuf_copy_partial(p, ip, 20,
						    SIZEOF_ETH_HDR) == 20) {
		unsigned ihl = (ip[0] & 15u) * 4;
		if ((ip[0] >> 4) != 4 || ihl < 20)
			return 0;
		k->at = (u16_t)(SIZEOF_ETH_HDR + ihl);
		end = SIZEOF_ETH_HDR + ((unsigned)ip[2] << 8 | ip[3]);
		k->tcp = ip[9] == IP_PROTO_TCP && !(ip[6] & 0x3f) && !ip[7];
		memcpy(k->src, ip + 12, 4);
		memcpy(k->dst, ip + 16, 4);
	} else if (type == ETHTYPE_IPV6 && pbuf_copy_partial(p, ip, 40,
							SIZEOF_ETH_HDR) == 40) {
		if ((ip[0] >> 4) != 6)
			return 0;
		k->v6 = 1;
		k->at = SIZEOF_ETH_HDR + 40;
		end = k->at + ((unsigned)ip[4] << 8 | ip[5]);
		k->tcp = ip[6] == IP_PROTO_TCP;
		memcpy(k->src, ip + 8, 16);
		memcpy(k->dst, ip + 24, 16);
	} else {
		return 0;
	}
	if (end > p->tot_len || k->at > end || k->at > p->len)
		return 0;
	k->end = (u16_t)end;
	return 1;
}

/* Whether a TCP segment's checksum holds (RFC 9293 §3.1, RFC 8200
 * §8.1). */
static int tcp_sum_ok(struct pbuf *p, const struct packet *k)
{
	u16_t len = (u16_t)(k->end - k->at), sum;
	pbuf_remove_header(p, k->at);
	if (k->v6) {
		ip6_addr_t s, d;
		memset(&s, 0, sizeof(s));
		memset(&d, 0, sizeof(d));
		memcpy(s.addr, k->src, 16);
		memcpy(d.addr, k->dst, 16);
		sum = ip6_chksum_pseudo_partial(p, IP_PROTO_TCP, len, len, &s,
						&d);
	} else {
		ip4_addr_t s, d;
		memcpy(&s.addr, k->src, 4);
		memcpy(&d.addr, k->dst, 4);
		sum = inet_chksum_pseudo_partial(p, IP_PROTO_TCP, len, len, &s,
						 &d);
	}
	pbuf_add_header_force(p, k->at);
	return sum == 0;
}

/* Checksums, from a device that says which it checked (lwIP's own TCP
 * check is off then): a TCP segment it vouched for passes; one it did
 * not is checked here; a frame whose checksum it left incomplete (the
 * data is good: NEEDS_CSUM) is completed when not TCP, for lwIP to
 * check. 0 when p is to be dropped. */
static int rx_checksums(struct pbuf *p, const struct net_rx_info *info)
{
	struct packet k;
	if (!dev->rx_csum || !packet_of(p, &k))
		return 1;
	if (k.tcp && (info->flags & (NET_RX_DATA_VALID | NET_RX_NEEDS_CSUM)))
		return 1;
	if (k.tcp)
		return tcp_sum_ok(p, &k);
	if (!(info->flags & NET_RX_NEEDS_CSUM))
		return 1;
	u16_t start = info->csum_start;
	u16_t where = (u16_t)(start + info->csum_offset);
	if (start >= k.end || where + 2 > k.end)
		return 0;
	uint16_t sum = sum_range(p, start, k.end);
	uint8_t be[2] = { (uint8_t)(sum >> 8), (uint8_t)sum };
	pbuf_take_at(p, be, 2, where);
	return 1;
}

/* A frame from the device: its pieces into a chain of lwIP's pool
 * buffers (a frame up to 64 KiB when the device hands in large ones). */
static void rx_frame(void *ctx, const struct net_frag *f, unsigned n,
		     size_t len, const struct net_rx_info *info)
{
	(void)ctx;
	struct pbuf *p = len <= 0xffff
			 ? pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL) : 0;
	if (!p) {
		rx_nomem++;
		return;
	}
	u16_t at = 0;
	for (unsigned i = 0; i < n; i++) {
		pbuf_take_at(p, f[i].data, (u16_t)f[i].len, at);
		at = (u16_t)(at + f[i].len);
	}
	if (!rx_checksums(p, info)) {
		rx_badsum++;
		pbuf_free(p);
		return;
	}
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
	int n = net_reap(dev);	/* lwIP's buffers back first */
	if (n >= 0)
		n = net_recv(dev, rx_frame, 0, RX_BUDGET);
	if (n < 0 && !dev->failed)
		con_printf("%s: %s\n", dev->name, net_strerror(n));
	timers_due = 0;
	sys_check_timeouts();
	dns_order();
	rearm();
	gso_flush(&gso);	/* what lwIP sent, to the device at once */
	inside = 0;
}

/* Control leaves lwIP: what it sent goes to the device. */
static void leave(void)
{
	inside = 0;
	gso_flush(&gso);
}

void inet_flush(void)
{
	if (started && !inside)
		gso_flush(&gso);
}

uint64_t inet_tx_mark(void)
{
	return started ? gso_mark(&gso) : 0;
}

int inet_tx_passed(uint64_t mark)
{
	return !started || gso_passed(&gso, mark);
}

/* Interrupts off: only looks. */
static int pending(void *ctx)
{
	(void)ctx;
	return started && !inside && (timers_due || gso_pending(&gso) ||
				      (!dev->failed &&
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
	if (!inet_ram_heap || gso_init(&gso, dev, release, 0))
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
	leave();
	if (err)
		return err;
	if (!loop_wait(bound, 0, deadline_us))
		return INET_ERR_TIMEOUT;
	inside = 1;
	inet_route_apply(&nif, dev);	/* options 26 and 121 */
	for (int i = 0; i < DNS_MAX_SERVERS; i++)
		if (IP_IS_V4(dns_getserver((u8_t)i)))
			dns4[i] = *dns_getserver((u8_t)i);
	leave();
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
	leave();
	return 0;
}

_Static_assert(INET_ADDR6_MAX == LWIP_IPV6_NUM_ADDRESSES, "inet.h");
_Static_assert(INET_DNS_MAX == DNS_MAX_SERVERS, "inet.h");

void inet_status(struct inet_status *st)
{
	memset(st, 0, sizeof(*st));
	st->rx_nomem = rx_nomem;
	st->rx_badsum = rx_badsum;
	st->tx_segments = gso.segments;
	st->tx_frames = gso.frames;
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
	leave();
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
		leave();
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
