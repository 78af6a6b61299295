/* Base64; see b64.h. */
#include "b64.h"

static int value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

long b64_decode(const char *in, size_t n, unsigned char *out)
{
	size_t o = 0;
	unsigned acc = 0, have = 0, pad = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (blank(c))
			continue;
		if (c == '=') {	/* §3.2: only at the end of the last group */
			if (have < 2 || ++pad + have > 4)
				return B64_ERR_PAD;
			continue;
		}
		int v = value(c);
		if (v < 0)
			return B64_ERR_CHAR;
		if (pad)	/* data after padding */
			return B64_ERR_PAD;
		acc = acc << 6 | (unsigned)v;
		if (++have == 4) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			acc = have = 0;
		}
	}
	if (pad && have + pad != 4)
		return B64_ERR_PAD;
	if (have == 1)		/* 6 bits make no byte */
		return B64_ERR_PAD;
	if (have >= 2) {	/* the last group: 2 or 3 characters */
		acc <<= 6 * (4 - have);
		out[o++] = (unsigned char)(acc >> 16);
		if (have == 3)
			out[o++] = (unsigned char)(acc >> 8);
	}
	return (long)o;
}
