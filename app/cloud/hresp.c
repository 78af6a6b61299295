/* An HTTP/1.1 response, incrementally; see hresp.h. Section numbers are
 * RFC 9112's unless they name RFC 9110. */
#include "hresp.h"

#include <stdlib.h>
#include <string.h>

enum { S_HEAD, S_BODY, S_DONE, S_ERROR };

void hresp_init(struct hresp *r, size_t body_max, int head_only)
{
	memset(r, 0, sizeof(*r));
	r->body_max = body_max;
	r->head_only = head_only;
	http_chunked_init(&r->ck);
}

void hresp_free(struct hresp *r)
{
	free(r->body);
	r->body = 0;
	r->body_len = r->body_cap = 0;
}

const char *hresp_strerror(int err)
{
	switch (err) {
	case HRESP_ERR_HEAD: return "a malformed response head";
	case HRESP_ERR_HEAD_SIZE: return "a response head over 8 KiB";
	case HRESP_ERR_TOO_BIG: return "a body over the limit";
	case HRESP_ERR_FRAMING: return "a malformed body length or chunk";
	case HRESP_ERR_TRUNCATED: return "closed before the body's end";
	case HRESP_ERR_NOMEM: return "out of memory";
	default: return "unknown error";
	}
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* a[0..n) equals w, ignoring case. */
static int word_is(const char *a, size_t n, const char *w)
{
	if (strlen(w) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)w[i]))
			return 0;
	return 1;
}

const char *hresp_field(const struct hresp *r, const char *name, char *out,
			size_t size)
{
	const char *p = strchr(r->head, '\n');	/* past the status line */
	while (p && *++p) {
		const char *nl = strchr(p, '\n'), *colon = strchr(p, ':');
		const char *end = nl ? nl : p + strlen(p);
		if (colon && colon < end && word_is(p, (size_t)(colon - p),
						    name)) {
			const char *v = colon + 1;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' ' ||
					   end[-1] == '\t'))
				end--;
			size_t n = (size_t)(end - v);
			if (n > size - 1)
				n = size - 1;
			memcpy(out, v, n);
			out[n] = 0;
			return out;
		}
		p = nl;
	}
	return 0;
}

/* §4: HTTP-version SP 3DIGIT SP [reason]. */
static int status_line(struct hresp *r)
{
	const char *h = r->head;
	if (strncmp(h, "HTTP/1.", 7) || h[7] < '0' || h[7] > '9' ||
	    h[8] != ' ')
		return HRESP_ERR_HEAD;
	int st = 0;
	for (int i = 9; i < 12; i++) {
		if (h[i] < '0' || h[i] > '9')
			return HRESP_ERR_HEAD;
		st = st * 10 + (h[i] - '0');
	}
	if (st < 100 || (h[12] != ' ' && h[12] != '\r' && h[12] != '\n'))
		return HRESP_ERR_HEAD;
	r->status = st;
	return 0;
}

/* §6.3: chunked wins over a length; a length must be one decimal number
 * (the same repeated is allowed). */
static int framing(struct hresp *r)
{
	char v[64];
	if (hresp_field(r, "Transfer-Encoding", v, sizeof(v))) {
		size_t n = strlen(v);
		if (n < 7 || !word_is(v + n - 7, 7, "chunked"))
			return HRESP_ERR_FRAMING;	/* §6.3 item 4 */
		r->chunked = 1;
		return 0;
	}
	if (!hresp_field(r, "Content-Length", v, sizeof(v)))
		return 0;
	uint64_t len = 0;
	size_t digits = 0;
	for (const char *c = v; *c && *c != ','; c++, digits++) {
		if (*c < '0' || *c > '9' || digits >= 19)
			return HRESP_ERR_FRAMING;
		len = len * 10 + (uint64_t)(*c - '0');
	}
	if (!digits)
		return HRESP_ERR_FRAMING;
	r->has_length = 1;
	r->length = len;
	return len > r->body_max ? HRESP_ERR_TOO_BIG : 0;
}

