/* A connection's answers out: the head, then the body from memory or
 * from the file, as lwIP's send buffer takes them; see http_conn.h. */
#include "http_conn.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/console.h"
#include "../../runtime/fmt.h"
#include "../../runtime/rtc.h"
#include "../../runtime/time.h"
#include "../storage.h"

#define CHUNK 32768		/* file bytes per tcp_write (u16 length) */

static char chunk[CHUNK];	/* file bytes on their way to lwIP */

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

/* Queues what fits of the bytes at data; how many, or -1 when lwIP
 * is out of memory for now. */
static long put_bytes(struct http_conn *c, const void *data, size_t n, int more)
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
	http_srv.bytes_out += k;
	return (long)k;
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
	tcp_output(c->pcb);
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
		while (c->file_left) {
			size_t want = CHUNK;
			if (want > c->file_left)
				want = (size_t)c->file_left;
			if (tcp_sndbuf(c->pcb) < want)
				break;
			int64_t got = efs_read(http_srv.site.fs, r->ino,
					       c->file_off, chunk, want);
			if (got <= 0) {
				say(c, "the answer was cut short", got < 0
				    ? storage_strerror((int)got)
				    : "the file ended early");
				return http_close(c, 1);
			}
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
