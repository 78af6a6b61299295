/* The connections of `serve`; see http.h. lwIP's raw TCP API calls back
 * from inside inet_poll: on_accept, on_recv (bytes arrived), on_sent (the
 * peer acknowledged: room to send more), on_poll (every second:
 * timeouts) and on_err (the connection is gone). One request at a time
 * per connection (RFC 9112 §9.3.2: pipelined requests wait, unread, in
 * the connection's queue, and the window closes behind them). */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/console.h"
#include "../../runtime/fmt.h"
#include "../../runtime/idle.h"
#include "../../runtime/power.h"
#include "../../runtime/rtc.h"
#include "../../runtime/time.h"
#include "../net/inet.h"
#include "../storage.h"
#include "lwip/tcp.h"

#define MAX_CONNS 64		/* more are refused (reset) */
#define HEAD_US 10000000ull	/* a request head must arrive in this */
#define IDLE_US 60000000ull	/* a kept-alive connection may idle this */
#define STALL_US 30000000ull	/* a body or a response may stall this */
#define LINGER_US 2000000ull	/* after an answer that closes */
#define POLL_TICKS 2		/* on_poll every 2 x 500 ms */
#define DISCARD_MAX (1u << 20)	/* bodies of refused requests up to this
				 * are read and dropped; larger: close */
#define CHUNK 32768		/* file bytes per tcp_write (u16 length) */
#define OUT_MAX 768		/* a response head */
#define KEY_CTRL_C 3

enum { S_HEAD, S_BODY, S_SEND, S_LINGER };
#define GONE ERR_CLSD		/* c is freed, its pcb closing */

struct conn {
	struct tcp_pcb *pcb;
	struct conn *next;
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
	char out[OUT_MAX];
	size_t out_len, out_off;
	uint64_t since;		/* start of the head, or last progress */
	uint64_t file_off, file_left;
};

struct server {
	struct http_site site;
	struct tcp_pcb *listen;
	struct conn *conns;
	unsigned nconns;
	uint64_t accepted, refused, requests, timeouts, bytes_in, bytes_out;
	uint64_t t0, halted0;
};

static struct server srv;
static char chunk[CHUNK];	/* file bytes on their way to lwIP */

/* --- closing ----------------------------------------------------------- */

static size_t queued(const struct conn *c)
{
	return c->inq ? c->inq->tot_len : 0;
}

/* Gives what was received and not read back to the window, unread. */
static void drop_input(struct conn *c)
{
	size_t n = queued(c);
	if (c->inq)
		pbuf_free(c->inq);
	c->inq = 0;
	while (n) {
		u16_t k = n > 0xffff ? 0xffff : (u16_t)n;
		tcp_recved(c->pcb, k);
		n -= k;
	}
}

/* An unfinished upload (its temporary file goes) and an answer's memory. */
static void drop_work(struct conn *c)
{
	if (c->put) {
		struct http_resp r;
		http_put_end(c->put, 0, &r);
		free(r.mem);
		c->put = 0;
	}
	free(c->resp.mem);
	c->resp.mem = 0;
}

static void release(struct conn *c)
{
	for (struct conn **p = &srv.conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	srv.nconns--;
	drop_work(c);
	if (c->inq)
		pbuf_free(c->inq);
	free(c);
}

static void detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, 0);
	tcp_recv(pcb, 0);
	tcp_sent(pcb, 0);
	tcp_err(pcb, 0);
	tcp_poll(pcb, 0, 0);
}

/* Ends c now: an orderly close (what was queued is still sent), or a
 * reset. c is freed. What this returns, the functions below pass on:
 * GONE (c must not be touched again; the pcb lives on) or ERR_ABRT (the
 * pcb is gone too). Only the callbacks translate (lwip_err) for lwIP. */
static err_t close_now(struct conn *c, int reset)
{
	struct tcp_pcb *pcb = c->pcb;
	if (!reset)
		drop_input(c);	/* unread data would make it a reset */
	release(c);
	detach(pcb);
	if (!reset && tcp_close(pcb) == ERR_OK)
		return GONE;
	tcp_abort(pcb);
	return ERR_ABRT;
}

