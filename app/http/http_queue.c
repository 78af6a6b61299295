/* A connection's input queue; see http_conn.h. Two forms, never both
 * at once: the pbufs lwIP just handed over (inside on_recv, where most
 * of them are consumed in place: heads, bodies), or bytes copied out of
 * them into memory of the connection's own, for what is left over
 * (requests pipelined behind an answer the peer does not read). The
 * pbufs then go back to lwIP's pool at once: a connection holding one
 * per frame would hold the pool (a window of small frames is all of
 * it), and nobody else could be served. The copy holds at most what
 * the receive window let in (TCP_WND: the window reopens only as the
 * queue is consumed). */
#include "http_conn.h"

#include <stdlib.h>
#include <string.h>

#define KEEP 4096		/* an emptied copy keeps a buffer this big */

size_t http_queued(const struct http_queue *q)
{
	return q->frame ? q->frame->tot_len : q->len;
}

char *http_front(struct http_queue *q, size_t *n)
{
	if (q->frame) {
		*n = q->frame->len;
		return q->frame->payload;
	}
	*n = q->len;
	return q->buf + q->off;
}

void http_peek(const struct http_queue *q, void *out, size_t n)
{
	if (q->frame)
		pbuf_copy_partial(q->frame, out, (u16_t)n, 0);
	else
		memcpy(out, q->buf + q->off, n);
}

void http_dequeue(struct http_queue *q, size_t n)
{
	if (q->frame) {
		q->frame = pbuf_free_header(q->frame, (u16_t)n);
		return;
	}
	q->off += n;
	q->len -= n;
	if (q->len)
		return;
	q->off = 0;
	if (q->cap > KEEP) {	/* a burst is over: give it back */
		free(q->buf);
		q->buf = 0;
		q->cap = 0;
	}
}

/* Appends what p holds to the copy: 0, or -1 out of memory. */
static int copy_in(struct http_queue *q, const struct pbuf *p)
{
	size_t need = q->len + p->tot_len;
	if (q->off && q->off + need > q->cap) {
		memmove(q->buf, q->buf + q->off, q->len);
		q->off = 0;
	}
	if (need > q->cap) {
		size_t cap = (need + KEEP - 1) / KEEP * KEEP;
		char *buf = realloc(q->buf, cap);
		if (!buf)
			return -1;
		q->buf = buf;
		q->cap = cap;
	}
	pbuf_copy_partial(p, q->buf + q->off + q->len, p->tot_len, 0);
	q->len = need;
	return 0;
}

int http_enqueue(struct http_queue *q, struct pbuf *p)
{
	if (http_spill(q))
		return -1;
	if (!q->len) {
		q->frame = p;	/* taken in place */
		return 0;
	}
	if (copy_in(q, p))	/* behind what waits: copied */
		return -1;
	pbuf_free(p);
	return 0;
}

int http_spill(struct http_queue *q)
{
	if (!q->frame)
		return 0;
	if (copy_in(q, q->frame))
		return -1;
	pbuf_free(q->frame);
	q->frame = 0;
	return 0;
}

void http_queue_free(struct http_queue *q)
{
	if (q->frame)
		pbuf_free(q->frame);
	free(q->buf);
	memset(q, 0, sizeof(*q));
}
