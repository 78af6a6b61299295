/* HTTP/1.1 request parsing (RFC 9112 message syntax, RFC 9110
 * semantics): the request head, the request-target as a safe path, byte
 * ranges, entity tags, chunked bodies, dates. Portable C on strings and
 * byte buffers only: the same file builds into the image and into a host
 * test that feeds it hostile input. Nothing it is given is trusted; every
 * function bounds what it reads by the lengths it is given. */
#ifndef UMBRA_HTTP_PARSE_H
#define UMBRA_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_LINE_MAX 4096	/* request line: longer is 414 */
#define HTTP_HEAD_MAX 8192	/* the whole head: longer is 431 */
#define HTTP_FIELDS_MAX 64	/* header field lines: more is 431 */
#define HTTP_PATH_MAX 1024	/* decoded path: longer is 414 */
#define HTTP_BLANKS_MAX 4	/* empty lines before the request line */

enum http_method {
	HTTP_GET = 1, HTTP_HEAD, HTTP_PUT, HTTP_DELETE, HTTP_MKCOL,
};

/* A parsed request head. The strings point into the buffer given to
 * http_parse (NUL-terminated there) or are NULL when absent. */
struct http_req {
	int method;
	int minor;		/* HTTP/1.<minor> */
	char *target;		/* as sent */
	char path[HTTP_PATH_MAX + 1];	/* decoded: "/", "/a/b"; no "." or
					 * ".." segments, no NUL, "\\" or
					 * control characters */
	int trailing_slash;	/* the target's path ended in "/" */
	int keep_alive;		/* persistence (RFC 9112 §9.3) */
	int has_body;		/* a body follows: chunked, or length > 0 */
	int chunked;
	int length_given;	/* Content-Length was sent */
	uint64_t length;	/* Content-Length */
	int expect_continue;
	int wants_json;		/* Accept names application/json */
	const char *if_none_match;
	const char *range;
	const char *if_range;
	const char *authorization;
	const char *content_range;
	int tls;		/* came over TLS: set by the connection, after
				 * http_parse, not from the request */
};

/* Where the head ends in buf[0..len): the offset just past the empty
 * line (CRLF CRLF, or bare LFs), or 0 when it has not ended yet. */
size_t http_head_end(const char *buf, size_t len);

/* Whether buf[0..len), a head not yet complete, can still become one:
 * 0 while it can; 400 for a bare CR, 414 when the request line is too
 * long already, 431 when the head is. */
int http_head_limit(const char *buf, size_t len);

/* Parses the head in buf[0..len) (len from http_head_end), in place.
 * Returns 0, or the status to answer: 400 malformed, 414 path too long,
 * 431 too many fields, 501 unknown method or transfer coding, 505
 * another HTTP major version. */
int http_parse(char *buf, size_t len, struct http_req *r);

/* Percent-decodes the path of a request-target (origin- or
 * absolute-form) into out (HTTP_PATH_MAX + 1 bytes): "/" first,
 * segments joined by "/", empty and "." segments dropped. 0, 400 for
 * "..", NUL, "\\", a control character, an encoded "/" or a bad escape,
 * 414 when too long. */
int http_path(const char *target, char *out, int *trailing_slash);

/* A single byte range of Range (RFC 9110 §14.1.2) against a
 * representation of size bytes: 1 with [*first, *last], 0 when the
 * header is to be ignored (not bytes, several ranges, malformed), -1
 * when unsatisfiable (416). */
int http_range(const char *range, uint64_t size, uint64_t *first,
	       uint64_t *last);

/* Whether If-None-Match's list holds etag ("*" holds every one); weak
 * comparison (RFC 9110 §13.1.2). */
int http_etag_match(const char *list, const char *etag);

/* Whether the Authorization value is "Bearer <want>" (RFC 6750 §2.1),
 * compared in time that depends on want's length only. */
int http_bearer_ok(const char *authorization, const char *want);

/* IMF-fixdate of Unix seconds t (RFC 9110 §5.6.7): 29 characters and a
 * NUL. */
void http_date(uint64_t t, char out[30]);

/* The name of a method ("PUT"), "-" for none. */
const char *http_method_name(int method);

/* The reason phrase of a status ("Not Found"). */
const char *http_reason(int status);

/* A Content-Type for a file name, by its extension. */
const char *http_mime(const char *name);

/* The chunked transfer coding (RFC 9112 §7.1), decoded incrementally. */
struct http_chunked {
	int state;
	uint64_t left;		/* of the current chunk */
	unsigned digits, line;	/* size digits; bytes of the current line */
	unsigned fields;	/* trailer lines */
};
void http_chunked_init(struct http_chunked *c);
/* Consumes in[0..*n) up to the end of the body; the data bytes are
 * gathered to the front of `in` (decoding in place): returns their
 * count. *n becomes the bytes consumed. *done is set at the end of the
 * body. -1 (400) for a malformed coding: anything but hex digits in the
 * size, extensions that break §7.1.1's grammar, a trailer line that is
 * not a field line, more than HTTP_FIELDS_MAX of them, a line longer
 * than HTTP_LINE_MAX; a chunk size over max is 413: -2. */
long http_chunked_feed(struct http_chunked *c, char *in, size_t *n,
		       int *done, uint64_t max);

#endif
