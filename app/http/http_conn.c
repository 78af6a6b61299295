/* A connection of `serve`; see http_conn.h. lwIP's altcp API (plain TCP,
 * or TLS through app/net/altcp_tls.c: the same code either way) calls
 * back from inside inet.c's poll: http_accept, on_recv (bytes arrived),
 * on_sent (the peer acknowledged: room to send more), on_poll (every
 * second: timeouts) and on_err (the connection is gone). One request at
 * a time per connection (RFC 9112 §9.3.2: pipelined requests wait,
 * unread, in the connection's queue, and the window closes behind
 * them; what is left of a frame is copied out, and lwIP's buffer goes
 * back to its pool: http_queue.c). */
#include "http_conn.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/time.h"
#include "../storage.h"

#define HEAD_US 10000000ull	/* a request head must arrive in this (from
				 * accept, or from its first byte) */
#define IDLE_US 60000000ull	/* a kept-alive connection may idle this */
#define STALL_US 30000000ull	/* a body or a response may stall this */
#define LINGER_US 2000000ull	/* after an answer that closes */
#define POLL_TICKS 2		/* on_poll every 2 x 500 ms */
#define DISCARD_MAX (1u << 20)	/* bodies of refused requests up to this
				 * are read and dropped; larger: close */

/* --- closing ----------------------------------------------------------- */

static size_t queued(const struct http_conn *c)
{
	return http_queued(&c->in);
}

/* Opens the receive window by n bytes taken off the connection. */
static void taken(struct http_conn *c, size_t n)
{
	while (n) {
		u16_t k = n > 0xffff ? 0xffff : (u16_t)n;
		altcp_recved(c->pcb, k);
		n -= k;
	}
}

/* Gives what was received and not read back to the window, unread. */
static void drop_input(struct http_conn *c)
{
	size_t n = queued(c);
	http_dequeue(&c->in, n);
	taken(c, n);
}

/* Uploads whose connection went while the volume was frozen: their
 * temporary files go at the thaw (http_resume). */
static struct http_put *orphans[HTTP_CONNS_MAX];
static unsigned norphans;

/* An unfinished upload (its temporary file goes) and an answer's memory. */
static void drop_work(struct http_conn *c)
{
	if (c->put && storage_frozen() && norphans < HTTP_CONNS_MAX) {
		orphans[norphans++] = c->put;
		c->put = 0;
	}
	if (c->put) {
		struct http_resp r;
		http_put_end(c->put, 0, &r);
		free(r.mem);
		c->put = 0;
	}
	free(c->resp.mem);
	c->resp.mem = 0;
}

