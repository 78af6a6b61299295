/* The DHCP options lwIP 2.1 leaves alone that clouds rely on: 26, the
 * interface MTU (RFC 2132 §5.1; GCE's is 1460), and 121, classless
 * static routes (RFC 3442; OpenStack's route to its metadata server),
 * and the routes' lookup. Portable C on byte buffers: the same file
 * builds into the image and a host test that feeds it hostile options.
 * Addresses are IPv4 in network byte order, as lwIP keeps them. */
#ifndef UMBRA_DHCPOPT_H
#define UMBRA_DHCPOPT_H

#include <stddef.h>
#include <stdint.h>

#define DHCPOPT_PRL 55		/* parameter request list (RFC 2132 §9.8) */
#define DHCPOPT_MTU 26
#define DHCPOPT_ROUTES 121
#define DHCPOPT_PAD 0
#define DHCPOPT_END 255
#define DHCPOPT_MTU_MIN 576	/* smaller ones are not taken */
#define DHCPOPT_ROUTES_MAX 16	/* routes kept from one option */

enum dhcpopt_err {
	DHCPOPT_ERR_LENGTH = -801,	/* the option's length is wrong */
	DHCPOPT_ERR_WIDTH = -802,	/* a route's prefix is over 32 */
	DHCPOPT_ERR_TRUNCATED = -803,	/* a route runs past the option */
	DHCPOPT_ERR_TOO_MANY = -804,	/* more than DHCPOPT_ROUTES_MAX */
	DHCPOPT_ERR_VALUE = -805,	/* an MTU below DHCPOPT_MTU_MIN */
};

struct dhcp_route {
	uint32_t dest;		/* the network, its host bits zero */
	uint32_t gw;		/* 0: on the link (no router) */
	uint8_t prefix;		/* 0..32 */
};

/* Adds the codes add[0..n) that are not in it yet to the option-55 list
 * among the options opts[0..*len) (a list of options without the end
 * mark, as lwIP has written them when its append hook runs), moving
 * what follows the list; the buffer holds cap bytes. Returns how many
 * codes it added: 0 too when there is no list, no room, or the list
 * would pass 255 bytes. */
int dhcpopt_request(uint8_t *opts, size_t *len, size_t cap,
		    const uint8_t *add, size_t n);

/* Option 26's value v[0..len): the MTU, or DHCPOPT_ERR_LENGTH /
 * DHCPOPT_ERR_VALUE. */
long dhcpopt_mtu(const uint8_t *v, size_t len);

/* Option 121's value v[0..len) (every instance of it in the message,
 * concatenated: RFC 3396) into out (DHCPOPT_ROUTES_MAX entries): how
 * many routes, or a negative DHCPOPT_ERR_* for an option to be ignored
 * whole (RFC 3442: a malformed one is not used at all). */
int dhcpopt_routes(const uint8_t *v, size_t len, struct dhcp_route *out);

/* The route of the longest prefix among r[0..n) that holds dest,
 * skipping default routes (prefix 0: those are the gateway): its index,
 * or -1. */
int dhcpopt_lookup(const struct dhcp_route *r, unsigned n, uint32_t dest);

#endif
