/* Routes and the interface MTU from DHCP (options 121 and 26, which
 * lwIP 2.1 drops: its hooks hand them to us), routes added by the app,
 * and the netif output that follows them; see inet.h. The parsing is
 * dhcpopt.c's, portable and tested on the host. */
#include "inet.h"

#include <string.h>

#include "../../drivers/net.h"
#include "../../runtime/console.h"
#include "dhcpopt.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/dhcp.h"
#include "lwip_hooks.h"

#define ADDED_MAX 4		/* routes the app may add */
#define ROUTES_RX 512		/* option 121's bytes kept from one lease */

static struct dhcp_route routes[DHCPOPT_ROUTES_MAX + ADDED_MAX];
static uint8_t added[DHCPOPT_ROUTES_MAX + ADDED_MAX];
static unsigned nroutes;

/* What the last DHCPACK said, kept by the parse hook until the lease is
 * bound: option 26's value (0: none), option 121's bytes. */
static uint8_t mtu_rx[2];
static int mtu_given;
static uint8_t routes_rx[ROUTES_RX];
static size_t routes_len;
static int routes_given, routes_overflow;

void inet_dhcp_append(struct netif *netif, struct dhcp *dhcp, u8_t state,
		      struct dhcp_msg *msg, u8_t msg_type, u16_t *len)
{
	static const uint8_t want[] = { DHCPOPT_MTU, DHCPOPT_ROUTES };
	(void)netif;
	(void)dhcp;
	(void)state;
	if (msg_type != DHCP_DISCOVER && msg_type != DHCP_REQUEST)
		return;
	size_t n = *len;	/* one byte stays for the end mark */
	dhcpopt_request(msg->options, &n, DHCP_OPTIONS_LEN - 1, want,
			sizeof(want));
	*len = (u16_t)n;
}

/* Called by lwIP for each option it does not know, while it parses a
 * message; msg_type is 0 when option 53 comes later in it. */
void inet_dhcp_option(struct netif *netif, struct dhcp *dhcp, u8_t state,
		      struct dhcp_msg *msg, u8_t msg_type, u8_t option,
		      u8_t len, struct pbuf *p, u16_t offset)
{
	(void)netif;
	(void)dhcp;
	(void)state;
	(void)msg;
	if (msg_type != DHCP_ACK && msg_type != 0)
		return;
	if (option == DHCPOPT_MTU) {
		mtu_given = len == 2 &&
			    pbuf_copy_partial(p, mtu_rx, 2, offset) == 2 ? 1 : -1;
	} else if (option == DHCPOPT_ROUTES) {
		routes_given = 1;	/* RFC 3396: instances concatenate */
		if (len > sizeof(routes_rx) - routes_len ||
		    pbuf_copy_partial(p, routes_rx + routes_len, len,
				      offset) != len)
			routes_overflow = 1;
		else
			routes_len += len;
	}
}

void inet_route_reset(struct netif *n, uint16_t mtu)
{
	nroutes = 0;
	mtu_given = routes_given = routes_overflow = 0;
	routes_len = 0;
	n->mtu = mtu;
}

static const char *why(int err)
{
	switch (err) {
	case DHCPOPT_ERR_LENGTH: return "wrong length";
	case DHCPOPT_ERR_WIDTH: return "a prefix over 32 bits";
	case DHCPOPT_ERR_TRUNCATED: return "a route cut short";
	case DHCPOPT_ERR_TOO_MANY: return "more routes than umbra keeps";
	case DHCPOPT_ERR_VALUE: return "below 576";
	default: return "malformed";
	}
}

static void apply_mtu(struct netif *n, struct net_dev *d)
{
	long mtu = mtu_given > 0 ? dhcpopt_mtu(mtu_rx, 2)
				 : DHCPOPT_ERR_LENGTH;
	if (mtu < 0) {
		con_printf("%s: DHCP option 26 (MTU) ignored: %s\n", d->name,
			   why((int)mtu));
		return;
	}
	n->mtu = (u16_t)(mtu < d->mtu ? mtu : d->mtu);
}

