/* The `serve` command: the listeners (plain HTTP, HTTPS through
 * http_tls.c), the loop until the power button (or Ctrl-C), the
 * statistics; see http.h. The connections are http_conn.c's, the same
 * for both. */
#include "http_conn.h"

#include <string.h>

#include "../../runtime/console.h"
#include "../../runtime/idle.h"
#include "../../runtime/power.h"
#include "../../runtime/time.h"
#include "../loop.h"
#include "../net/inet.h"
#include "../net/tls.h"
#include "../storage.h"
#include "http_tls.h"

#define KEY_CTRL_C 3

struct http_server http_srv;

static void stats(void)
{
	uint64_t up = time_us() - http_srv.t0;
	uint64_t halted = time_tsc_to_us(idle_halted_tsc() - http_srv.halted0);
	uint64_t busy = up ? (up - (halted < up ? halted : up)) * 1000 / up : 0;
	con_printf("serve: %llu requests, %llu connections (%u open, %llu "
		   "refused, %llu evicted), %llu timeouts; %llu bytes in, %llu "
		   "out; up %llu ms, halted %llu ms, busy %llu.%llu%%\n",
		   (unsigned long long)http_srv.requests,
		   (unsigned long long)http_srv.accepted, http_srv.nconns,
		   (unsigned long long)http_srv.refused,
		   (unsigned long long)http_srv.evicted,
		   (unsigned long long)http_srv.timeouts,
		   (unsigned long long)http_srv.bytes_in,
		   (unsigned long long)http_srv.bytes_out,
		   (unsigned long long)(up / 1000),
		   (unsigned long long)(halted / 1000),
		   (unsigned long long)(busy / 10),
		   (unsigned long long)(busy % 10));
	http_tls_stats();
}

/* The writes held while the volume was frozen go on at the thaw. */
static int thawed(void *ctx)
{
	(void)ctx;
	return http_held() && !storage_frozen();
}

static void resume(void *ctx)
{
	(void)ctx;
	http_resume();
}

static struct loop_source held = { "serve: held writes", thawed, resume, 0,
				   0, 0, 0, 0, 0 };

static int wake(void *ctx)
{
	(void)ctx;
	return power_button_pressed() || con_has_input();
}

/* Listens on port (any address), over TLS with tls (NULL: plain TCP);
 * accepted connections get arg. 0, or an error message. */
static const char *listen_on(struct altcp_pcb **out, uint16_t port,
			     struct altcp_tls_config *tls, void *arg)
{
	const char *why;
	struct altcp_pcb *l = inet_listen(port, &why);
	if (l && tls) {
		struct altcp_pcb *t = altcp_tls_listener(tls, l);
		if (!t) {
			altcp_close(l);
			return "out of memory";
		}
		l = t;
	}
	if (!l)
		return why;
	altcp_arg(l, arg);
	altcp_accept(l, http_accept);
	*out = l;
	return 0;
}

static void stop(void)
{
	struct altcp_pcb **l[] = { &http_srv.listen, &http_srv.listen_tls };
	for (int i = 0; i < 2; i++)
		if (*l[i]) {
			altcp_accept(*l[i], 0);
			altcp_close(*l[i]);
			*l[i] = 0;
		}
	while (http_srv.conns)
		http_close(http_srv.conns, 1);
	inet_flush();		/* the resets go out */
}

/* The served directory: must exist and be one. */
static const char *site_init(const struct http_opts *o)
{
	uint32_t ino;
	struct efs_stat st;
	memset(&http_srv, 0, sizeof(http_srv));
	http_srv.site.fs = storage_root();
	http_srv.site.token = o->token;
	http_srv.site.tls_only = o->tls_cert != 0;
	if (!http_srv.site.fs)
		return "no volume mounted";
	size_t n = strlen(o->dir);
	while (n > 1 && o->dir[n - 1] == '/')
		n--;
	if (o->dir[0] != '/' || n >= sizeof(http_srv.site.root))
		return "DIR must be an absolute path";
	memcpy(http_srv.site.root, o->dir, n);
	http_srv.site.root[n == 1 ? 0 : n] = 0;
	if (efs_lookup(http_srv.site.fs, o->dir, 1, &ino) ||
	    efs_stat(http_srv.site.fs, ino, &st) || st.kind != EFS_DIR)
		return "DIR is not a directory on the volume";
	return 0;
}

/* "serve: also http://[ADDR]:PORT/" for each global IPv6 address. */
static void also_v6(const struct inet_status *ns, const char *scheme,
		    uint16_t port)
{
	for (unsigned i = 0; i < ns->n6; i++) {
		char a6[INET_IP_STR];
		if (inet_ip_linklocal(&ns->addr6[i]))
			continue;
		inet_ip_format(&ns->addr6[i], a6);
		con_printf("serve: also %s://[%s]:%u/\n", scheme, a6, port);
	}
}

/* Both listeners, and the lines that say where: the https one first,
 * the last one with the keys. 0, or an error message. */
static const char *start(const struct http_opts *o,
			 const struct inet_status *ns)
{
	char a[16], how[256];
	const char *why = 0, *keys = "; Enter: statistics, Ctrl-C: stop";
	inet_ip4_format(ns->addr, a);
	if (o->tls_cert) {
		why = http_tls_start(o, &http_srv.site);
		if (!why)
			why = listen_on(&http_srv.listen_tls, o->tls_port,
					http_tls_config(), &http_srv);
		if (why)
			return why;
		con_printf("serve: https://%s:%u/ from %s (%s); %s%s\n", a,
			   o->tls_port, o->dir, o->token ? "writes with the "
			   "token" : "read-only", http_tls_describe(how,
							 sizeof(how)),
			   o->port ? "" : keys);
		also_v6(ns, "https", o->tls_port);
	}
	if (!o->port)
		return 0;
	why = listen_on(&http_srv.listen, o->port, 0, 0);
	if (why)
		return why;
	con_printf("serve: http://%s:%u/ from %s (%s)%s\n", a, o->port, o->dir,
		   !o->token ? "read-only" : o->tls_cert ? "writes over https "
		   "only" : "writes with the token", keys);
	also_v6(ns, "http", o->port);
	return 0;
}

int http_serve(const struct http_opts *o)
{
	struct inet_status ns;
	const char *why = site_init(o);
	inet_status(&ns);
	if (!why && !ns.up)
		why = inet_strerror(INET_ERR_DOWN);
	if (!why && !o->port && !o->tls_cert)
		why = "nothing to listen on (--port 0 needs --tls)";
	if (!why)
		why = start(o, &ns);
	if (why) {
		stop();
		http_tls_stop();
		con_printf("serve: %s\n", why);
		return 1;
	}
	http_srv.t0 = time_us();
	http_srv.halted0 = idle_halted_tsc();
	loop_add(&held);
	int stopped = 0;
	while (!stopped && !power_button_pressed()) {
		loop_wait(wake, 0, IDLE_NEVER);
		int ch;
		while ((ch = con_getc()) >= 0) {
			if (ch == KEY_CTRL_C)
				stopped = 1;
			else if (ch == '\r' || ch == '\n')
				stats();
		}
	}
	loop_remove(&held);
	stop();
	stats();
	http_tls_stop();
	return 0;
}