/* Ends c after an answer that closes the connection: our side is shut
 * (the FIN follows the answer), and what the peer still sends is read
 * and dropped for LINGER_US, so that it reads the answer rather than a
 * reset (RFC 9112 §9.6). Returns GONE. */
static err_t linger(struct conn *c)
{
	drop_input(c);
	drop_work(c);
	if (tcp_shutdown(c->pcb, 0, 1) != ERR_OK)
		return close_now(c, 1);
	c->state = S_LINGER;
	c->since = time_us();
	return GONE;
}

static err_t lwip_err(err_t e)
{
	return e == GONE ? ERR_OK : e;
}

/* --- receiving ----------------------------------------------------------- */

/* Drops n bytes from the front of the queue and opens the window by as
 * much. */
static void consume(struct conn *c, size_t n)
{
	srv.bytes_in += n;
	c->inq = pbuf_free_header(c->inq, (u16_t)n);
	while (n) {
		u16_t k = n > 0xffff ? 0xffff : (u16_t)n;
		tcp_recved(c->pcb, k);
		n -= k;
	}
}

/* --- sending --------------------------------------------------------------- */

static void format_head(struct conn *c)
{
	struct http_resp *r = &c->resp;
	char date[30], mod[30];
	http_date(rtc_now(), date);
	int n = fmt_snprintf(c->out, OUT_MAX, "HTTP/1.1 %d %s\r\nServer: umbra"
			     "\r\nDate: %s\r\n", r->status,
			     http_reason(r->status), date);
	if (r->type)
		n += fmt_snprintf(c->out + n, OUT_MAX - n, "Content-Type: %s\r\n",
				  r->type);
	if (r->status != 204 && r->status != 304)	/* RFC 9110 §8.6 */
		n += fmt_snprintf(c->out + n, OUT_MAX - n,
				  "Content-Length: %llu\r\n",
				  (unsigned long long)r->len);
	if (r->mtime) {
		http_date(r->mtime, mod);
		n += fmt_snprintf(c->out + n, OUT_MAX - n,
				  "Last-Modified: %s\r\n", mod);
	}
	if (r->etag[0])
		n += fmt_snprintf(c->out + n, OUT_MAX - n, "ETag: %s\r\n",
				  r->etag);
	if (r->ino)
		n += fmt_snprintf(c->out + n, OUT_MAX - n,
				  "Accept-Ranges: bytes\r\n");
	n += fmt_snprintf(c->out + n, OUT_MAX - n, "%s%s\r\n", r->fields,
			  r->close ? "Connection: close\r\n"
			  : c->req.minor == 0 ? "Connection: keep-alive\r\n"
			  : "");
	c->out_len = (size_t)n < OUT_MAX ? (size_t)n : OUT_MAX - 1;
	c->out_off = 0;
}

/* Queues what fits of the bytes at data; how many, or -1 when lwIP
 * is out of memory for now. */
static long put_bytes(struct conn *c, const void *data, size_t n, int more)
{
	size_t room = tcp_sndbuf(c->pcb);
	size_t k = n < room ? n : room;
	if (k > 0xffff)
		k = 0xffff;
	if (!k)
		return 0;
	u8_t flags = TCP_WRITE_FLAG_COPY | (more || k < n ?
					    TCP_WRITE_FLAG_MORE : 0);
	if (tcp_write(c->pcb, data, (u16_t)k, flags) != ERR_OK)
		return -1;
	srv.bytes_out += k;
	return (long)k;
}

/* The file has not changed since the answer was chosen (a PUT may have
 * replaced it: then the rest would be another file's bytes). */
static int file_same(struct conn *c)
{
	struct efs_stat st;
	return !efs_stat(srv.site.fs, c->resp.ino, &st) &&
	       st.kind == EFS_FILE && st.size == c->resp.file_size &&
	       st.mtime == c->resp.file_mtime;
}

