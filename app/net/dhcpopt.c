/* DHCP options 26 and 121; see dhcpopt.h. */
#include "dhcpopt.h"

#include <string.h>

/* Where option `code` starts among opts[0..len) (RFC 2132 §2: code,
 * length, value; pad is one byte), or -1 (also for a list that runs
 * past len). */
static long find(const uint8_t *opts, size_t len, uint8_t code)
{
	size_t i = 0;
	while (i < len && opts[i] != DHCPOPT_END) {
		if (opts[i] == DHCPOPT_PAD) {
			i++;
			continue;
		}
		if (i + 1 >= len || i + 2 + opts[i + 1] > len)
			return -1;
		if (opts[i] == code)
			return (long)i;
		i += 2u + opts[i + 1];
	}
	return -1;
}

int dhcpopt_request(uint8_t *opts, size_t *len, size_t cap,
		    const uint8_t *add, size_t n)
{
	long at = find(opts, *len, DHCPOPT_PRL);
	if (at < 0 || *len > cap)
		return 0;
	size_t start = (size_t)at + 2, have = opts[at + 1];
	int added = 0;
	for (size_t k = 0; k < n; k++) {
		if (memchr(opts + start, add[k], have))
			continue;
		if (have == 255 || *len + 1 > cap)
			break;
		size_t end = start + have;	/* the list's end */
		memmove(opts + end + 1, opts + end, *len - end);
		opts[end] = add[k];
		opts[at + 1] = (uint8_t)++have;
		(*len)++;
		added++;
	}
	return added;
}

long dhcpopt_mtu(const uint8_t *v, size_t len)
{
	if (len != 2)
		return DHCPOPT_ERR_LENGTH;
	long mtu = (long)v[0] << 8 | v[1];
	return mtu < DHCPOPT_MTU_MIN ? DHCPOPT_ERR_VALUE : mtu;
}

/* A prefix length as a mask in network byte order. */
static uint32_t mask_of(unsigned prefix)
{
	uint32_t m = prefix ? ~0u << (32 - prefix) : 0;
	uint8_t b[4] = { (uint8_t)(m >> 24), (uint8_t)(m >> 16),
			 (uint8_t)(m >> 8), (uint8_t)m };
	uint32_t out;
	memcpy(&out, b, 4);
	return out;
}

/* RFC 3442 §2: each route is a width (0..32), the destination's
 * significant octets (width rounded up to bytes), then the router. */
int dhcpopt_routes(const uint8_t *v, size_t len, struct dhcp_route *out)
{
	int n = 0;
	size_t i = 0;
	while (i < len) {
		unsigned width = v[i++];
		if (width > 32)
			return DHCPOPT_ERR_WIDTH;
		size_t octets = (width + 7) / 8;
		if (len - i < octets + 4)
			return DHCPOPT_ERR_TRUNCATED;
		if (n == DHCPOPT_ROUTES_MAX)
			return DHCPOPT_ERR_TOO_MANY;
		uint8_t d[4] = { 0, 0, 0, 0 };
		memcpy(d, v + i, octets);
		i += octets;
		memcpy(&out[n].dest, d, 4);
		out[n].dest &= mask_of(width);	/* stray host bits */
		memcpy(&out[n].gw, v + i, 4);
		i += 4;
		out[n].prefix = (uint8_t)width;
		n++;
	}
	return n;
}

int dhcpopt_lookup(const struct dhcp_route *r, unsigned n, uint32_t dest)
{
	int best = -1;
	for (unsigned i = 0; i < n; i++) {
		if (!r[i].prefix || (dest & mask_of(r[i].prefix)) != r[i].dest)
			continue;
		if (best < 0 || r[i].prefix > r[best].prefix)
			best = (int)i;
	}
	return best;
}
