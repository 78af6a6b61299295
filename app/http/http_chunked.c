/* The chunked transfer coding, decoded incrementally (RFC 9112 §7.1);
 * see http_parse.h. The framing is read strictly to the grammar: a
 * chunk size, extensions (§7.1.1) that are well formed although they are
 * ignored, and trailer lines (§7.1.2) that are field lines although they
 * are ignored too. Anything else is 400: a framing that a proxy in front
 * might read another way is how requests are smuggled past it. */
#include "http_parse.h"

#include <string.h>

#include "http_chars.h"

enum {
	C_SIZE,		/* hex digits of the chunk size */
	C_BWS,		/* whitespace after the size or a value: ";" next */
	C_AFTER,	/* after the size or a quoted value: ";", BWS or EOL */
	C_NAME0,	/* after ";": BWS, then an extension's name */
	C_NAME,		/* its name (a token) */
	C_NAME_BWS,	/* whitespace after the name: "=" or ";" next */
	C_VALUE0,	/* after "=": BWS, then a token or a quoted string */
	C_TOKEN,	/* a token value */
	C_QUOTED,	/* inside a quoted string */
	C_QPAIR,	/* after a backslash in it */
	C_SIZE_LF,	/* the size line's CR came: LF */
	C_DATA, C_DATA_CR, C_DATA_LF,
	C_TRAILER,	/* the start of a trailer line, or the final CRLF */
	C_FIELD_NAME,	/* a trailer field's name */
	C_FIELD_VALUE,	/* ... its value */
	C_FIELD_LF,	/* its CR came: LF */
	C_END_LF,	/* the final CR came: LF */
	C_DONE,
};

void http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
}

static int bws(int ch)
{
	return ch == ' ' || ch == '\t';
}

/* RFC 9110 §5.6.4 qdtext, and what may follow a backslash. */
static int qdtext(int ch)
{
	return ch == '\t' || ch == ' ' || ch == 0x21 ||
	       (ch >= 0x23 && ch <= 0x5b) || (ch >= 0x5d && ch <= 0x7e) ||
	       ch >= 0x80;
}

static int quoted_pair_char(int ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* The end of the size line (CR or a bare LF, §2.2): its data next, or
 * the trailer section after the last chunk. */
static int size_line_end(struct http_chunked *c, int ch)
{
	c->state = ch == '\r' ? C_SIZE_LF : c->left ? C_DATA : C_TRAILER;
	return 0;
}

/* One byte of a chunk-size line after the size: the extensions. */
static int ext_byte(struct http_chunked *c, int ch)
{
	int eol = ch == '\r' || ch == '\n';
	switch (c->state) {
	case C_AFTER:
		if (eol)
			return size_line_end(c, ch);
		/* fall through */
	case C_BWS:
		c->state = ch == ';' ? C_NAME0 : bws(ch) ? C_BWS : -1;
		break;
	case C_NAME0:
		c->state = http_tchar(ch) ? C_NAME : bws(ch) ? C_NAME0 : -1;
		break;
	case C_NAME:
		if (eol)
			return size_line_end(c, ch);
		/* fall through */
	case C_NAME_BWS:
		c->state = http_tchar(ch) && c->state == C_NAME ? C_NAME
			 : ch == '=' ? C_VALUE0 : ch == ';' ? C_NAME0
			 : bws(ch) ? C_NAME_BWS : -1;
		break;
	case C_VALUE0:
		c->state = ch == '"' ? C_QUOTED : http_tchar(ch) ? C_TOKEN
			 : bws(ch) ? C_VALUE0 : -1;
		break;
	case C_TOKEN:
		if (eol)
			return size_line_end(c, ch);
		c->state = http_tchar(ch) ? C_TOKEN : ch == ';' ? C_NAME0
			 : bws(ch) ? C_BWS : -1;
		break;
	case C_QUOTED:
		c->state = ch == '"' ? C_AFTER : ch == '\\' ? C_QPAIR
			 : qdtext(ch) ? C_QUOTED : -1;
		break;
	case C_QPAIR:
		c->state = quoted_pair_char(ch) ? C_QUOTED : -1;
		break;
	}
	return c->state < 0 ? -1 : 0;
}

/* One byte of the trailer section: field lines (§5), then an empty line.
 * At most HTTP_FIELDS_MAX of them, as in a head. */
static int trailer_byte(struct http_chunked *c, int ch)
{
	switch (c->state) {
	case C_TRAILER:
		if (ch == '\r' || ch == '\n') {
			c->state = ch == '\r' ? C_END_LF : C_DONE;
			return 0;
		}
		if (!http_tchar(ch) || ++c->fields > HTTP_FIELDS_MAX)
			return -1;	/* obs-fold, or not a name */
		c->state = C_FIELD_NAME;
		return 0;
	case C_FIELD_NAME:
		if (ch == ':')
			c->state = C_FIELD_VALUE;
		return ch == ':' || http_tchar(ch) ? 0 : -1;
	case C_FIELD_VALUE:	/* §5.5: no controls but HTAB */
		if (ch == '\r' || ch == '\n') {
			c->state = ch == '\r' ? C_FIELD_LF : C_TRAILER;
			return 0;
		}
		return (ch < 0x20 && ch != '\t') || ch == 0x7f ? -1 : 0;
	case C_FIELD_LF:
		c->state = C_TRAILER;
		return ch == '\n' ? 0 : -1;
	case C_END_LF:
		c->state = C_DONE;
		return ch == '\n' ? 0 : -1;
	default:
		return -1;
	}
}

/* One byte of the framing (not chunk data): 0, -1 when malformed, -2
 * when the chunk makes the body larger than max. */
static int chunk_byte(struct http_chunked *c, int ch, uint64_t *total,
		      uint64_t max)
{
	if (c->state == C_TRAILER)
		c->line = 0;	/* a new line */
	if (c->state != C_DATA_CR && c->state != C_DATA_LF &&
	    ++c->line > HTTP_LINE_MAX)
		return -1;
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
		c->state = C_AFTER;
		return ext_byte(c, ch);
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
		c->line = 0;
		c->left = 0;
		return 0;
	case C_TRAILER: case C_FIELD_NAME: case C_FIELD_VALUE:
	case C_FIELD_LF: case C_END_LF:
		return trailer_byte(c, ch);
	default:
		return ext_byte(c, ch);
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