/* The head in r->head is complete: what comes next. */
static int head_done(struct hresp *r)
{
	int err = status_line(r);
	if (!err && memchr(r->head, 0, r->head_len))
		err = HRESP_ERR_HEAD;
	if (err)
		return err;
	if (r->status < 200) {	/* interim (RFC 9110 §15.2): skip it */
		if (++r->interim > HRESP_INTERIM_MAX || r->status == 101)
			return HRESP_ERR_HEAD;
		r->head_len = 0;
		return HRESP_MORE;
	}
	err = framing(r);
	if (err)
		return err;
	/* §6.3 item 1: no body after HEAD, 204 or 304 */
	if (r->head_only || r->status == 204 || r->status == 304 ||
	    (r->has_length && !r->length))
		return HRESP_DONE;
	r->state = S_BODY;
	return HRESP_MORE;
}

static int keep(struct hresp *r, const char *d, size_t n)
{
	if (!n)
		return 0;
	if (n > r->body_max - r->body_len)
		return HRESP_ERR_TOO_BIG;
	if (r->body_len + n > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		while (cap < r->body_len + n)
			cap *= 2;
		if (cap > r->body_max)
			cap = r->body_max;
		char *b = realloc(r->body, cap + 1);
		if (!b)
			return HRESP_ERR_NOMEM;
		r->body = b;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, d, n);
	r->body_len += n;
	r->body[r->body_len] = 0;
	return 0;
}

/* Body bytes: how many of n it took, or an error. */
static long body(struct hresp *r, const char *d, size_t n)
{
	if (r->chunked) {
		char buf[512];
		size_t take = n < sizeof(buf) ? n : sizeof(buf);
		int done = 0;
		memcpy(buf, d, take);
		long got = http_chunked_feed(&r->ck, buf, &take, &done,
					     r->body_max - r->body_len);
		if (got == -2)
			return HRESP_ERR_TOO_BIG;
		if (got < 0)
			return HRESP_ERR_FRAMING;
		int err = keep(r, buf, (size_t)got);
		if (err)
			return err;
		if (done)
			r->state = S_DONE;
		return (long)take;
	}
	size_t take = n;
	if (r->has_length && take > r->length - r->body_len)
		take = (size_t)(r->length - r->body_len);
	int err = keep(r, d, take);
	if (err)
		return err;
	if (r->has_length && r->body_len == r->length)
		r->state = S_DONE;
	return (long)take;
}

static int fail(struct hresp *r, int err)
{
	r->state = S_ERROR;
	r->err = err;
	return err;
}

/* The head ends with an empty line (CR LF CR LF, or bare LFs: §2.2):
 * looked for at its end only, as each byte comes. */
static int head_ended(const struct hresp *r)
{
	const char *h = r->head;
	size_t n = r->head_len;
	return (n >= 2 && h[n - 1] == '\n' && h[n - 2] == '\n') ||
	       (n >= 3 && h[n - 1] == '\n' && h[n - 2] == '\r' &&
		h[n - 3] == '\n');
}

int hresp_feed(struct hresp *r, const char *data, size_t n)
{
	size_t i = 0;
	if (r->state == S_ERROR)
		return r->err;
	while (i < n && r->state != S_DONE) {
		if (r->state == S_BODY) {
			long took = body(r, data + i, n - i);
			if (took < 0)
				return fail(r, (int)took);
			i += (size_t)took;
			continue;
		}
		if (r->head_len == HRESP_HEAD_MAX)
			return fail(r, HRESP_ERR_HEAD_SIZE);
		r->head[r->head_len++] = data[i++];
		r->head[r->head_len] = 0;
		if (!head_ended(r))
			continue;
		int st = head_done(r);
		if (st < 0)
			return fail(r, st);
		if (st == HRESP_DONE)
			r->state = S_DONE;
	}
	return r->state == S_DONE ? HRESP_DONE : HRESP_MORE;
}

int hresp_eof(struct hresp *r)
{
	if (r->state == S_ERROR)
		return r->err;
	if (r->state == S_BODY && !r->chunked && !r->has_length)
		r->state = S_DONE;	/* §6.3 item 8: the close ends it */
	if (r->state == S_DONE)
		return HRESP_DONE;
	return fail(r, HRESP_ERR_TRUNCATED);
}
