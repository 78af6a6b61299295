/* HTTP/1.1 request parsing; see http_parse.h. Section numbers are RFC
 * 9112's (message syntax) unless they name RFC 9110 (semantics). The
 * values of single fields are parsed in http_fields.c, the chunked
 * coding in http_chunked.c. */
#include "http_parse.h"

#include <string.h>

#include "http_chars.h"

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

const char *http_method_name(int method)
{
	for (unsigned i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == method)
			return methods[i].name;
	return "-";
}

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
		if (!http_tchar((unsigned char)*m))
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
	int hosts, lengths, codings, close, keep_alive, auths;
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
	if (!last || !http_word_is(last, last_len, "chunked"))
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
		if (http_word_is(item, len, "close"))
			f->close = 1;
		else if (http_word_is(item, len, "keep-alive"))
			f->keep_alive = 1;
	}
	return 0;
}

/* §3.2: the authority's characters (RFC 3986 §3.2), nothing else. */
static int host_ok(const char *v)
{
	for (; *v; v++)
		if (!http_tchar((unsigned char)*v) && !strchr(":[]@!$&'()*+,;=",
							 *v))
			return 0;
	return 1;
}

static int accept_json(const char *v)
{
	const char *item;
	size_t len;
	while (list_item(&v, &item, &len))
		if (len >= 16 && http_word_is(item, 16, "application/json"))
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
		if (!http_tchar((unsigned char)*c))
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
	if (http_word_is(line, nlen, "host"))
		return f->hosts++ || !host_ok(v) ? 400 : 0;
	if (http_word_is(line, nlen, "content-length"))
		return content_length(v, r, f);
	if (http_word_is(line, nlen, "transfer-encoding"))
		return transfer_coding(v, r, f);
	if (http_word_is(line, nlen, "connection"))
		return connection(v, f);
	if (http_word_is(line, nlen, "expect")) {
		if (!http_word_is(v, strlen(v), "100-continue"))
			return 417;	/* RFC 9110 §10.1.1 */
		r->expect_continue = 1;
	} else if (http_word_is(line, nlen, "accept")) {
		r->wants_json |= accept_json(v);
	} else if (http_word_is(line, nlen, "if-none-match")) {
		r->if_none_match = v;
	} else if (http_word_is(line, nlen, "range")) {
		r->range = v;
	} else if (http_word_is(line, nlen, "if-range")) {
		r->if_range = v;
	} else if (http_word_is(line, nlen, "authorization")) {
		if (f->auths++)
			return 400;	/* RFC 9110 §5.3: not a list */
		r->authorization = v;
	} else if (http_word_is(line, nlen, "content-range")) {
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
	if (http_starts_with(t, "http://") || http_starts_with(t, "https://")) {
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
			int hi = i + 2 < end ? http_hexval(t[i + 1]) : -1;
			int lo = hi >= 0 ? http_hexval(t[i + 2]) : -1;
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
