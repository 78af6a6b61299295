/* A connection's answers out: the head, then the body from memory or
 * from the file, as lwIP's send buffer takes them; see http_conn.h.
 *
 * A file's bytes are read (efs_read: the disk's DMA when the read is
 * aligned) into buffers of FBUF bytes and handed to lwIP by reference,
 * so that nothing copies them on their way to the device, which reads
 * them where they lie (app/net/gso.c). A buffer is the connection's
 * until TCP has all of it acknowledged (or the connection is reset),
 * then waits until every frame sent by then is back from the device
 * (inet_tx_passed: a frame sent again may still be in flight), then is
 * spare (a TLS connection's bytes are encrypted into records, so they
 * are copied). A connection reads ahead no further than the peer's window
 * (and half a buffer) beyond what lwIP holds, and FBUF_CONN buffers;
 * FBUF_ALL for all bound the memory. A small rest of a file, and every
 * read while all buffers are in use, go by copy into lwIP's heap, as
 * all did before: a client that reads nothing holds one buffer, and no
 * number of them can keep another's answer waiting. */
#include "http_conn.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/console.h"
#include "../../runtime/fmt.h"
#include "../../runtime/rtc.h"
#include "../../runtime/time.h"
#include "../net/inet.h"
#include "../storage.h"
#include "lwip/tcp.h"

#define CHUNK 32768		/* file bytes per copying altcp_write */
#define BLOCK 4096		/* smaller reads: whole blocks of the file */

static char chunk[CHUNK];	/* file bytes on their way to be copied */

/* One line on the console for a failure the client cannot see the
 * cause of: "serve: PUT /a.txt: 500 Internal Server Error: write error
 * on vda at LBA 133190 (+1): ...". */
static void say(struct http_conn *c, const char *what, const char *why)
{
	con_printf("serve: %s %s: %s: %s\n", http_method_name(c->req.method),
		   c->req.path[0] ? c->req.path : "-", what,
		   why[0] ? why : "no cause recorded");
}

/* A 5xx that says the server failed (not 501 or 505, which answer what
 * the client asked for) is said on the console with its cause. */
static void say_failure(struct http_conn *c)
{
	const struct http_resp *r = &c->resp;
	char what[48];
	if (r->status < 500 || r->status == 501 || r->status == 505)
		return;
	fmt_snprintf(what, sizeof(what), "%d %s", r->status,
		     http_reason(r->status));
	say(c, what, r->why);
}

static void format_head(struct http_conn *c)
{
	struct http_resp *r = &c->resp;
	char date[30], mod[30];
	http_date(rtc_now(), date);
	int n = fmt_snprintf(c->out, HTTP_OUT_MAX, "HTTP/1.1 %d %s\r\nServer: "
			     "umbra\r\nDate: %s\r\n", r->status,
			     http_reason(r->status), date);
	if (r->type)
		n += fmt_snprintf(c->out + n, HTTP_OUT_MAX - n,
				  "Content-Type: %s\r\n", r->type);
	if (r->status != 204 && r->status != 304)	/* RFC 9110 §8.6 */
		n += fmt_snprintf(c->out + n, HTTP_OUT_MAX - n,
				  "Content-Length: %llu\r\n",
				  (unsigned long long)r->len);
	if (r->mtime) {
		http_date(r->mtime, mod);
		n += fmt_snprintf(c->out + n, HTTP_OUT_MAX - n,
				  "Last-Modified: %s\r\n", mod);
	}
	if (r->etag[0])
		n += fmt_snprintf(c->out + n, HTTP_OUT_MAX - n, "ETag: %s\r\n",
				  r->etag);
	if (r->ino)
		n += fmt_snprintf(c->out + n, HTTP_OUT_MAX - n,
				  "Accept-Ranges: bytes\r\n");
	n += fmt_snprintf(c->out + n, HTTP_OUT_MAX - n, "%s%s\r\n", r->fields,
			  r->close ? "Connection: close\r\n"
			  : c->req.minor == 0 ? "Connection: keep-alive\r\n"
			  : "");
	c->out_len = (size_t)n < HTTP_OUT_MAX ? (size_t)n : HTTP_OUT_MAX - 1;
	c->out_off = 0;
}

#define FBUF (60u << 10)	/* file bytes per read, one tcp_write */
#define FBUF_CONN 8		/* buffers a connection may have */
#define FBUF_ALL 48		/* ... all of them: 2.8 MiB */
#define FBUF_SPARE 8		/* kept for the next reads */
#define FBUF_LOW (16u << 10)	/* less than this goes by copy */