/* RFC 3442 §3: with option 121 the router option is ignored: the
 * default route, if any, is 121's own. */
static void apply_routes(struct netif *n, struct net_dev *d)
{
	struct dhcp_route r[DHCPOPT_ROUTES_MAX];
	int k = routes_overflow ? DHCPOPT_ERR_TOO_MANY
				: dhcpopt_routes(routes_rx, routes_len, r);
	if (k < 0) {
		con_printf("%s: DHCP option 121 (routes) ignored: %s\n",
			   d->name, why(k));
		return;
	}
	ip4_addr_t gw;
	ip4_addr_set_zero(&gw);
	nroutes = 0;
	for (int i = 0; i < k; i++) {
		if (!r[i].prefix) {
			ip4_addr_set_u32(&gw, r[i].gw);
			continue;
		}
		added[nroutes] = 0;
		routes[nroutes++] = r[i];
	}
	netif_set_gw(n, &gw);
}

void inet_route_apply(struct netif *n, struct net_dev *d)
{
	if (mtu_given)
		apply_mtu(n, d);
	if (routes_given)
		apply_routes(n, d);
	mtu_given = routes_given = routes_overflow = 0;
	routes_len = 0;
}

int inet_route_add(uint32_t dest, unsigned prefix, uint32_t gw)
{
	unsigned i = 0;
	while (i < nroutes && !(routes[i].dest == dest &&
				routes[i].prefix == prefix))
		i++;
	if (i == sizeof(routes) / sizeof(routes[0]))
		return INET_ERR_NOMEM;
	routes[i] = (struct dhcp_route){ dest, gw, (uint8_t)prefix };
	added[i] = 1;
	if (i == nroutes)
		nroutes++;
	return 0;
}

int inet_route_get(unsigned i, uint32_t *dest, unsigned *prefix,
		   uint32_t *gw, const char **from)
{
	if (i >= nroutes)
		return -1;
	*dest = routes[i].dest;
	*prefix = routes[i].prefix;
	*gw = routes[i].gw;
	*from = added[i] ? "added" : "DHCP";
	return 0;
}

uint32_t inet_route_hop(uint32_t dest)
{
	int i = dhcpopt_lookup(routes, nroutes, dest);
	if (i < 0)
		return 0;
	return routes[i].gw ? routes[i].gw : dest;
}

/* lwIP's etharp_output sends to a link-local destination (169.254/16)
 * on the link whatever the routes say, and consults
 * LWIP_HOOK_ETHARP_GET_GW only for the others: a route that holds a
 * link-local address (OpenStack's to its metadata server, or the one
 * added when the server does not answer ARP) is followed here by
 * handing etharp_output the route's gateway as the next hop (the
 * packet's own destination is in its header already). */
err_t inet_route_output(struct netif *n, struct pbuf *p,
			const ip4_addr_t *dest)
{
	if (ip4_addr_islinklocal(dest)) {
		uint32_t hop = inet_route_hop(ip4_addr_get_u32(dest));
		if (hop && hop != ip4_addr_get_u32(dest)) {
			ip4_addr_t h;
			ip4_addr_set_u32(&h, hop);
			return etharp_output(n, p, &h);
		}
	}
	return etharp_output(n, p, dest);
}

/* LWIP_HOOK_ETHARP_GET_GW: the next hop for a destination outside the
 * subnet, or NULL for the default gateway. */
const ip4_addr_t *inet_route_gw(struct netif *n, const ip4_addr_t *dest)
{
	static ip4_addr_t hop;
	(void)n;
	uint32_t h = inet_route_hop(ip4_addr_get_u32(dest));
	if (!h)
		return 0;
	ip4_addr_set_u32(&hop, h);
	return &hop;
}
