/* DHCP options 26 and 121 (app/net/dhcpopt.c) on the host, under ASan
 * and UBSan: RFC 3442's own examples, GCE's and OpenStack's routes, the
 * parameter request list extended in place, and hostile option bytes
 * (widths over 32, routes cut short, too many, every byte string of a
 * few bytes, random ones) that must be refused whole and never read or
 * write out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/net/dhcpopt.h"
#include "check.h"

static uint32_t ip(int a, int b, int c, int d)
{
	uint8_t x[4] = { (uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d };
	uint32_t v;
	memcpy(&v, x, 4);
	return v;
}

/* Parses exactly n bytes from a heap copy (ASan sees any overread). */
static int routes(const uint8_t *v, size_t n, struct dhcp_route *out)
{
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, v, n);
	int k = dhcpopt_routes(copy, n, out);
	free(copy);
	return k;
}

static void test_rfc3442(void)
{
	struct dhcp_route r[DHCPOPT_ROUTES_MAX];
	/* §3's examples: 0/0 via 10.0.0.1... as widths 0, 8, 24, 32 */
	static const uint8_t v[] = {
		0, 10, 0, 0, 1,			/* default via 10.0.0.1 */
		8, 10, 10, 17, 0, 5,		/* 10/8 via 10.17.0.5 */
		24, 192, 168, 7, 192, 168, 1, 1,	/* 192.168.7/24 */
		32, 169, 254, 169, 254, 10, 0, 0, 2,	/* the metadata host */
		17, 172, 16, 0x80, 0, 0, 0, 0,	/* 172.16.128/17 on-link */
	};
	CHECK_INT(routes(v, sizeof(v), r), 5);
	CHECK(r[0].prefix == 0 && r[0].dest == 0 && r[0].gw == ip(10, 0, 0, 1));
	CHECK(r[1].prefix == 8 && r[1].dest == ip(10, 0, 0, 0) &&
	      r[1].gw == ip(10, 17, 0, 5));
	CHECK(r[2].prefix == 24 && r[2].dest == ip(192, 168, 7, 0));
	CHECK(r[3].prefix == 32 && r[3].dest == ip(169, 254, 169, 254) &&
	      r[3].gw == ip(10, 0, 0, 2));
	CHECK(r[4].prefix == 17 && r[4].dest == ip(172, 16, 128, 0) &&
	      r[4].gw == 0);
	/* longest prefix wins; the default route is not a route here */
	CHECK_INT(dhcpopt_lookup(r, 5, ip(169, 254, 169, 254)), 3);
	CHECK_INT(dhcpopt_lookup(r, 5, ip(169, 254, 169, 253)), -1);
	CHECK_INT(dhcpopt_lookup(r, 5, ip(10, 1, 2, 3)), 1);
	CHECK_INT(dhcpopt_lookup(r, 5, ip(192, 168, 7, 200)), 2);
	CHECK_INT(dhcpopt_lookup(r, 5, ip(172, 16, 200, 1)), 4);
	CHECK_INT(dhcpopt_lookup(r, 5, ip(172, 16, 127, 1)), -1);
	CHECK_INT(dhcpopt_lookup(r, 5, ip(8, 8, 8, 8)), -1);
	/* a more specific route inside another */
	static const uint8_t w[] = { 8, 10, 1, 1, 1, 1, 16, 10, 5, 2, 2, 2, 2 };
	CHECK_INT(routes(w, sizeof(w), r), 2);
	CHECK_INT(dhcpopt_lookup(r, 2, ip(10, 5, 0, 1)), 1);
	CHECK_INT(dhcpopt_lookup(r, 2, ip(10, 6, 0, 1)), 0);
	/* stray host bits beyond the width are dropped */
	static const uint8_t x[] = { 12, 10, 0xff, 1, 2, 3, 4 };
	CHECK_INT(routes(x, sizeof(x), r), 1);
	CHECK(r[0].dest == ip(10, 0xf0, 0, 0));
	CHECK_INT(routes(x, 0, r), 0);
}

static void test_gce(void)
{
	/* GCE: a /32 lease, its gateway on the link, the default through
	 * it */
	struct dhcp_route r[DHCPOPT_ROUTES_MAX];
	static const uint8_t v[] = { 32, 10, 128, 0, 1, 0, 0, 0, 0,
				     0, 10, 128, 0, 1 };
	CHECK_INT(routes(v, sizeof(v), r), 2);
	CHECK_INT(dhcpopt_lookup(r, 2, ip(10, 128, 0, 1)), 0);
	CHECK(r[0].gw == 0);
	CHECK(r[1].prefix == 0 && r[1].gw == ip(10, 128, 0, 1));
}

