/* Between the parts of `serve` (http.h): http_serve.c (the command,
 * the listener, the statistics), http_conn.c (a connection: its requests
 * in, closing it, lwIP's callbacks) and http_send.c (its answers out).
 * Nothing else includes this. */
#ifndef UMBRA_HTTP_CONN_H
#define UMBRA_HTTP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "lwip/altcp.h"
#include "lwip/tcp.h"

#define HTTP_OUT_MAX 768	/* a response head */
#define HTTP_CONNS_MAX 64	/* a new one evicts the idlest, or is
				 * refused (reset) */

enum { S_HEAD, S_BODY, S_SEND, S_LINGER };

/* What the functions below return besides ERR_OK: HTTP_GONE, c was
 * freed (or lingers) and must not be touched again, its pcb lives on;
 * ERR_ABRT, the pcb is gone too. Only lwIP's callbacks translate. */
#define HTTP_GONE ERR_CLSD

/* A connection's input, received and not yet consumed (http_queue.c):
 * the pbufs of what just arrived, or bytes copied out of them. */
struct http_queue {
	struct pbuf *frame;
	char *buf;
	size_t off, len, cap;
};

/* The buffers a connection's file bytes went to lwIP in, by reference
 * (http_send.c): oldest first. */
struct http_fbuf;
struct http_fbufs {
	struct http_fbuf *head, *tail;
	unsigned n;
};

struct http_conn {
	struct altcp_pcb *pcb;	/* plain TCP or TLS: the same calls */
	int tls;		/* accepted on the TLS listener */
	struct http_conn *next;
	int state;
	struct http_queue in;	/* received, not yet consumed */
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
	uint64_t since;		/* accept, start of the head, or last
				 * progress */
	int kept;		/* kept alive between requests, nothing of
				 * the next one yet: IDLE_US, not HEAD_US */
	uint8_t held;		/* a write waits for the volume's thaw (the
				 * guest agent's fsfreeze): unread, its
				 * window closes */
	uint64_t file_off, file_left;
	struct http_fbufs fb;	/* file bytes lwIP refers to */
};

struct http_server {
	struct http_site site;
	struct altcp_pcb *listen, *listen_tls;
	struct http_conn *conns;
	unsigned nconns;
	uint64_t accepted, refused, evicted, requests, timeouts, bytes_in,
		 bytes_out;
	unsigned held;		/* connections waiting for the thaw */
	uint64_t t0, halted0;
};

extern struct http_server http_srv;

/* http_queue.c. The bytes queued. */
size_t http_queued(const struct http_queue *q);
/* The first *n of them, in one piece (writable: the chunked decoder
 * works in place). */
char *http_front(struct http_queue *q, size_t *n);
/* Copies the first n (<= http_queued) to out. */
void http_peek(const struct http_queue *q, void *out, size_t n);
/* Forgets the first n. */
void http_dequeue(struct http_queue *q, size_t n);
/* Takes p (what lwIP just handed over): in place when nothing waits,
 * else copied behind it (p freed). 0, or -1 out of memory (p not
 * taken). */
int http_enqueue(struct http_queue *q, struct pbuf *p);
/* What is left of p: copied out, p back to lwIP's pool. 0, or -1 out
 * of memory (nothing changed). */
int http_spill(struct http_queue *q);
/* Frees all of it. */
void http_queue_free(struct http_queue *q);

/* http_conn.c: the listeners' accept callback (altcp); arg is NULL for
 * plain HTTP's, non-NULL for the TLS listener's. */
err_t http_accept(void *arg, struct altcp_pcb *pcb, err_t err);
/* Ends c now: closed (what was queued is still sent) or reset. */
err_t http_close(struct http_conn *c, int reset);
/* Ends c after an answer that closes the connection (HTTP_GONE). */
err_t http_linger(struct http_conn *c);
/* Writes held while the volume is frozen (or uploads whose connection
 * went meanwhile): nonzero when there are; after the thaw http_resume
 * makes them go on. */
int http_held(void);
void http_resume(void);

/* http_send.c: a plain connection's file bytes go to lwIP by reference
 * (altcp_write without a copy) from buffers of the connection's, each
 * given back when TCP has it acknowledged and the device is done with
 * the frames that carried it. http_bufs_acked gives back those
 * acknowledged (on_sent); http_bufs_waiting says whether any is not
 * yet (then an orderly close lingers: the pcb must live on with its
 * callbacks, altcp's close takes them); http_bufs_drop gives back all,
 * once the pcb is gone or reset. */
void http_bufs_acked(struct http_conn *c);
int http_bufs_waiting(const struct http_conn *c);
void http_bufs_drop(struct http_fbufs *q);

/* http_send.c: sends the answer in c->resp (its head formatted first). */
err_t http_respond(struct http_conn *c);
/* More of the answer, as the send buffer allows; when all of it is
 * queued, the connection is ready for its next request (http_next). */
err_t http_pump(struct http_conn *c);
void http_next(struct http_conn *c);

#endif
