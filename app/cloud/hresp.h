/* An HTTP/1.1 response read incrementally (RFC 9112: status line,
 * fields, a body framed by Content-Length, chunked coding or the
 * connection's close), for the metadata client. Portable C on byte
 * buffers: the same file builds into the image, a host test and a fuzz
 * target. Nothing the server sends is trusted: the head is bounded, the
 * body is bounded by the caller's limit, a malformed message is an
 * error. */
#ifndef UMBRA_HRESP_H
#define UMBRA_HRESP_H

#include <stddef.h>
#include <stdint.h>

#include "../http/http_parse.h"

#define HRESP_HEAD_MAX 8192	/* the status line and fields */
#define HRESP_INTERIM_MAX 4	/* 1xx answers skipped before the real one */

enum hresp_err {
	HRESP_MORE = 0,		/* give it more bytes */
	HRESP_DONE = 1,		/* the whole response is in */
	HRESP_ERR_HEAD = -701,	/* a malformed status line or field */
	HRESP_ERR_HEAD_SIZE = -702,	/* a head over HRESP_HEAD_MAX */
	HRESP_ERR_TOO_BIG = -703,	/* a body over the caller's limit */
	HRESP_ERR_FRAMING = -704,	/* a malformed length or chunk */
	HRESP_ERR_TRUNCATED = -705,	/* closed before the body's end */
	HRESP_ERR_NOMEM = -706,
};

struct hresp {
	int state;
	int err;		/* the error, once there was one */
	int status;		/* 200, 404 ... (once the head is in) */
	int interim;		/* 1xx heads skipped */
	int head_only;		/* the request was HEAD: no body */
	int chunked, has_length;
	uint64_t length;	/* Content-Length */
	char head[HRESP_HEAD_MAX + 1];	/* the final head, NUL-terminated */
	size_t head_len;
	struct http_chunked ck;
	char *body;		/* malloc'd; the caller frees (hresp_free) */
	size_t body_len, body_cap, body_max;
};

/* Ready for a response whose body may hold up to body_max bytes. */
void hresp_init(struct hresp *r, size_t body_max, int head_only);

/* Takes the next n bytes from the connection: HRESP_MORE, HRESP_DONE
 * (bytes past the response are ignored), or a negative HRESP_ERR_*
 * (and then for good). */
int hresp_feed(struct hresp *r, const char *data, size_t n);

/* The connection closed: HRESP_DONE when that ends the body (no length
 * was given), else HRESP_ERR_TRUNCATED (or the earlier state). */
int hresp_eof(struct hresp *r);

/* The value of the first field called name (case-insensitive) of the
 * final head, its blanks dropped, into out (at most size-1 bytes);
 * NULL when absent. */
const char *hresp_field(const struct hresp *r, const char *name, char *out,
			size_t size);

/* Frees the body. */
void hresp_free(struct hresp *r);

/* Words for an error. */
const char *hresp_strerror(int err);

#endif