_Static_assert(FBUF <= 0xffff, "one altcp_write (u16 length)");

struct http_fbuf {
	struct http_fbuf *next;
	uint32_t end;		/* TCP's sequence number after its last
				 * byte written (lwIP's snd_lbb) */
	uint64_t mark;		/* retiring: inet_tx_mark as TCP let go */
	size_t len, sent;	/* read, and written to lwIP */
	uint8_t data[FBUF];
};

static struct http_fbuf *spare, *retiring;
static unsigned fbufs, nspare;	/* allocated; spare */

/* Buffers whose frames are back from the device: spare (or freed). */
static void reclaim(void)
{
	for (struct http_fbuf **p = &retiring; *p;) {
		struct http_fbuf *b = *p;
		if (!inet_tx_passed(b->mark)) {
			p = &b->next;
			continue;
		}
		*p = b->next;
		if (nspare < FBUF_SPARE) {
			b->next = spare;
			spare = b;
			nspare++;
		} else {
			free(b);
			fbufs--;
		}
	}
}

/* TCP let go of b: it waits for the frames sent until now (one never
 * written to lwIP needs not). */
static void retire(struct http_fbuf *b)
{
	b->mark = b->sent ? inet_tx_mark() : 0;
	b->next = retiring;
	retiring = b;
}

static struct http_fbuf *fbuf_get(void)
{
	reclaim();
	struct http_fbuf *b = spare;
	if (b) {
		spare = b->next;
		nspare--;
	} else if (fbufs < FBUF_ALL && (b = malloc(sizeof(*b)))) {
		fbufs++;
	}
	if (b)
		b->len = b->sent = 0;
	return b;
}

static void fbuf_pop(struct http_fbufs *q)
{
	struct http_fbuf *b = q->head;
	q->head = b->next;
	if (!q->head)
		q->tail = 0;
	q->n--;
	retire(b);
}

/* A plain connection's TCP pcb (altcp_tcp keeps it as its state); NULL
 * for TLS. */
static struct tcp_pcb *tcp_of(const struct http_conn *c)
{
	return c->tls ? 0 : (struct tcp_pcb *)c->pcb->state;
}

void http_bufs_acked(struct http_conn *c)
{
	struct http_fbufs *q = &c->fb;
	struct tcp_pcb *tp = tcp_of(c);
	while (tp && q->head && q->head->sent == q->head->len &&
	       (int32_t)(tp->lastack - q->head->end) >= 0)
		fbuf_pop(q);
}

int http_bufs_waiting(const struct http_conn *c)
{
	return c->fb.head != 0;
}

void http_bufs_drop(struct http_fbufs *q)
{
	while (q->head)
		fbuf_pop(q);
}

/* Queues what fits of the bytes at data; how many, or -1 when lwIP
 * is out of memory for now. */
static long put_bytes(struct http_conn *c, const void *data, size_t n, int more)
{
	size_t room = altcp_sndbuf(c->pcb);
	size_t k = n < room ? n : room;
	if (k > 0xffff)
		k = 0xffff;
	if (!k)
		return 0;
	u8_t flags = TCP_WRITE_FLAG_COPY | (more || k < n ?
					    TCP_WRITE_FLAG_MORE : 0);
	if (altcp_write(c->pcb, data, (u16_t)k, flags) != ERR_OK)
		return -1;
	http_srv.bytes_out += k;
	return (long)k;
}

/* What to write next: from a buffer (the last one, if lwIP has not
 * taken all of it, or a new one read from the file), by copy (TLS, a
 * small rest of the file, or every buffer in use: then lwIP's heap
 * holds them, as it did before buffers), or nothing for now (the peer's
 * window is full with what lwIP holds, or the connection has as many
 * buffers as it may: on_sent or on_poll comes back), or the file could
 * not be read (said on the console). */
enum { F_BUF, F_COPY, F_WAIT, F_ERR };

static int next_buf(struct http_conn *c, struct http_fbuf **out)
{
	struct http_fbufs *q = &c->fb;
	struct tcp_pcb *tp = tcp_of(c);
	if (q->tail && q->tail->sent < q->tail->len) {
		*out = q->tail;
		return F_BUF;
	}
	if (!tp || c->file_left < FBUF_LOW)
		return F_COPY;
	uint32_t held = tp->snd_lbb - tp->lastack;
	if (q->n == FBUF_CONN || held >= tp->snd_wnd + FBUF / 2 ||
	    altcp_sndbuf(c->pcb) < FBUF_LOW)
		return F_WAIT;
	struct http_fbuf *b = fbuf_get();
	if (!b)
		return F_COPY;
	size_t want = c->file_left < FBUF ? (size_t)c->file_left : FBUF;
	int64_t got = efs_read(http_srv.site.fs, c->resp.ino, c->file_off,
			       b->data, want);
	if (got <= 0) {
		say(c, "the answer was cut short", got < 0
		    ? storage_strerror((int)got) : "the file ended early");
		retire(b);
		return F_ERR;
	}
	b->len = (size_t)got;
	b->next = 0;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	q->n++;
	*out = b;
	return F_BUF;
}

