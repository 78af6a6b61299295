/* lwIP hooks (lwipopts.h names this file as LWIP_HOOK_FILENAME). */
#ifndef UMBRA_LWIP_HOOKS_H
#define UMBRA_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

struct netif;
struct dhcp;
struct dhcp_msg;
struct pbuf;

/* RFC 6528 initial sequence numbers (inet.c). */
u32_t inet_tcp_isn(const ip_addr_t *local_ip, u16_t local_port,
		   const ip_addr_t *remote_ip, u16_t remote_port);

/* DHCP (inet_route.c): options 26 and 121 added to the parameter
 * request list of what lwIP sends, and taken from what it receives. */
void inet_dhcp_append(struct netif *netif, struct dhcp *dhcp, u8_t state,
		      struct dhcp_msg *msg, u8_t msg_type, u16_t *len);
void inet_dhcp_option(struct netif *netif, struct dhcp *dhcp, u8_t state,
		      struct dhcp_msg *msg, u8_t msg_type, u8_t option,
		      u8_t len, struct pbuf *p, u16_t offset);

/* The next hop for a destination outside the subnet by those routes,
 * or NULL for the gateway (inet_route.c). */
const ip4_addr_t *inet_route_gw(struct netif *n, const ip4_addr_t *dest);

#endif