static void test_hostile_routes(void)
{
	struct dhcp_route r[DHCPOPT_ROUTES_MAX];
	static const uint8_t wide[] = { 33, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	CHECK_INT(routes(wide, sizeof(wide), r), DHCPOPT_ERR_WIDTH);
	static const uint8_t cut[] = { 24, 10, 0, 0, 10, 0, 0 };
	CHECK_INT(routes(cut, sizeof(cut), r), DHCPOPT_ERR_TRUNCATED);
	static const uint8_t cut2[] = { 0, 10, 0, 0, 1, 8 };
	CHECK_INT(routes(cut2, sizeof(cut2), r), DHCPOPT_ERR_TRUNCATED);
	CHECK_INT(routes(cut2, 1, r), DHCPOPT_ERR_TRUNCATED);
	uint8_t many[5 * (DHCPOPT_ROUTES_MAX + 1)];
	for (size_t i = 0; i < sizeof(many); i += 5) {
		many[i] = 0;
		memset(many + i + 1, 7, 4);
	}
	CHECK_INT(routes(many, sizeof(many) - 5, r), DHCPOPT_ROUTES_MAX);
	CHECK_INT(routes(many, sizeof(many), r), DHCPOPT_ERR_TOO_MANY);
	/* every string of up to 3 bytes, and random ones: a count within
	 * bounds or an error, never a crash */
	uint8_t b[3];
	int bad = 0;
	for (unsigned n = 0; n <= 3; n++)
		for (unsigned v = 0; v < (1u << (8 * n)); v++) {
			for (unsigned k = 0; k < n; k++)
				b[k] = (uint8_t)(v >> (8 * k));
			int got = routes(b, n, r);
			if (got > DHCPOPT_ROUTES_MAX || (got > 0 && n < 5))
				bad++;
		}
	CHECK_INT(bad, 0);
	srand(121);
	for (int i = 0; i < 20000; i++) {
		uint8_t v[255];
		size_t n = (size_t)rand() % sizeof(v);
		for (size_t k = 0; k < n; k++)
			v[k] = (uint8_t)(rand() % 4 ? rand() % 40 : rand());
		int got = routes(v, n, r);
		if (got > DHCPOPT_ROUTES_MAX)
			bad++;
		for (int k = 0; k < got; k++) {	/* the best holds it */
			int at = dhcpopt_lookup(r, (unsigned)got, r[k].dest);
			if (r[k].prefix > 32 || (r[k].prefix &&
			    (at < 0 || r[at].prefix < r[k].prefix)))
				bad++;
		}
	}
	CHECK_INT(bad, 0);
}

static void test_mtu(void)
{
	static const uint8_t gce[] = { 0x05, 0xb4 };	/* 1460 */
	CHECK_INT(dhcpopt_mtu(gce, 2), 1460);
	static const uint8_t jumbo[] = { 0x23, 0x28 };	/* 9000 */
	CHECK_INT(dhcpopt_mtu(jumbo, 2), 9000);
	static const uint8_t tiny[] = { 0, 68 };
	CHECK_INT(dhcpopt_mtu(tiny, 2), DHCPOPT_ERR_VALUE);
	static const uint8_t edge[] = { 0x02, 0x40 };	/* 576 */
	CHECK_INT(dhcpopt_mtu(edge, 2), 576);
	CHECK_INT(dhcpopt_mtu(gce, 1), DHCPOPT_ERR_LENGTH);
	CHECK_INT(dhcpopt_mtu(gce, 0), DHCPOPT_ERR_LENGTH);
	static const uint8_t three[] = { 5, 0xb4, 0 };
	CHECK_INT(dhcpopt_mtu(three, 3), DHCPOPT_ERR_LENGTH);
}

static void test_request(void)
{
	static const uint8_t want[] = { DHCPOPT_MTU, DHCPOPT_ROUTES };
	/* lwIP's DISCOVER: 53, 57, 55 (1 3 28 6), then the hook */
	uint8_t o[68] = { 53, 1, 1, 57, 2, 0x05, 0xdc, 55, 4, 1, 3, 28, 6 };
	size_t len = 13;
	CHECK_INT(dhcpopt_request(o, &len, 67, want, 2), 2);
	CHECK_INT(len, 15);
	static const uint8_t d[] = { 53, 1, 1, 57, 2, 0x05, 0xdc, 55, 6, 1, 3,
				     28, 6, 26, 121 };
	CHECK(!memcmp(o, d, sizeof(d)));
	/* again: nothing twice */
	CHECK_INT(dhcpopt_request(o, &len, 67, want, 2), 0);
	CHECK_INT(len, 15);
	/* lwIP's REQUEST: the hostname after the list moves along */
	uint8_t q[68] = { 53, 1, 3, 50, 4, 10, 0, 2, 15, 55, 3, 1, 3, 6,
			  12, 5, 'u', 'm', 'b', 'r', 'a', 0, 0xee };
	len = 21;
	CHECK_INT(dhcpopt_request(q, &len, 67, want, 2), 2);
	static const uint8_t e[] = { 53, 1, 3, 50, 4, 10, 0, 2, 15, 55, 5, 1, 3,
				     6, 26, 121, 12, 5, 'u', 'm', 'b', 'r', 'a' };
	CHECK_INT(len, 23);
	CHECK(!memcmp(q, e, sizeof(e)));
	/* no room: nothing moves past cap */
	uint8_t f[16] = { 55, 2, 1, 3, 12, 5, 'u', 'm', 'b', 'r', 'a' };
	len = 11;
	CHECK_INT(dhcpopt_request(f, &len, 12, want, 2), 1);
	CHECK_INT(len, 12);
	CHECK_INT(f[1], 3);
	CHECK_INT(f[4], 26);
	/* no list, or a list that runs past the options: left alone */
	uint8_t g[8] = { 53, 1, 1, 12, 1, 'x' };
	len = 6;
	CHECK_INT(dhcpopt_request(g, &len, 8, want, 2), 0);
	uint8_t h[8] = { 53, 1, 1, 55, 9, 1 };
	len = 6;
	CHECK_INT(dhcpopt_request(h, &len, 8, want, 2), 0);
	CHECK_INT(len, 6);
	/* a full list of 255 stays 255 */
	uint8_t *big = calloc(300, 1);
	big[0] = 55;
	big[1] = 255;
	memset(big + 2, 1, 255);
	len = 257;
	CHECK_INT(dhcpopt_request(big, &len, 300, want, 2), 0);
	free(big);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	RUN(test_rfc3442);
	RUN(test_gce);
	RUN(test_hostile_routes);
	RUN(test_mtu);
	RUN(test_request);
	return check_done();
}
