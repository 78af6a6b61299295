/* The JSON writer; see jw.h. RFC 8259: strings escape '"', '\' and the
 * control characters (§7); the text is UTF-8 (§8.1). */
#include "jw.h"

#include <string.h>

void jw_init(struct jw *w, char *buf, size_t size)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->size = size;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (w->full || n > w->size - w->len) {
		w->full = 1;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void putc_(struct jw *w, char c)
{
	put(w, &c, 1);
}

/* Before a value: the comma after the previous one, unless the value
 * follows its key. */
static void value(struct jw *w)
{
	if (!w->depth)
		return;
	uint8_t *n = &w->count[w->depth - 1];
	if (*n & 0x80) {	/* a key was written: this is its value */
		*n &= 0x7f;
		return;
	}
	if (*n)
		put(w, ", ", 2);
	if (*n < 0x7f)
		(*n)++;
}

static void open(struct jw *w, char c, char closer)
{
	value(w);
	putc_(w, c);
	if (w->depth == JW_DEPTH) {
		w->full = 1;	/* deeper than any answer goes */
		return;
	}
	w->closer[w->depth] = closer;
	w->count[w->depth++] = 0;
}

void jw_object(struct jw *w)
{
	open(w, '{', '}');
}

void jw_array(struct jw *w)
{
	open(w, '[', ']');
}

void jw_end(struct jw *w)
{
	if (!w->depth) {
		w->full = 1;
		return;
	}
	putc_(w, w->closer[--w->depth]);
}

size_t jw_utf8_valid(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		uint32_t need, min, cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return i;
		if (n - i <= need)
			return i;
		for (uint32_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += need + 1;
	}
	return n;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	value(w);
	putc_(w, '"');
	size_t i = 0;
	while (i < n) {
		uint8_t c = (uint8_t)s[i];
		if (c >= 0x80) {
			size_t ok = jw_utf8_valid(s + i, n - i);
			if (!ok) {	/* not UTF-8: the replacement char */
				put(w, "\\ufffd", 6);
				i++;
				continue;
			}
			size_t k = i;	/* the valid run of non-ASCII bytes */
			while (k < i + ok && (uint8_t)s[k] >= 0x80)
				k++;
			put(w, s + i, k - i);
			i = k;
			continue;
		}
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			put(w, e, 2);
		} else if (c < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4],
				      hex[c & 15] };
			put(w, e, 6);
		} else {
			putc_(w, (char)c);
		}
		i++;
	}
	putc_(w, '"');
}

void jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

void jw_key(struct jw *w, const char *key)
{
	jw_str(w, key);
	put(w, ": ", 2);
	if (w->depth)
		w->count[w->depth - 1] |= 0x80;
}

static void digits(struct jw *w, uint64_t v)
{
	char b[20];
	int n = 0;
	do
		b[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		putc_(w, b[--n]);
}

void jw_uint(struct jw *w, uint64_t v)
{
	value(w);
	digits(w, v);
}

void jw_int(struct jw *w, int64_t v)
{
	value(w);
	if (v < 0)
		putc_(w, '-');
	/* the magnitude, INT64_MIN's too */
	digits(w, v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v);
}

void jw_bool(struct jw *w, int v)
{
	value(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void jw_raw(struct jw *w, const char *json, size_t n)
{
	value(w);
	put(w, json, n);
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kuint(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_uint(w, v);
}

void jw_kbool(struct jw *w, const char *key, int v)
{
	jw_key(w, key);
	jw_bool(w, v);
}
