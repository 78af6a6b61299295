/* One HTTP/1.1 request and its response over lwIP's raw TCP API, for
 * the metadata services: a connection per request (Connection: close),
 * every step under one deadline, the response read by hresp.c within
 * the caller's limit. It runs the network through loop_wait. */
#ifndef UMBRA_HCLIENT_H
#define UMBRA_HCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "../net/inet.h"
#include "hresp.h"

enum hclient_err {
	HCLIENT_ERR_NO_ANSWER = -731,	/* not connected by the deadline */
	HCLIENT_ERR_REFUSED = -732,	/* connection refused or reset */
	HCLIENT_ERR_TIMEOUT = -733,	/* connected; the answer was slower */
	HCLIENT_ERR_NOMEM = -734,
	HCLIENT_ERR_REQUEST = -735,	/* the request does not fit */
};

struct hreq {
	const char *method;	/* "GET", "PUT" */
	const char *path;	/* "/latest/user-data" */
	const char *fields;	/* more field lines, each ending CR LF, or
				 * NULL */
	struct inet_ip addr;
	uint16_t port;
	size_t body_max;	/* a longer body is an error */
	uint64_t deadline_us;	/* the whole exchange */
};

/* Sends q and reads the answer into r (hresp_init'd here first; the
 * caller hresp_frees it, whatever the result): 0 with r->status and the
 * body, or a negative HCLIENT_ERR_* or HRESP_ERR_*. */
int hclient_do(const struct hreq *q, struct hresp *r);

/* Words for an error (either kind). */
const char *hclient_strerror(int err);

#endif
