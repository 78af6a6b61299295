/* The application's network: lwIP (raw API, no threads) over the first
 * network device. The glue between drivers/net.h and lwIP; neither knows
 * the other. IPv4 addresses are in network byte order (lwIP's
 * ip4_addr_t.addr) and either family is a struct inet_ip, so that
 * callers need no lwIP header.
 *
 * lwIP is not reentrant: it runs only as a source of the app's loop
 * (app/loop.h: received frames in, then its timers; from the first net
 * up), and from the callbacks it makes there. An idle timer wakes the
 * loop when one of lwIP's timers is due; it never calls into lwIP
 * itself. Waiting for the network is loop_wait. */
#ifndef UMBRA_INET_H
#define UMBRA_INET_H

#include <stdint.h>

struct net_dev;
struct altcp_pcb;

#define INET_HOSTNAME "umbra"	/* what DHCP and the guest agent say */
struct netif;
struct pbuf;
struct ip4_addr;

/* An IPv4 or IPv6 address, its bytes in network order. */
struct inet_ip {
	uint8_t v6;		/* 0: IPv4 in b[0..3]; 1: IPv6 */
	uint8_t b[16];
};
#define INET_IP_STR 46		/* the longest text form and a NUL */
#define INET_ADDR6_MAX 3	/* IPv6 addresses (lwipopts.h) */
#define INET_DNS_MAX 2

enum inet_err {
	INET_OK = 0,
	INET_ERR_NODEV = -501,	/* no network device */
	INET_ERR_TIMEOUT = -502,
	INET_ERR_NOT_FOUND = -503,	/* a name DNS does not know */
	INET_ERR_DOWN = -504,	/* no address yet: `net up` first */
	INET_ERR_LINK = -505,	/* the link is down */
	INET_ERR_NOMEM = -506,
};

const char *inet_strerror(int err);

/* Drives the network devices on PCI (virtio-net) and says on the console
 * why a device was refused. lwIP starts on the first one at the first
 * inet_up_*. */
void inet_probe(void);

/* The device lwIP runs on, or NULL. */
struct net_dev *inet_dev(void);

/* DHCP until a lease is bound (one bound already is kept), or
 * INET_ERR_TIMEOUT at deadline_us; then the lease's options 26 and 121
 * applied. IPv6 configures itself beside it (SLAAC, stateless DHCPv6)
 * from lwIP's start on. */
int inet_up_dhcp(uint64_t deadline_us);

/* A static address: addr/prefix, gateway, DNS server (0: none). */
int inet_up_static(uint32_t addr, unsigned prefix, uint32_t gateway,
		   uint32_t dns);

struct inet_status {
	int up;			/* an address is configured */
	int dhcp;		/* ... from a DHCP lease */
	uint32_t addr, mask, gateway;
	struct inet_ip dns[INET_DNS_MAX];	/* v6 0 and zero bytes: none */
	uint16_t mtu;		/* IPv4's (DHCP option 26 may lower it) */
	unsigned n6;		/* IPv6 addresses in addr6 */
	struct inet_ip addr6[INET_ADDR6_MAX];
	uint8_t tentative6[INET_ADDR6_MAX];	/* still checked (RFC 4862
						 * §5.4) */
	uint64_t rx_nomem;	/* frames dropped for want of a buffer */
	uint64_t rx_badsum;	/* ... for a bad TCP checksum (checked
				 * here for a device with rx_csum) */
	uint64_t tx_segments;	/* lwIP's frames, gathered into ... */
	uint64_t tx_frames;	/* ... the device's (gso.h) */
};
void inet_status(struct inet_status *st);

/* Frames lwIP sent are queued (and TCP segments gathered, gso.h) until
 * they are flushed to the device, once per round of the loop's network
 * source, or at the end of the inet_* functions that call lwIP; code
 * that calls lwIP itself outside them and does not wait next (when the
 * loop would flush) calls this. */
void inet_flush(void);

