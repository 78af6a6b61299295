/* The values of single fields (RFC 9110): Range, If-None-Match,
 * Authorization; dates, reason phrases and media types for answers. See
 * http_parse.h. */
#include "http_parse.h"

#include <string.h>

#include "http_chars.h"

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
	if (!p || !http_starts_with(p, "bytes=") || strchr(p, ','))
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
	if (!auth || !want || !http_starts_with(auth, "bearer ") || !*want)
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
	static const char wd[] = "ThuFriSatSunMonTueWed";	/* from day 0 */
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
			if (http_word_is(dot + 1, strlen(dot + 1), types[i][0]))
				return types[i][1];
	return "application/octet-stream";
}
