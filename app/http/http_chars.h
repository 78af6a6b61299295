/* Character classes and case-insensitive comparison for the HTTP
 * parsers (RFC 9110 §5.6.2 tokens). Internal to app/http/. */
#ifndef UMBRA_HTTP_CHARS_H
#define UMBRA_HTTP_CHARS_H

#include <stddef.h>
#include <string.h>

static inline int http_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive: a[0..n) equals the lower-case word w. */
static inline int http_word_is(const char *a, size_t n, const char *w)
{
	size_t i = 0;
	for (; i < n && w[i]; i++)
		if (http_lower((unsigned char)a[i]) != w[i])
			return 0;
	return i == n && !w[i];
}

static inline int http_starts_with(const char *s, const char *w)
{
	size_t n = strlen(w) <= strlen(s) ? strlen(w) : strlen(s);
	return http_word_is(s, n, w);
}

/* RFC 9110 §5.6.2 tchar */
static inline int http_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static inline int http_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = http_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#endif