static err_t output(struct conn *c)
{
	tcp_output(c->pcb);
	return ERR_OK;
}

/* Ready for the next request on c (its bytes may be queued already). */
static void next_request(struct conn *c)
{
	free(c->resp.mem);
	memset(&c->resp, 0, sizeof(c->resp));
	c->state = S_HEAD;
	c->hlen = 0;
	c->since = time_us();
}

/* Sends what fits: the head, then the body from memory or the file.
 * When everything is queued the next request may start. */
static err_t pump(struct conn *c)
{
	struct http_resp *r = &c->resp;
	int body = !r->head_only && r->len;
	while (c->out_off < c->out_len) {
		long k = put_bytes(c, c->out + c->out_off,
				   c->out_len - c->out_off, body);
		if (k <= 0)
			return output(c);
		c->out_off += (size_t)k;
	}
	if (body && r->mem) {
		while (c->file_left) {
			long k = put_bytes(c, r->mem + (r->len - c->file_left),
					   c->file_left, 0);
			if (k <= 0)
				return output(c);
			c->file_left -= (uint64_t)k;
		}
	} else if (body) {
		if (c->file_left && !file_same(c))
			return close_now(c, 1);
		while (c->file_left) {
			size_t want = c->file_left < CHUNK ? c->file_left : CHUNK;
			if (tcp_sndbuf(c->pcb) < want)
				break;
			int64_t got = efs_read(srv.site.fs, r->ino, c->file_off,
					       chunk, want);
			if (got <= 0)
				return close_now(c, 1);
			long k = put_bytes(c, chunk, (size_t)got,
					   c->file_left > (uint64_t)got);
			if (k > 0) {
				c->file_off += (uint64_t)k;
				c->file_left -= (uint64_t)k;
			}
			if (k != got)
				break;	/* lwIP memory: on_sent comes back */
		}
		if (c->file_left)
			return output(c);
	}
	output(c);
	if (r->close)
		return linger(c);
	next_request(c);
	return ERR_OK;
}

static err_t respond(struct conn *c)
{
	struct http_resp *r = &c->resp;
	if (!c->req.keep_alive)
		r->close = 1;
	format_head(c);
	c->state = S_SEND;
	c->since = time_us();
	c->file_off = r->off;
	c->file_left = r->head_only ? 0 : r->len;
	return pump(c);
}

/* An answer to a request whose body will not be taken: a small one is
 * read and dropped (the connection lives on), a large or unframed one
 * closes the connection after the answer. */
static err_t refuse_body(struct conn *c)
{
	if (!c->req.has_body)
		return respond(c);
	if (c->req.chunked || c->req.length > DISCARD_MAX ||
	    c->req.expect_continue) {
		c->resp.close = 1;
		return respond(c);
	}
	c->put = 0;
	c->body_left = c->req.length;
	c->state = S_BODY;
	return ERR_OK;
}

/* A malformed request: the framing cannot be trusted, so the answer
 * closes the connection. */
static err_t bad(struct conn *c, int status)
{
	free(c->resp.mem);
	http_error(&c->resp, status);
	c->resp.close = 1;
	return respond(c);
}

/* The body is complete (or broken: status): the upload ends, the answer
 * goes out. */
static err_t body_done(struct conn *c, int status)
{
	if (c->put) {
		struct http_resp keep = c->resp;
		http_put_end(c->put, !status, &c->resp);
		c->put = 0;
		free(keep.mem);
	}
	if (status) {
		free(c->resp.mem);
		http_error(&c->resp, status);
		c->resp.close = 1;
	}
	return respond(c);
}

static err_t dispatch(struct conn *c)
{
	srv.requests++;
	int st = http_parse(c->head, c->hlen, &c->req);
	if (st)
		return bad(c, st);
	if (c->req.method != HTTP_PUT) {
		http_answer(&srv.site, &c->req, &c->resp);
		return refuse_body(c);
	}
	c->put = http_put_begin(&srv.site, &c->req, &c->resp);
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
		if (tcp_write(c->pcb, cont, sizeof(cont) - 1,
			      TCP_WRITE_FLAG_COPY) == ERR_OK)
			tcp_output(c->pcb);
	}
	return ERR_OK;
}

