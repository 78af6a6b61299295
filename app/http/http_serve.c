/* The `serve` command: the listener, the loop until the power button
 * (or Ctrl-C), the statistics; see http.h. The connections are
 * http_conn.c's. */
#include "http_conn.h"

#include <string.h>

#include "../../runtime/console.h"
#include "../../runtime/idle.h"
#include "../../runtime/power.h"
#include "../../runtime/time.h"
#include "../loop.h"
#include "../net/inet.h"
#include "../storage.h"

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

/* Listens on port (any address, IPv4 and IPv6): 0, or an error
 * message. */
static const char *listen_on(uint16_t port)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
	if (!pcb)
		return "out of memory";
	ip_set_option(pcb, SOF_REUSEADDR);
	if (tcp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
		tcp_close(pcb);
		return "the port is in use";
	}
	inet_tcp_guard(pcb);	/* a SYN flood evicts its own */
	http_srv.listen = tcp_listen(pcb);
	if (!http_srv.listen) {
		tcp_close(pcb);
		return "out of memory";
	}
	tcp_accept(http_srv.listen, http_accept);
	return 0;
}

static void stop(void)
{
	tcp_accept(http_srv.listen, 0);
	tcp_close(http_srv.listen);
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
	inet_ip4_format(ns.addr, addr);
	con_printf("serve: http://%s:%u/ from %s (%s); Enter: statistics, "
		   "Ctrl-C: stop\n", addr, o->port, o->dir,
		   o->token ? "writes with the token" : "read-only");
	for (unsigned i = 0; i < ns.n6; i++) {	/* and over IPv6 */
		char a6[INET_IP_STR];
		if (inet_ip_linklocal(&ns.addr6[i]))
			continue;
		inet_ip_format(&ns.addr6[i], a6);
		con_printf("serve: also http://[%s]:%u/\n", a6, o->port);
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
	return 0;
}
