/* libFuzzer target: what a cloud's metadata server and DHCP server send.
 * The first byte picks the reader: an HTTP response fed in pieces
 * (hresp.c), a JSON document (jstr.c), base64 (b64.c), DHCP option
 * 121's routes and the parameter request list (dhcpopt.c). Each must
 * keep within its bounds and its promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/cloud/b64.h"
#include "../../app/cloud/hresp.h"
#include "../../app/cloud/jstr.h"
#include "../../app/net/dhcpopt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void response(const uint8_t *d, size_t n)
{
	struct hresp r;
	size_t step = n ? 1 + d[0] % 64 : 1, max = 300;
	hresp_init(&r, max, 0);
	int st = HRESP_MORE;
	for (size_t i = 1; i < n && st == HRESP_MORE; i += step)
		st = hresp_feed(&r, (const char *)d + i,
				n - i < step ? n - i : step);
	if (st == HRESP_MORE)
		st = hresp_eof(&r);
	if (r.body_len > max || (st == HRESP_DONE && r.status < 200))
		abort();
	char v[32];
	hresp_field(&r, "Content-Length", v, sizeof(v));
	hresp_free(&r);
}

static void json(const uint8_t *d, size_t n)
{
	char out[64];
	long k = jstr_get((const char *)d, n, "metadata.user_data", out,
			  sizeof(out));
	if (k >= (long)sizeof(out) || (k >= 0 && out[k]))
		abort();
}

static void base64(const uint8_t *d, size_t n)
{
	unsigned char *out = malloc(n ? n : 1);
	long k = b64_decode((const char *)d, n, out);
	if (k > (long)(n / 4 * 3 + 2))
		abort();
	free(out);
}

static void options(const uint8_t *d, size_t n)
{
	struct dhcp_route r[DHCPOPT_ROUTES_MAX];
	int k = dhcpopt_routes(d, n, r);
	if (k > DHCPOPT_ROUTES_MAX)
		abort();
	for (int i = 0; i < k; i++)
		if (r[i].prefix > 32)
			abort();
	uint8_t o[68];
	size_t len = n < sizeof(o) ? n : sizeof(o);
	static const uint8_t want[] = { 26, 121 };
	memcpy(o, d, len);
	dhcpopt_request(o, &len, sizeof(o), want, sizeof(want));
	if (len > sizeof(o))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);	/* exactly: ASan sees past it */
	switch (data[0] % 4) {
	case 0: response(copy, size - 1); break;
	case 1: json(copy, size - 1); break;
	case 2: base64(copy, size - 1); break;
	default: options(copy, size - 1); break;
	}
	free(copy);
	return 0;
}