static void release(struct http_conn *c)
{
	for (struct http_conn **p = &http_srv.conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	http_srv.nconns--;
	http_srv.held -= c->held;
	drop_work(c);
	http_queue_free(&c->in);
	http_bufs_drop(&c->fb);	/* the pcb is gone (on_err), or reset */
	free(c);
}

static void detach(struct altcp_pcb *pcb)
{
	altcp_arg(pcb, 0);
	altcp_recv(pcb, 0);
	altcp_sent(pcb, 0);
	altcp_err(pcb, 0);
	altcp_poll(pcb, 0, 0);
}

/* Ends c now: an orderly close (what was queued is still sent), or a
 * reset. c is freed. What this returns, the functions below pass on:
 * HTTP_GONE (c must not be touched again; the pcb lives on) or ERR_ABRT
 * (the pcb is gone too). Only the callbacks translate (lwip_err). */
err_t http_close(struct http_conn *c, int reset)
{
	struct altcp_pcb *pcb = c->pcb;
	/* File bytes lwIP still refers to (http_send.c): the pcb must live
	 * on with its callbacks until they are acknowledged, and altcp's
	 * close takes the callbacks: the connection lingers instead, its
	 * side shut (on_poll ends it). */
	if (!reset && http_bufs_waiting(c))
		return c->state == S_LINGER ? HTTP_GONE : http_linger(c);
	if (!reset)
		drop_input(c);	/* unread data would make it a reset */
	release(c);
	detach(pcb);
	if (!reset && altcp_close(pcb) == ERR_OK)
		return HTTP_GONE;
	altcp_abort(pcb);
	return ERR_ABRT;
}

/* Ends c after an answer that closes the connection: our side is shut
 * (the FIN follows the answer), and what the peer still sends is read
 * and dropped for LINGER_US, so that it reads the answer rather than a
 * reset (RFC 9112 §9.6). Returns HTTP_GONE. */
err_t http_linger(struct http_conn *c)
{
	drop_input(c);
	drop_work(c);
	if (altcp_shutdown(c->pcb, 0, 1) != ERR_OK)
		return http_close(c, 1);
	c->state = S_LINGER;
	c->since = time_us();
	return HTTP_GONE;
}

static err_t lwip_err(err_t e)
{
	return e == HTTP_GONE ? ERR_OK : e;
}

/* --- receiving ----------------------------------------------------------- */

/* Drops n bytes from the front of the queue and opens the window by as
 * much. */
static void consume(struct http_conn *c, size_t n)
{
	http_srv.bytes_in += n;
	http_dequeue(&c->in, n);
	taken(c, n);
}

/* An answer to a request whose body will not be taken: a small one is
 * read and dropped (the connection lives on), a large or unframed one
 * closes the connection after the answer. */
static err_t refuse_body(struct http_conn *c)
{
	if (!c->req.has_body)
		return http_respond(c);
	if (c->req.chunked || c->req.length > DISCARD_MAX ||
	    c->req.expect_continue) {
		c->resp.close = 1;
		return http_respond(c);
	}
	c->put = 0;
	c->body_left = c->req.length;
	c->state = S_BODY;
	return ERR_OK;
}

/* A malformed request: the framing cannot be trusted, so the answer
 * closes the connection. */
static err_t bad(struct http_conn *c, int status)
{
	free(c->resp.mem);
	http_error(&c->resp, status);
	c->resp.close = 1;
	return http_respond(c);
}

/* The body is complete (or broken: status): the upload ends, the answer
 * goes out: the upload's own (its success, or the failure that broke
 * the body, with its cause), or the body's fault. */
static err_t body_done(struct http_conn *c, int status)
{
	if (c->put) {
		free(c->resp.mem);
		http_put_end(c->put, !status, &c->resp);
		c->put = 0;
	}
	if (status && c->resp.status != status) {
		free(c->resp.mem);
		http_error(&c->resp, status);
	}
	if (status)
		c->resp.close = 1;
	return http_respond(c);
}

/* A write while the volume is frozen waits, unread: the window closes,
 * the client waits, nothing is lost; http_resume goes on at the thaw. */
static err_t hold(struct http_conn *c)
{
	if (!c->held)
		http_srv.held++;
	c->held = 1;
	return ERR_OK;
}

static int writes(const struct http_req *r)
{
	return r->method == HTTP_PUT || r->method == HTTP_DELETE ||
	       r->method == HTTP_MKCOL;
}

/* The request parsed: answered, or its body comes next. */
static err_t start(struct http_conn *c)
{
	if (writes(&c->req) && storage_frozen())
		return hold(c);
	if (c->req.method != HTTP_PUT) {
		http_answer(&http_srv.site, &c->req, &c->resp);
		return refuse_body(c);
	}
	c->put = http_put_begin(&http_srv.site, &c->req, &c->resp);
	if (!c->put)
		return refuse_body(c);
	c->state = S_BODY;
	c->since = time_us();
	c->body_left = c->req.length;
	c->body_seen = 0;
	http_chunked_init(&c->chunks);
	if (!c->req.has_body)
		return body_done(c, 0);
	if (c->req.expect_continue) {	/* RFC 9110 §10.1.1 */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		if (altcp_write(c->pcb, cont, sizeof(cont) - 1,
			      TCP_WRITE_FLAG_COPY) == ERR_OK)
			altcp_output(c->pcb);
	}
	return ERR_OK;
}

static err_t dispatch(struct http_conn *c)
{
	http_srv.requests++;
	int st = http_parse(c->head, c->hlen, &c->req);
	if (st)
		return bad(c, st);
	c->req.tls = c->tls;	/* the policy on plain HTTP (http_files.c) */
	return start(c);
}

/* Queued body bytes: to the upload (or nowhere). */
static int take(struct http_conn *c, char *data, size_t n, size_t *used,
		int *done)
{
	long data_n = (long)n;
	if (c->req.chunked) {
		uint64_t room = (c->put ? HTTP_BODY_MAX : DISCARD_MAX) -
				c->body_seen;
		data_n = http_chunked_feed(&c->chunks, data, &n, done, room);
		if (data_n == -2)
			return 413;
		if (data_n < 0)
			return 400;
	} else {
		if (n > c->body_left)
			n = (size_t)c->body_left;
		c->body_left -= n;
		data_n = (long)n;
		*done = !c->body_left;
	}
	*used = n;
	c->body_seen += (uint64_t)data_n;
	if (c->put && data_n)
		return http_put_data(c->put, data, (uint64_t)data_n);
	return 0;
}

static err_t read_body(struct http_conn *c)
{
	if (c->put && storage_frozen())
		return hold(c);
	int done = !c->req.has_body;
	while (!done && queued(c)) {
		size_t used = 0, n;
		char *data = http_front(&c->in, &n);
		int st = take(c, data, n, &used, &done);
		if (st)
			return body_done(c, st);
		consume(c, used);
		c->since = time_us();
	}
	return done ? body_done(c, 0) : ERR_OK;
}

/* Gathers the head; at its end, dispatches. */
static err_t read_head(struct http_conn *c)
{
	while (queued(c)) {
		if (c->kept) {	/* HEAD_US counts from here */
			c->kept = 0;
			c->since = time_us();
		}
		size_t k = queued(c), room = HTTP_HEAD_MAX - c->hlen;
		if (k > room)
			k = room;
		http_peek(&c->in, c->head + c->hlen, k);
		size_t end = http_head_end(c->head, c->hlen + k);
		if (end) {
			consume(c, end - c->hlen);
			c->hlen = end;
			return dispatch(c);
		}
		consume(c, k);
		c->hlen += k;
		int st = http_head_limit(c->head, c->hlen);
		if (st)
			return bad(c, st);
	}
	return ERR_OK;
}

/* Works through what is queued, one request after another, as far as
 * the peer takes the answers. Returns ERR_ABRT when c is gone. */
static err_t process(struct http_conn *c)
{
	for (;;) {
		int state = c->state;
		size_t before = queued(c);
		if (c->held)
			return ERR_OK;
		err_t e = state == S_HEAD ? read_head(c)
			: state == S_BODY ? read_body(c) : ERR_OK;
		if (e != ERR_OK)
			return e;
		if (c->state == S_SEND || !queued(c) ||
		    (c->state == state && queued(c) == before))
			return ERR_OK;
	}
}

/* --- lwIP's callbacks ---------------------------------------------------- */

/* More of the answer; once it is all out, the requests queued behind. */
static err_t send_more(struct http_conn *c)
{
	err_t e = http_pump(c);
	if (e == ERR_OK && c->state == S_HEAD && queued(c))
		e = process(c);
	return e;
}

static err_t on_recv(void *arg, struct altcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct http_conn *c = arg;
	(void)pcb;
	if (p && (!c || err != ERR_OK || c->state == S_LINGER)) {
		if (c)		/* read and dropped */
			altcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	if (!c)
		return ERR_OK;
	if (!p) {	/* the peer closed its side */
		if (c->state == S_SEND) {
			c->resp.close = 1;	/* answer, then close */
			return ERR_OK;
		}
		return lwip_err(http_close(c, 0));
	}
	if (http_enqueue(&c->in, p))
		return ERR_MEM;	/* lwIP keeps p and offers it again */
	err_t e = process(c);
	if (e != ERR_OK)
		return lwip_err(e);	/* c is gone */
	if (http_spill(&c->in))	/* the rest waits: lwIP's buffer back */
		return lwip_err(http_close(c, 1));
	return ERR_OK;
}

static err_t on_sent(void *arg, struct altcp_pcb *pcb, u16_t len)
{
	struct http_conn *c = arg;
	(void)pcb;
	(void)len;
	if (c)			/* acknowledged file bytes: buffers back */
		http_bufs_acked(c);
	if (!c || c->state != S_SEND)
		return ERR_OK;
	c->since = time_us();
	return lwip_err(send_more(c));
}

static void on_err(void *arg, err_t err)
{
	struct http_conn *c = arg;
	(void)err;
	if (c)		/* the pcb is already freed */
		release(c);
}

/* Slow clients: a head that takes too long (408; for a new connection
 * counted from accept, so that connections that send nothing cannot
 * hold the slots), a body or a response that stalls, an idle kept-alive
 * connection. */
static err_t on_poll(void *arg, struct altcp_pcb *pcb)
{
	struct http_conn *c = arg;
	(void)pcb;
	if (!c)
		return ERR_OK;
	if (c->held) {		/* our wait, not the client's: no timeout */
		c->since = time_us();
		return ERR_OK;
	}
	uint64_t idle = time_us() - c->since;
	err_t e = ERR_OK;
	if (c->state == S_LINGER) {
		if (idle > STALL_US)	/* file bytes not taken in time */
			e = http_close(c, 1);
		else if (idle > LINGER_US)
			e = http_close(c, 0);
	} else if (c->state == S_HEAD && !c->kept && idle > HEAD_US) {
		http_srv.timeouts++;
		e = bad(c, 408);
	} else if ((c->state == S_HEAD && idle > IDLE_US) ||
		   (c->state != S_HEAD && idle > STALL_US)) {
		http_srv.timeouts++;
		e = http_close(c, c->state != S_HEAD);
	} else if (c->state == S_SEND) {
		e = send_more(c);
	}
	return lwip_err(e);
}

/* Of the connections that hold no work (waiting for a request head,
 * or lingering after an answer that closed), the one idle longest; NULL
 * when every connection is at work. */
static struct http_conn *idlest(void)
{
	struct http_conn *best = 0;
	for (struct http_conn *c = http_srv.conns; c; c = c->next)
		if ((c->state == S_HEAD || c->state == S_LINGER) &&
		    !c->held && (!best || c->since < best->since))
			best = c;
	return best;
}

err_t http_accept(void *arg, struct altcp_pcb *pcb, err_t err)
{
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	/* All slots taken: the new client evicts the idlest connection
	 * (reset), so that idle ones cannot lock clients out. */
	struct http_conn *old = http_srv.nconns < HTTP_CONNS_MAX ? 0 : idlest();
	if (old) {
		http_srv.evicted++;
		http_close(old, 1);
	}
	struct http_conn *c = http_srv.nconns < HTTP_CONNS_MAX
			      ? calloc(1, sizeof(*c)) : 0;
	if (!c) {
		http_srv.refused++;
		altcp_abort(pcb);
		return ERR_ABRT;
	}
	c->pcb = pcb;
	c->tls = arg != 0;
	c->since = time_us();
	c->next = http_srv.conns;
	http_srv.conns = c;
	http_srv.nconns++;
	http_srv.accepted++;
	altcp_arg(pcb, c);
	altcp_recv(pcb, on_recv);
	altcp_sent(pcb, on_sent);
	altcp_err(pcb, on_err);
	altcp_poll(pcb, on_poll, POLL_TICKS);
	altcp_nagle_disable(pcb);	/* answers go out whole, at once */
	return ERR_OK;
}

int http_held(void)
{
	return http_srv.held || norphans;
}

void http_resume(void)
{
	struct http_conn *next;
	while (norphans) {
		struct http_resp r;
		http_put_end(orphans[--norphans], 0, &r);
		free(r.mem);
	}
	for (struct http_conn *c = http_srv.conns; c; c = next) {
		next = c->next;	/* c may go; the others stay */
		if (!c->held)
			continue;
		c->held = 0;
		http_srv.held--;
		if ((c->state != S_HEAD || start(c) == ERR_OK) && !c->held)
			process(c);
	}
}
