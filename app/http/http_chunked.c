/* The chunked transfer coding, decoded incrementally (RFC 9112 §7.1);
 * see http_parse.h. */
#include "http_parse.h"

#include <string.h>

#include "http_chars.h"

enum { C_SIZE, C_EXT, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF, C_TRAILER,
       C_TRAILER_LINE, C_END_LF, C_DONE };

void http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
}

/* One byte of the framing (not chunk data): 0, or -1 when malformed. */
static int chunk_byte(struct http_chunked *c, int ch, uint64_t *total,
		      uint64_t max)
{
	int h = http_hexval(ch);
	switch (c->state) {
	case C_SIZE:
		if (h >= 0) {
			if (++c->digits > 15)
				return -1;
			c->left = c->left << 4 | (uint64_t)h;
			return 0;
		}
		if (!c->digits)
			return -1;
		if (c->left > max - *total)
			return -2;
		c->state = C_EXT;
		c->line = 0;
		return chunk_byte(c, ch, total, max);
	case C_EXT:	/* chunk extensions: ignored (§7.1.1) */
		if (ch == '\r' || ch == '\n') {
			c->state = ch == '\r' ? C_SIZE_LF : c->left ? C_DATA
								   : C_TRAILER;
			return 0;
		}
		return ++c->line > HTTP_LINE_MAX ||
		       (ch < 0x20 && ch != '\t') || ch == 0x7f ? -1 : 0;
	case C_SIZE_LF:
		if (ch != '\n')
			return -1;
		c->state = c->left ? C_DATA : C_TRAILER;
		return 0;
	case C_DATA_CR:
		if (ch == '\r') {
			c->state = C_DATA_LF;
			return 0;
		}
		/* fall through: a bare LF ends the data too (§2.2) */
	case C_DATA_LF:
		if (ch != '\n')
			return -1;
		c->state = C_SIZE;
		c->digits = 0;
		c->left = 0;
		return 0;
	case C_TRAILER:	/* trailer fields: ignored (§7.1.2) */
		c->line = 0;
		c->state = ch == '\r' ? C_END_LF : ch == '\n' ? C_DONE
							    : C_TRAILER_LINE;
		return 0;
	case C_END_LF:
		if (ch != '\n')
			return -1;
		c->state = C_DONE;
		return 0;
	case C_TRAILER_LINE:
		if (ch == '\n')
			c->state = C_TRAILER;
		return ++c->line > HTTP_LINE_MAX ||
		       (ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n')
		       ? -1 : 0;
	default:
		return -1;
	}
}

long http_chunked_feed(struct http_chunked *c, char *in, size_t *n,
		       int *done, uint64_t max)
{
	size_t i = 0, out = 0, len = *n;
	uint64_t total = 0;	/* data bytes given back by this call */
	while (i < len && c->state != C_DONE) {
		if (c->state == C_DATA) {
			size_t k = len - i;
			if (k > c->left)
				k = (size_t)c->left;
			memmove(in + out, in + i, k);
			out += k;
			i += k;
			c->left -= k;
			total += k;
			if (!c->left)
				c->state = C_DATA_CR;
			continue;
		}
		int st = chunk_byte(c, (unsigned char)in[i], &total, max);
		if (st)
			return st;
		i++;
	}
	*n = i;
	*done = c->state == C_DONE;
	return (long)out;
}