/* Bytes handed to lwIP by reference (tcp_write without a copy) are read
 * by the device until the frames that carry them are back, which may be
 * after TCP is done with them (acknowledged, or the connection reset).
 * inet_tx_mark marks what was sent so far; inet_tx_passed(mark) says
 * whether all of it is back. */
uint64_t inet_tx_mark(void);
int inet_tx_passed(uint64_t mark);


/* A TCP listener on port (any address, SO_REUSEADDR), as an altcp pcb
 * for altcp_accept and altcp_close; NULL with *why when the port is in
 * use or memory is short. Half-open connections on it: when lwIP runs
 * out of TCP slots, a new SYN evicts the oldest half-open (SYN_RCVD)
 * connection, never an established one, so that a flood of SYNs from
 * spoofed addresses keeps no real client out (lwIP's tcp_alloc evicts
 * by priority: the half-open ones get the lowest, those the listener's
 * accept callback keeps the listener's). Its accept callback is
 * umbra's, not lwIP 2.1.3's altcp_tcp one, which takes the no-pcb call
 * lwIP makes when it runs out of TCP pcbs for a pcb (fixed in lwIP 2.2)
 * and would stop the appliance. */
struct altcp_pcb *inet_listen(uint16_t port, const char **why);

/* An address (either family), or a name through DNS: its A record, or
 * its AAAA record when it has none. */
int inet_resolve(const char *host, struct inet_ip *addr,
		 uint64_t deadline_us);

/* Asks who has addr (ARP) and waits for the answer: 0, or
 * INET_ERR_TIMEOUT at deadline_us (INET_ERR_DOWN without an address). */
int inet_arp(uint32_t addr, uint64_t deadline_us);

/* "10.0.2.15", "fec0::5054:ff:fe12:3456" into out. */
void inet_ip_format(const struct inet_ip *ip, char out[INET_IP_STR]);

/* Parses either family's text form: 0, or -1. */
int inet_ip_parse(const char *s, struct inet_ip *ip);

/* Whether ip is link-local (169.254/16, fe80::/10). */
int inet_ip_linklocal(const struct inet_ip *ip);

/* Between struct inet_ip and lwIP's ip_addr_t (struct ip_addr), for the
 * files that call lwIP themselves (a zone-less IPv6 address). */
struct ip_addr;
void inet_to_lwip(const struct inet_ip *in, struct ip_addr *a);
void inet_from_lwip(const struct ip_addr *a, struct inet_ip *out);

/* Routes (inet_route.c): those of DHCP option 121 and those added here,
 * tried before the gateway, longest prefix first; the lease's interface
 * MTU (option 26). */

/* A route to dest/prefix through gw (0: on the link); it replaces one to
 * the same destination. 0, or INET_ERR_NOMEM when the table is full. */
int inet_route_add(uint32_t dest, unsigned prefix, uint32_t gw);

/* The i-th route: 0 and its fields (from: "DHCP" or "added"), or -1. */
int inet_route_get(unsigned i, uint32_t *dest, unsigned *prefix,
		   uint32_t *gw, const char **from);

/* The next hop for dest by the routes (its gateway, or dest itself when
 * on the link), or 0 when no route holds it (then the gateway). */
uint32_t inet_route_hop(uint32_t dest);

/* For inet.c: lwIP's netif output (the routes, then etharp_output); the
 * routes and MTU forgotten at a new address; the lease's options
 * applied once it is bound (one line for each it refuses). */
int8_t inet_route_output(struct netif *n, struct pbuf *p,
			 const struct ip4_addr *dest);
void inet_route_reset(struct netif *n, uint16_t mtu);
void inet_route_apply(struct netif *n, struct net_dev *d);

/* "10.0.2.15" into out (16 bytes). (Not POSIX's inet_ntoa, whose name
 * lwIP's headers take as a macro.) */
void inet_ip4_format(uint32_t addr, char out[16]);

/* Parses a dotted quad; 0, or -1 when s is not one (the reverse of
 * POSIX inet_aton's convention, hence another name). */
int inet_ip4_parse(const char *s, uint32_t *addr);

#endif
