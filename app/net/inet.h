/* The application's network: lwIP (raw API, no threads) over the first
 * network device. The glue between drivers/net.h and lwIP; neither knows
 * the other. Addresses are IPv4 in network byte order (lwIP's
 * ip4_addr_t.addr), so that callers need no lwIP header.
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

#define INET_HOSTNAME "umbra"	/* what DHCP and the guest agent say */

enum inet_err {
	INET_OK = 0,
	INET_ERR_NODEV = -1,	/* no network device */
	INET_ERR_TIMEOUT = -2,
	INET_ERR_NOT_FOUND = -3,	/* a name DNS does not know */
	INET_ERR_DOWN = -4,	/* no address yet: `net up` first */
	INET_ERR_LINK = -5,	/* the link is down */
	INET_ERR_NOMEM = -6,
};

const char *inet_strerror(int err);

/* Drives the network devices on PCI (virtio-net) and says on the console
 * why a device was refused. lwIP starts on the first one at the first
 * inet_up_*. */
void inet_probe(void);

/* The device lwIP runs on, or NULL. */
struct net_dev *inet_dev(void);

/* DHCP until a lease is bound, or INET_ERR_TIMEOUT at deadline_us. */
int inet_up_dhcp(uint64_t deadline_us);

/* A static address: addr/prefix, gateway, DNS server (0: none). */
int inet_up_static(uint32_t addr, unsigned prefix, uint32_t gateway,
		   uint32_t dns);

struct inet_status {
	int up;			/* an address is configured */
	int dhcp;		/* ... from a DHCP lease */
	uint32_t addr, mask, gateway, dns[2];
	uint64_t rx_nomem;	/* frames dropped for want of a buffer */
};
void inet_status(struct inet_status *st);

/* A dotted quad, or a name through DNS. */
int inet_resolve(const char *host, uint32_t *addr, uint64_t deadline_us);

/* "10.0.2.15" into out (16 bytes). */
void inet_ntoa(uint32_t addr, char out[16]);

/* Parses a dotted quad; 0, or -1 when s is not one. */
int inet_aton(const char *s, uint32_t *addr);

#endif
