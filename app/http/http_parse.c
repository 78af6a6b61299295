/* HTTP/1.1 request parsing; see http_parse.h. Section numbers are RFC
 * 9112's (message syntax) unless they name RFC 9110 (semantics). */
#include "http_parse.h"

#include <string.h>

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive: a[0..n) equals the lower-case word w. */
static int word_is(const char *a, size_t n, const char *w)
{
	size_t i = 0;
	for (; i < n && w[i]; i++)
		if (lower((unsigned char)a[i]) != w[i])
			return 0;
	return i == n && !w[i];
}

static int starts_with(const char *s, const char *w)
{
	return word_is(s, strlen(w) <= strlen(s) ? strlen(w) : strlen(s), w);
}

/* RFC 9110 §5.6.2 tchar */
static int tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Skips the empty lines a request may start with (§2.2). */
static size_t skip_blanks(const char *buf, size_t len)
{
	size_t i = 0;
	for (int k = 0; k < HTTP_BLANKS_MAX; k++) {
		if (i < len && buf[i] == '\n')
			i++;
		else if (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
			i += 2;
		else
			break;
	}
	return i;
}

size_t http_head_end(const char *buf, size_t len)
{
	for (size_t i = skip_blanks(buf, len); i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int http_head_limit(const char *buf, size_t len)
{
	const char *cr = buf;
	while ((cr = memchr(cr, '\r', len - (size_t)(cr - buf))) &&
	       cr + 1 < buf + len) {
		if (cr[1] != '\n')
			return 400;	/* §2.2: a bare CR */
		cr++;
	}
	size_t start = skip_blanks(buf, len);
	const char *nl = memchr(buf + start, '\n', len - start);
	size_t line = nl ? (size_t)(nl - buf) - start : len - start;
	if (line > HTTP_LINE_MAX)
		return 414;
	return len >= HTTP_HEAD_MAX ? 431 : 0;
}

/* The next line of [*p, end), NUL-terminated in place without its CR LF
 * (or bare LF, §2.2). NULL for a NUL or a bare CR in it (400), or when
 * no line is left. */
static char *next_line(char **p, char *end, size_t *n)
{
	char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl)
		return 0;
	char *e = nl > s && nl[-1] == '\r' ? nl - 1 : nl;
	if (memchr(s, 0, (size_t)(e - s)) || memchr(s, '\r', (size_t)(e - s)))
		return 0;
	*e = 0;
	*n = (size_t)(e - s);
	*p = nl + 1;
	return s;
}

static const struct {
	const char *name;
	int method;
} methods[] = {
	{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "PUT", HTTP_PUT },
	{ "DELETE", HTTP_DELETE }, { "MKCOL", HTTP_MKCOL },
};

/* §3: method SP request-target SP HTTP-version. Sets r->method (-1 when
 * the method is a token umbra does not implement: 501 once the rest is
 * known to be well formed). */
static int request_line(char *line, size_t n, struct http_req *r)
{
	if (n > HTTP_LINE_MAX)
		return 414;
	char *sp1 = memchr(line, ' ', n);
	if (!sp1 || sp1 == line)
		return 400;
	*sp1 = 0;
	for (char *m = line; *m; m++)
		if (!tchar((unsigned char)*m))
			return 400;
	r->method = -1;
	for (unsigned i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(line, methods[i].name))	/* case-sensitive */
			r->method = methods[i].method;
	char *t = sp1 + 1, *sp2 = strchr(t, ' ');
	if (!sp2 || sp2 == t)
		return 400;
	*sp2 = 0;
	for (char *c = t; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return 400;
	r->target = t;
	const char *v = sp2 + 1;	/* §2.3 HTTP-version, case-sensitive */
	if (strlen(v) != 8 || strncmp(v, "HTTP/", 5) || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	r->minor = v[7] - '0';
	return 0;
}

/* One element of a comma-separated list at *s (RFC 9110 §5.6.1), its
 * surrounding whitespace dropped: start and length; 0 past the end. */
static int list_item(const char **s, const char **item, size_t *len)
{
	const char *p = *s;
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (!*p)
		return 0;
	const char *e = strchr(p, ',');
	if (!e)
		e = p + strlen(p);
	*s = e;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*item = p;
	*len = (size_t)(e - p);
	return 1;
}

struct fields {
	int hosts, lengths, codings, close, keep_alive;
};

/* §6.3, RFC 9110 §8.6: 1*DIGIT; repeated only with the same value. */
static int content_length(const char *v, struct http_req *r,
			  struct fields *f)
{
	uint64_t n = 0;
	size_t digits = strlen(v);
	if (!digits || digits > 18)
		return 400;
	for (const char *c = v; *c; c++) {
		if (*c < '0' || *c > '9')
			return 400;
		n = n * 10 + (uint64_t)(*c - '0');
	}
	if (f->lengths++ && n != r->length)
		return 400;
	r->length = n;
	return 0;
}

/* §6.1: chunked, and only chunked, is understood; it must come last. */
static int transfer_coding(const char *v, struct http_req *r,
			   struct fields *f)
{
	const char *item, *last = 0;
	size_t len, last_len = 0, n = 0;
	if (f->codings++)
		return 400;	/* chunked twice, or a second list */
	while (list_item(&v, &item, &len)) {
		last = item;
		last_len = len;
		n++;
	}
	if (!last || !word_is(last, last_len, "chunked"))
		return 400;	/* the length cannot be known */
	if (n > 1)
		return 501;	/* a coding before chunked */
	r->chunked = 1;
	return 0;
}

static int connection(const char *v, struct fields *f)
{
	const char *item;
	size_t len;
	while (list_item(&v, &item, &len)) {
		if (word_is(item, len, "close"))
			f->close = 1;
		else if (word_is(item, len, "keep-alive"))
			f->keep_alive = 1;
	}
	return 0;
}

/* §3.2: the authority's characters (RFC 3986 §3.2), nothing else. */
static int host_ok(const char *v)
{
	for (; *v; v++)
		if (!tchar((unsigned char)*v) && !strchr(":[]@!$&'()*+,;=",
							 *v))
			return 0;
	return 1;
}

static int accept_json(const char *v)
{
	const char *item;
	size_t len;
	while (list_item(&v, &item, &len))
		if (len >= 16 && word_is(item, 16, "application/json"))
			return 1;
	return 0;
}

/* One field line (§5): name ":" OWS value OWS. */
static int field(char *line, struct http_req *r, struct fields *f)
{
	if (*line == ' ' || *line == '\t')
		return 400;	/* §5.2 obs-fold */
	char *colon = strchr(line, ':');
	if (!colon || colon == line)
		return 400;
	for (char *c = line; c < colon; c++)
		if (!tchar((unsigned char)*c))
			return 400;	/* §5.1: no space before ':' */
	size_t nlen = (size_t)(colon - line);
	char *v = colon + 1, *e = v + strlen(v);
	while (*v == ' ' || *v == '\t')
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = 0;
	for (char *c = v; *c; c++)	/* §5.5: no controls but HTAB */
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
			return 400;
	if (word_is(line, nlen, "host"))
		return f->hosts++ || !host_ok(v) ? 400 : 0;
	if (word_is(line, nlen, "content-length"))
		return content_length(v, r, f);
	if (word_is(line, nlen, "transfer-encoding"))
		return transfer_coding(v, r, f);
	if (word_is(line, nlen, "connection"))
		return connection(v, f);
	if (word_is(line, nlen, "expect")) {
		if (!word_is(v, strlen(v), "100-continue"))
			return 417;	/* RFC 9110 §10.1.1 */
		r->expect_continue = 1;
	} else if (word_is(line, nlen, "accept")) {
		r->wants_json |= accept_json(v);
	} else if (word_is(line, nlen, "if-none-match")) {
		r->if_none_match = v;
	} else if (word_is(line, nlen, "range")) {
		r->range = v;
	} else if (word_is(line, nlen, "if-range")) {
		r->if_range = v;
	} else if (word_is(line, nlen, "authorization")) {
		r->authorization = v;
	} else if (word_is(line, nlen, "content-range")) {
		r->content_range = v;
	}
	return 0;
}

int http_parse(char *buf, size_t len, struct http_req *r)
{
	struct fields f = { 0 };
	memset(r, 0, sizeof(*r));
	char *p = buf + skip_blanks(buf, len), *end = buf + len;
	size_t n;
	char *line = next_line(&p, end, &n);
	if (!line)
		return 400;
	int st = request_line(line, n, r);
	if (st)
		return st;
	unsigned count = 0;
	while ((line = next_line(&p, end, &n)) && n) {
		if (++count > HTTP_FIELDS_MAX)
			return 431;
		if ((st = field(line, r, &f)))
			return st;
	}
	if (!line)
		return 400;	/* a NUL or bare CR, or no empty line */
	if (r->minor >= 1 && f.hosts != 1)
		return 400;	/* §3.2 */
	if (r->chunked && (f.lengths || r->minor < 1))
		return 400;	/* §6.1, §6.3: framing in doubt */
	r->length_given = f.lengths > 0;
	r->has_body = r->chunked || r->length > 0;
	r->keep_alive = !f.close && (r->minor >= 1 || f.keep_alive);
	if (r->method < 0)
		return 501;	/* RFC 9110 §9.1 */
	return http_path(r->target, r->path, &r->trailing_slash);
}

/* The length of s's start that holds none of set. */
static size_t until(const char *s, const char *set)
{
	size_t n = 0;
	while (s[n] && !strchr(set, s[n]))
		n++;
	return n;
}

/* Appends segment seg[0..n) (decoded) to out at *o, or an error. */
static int add_segment(const char *seg, size_t n, char *out, size_t *o)
{
	if (!n || (n == 1 && seg[0] == '.'))
		return 0;
	if (n == 2 && seg[0] == '.' && seg[1] == '.')
		return 400;	/* traversal: refused, not resolved */
	if (*o + 1 + n > HTTP_PATH_MAX)
		return 414;
	out[(*o)++] = '/';
	memcpy(out + *o, seg, n);
	*o += n;
	return 0;
}

int http_path(const char *t, char *out, int *trailing_slash)
{
	char seg[HTTP_PATH_MAX + 1];
	size_t o = 0, s = 0;
	if (starts_with(t, "http://") || starts_with(t, "https://")) {
		t = strchr(t, '/') + 2;	/* §3.2.2 absolute-form */
		t += until(t, "/?#");
		if (*t != '/')
			t = "/";
	}
	if (*t != '/')
		return 400;	/* asterisk- or authority-form */
	size_t end = until(t, "?#");
	*trailing_slash = end > 1 && t[end - 1] == '/';
	for (size_t i = 0; i <= end; i++) {
		int c = (unsigned char)t[i];
		if (i == end || c == '/') {
			int st = add_segment(seg, s, out, &o);
			if (st)
				return st;
			s = 0;
			continue;
		}
		if (c == '%') {
			int hi = i + 2 < end ? hexval(t[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(t[i + 2]) : -1;
			if (lo < 0)
				return 400;
			c = hi << 4 | lo;
			i += 2;
			if (c == '/')
				return 400;	/* a "/" inside a name */
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return 400;	/* NUL, controls, backslashes */
		if (s == HTTP_PATH_MAX)
			return 414;
		seg[s++] = (char)c;
	}
	if (!o)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

/* Decimal digits at *s into *v: 1, or 0 for none or overflow. */
static int number(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t n = 0;
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return 0;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*v = n;
	return 1;
}

int http_range(const char *range, uint64_t size, uint64_t *first,
	       uint64_t *last)
{
	const char *p = range;
	uint64_t a = 0, b = 0;
	if (!p || !starts_with(p, "bytes=") || strchr(p, ','))
		return 0;	/* not bytes, or several: ignored */
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '-') {	/* suffix-range */
		p++;
		if (!number(&p, &b))
			return 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p)
			return 0;
		if (!b || !size)
			return -1;
		*first = size - (b < size ? b : size);
		*last = size - 1;
		return 1;
	}
	if (!number(&p, &a) || *p++ != '-')
		return 0;
	int open = !number(&p, &b);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p || (!open && b < a))
		return 0;	/* §14.1.1: invalid, so ignored */
	if (a >= size)
		return -1;
	*first = a;
	*last = open || b >= size ? size - 1 : b;
	return 1;
}

int http_etag_match(const char *list, const char *etag)
{
	const char *p = list;
	size_t n = strlen(etag);
	if (!p)
		return 0;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return 0;
		const char *q = strchr(p + 1, '"');
		if (!q)
			return 0;
		if ((size_t)(q + 1 - p) == n && !memcmp(p, etag, n))
			return 1;
		p = q + 1;
	}
	return 0;
}

int http_bearer_ok(const char *auth, const char *want)
{
	if (!auth || !want || !starts_with(auth, "bearer ") || !*want)
		return 0;
	const char *g = auth + 7;
	while (*g == ' ')
		g++;
	size_t glen = strlen(g), wlen = strlen(want);
	while (glen && g[glen - 1] == ' ')
		glen--;
	/* Every byte of want is looked at, whatever was given. */
	unsigned diff = glen != wlen;
	for (size_t i = 0; i < wlen; i++)
		diff |= (unsigned char)want[i] ^
			(unsigned char)(i < glen ? g[i] : 0);
	return diff == 0;
}

static void put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10 % 10);
	o[1] = (char)('0' + v % 10);
}

void http_date(uint64_t t, char out[30])
{
	static const char wd[] = "ThuFriSatSunMonTueWed";	/* from 1970-01-01 */
	static const char mo[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	uint64_t days = t / 86400, s = t % 86400;
	/* The proleptic Gregorian date of a day count (eras of 400 years,
	 * the year starting in March). */
	uint64_t z = days + 719468, era = z / 146097, doe = z % 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	uint64_t m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
	if (y > 9999)
		y = 9999;
	memcpy(out, wd + 3 * (days % 7), 3);
	memcpy(out + 3, ", ", 2);
	put2(out + 5, (unsigned)d);
	out[7] = ' ';
	memcpy(out + 8, mo + 3 * (m - 1), 3);
	out[11] = ' ';
	put2(out + 12, (unsigned)(y / 100));
	put2(out + 14, (unsigned)(y % 100));
	out[16] = ' ';
	put2(out + 17, (unsigned)(s / 3600));
	out[19] = ':';
	put2(out + 20, (unsigned)(s / 60 % 60));
	out[22] = ':';
	put2(out + 23, (unsigned)(s % 60));
	memcpy(out + 25, " GMT", 5);
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

const char *http_mime(const char *name)
{
	static const char *const types[][2] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "md", "text/markdown; charset=utf-8" },
		{ "css", "text/css" },
		{ "js", "text/javascript" },
		{ "json", "application/json" },
		{ "xml", "application/xml" },
		{ "csv", "text/csv" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "svg", "image/svg+xml" },
		{ "ico", "image/vnd.microsoft.icon" },
		{ "webp", "image/webp" },
		{ "pdf", "application/pdf" },
		{ "wasm", "application/wasm" },
		{ "zip", "application/zip" },
		{ "gz", "application/gzip" },
		{ "tar", "application/x-tar" },
		{ "mp4", "video/mp4" },
		{ "woff2", "font/woff2" },
	};
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash : name, '.');
	if (dot && dot[1])
		for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (word_is(dot + 1, strlen(dot + 1), types[i][0]))
				return types[i][1];
	return "application/octet-stream";
}

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
	int h = hexval(ch);
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
			size_t k = len - i < c->left ? len - i : (size_t)c->left;
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
