/* Addresses of either family: text, link-local, and lwIP's ip_addr_t;
 * see inet.h. */
#include "inet.h"

#include <string.h>

#include "lwip/ip_addr.h"

void inet_from_lwip(const ip_addr_t *a, struct inet_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (IP_IS_V6(a)) {
		out->v6 = 1;
		memcpy(out->b, ip_2_ip6(a)->addr, 16);
	} else {
		memcpy(out->b, &ip_2_ip4(a)->addr, 4);
	}
}

void inet_to_lwip(const struct inet_ip *in, ip_addr_t *a)
{
	memset(a, 0, sizeof(*a));
	if (in->v6) {
		IP_SET_TYPE(a, IPADDR_TYPE_V6);
		memcpy(ip_2_ip6(a)->addr, in->b, 16);
	} else {
		IP_SET_TYPE(a, IPADDR_TYPE_V4);
		memcpy(&ip_2_ip4(a)->addr, in->b, 4);
	}
}

void inet_ip_format(const struct inet_ip *ip, char out[INET_IP_STR])
{
	ip_addr_t a;
	inet_to_lwip(ip, &a);
	if (!ipaddr_ntoa_r(&a, out, INET_IP_STR))
		out[0] = 0;
	for (char *c = out; *c; c++)	/* RFC 5952 §4.3: lowercase */
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
}

int inet_ip_parse(const char *s, struct inet_ip *ip)
{
	ip_addr_t a;
	if (strchr(s, ':')) {
		if (!ip6addr_aton(s, ip_2_ip6(&a)))
			return -1;
		IP_SET_TYPE(&a, IPADDR_TYPE_V6);
	} else {
		uint32_t v4;
		if (inet_ip4_parse(s, &v4))
			return -1;
		ip_addr_set_ip4_u32_val(a, v4);
	}
	inet_from_lwip(&a, ip);
	return 0;
}

int inet_ip_linklocal(const struct inet_ip *ip)
{
	return ip->v6 ? ip->b[0] == 0xfe && (ip->b[1] & 0xc0) == 0x80
		      : ip->b[0] == 169 && ip->b[1] == 254;
}
