/* HTTP/1.1 requests over lwIP's raw TCP API; see hclient.h. The
 * callbacks only note what happened; hclient_do waits in loop_wait and
 * decides. */
#include "hclient.h"

#include <string.h>

#include "../../runtime/fmt.h"
#include "../../runtime/time.h"
#include "../loop.h"
#include "lwip/tcp.h"

struct conn {
	struct tcp_pcb *pcb;
	struct hresp *r;
	int connected, done, result;
	const char *req;
	size_t req_len;
};

const char *hclient_strerror(int err)
{
	switch (err) {
	case HCLIENT_ERR_NO_ANSWER: return "no answer";
	case HCLIENT_ERR_REFUSED: return "connection refused or reset";
	case HCLIENT_ERR_TIMEOUT: return "the answer was not complete in time";
	case HCLIENT_ERR_NOMEM: return "out of memory";
	case HCLIENT_ERR_REQUEST: return "the request is too long";
	default: return hresp_strerror(err);
	}
}

static void finish(struct conn *c, int result)
{
	if (!c->done) {
		c->done = 1;
		c->result = result;
	}
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p,
		     err_t err)
{
	struct conn *c = arg;
	(void)err;
	if (!p) {		/* the server closed its side */
		int st = hresp_eof(c->r);
		finish(c, st == HRESP_DONE ? 0 : st);
		return ERR_OK;
	}
	for (struct pbuf *q = p; q && !c->done; q = q->next) {
		int st = hresp_feed(c->r, q->payload, q->len);
		if (st != HRESP_MORE)
			finish(c, st == HRESP_DONE ? 0 : st);
	}
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct conn *c = arg;
	c->pcb = 0;		/* lwIP has freed it */
	finish(c, !c->connected ? (err == ERR_RST ? HCLIENT_ERR_REFUSED
						  : HCLIENT_ERR_NO_ANSWER)
				: err == ERR_RST || err == ERR_CLSD
				? HCLIENT_ERR_REFUSED : HCLIENT_ERR_TIMEOUT);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct conn *c = arg;
	(void)err;
	c->connected = 1;
	if (tcp_write(pcb, c->req, (u16_t)c->req_len, TCP_WRITE_FLAG_COPY) !=
	    ERR_OK)
		finish(c, HCLIENT_ERR_NOMEM);
	else
		tcp_output(pcb);
	return ERR_OK;
}

static int finished(void *ctx)
{
	return ((struct conn *)ctx)->done;
}

/* Forgets the connection: closed when it ended well, else reset. */
static void drop(struct conn *c)
{
	if (!c->pcb)
		return;
	tcp_arg(c->pcb, 0);
	tcp_recv(c->pcb, 0);
	tcp_err(c->pcb, 0);
	if (c->result || !c->done || tcp_close(c->pcb) != ERR_OK)
		tcp_abort(c->pcb);
	c->pcb = 0;
}

int hclient_do(const struct hreq *q, struct hresp *r)
{
	char req[1024], addr[INET_IP_STR], host[INET_IP_STR + 2];
	hresp_init(r, q->body_max, !strcmp(q->method, "HEAD"));
	inet_ip_format(&q->addr, addr);
	fmt_snprintf(host, sizeof(host), q->addr.v6 ? "[%s]" : "%s", addr);
	int n = fmt_snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s\r\n"
			     "User-Agent: umbra\r\nAccept: */*\r\n"
			     "Connection: close\r\n%s%s\r\n", q->method,
			     q->path, host, strcmp(q->method, "GET")
			     ? "Content-Length: 0\r\n" : "",
			     q->fields ? q->fields : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return HCLIENT_ERR_REQUEST;
	struct conn c = { 0, r, 0, 0, 0, req, (size_t)n };
	ip_addr_t a;
	inet_to_lwip(&q->addr, &a);
	c.pcb = tcp_new_ip_type(q->addr.v6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4);
	if (!c.pcb)
		return HCLIENT_ERR_NOMEM;
	tcp_arg(c.pcb, &c);
	tcp_recv(c.pcb, on_recv);
	tcp_err(c.pcb, on_err);
	err_t e = tcp_connect(c.pcb, &a, q->port, on_connected);
	if (e != ERR_OK)	/* ERR_RTE: no route (no address) */
		finish(&c, e == ERR_MEM ? HCLIENT_ERR_NOMEM
					: HCLIENT_ERR_NO_ANSWER);
	if (!c.done)
		loop_wait(finished, &c, q->deadline_us);
	if (!c.done)
		finish(&c, c.connected ? HCLIENT_ERR_TIMEOUT
				       : HCLIENT_ERR_NO_ANSWER);
	drop(&c);
	return c.result;
}
