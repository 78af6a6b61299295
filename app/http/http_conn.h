/* Between the parts of `serve` (http.h): http_serve.c (the command,
 * the listener, the statistics), http_conn.c (a connection: its requests
 * in, closing it, lwIP's callbacks) and http_send.c (its answers out).
 * Nothing else includes this. */
#ifndef UMBRA_HTTP_CONN_H
#define UMBRA_HTTP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "lwip/tcp.h"

#define HTTP_OUT_MAX 768	/* a response head */

enum { S_HEAD, S_BODY, S_SEND, S_LINGER };

/* What the functions below return besides ERR_OK: HTTP_GONE, c was
 * freed (or lingers) and must not be touched again, its pcb lives on;
 * ERR_ABRT, the pcb is gone too. Only lwIP's callbacks translate. */
#define HTTP_GONE ERR_CLSD

struct http_conn {
	struct tcp_pcb *pcb;
	struct http_conn *next;
	int state;
	struct pbuf *inq;	/* received, not yet consumed */
	char head[HTTP_HEAD_MAX];
	size_t hlen;
	struct http_req req;
	struct http_put *put;	/* S_BODY: the upload, or NULL: discard */
	struct http_chunked chunks;
	uint64_t body_left;	/* Content-Length bytes still to come */
	uint64_t body_seen;
	struct http_resp resp;
	char out[HTTP_OUT_MAX];
	size_t out_len, out_off;
	uint64_t since;		/* start of the head, or last progress */
	uint8_t held;		/* a write waits for the volume's thaw (the
				 * guest agent's fsfreeze): unread, its
				 * window closes */
	uint64_t file_off, file_left;
};

struct http_server {
	struct http_site site;
	struct tcp_pcb *listen;
	struct http_conn *conns;
	unsigned nconns;
	uint64_t accepted, refused, requests, timeouts, bytes_in, bytes_out;
	unsigned held;		/* connections waiting for the thaw */
	uint64_t t0, halted0;
};

extern struct http_server http_srv;

/* http_conn.c: lwIP's accept callback for the listener. */
err_t http_accept(void *arg, struct tcp_pcb *pcb, err_t err);
/* Ends c now: closed (what was queued is still sent) or reset. */
err_t http_close(struct http_conn *c, int reset);
/* Ends c after an answer that closes the connection (HTTP_GONE). */
err_t http_linger(struct http_conn *c);
/* Writes held while the volume is frozen (or uploads whose connection
 * went meanwhile): nonzero when there are; after the thaw http_resume
 * makes them go on. */
int http_held(void);
void http_resume(void);

/* http_send.c: sends the answer in c->resp (its head formatted first). */
err_t http_respond(struct http_conn *c);
/* More of the answer, as the send buffer allows; when all of it is
 * queued, the connection is ready for its next request (http_next). */
err_t http_pump(struct http_conn *c);
void http_next(struct http_conn *c);

#endif