/* Body bytes of one queued pbuf: to the upload (or nowhere). */
static int take(struct conn *c, char *data, size_t n, size_t *used, int *done)
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

static err_t read_body(struct conn *c)
{
	int done = !c->req.has_body;
	while (!done && c->inq) {
		struct pbuf *q = c->inq;
		size_t used = 0;
		int st = take(c, q->payload, q->len, &used, &done);
		if (st)
			return body_done(c, st);
		consume(c, used);
		c->since = time_us();
	}
	return done ? body_done(c, 0) : ERR_OK;
}

/* Gathers the head; at its end, dispatches. */
static err_t read_head(struct conn *c)
{
	while (c->inq) {
		if (!c->hlen)
			c->since = time_us();	/* HEAD_US counts from here */
		size_t k = queued(c), room = HTTP_HEAD_MAX - c->hlen;
		if (k > room)
			k = room;
		pbuf_copy_partial(c->inq, c->head + c->hlen, (u16_t)k, 0);
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
static err_t process(struct conn *c)
{
	for (;;) {
		int state = c->state;
		size_t before = queued(c);
		err_t e = state == S_HEAD ? read_head(c)
			: state == S_BODY ? read_body(c) : ERR_OK;
		if (e != ERR_OK)
			return e;
		if (c->state == S_SEND || !c->inq ||
		    (c->state == state && queued(c) == before))
			return ERR_OK;
	}
}

/* --- lwIP's callbacks ------------------------------------------------------ */

/* More of the answer; once it is all out, the requests queued behind. */
static err_t send_more(struct conn *c)
{
	err_t e = pump(c);
	if (e == ERR_OK && c->state == S_HEAD && c->inq)
		e = process(c);
	return e;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	(void)pcb;
	if (p && (!c || err != ERR_OK || c->state == S_LINGER)) {
		if (c)		/* read and dropped */
			tcp_recved(pcb, p->tot_len);
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
		return lwip_err(close_now(c, 0));
	}
	if (c->inq)
		pbuf_cat(c->inq, p);
	else
		c->inq = p;
	return lwip_err(process(c));
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct conn *c = arg;
	(void)pcb;
	(void)len;
	if (!c || c->state != S_SEND)
		return ERR_OK;
	c->since = time_us();
	return lwip_err(send_more(c));
}

static void on_err(void *arg, err_t err)
{
	struct conn *c = arg;
	(void)err;
	if (c)		/* the pcb is already freed */
		release(c);
}

/* Slow clients: a head that takes too long (408), a body or a response
 * that stalls, an idle kept-alive connection. */
static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
	struct conn *c = arg;
	(void)pcb;
	if (!c)
		return ERR_OK;
	uint64_t idle = time_us() - c->since;
	err_t e = ERR_OK;
	if (c->state == S_LINGER) {
		if (idle > LINGER_US)
			e = close_now(c, 0);
	} else if (c->state == S_HEAD && (c->hlen || queued(c)) &&
		   idle > HEAD_US) {
		srv.timeouts++;
		e = bad(c, 408);
	} else if ((c->state == S_HEAD && idle > IDLE_US) ||
		   (c->state != S_HEAD && idle > STALL_US)) {
		srv.timeouts++;
		e = close_now(c, c->state != S_HEAD);
	} else if (c->state == S_SEND) {
		e = send_more(c);
	}
	return lwip_err(e);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	struct conn *c = srv.nconns < MAX_CONNS ? calloc(1, sizeof(*c)) : 0;
	if (!c) {
		srv.refused++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->pcb = pcb;
	c->since = time_us();
	c->next = srv.conns;
	srv.conns = c;
	srv.nconns++;
	srv.accepted++;
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_poll(pcb, on_poll, POLL_TICKS);
	tcp_nagle_disable(pcb);	/* answers go out whole, at once */
	return ERR_OK;
}

/* --- the command ----------------------------------------------------------- */

static void stats(void)
{
	uint64_t up = time_us() - srv.t0;
	uint64_t halted = time_tsc_to_us(idle_halted_tsc() - srv.halted0);
	uint64_t busy = up ? (up - (halted < up ? halted : up)) * 1000 / up : 0;
	con_printf("serve: %llu requests, %llu connections (%u open, %llu "
		   "refused), %llu timeouts; %llu bytes in, %llu out; up %llu "
		   "ms, halted %llu ms, busy %llu.%llu%%\n",
		   (unsigned long long)srv.requests,
		   (unsigned long long)srv.accepted, srv.nconns,
		   (unsigned long long)srv.refused,
		   (unsigned long long)srv.timeouts,
		   (unsigned long long)srv.bytes_in,
		   (unsigned long long)srv.bytes_out,
		   (unsigned long long)(up / 1000),
		   (unsigned long long)(halted / 1000),
		   (unsigned long long)(busy / 10),
		   (unsigned long long)(busy % 10));
}

static int wake(void *ctx)
{
	(void)ctx;
	return power_button_pressed() || con_has_input();
}

/* Listens on port (any address): 0, or an error message. */
static const char *listen_on(uint16_t port)
{
	struct tcp_pcb *pcb = tcp_new();
	if (!pcb)
		return "out of memory";
	ip_set_option(pcb, SOF_REUSEADDR);
	if (tcp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK) {
		tcp_close(pcb);
		return "the port is in use";
	}
	srv.listen = tcp_listen(pcb);
	if (!srv.listen) {
		tcp_close(pcb);
		return "out of memory";
	}
	tcp_accept(srv.listen, on_accept);
	return 0;
}

static void stop(void)
{
	tcp_accept(srv.listen, 0);
	tcp_close(srv.listen);
	while (srv.conns)
		close_now(srv.conns, 1);
}

/* The served directory: must exist and be one. */
static const char *site_init(const struct http_opts *o)
{
	uint32_t ino;
	struct efs_stat st;
	memset(&srv, 0, sizeof(srv));
	srv.site.fs = storage_root();
	srv.site.token = o->token;
	if (!srv.site.fs)
		return "no volume mounted";
	size_t n = strlen(o->dir);
	while (n > 1 && o->dir[n - 1] == '/')
		n--;
	if (o->dir[0] != '/' || n >= sizeof(srv.site.root))
		return "DIR must be an absolute path";
	memcpy(srv.site.root, o->dir, n);
	srv.site.root[n == 1 ? 0 : n] = 0;
	if (efs_lookup(srv.site.fs, o->dir, 1, &ino) ||
	    efs_stat(srv.site.fs, ino, &st) || st.kind != EFS_DIR)
		return "DIR is not a directory on the volume";
	return 0;
}

int http_serve(const struct http_opts *o)
{
	struct inet_status ns;
	char addr[16];
	const char *why = site_init(o);
	inet_status(&ns);
	if (!why && !ns.up)
		why = inet_strerror(INET_ERR_DOWN);
	if (!why)
		why = listen_on(o->port);
	if (why) {
		con_printf("serve: %s\n", why);
		return 1;
	}
	inet_ntoa(ns.addr, addr);
	con_printf("serve: http://%s:%u/ from %s (%s); Enter: statistics, "
		   "Ctrl-C: stop\n", addr, o->port, o->dir,
		   o->token ? "writes with the token" : "read-only");
	srv.t0 = time_us();
	srv.halted0 = idle_halted_tsc();
	int stopped = 0;
	while (!stopped && !power_button_pressed()) {
		inet_wait(wake, 0, IDLE_NEVER);
		int ch;
		while ((ch = con_getc()) >= 0) {
			if (ch == KEY_CTRL_C)
				stopped = 1;
			else if (ch == '\r' || ch == '\n')
				stats();
		}
	}
	stop();
	stats();
	return 0;
}
