/* The application's network: lwIP (raw API, no threads) over the first
 * network device. The glue between drivers/net.h and lwIP; neither knows
 * the other. Addresses are IPv4 in network byte order (lwIP's
 * ip4_addr_t.addr), so that callers need no lwIP header.
 *
 * lwIP is not reentrant: it runs only from inet_poll, which the waiting
 * loops call (inet_wait, the prompt's background hook), and from the
 * callbacks that inet_poll makes. An idle timer wakes the loop when one
 * of lwIP's timers is due; it never calls into lwIP itself. */
#ifndef UMBRA_INET_H
#define UMBRA_INET_H

#include <stdint.h>

struct net_dev;

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
	uint64_t rx_badsum;	/* ... for a bad TCP checksum (checked
				 * here for a device with rx_csum) */
	uint64_t tx_segments;	/* lwIP's frames, gathered into ... */
	uint64_t tx_frames;	/* ... the device's (gso.h) */
};
void inet_status(struct inet_status *st);

/* Runs what is due: received frames into lwIP, then lwIP's timers.
 * Returns at once when called from inside lwIP. */
void inet_poll(void);

/* Frames lwIP sent are queued (and TCP segments gathered, gso.h) until
 * this tells the device of them: inet_poll and the inet_* functions do
 * at their end; code that calls lwIP itself (outside lwIP's callbacks)
 * calls it after. */
void inet_flush(void);

/* Nonzero when inet_poll has something to do (interrupts off: only
 * looks). */
int inet_pending(void);

/* Runs the network until ready(ctx) (called with interrupts off, after
 * each round; it must not wait) says so: 1, or 0 at deadline_us or when
 * the power button was pressed (every network wait ends there). */
int inet_wait(int (*ready)(void *ctx), void *ctx, uint64_t deadline_us);

/* Half-open connections on a listener: when lwIP runs out of TCP
 * slots, a new SYN evicts the oldest half-open (SYN_RCVD) connection,
 * never an established one, so that a flood of SYNs from spoofed
 * addresses keeps no real client out. inet_tcp_guard takes the pcb
 * before tcp_listen; inet_tcp_accepted each connection the listener's
 * accept callback keeps. (lwIP's tcp_alloc evicts by priority: the
 * half-open ones get the lowest.) */
struct tcp_pcb;
void inet_tcp_guard(struct tcp_pcb *pcb);
void inet_tcp_accepted(struct tcp_pcb *pcb);

/* A dotted quad, or a name through DNS. */
int inet_resolve(const char *host, uint32_t *addr, uint64_t deadline_us);

/* "10.0.2.15" into out (16 bytes). (Not POSIX's inet_ntoa, whose name
 * lwIP's headers take as a macro.) */
void inet_ip4_format(uint32_t addr, char out[16]);

/* Parses a dotted quad; 0, or -1 when s is not one (the reverse of
 * POSIX inet_aton's convention, hence another name). */
int inet_ip4_parse(const char *s, uint32_t *addr);

#endif