/* One piece of the file by copy: what the connection takes now, in
 * whole blocks, at least half a chunk (a TLS connection takes a record,
 * 16 KiB, at a time) unless it is the end of the file: small writes
 * make small segments. How many bytes, 0 when lwIP takes none now, -1
 * when the file could not be read. */
static long copy_file(struct http_conn *c)
{
	size_t want = CHUNK, room = altcp_sndbuf(c->pcb);
	if (want > c->file_left)
		want = (size_t)c->file_left;
	if (room < want && room < CHUNK / 2)
		return 0;
	if (room < want)
		want = room & ~(size_t)(BLOCK - 1);
	int64_t got = efs_read(http_srv.site.fs, c->resp.ino, c->file_off,
			       chunk, want);
	if (got <= 0) {
		say(c, "the answer was cut short", got < 0
		    ? storage_strerror((int)got) : "the file ended early");
		return -1;
	}
	long k = put_bytes(c, chunk, (size_t)got,
			   c->file_left > (uint64_t)got);
	if (k <= 0)
		return 0;
	c->file_off += (uint64_t)k;
	c->file_left -= (uint64_t)k;
	return k == got ? k : 0;	/* lwIP memory: on_sent comes back */
}

/* The file's bytes to lwIP, as its send buffer, the peer's window and
 * the buffers allow. 0, or -1 when the file could not be read. */
static int send_file(struct http_conn *c)
{
	while (c->file_left) {
		struct http_fbuf *b = 0;
		int how = next_buf(c, &b);
		if (how == F_ERR)
			return -1;
		if (how == F_WAIT)
			return 0;
		if (how == F_COPY) {
			long k = copy_file(c);
			if (k <= 0)
				return k < 0 ? -1 : 0;
			continue;
		}
		size_t n = b->len - b->sent, room = altcp_sndbuf(c->pcb);
		if (n > room)
			n = room;
		u8_t more = c->file_left > n ? TCP_WRITE_FLAG_MORE : 0;
		if (!n || altcp_write(c->pcb, b->data + b->sent, (u16_t)n,
				      more) != ERR_OK)
			return 0;	/* lwIP memory: on_sent comes back */
		b->sent += n;
		b->end = tcp_of(c)->snd_lbb;
		c->file_off += n;
		c->file_left -= n;
		http_srv.bytes_out += n;
	}
	return 0;
}

/* The file has not changed since the answer was chosen (a PUT may have
 * replaced it: then the rest would be another file's bytes). */
static int file_same(struct http_conn *c)
{
	struct efs_stat st;
	return !efs_stat(http_srv.site.fs, c->resp.ino, &st) &&
	       st.kind == EFS_FILE && st.size == c->resp.file_size &&
	       st.mtime == c->resp.file_mtime;
}

static err_t output(struct http_conn *c)
{
	altcp_output(c->pcb);
	return ERR_OK;
}

/* Ready for the next request on c (its bytes may be queued already). */
void http_next(struct http_conn *c)
{
	free(c->resp.mem);
	memset(&c->resp, 0, sizeof(c->resp));
	c->state = S_HEAD;
	c->hlen = 0;
	c->kept = 1;
	c->since = time_us();
}

/* Sends what fits: the head, then the body from memory or the file.
 * When everything is queued the next request may start. */
err_t http_pump(struct http_conn *c)
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
			return http_close(c, 1);
		if (send_file(c) < 0)
			return http_close(c, 1);
		if (c->file_left)
			return output(c);
	}
	output(c);
	if (r->close)
		return http_linger(c);
	http_next(c);
	return ERR_OK;
}

err_t http_respond(struct http_conn *c)
{
	struct http_resp *r = &c->resp;
	if (!c->req.keep_alive)
		r->close = 1;
	say_failure(c);
	format_head(c);
	c->state = S_SEND;
	c->since = time_us();
	c->file_off = r->off;
	c->file_left = r->head_only ? 0 : r->len;
	return http_pump(c);
}
