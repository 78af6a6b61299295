/* Network commands: net (status), net up (DHCP or static), ping (IPv4
 * or IPv6). */
#include <stdint.h>
#include <string.h>

#include "../drivers/net.h"
#include "../runtime/console.h"
#include "../runtime/irq.h"
#include "../runtime/random.h"
#include "../runtime/time.h"
#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/prot/icmp6.h"
#include "lwip/raw.h"
#include "app.h"
#include "cloud/cloud.h"
#include "http/http.h"
#include "loop.h"
#include "net/inet.h"
#include "shell.h"

#define DHCP_US 15000000ull	/* `net up` waits this long for a lease */
#define DNS_US 5000000ull
#define PING_WAIT_US 1000000ull	/* a reply, and the interval */
#define PING_DATA 56		/* bytes after the ICMP header, as ping(8) */
#define PING_MAX 1000

static unsigned prefix_of(uint32_t mask)
{
	return (unsigned)__builtin_popcount(mask);
}

static void print_mac(const uint8_t *m)
{
	con_printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		   m[4], m[5]);
}

static int ip_set(const struct inet_ip *ip)
{
	static const uint8_t zero[16];
	return memcmp(ip->b, zero, ip->v6 ? 16 : 4) != 0;
}

/* The IPv4 address line (`net up` prints it too). */
static void print_addr(struct net_dev *d)
{
	struct inet_status st;
	char a[16], g[16], n1[INET_IP_STR];
	inet_status(&st);
	if (!st.up) {
		con_printf("%s: no address (net up)\n", d->name);
		return;
	}
	inet_ip4_format(st.addr, a);
	inet_ip4_format(st.gateway, g);
	inet_ip_format(&st.dns[0], n1);
	con_printf("%s: %s/%u gateway %s dns %s (%s)\n", d->name, a,
		   prefix_of(st.mask), g, ip_set(&st.dns[0]) ? n1 : "none",
		   st.dhcp ? "DHCP" : "static");
}

/* IPv6 addresses, the second DNS server, the routes. */
static void print_more(struct net_dev *d)
{
	struct inet_status st;
	char a[INET_IP_STR], g[16];
	inet_status(&st);
	for (unsigned i = 0; i < st.n6; i++) {
		inet_ip_format(&st.addr6[i], a);
		con_printf("%s: inet6 %s (%s%s)\n", d->name, a,
			   inet_ip_linklocal(&st.addr6[i]) ? "link-local"
							   : "SLAAC",
			   st.tentative6[i] ? ", tentative" : "");
	}
	if (ip_set(&st.dns[1])) {
		inet_ip_format(&st.dns[1], a);
		con_printf("%s: dns %s (second)\n", d->name, a);
	}
	uint32_t dest, gw;
	unsigned prefix;
	const char *from;
	for (unsigned i = 0; !inet_route_get(i, &dest, &prefix, &gw, &from);
	     i++) {
		inet_ip4_format(dest, a);
		inet_ip4_format(gw, g);
		con_printf("%s: route %s/%u via %s (%s)\n", d->name, a, prefix,
			   gw ? g : "the link", from);
	}
}

static void print_dev(struct net_dev *d)
{
	struct inet_status st;
	inet_status(&st);
	con_printf("%s: %s; MAC ", d->name, d->model);
	print_mac(d->mac);
	con_printf("; link %s; mtu %u; waits by %s\n",
		   d->failed ? "failed" : d->ops->link(d) ? "up" : "down",
		   d == inet_dev() && st.mtu ? st.mtu : d->mtu,
		   net_wait_mode(d));
	if (d == inet_dev()) {
		print_addr(d);
		print_more(d);
	}
	const struct net_stats *s = &d->stats;
	con_printf("%s: rx %llu frames %llu bytes, tx %llu frames %llu bytes;"
		   " dropped %llu, no buffer %llu, ring full %llu; %llu "
		   "interrupts, %llu halts\n", d->name,
		   (unsigned long long)s->rx_frames,
		   (unsigned long long)s->rx_bytes,
		   (unsigned long long)s->tx_frames,
		   (unsigned long long)s->tx_bytes,
		   (unsigned long long)s->rx_dropped,
		   (unsigned long long)(d == inet_dev() ? st.rx_nomem : 0),
		   (unsigned long long)s->tx_busy,
		   (unsigned long long)(d->irq_vec ? irq_count(d->irq_vec) : 0),
		   (unsigned long long)s->halts);
	if (d == inet_dev() && (d->tx_csum || d->rx_csum))
		con_printf("%s: offloads: tx %llu segments in %llu frames, %llu "
			   "segmented by the device; rx %llu large frames, "
			   "%llu bad checksums\n", d->name,
			   (unsigned long long)st.tx_segments,
			   (unsigned long long)st.tx_frames,
			   (unsigned long long)s->tx_gso,
			   (unsigned long long)s->rx_large,
			   (unsigned long long)st.rx_badsum);
	if (d->failed && d->detail[0])
		con_printf("%s: error: %s\n", d->name, d->detail);
}

/* ADDR/PREFIX GATEWAY [DNS] */
static int up_static(int argc, char **argv)
{
	char *slash = strchr(argv[2], '/');
	unsigned long long prefix = 0;
	uint32_t addr, gw, dns = 0;
	if (!slash)
		return shell_err(argv[0], SHELL_USAGE, "%s: want ADDR/PREFIX",
				 argv[2]);
	*slash = 0;
	if (inet_ip4_parse(argv[2], &addr) || shell_parse_u64(slash + 1, &prefix) ||
	    prefix > 32 || inet_ip4_parse(argv[3], &gw) ||
	    (argc == 5 && inet_ip4_parse(argv[4], &dns)))
		return shell_err(argv[0], SHELL_USAGE, "usage: net up "
				 "ADDR/PREFIX GATEWAY [DNS] (dotted quads)");
	int err = inet_up_static(addr, (unsigned)prefix, gw, dns);
	if (err)
		return shell_err(argv[0], 1, "%s", inet_strerror(err));
	print_addr(inet_dev());
	return 0;
}

static int cmd_net(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "up"))
		return shell_err(argv[0], SHELL_USAGE, "usage: net [up "
				 "[ADDR/PREFIX GATEWAY [DNS]]]");
	if (argc == 3 || argc > 5)
		return shell_err(argv[0], SHELL_USAGE, "usage: net up "
				 "ADDR/PREFIX GATEWAY [DNS]");
	if (!net_count())
		return shell_err(argv[0], 1, "no network device");
	if (argc == 1) {
		for (unsigned i = 0; i < net_count(); i++)
			print_dev(net_get(i));
		return 0;
	}
	if (argc >= 4)
		return up_static(argc, argv);
	int err = inet_up_dhcp(time_us() + DHCP_US);
	if (err == INET_ERR_TIMEOUT)
		return shell_err(argv[0], 1, "%s: no DHCP lease within %llu s",
				 inet_dev()->name, DHCP_US / 1000000);
	if (err)
		return shell_err(argv[0], 1, "%s", inet_strerror(err));
	print_addr(inet_dev());
	return 0;
}

struct ping {
	uint16_t id, seq;
	int got, v6;
	uint64_t sent_us;
};

/* Echo replies to our id and sequence number (RFC 792; RFC 4443 §4.2);
 * the rest goes on to lwIP's own ICMP handling. */
static u8_t ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p,
		      const ip_addr_t *addr)
{
	(void)pcb;
	(void)addr;
	struct ping *pg = arg;
	struct icmp_echo_hdr h;	/* ICMPv6's echo has the same layout */
	u16_t hl = (u16_t)ip_current_header_tot_len();
	u8_t reply = pg->v6 ? ICMP6_TYPE_EREP : ICMP_ER;
	if (p->tot_len < hl + sizeof(h) ||
	    pbuf_copy_partial(p, &h, sizeof(h), hl) != sizeof(h) ||
	    h.type != reply || h.id != lwip_htons(pg->id) ||
	    h.seqno != lwip_htons(pg->seq))
		return 0;
	pg->got = 1;
	pbuf_free(p);
	return 1;
}

static int ping_send(struct raw_pcb *pcb, struct ping *pg,
		     const ip_addr_t *to)
{
	struct pbuf *p = pbuf_alloc(PBUF_IP, sizeof(struct icmp_echo_hdr) +
				    PING_DATA, PBUF_RAM);
	if (!p)
		return -1;
	struct icmp_echo_hdr *h = p->payload;
	h->type = pg->v6 ? ICMP6_TYPE_EREQ : ICMP_ECHO;
	h->code = 0;
	h->chksum = 0;
	h->id = lwip_htons(pg->id);
	h->seqno = lwip_htons(pg->seq);
	uint8_t *data = (uint8_t *)(h + 1);
	for (int i = 0; i < PING_DATA; i++)
		data[i] = (uint8_t)i;
	if (!pg->v6)	/* ICMPv6's covers a pseudo-header: lwIP sums it */
		h->chksum = inet_chksum(h, p->len);
	pg->got = 0;
	pg->sent_us = time_us();
	err_t e = raw_sendto(pcb, p, to);
	pbuf_free(p);
	return e == ERR_OK ? 0 : -1;
}

static int replied(void *ctx)
{
	return ((struct ping *)ctx)->got;
}

static void print_reply(const char *from, uint16_t seq, uint64_t us)
{
	con_printf("%u bytes from %s: icmp_seq=%u time=%llu.%03llu ms\n",
		   (unsigned)(8 + PING_DATA), from, (unsigned)seq,
		   (unsigned long long)(us / 1000),
		   (unsigned long long)(us % 1000));
}

static struct raw_pcb *ping_pcb(struct ping *pg)
{
	struct raw_pcb *pcb = pg->v6 ?
		raw_new_ip_type(IPADDR_TYPE_V6, IP6_NEXTH_ICMP6) :
		raw_new(IP_PROTO_ICMP);
	if (pcb && pg->v6) {
		pcb->chksum_reqd = 1;	/* RFC 4443 §2.3, at offset 2 */
		pcb->chksum_offset = 2;
	}
	if (pcb)
		raw_recv(pcb, ping_recv, pg);
	return pcb;
}

static int cmd_ping(int argc, char **argv)
{
	unsigned long long count = 3;
	if (argc < 2 || argc > 3 ||
	    (argc == 3 && (shell_parse_u64(argv[2], &count) || !count ||
			   count > PING_MAX)))
		return shell_err(argv[0], SHELL_USAGE, "usage: ping HOST "
				 "[COUNT] (COUNT 1..%d)", PING_MAX);
	struct inet_ip to;
	int err = inet_resolve(argv[1], &to, time_us() + DNS_US);
	if (err)
		return shell_err(argv[0], 1, "%s: %s", argv[1],
				 inet_strerror(err));
	struct inet_status st;
	inet_status(&st);
	if (!st.up && !st.n6)
		return shell_err(argv[0], 1, "%s",
				 inet_strerror(INET_ERR_DOWN));
	struct ping pg = { (uint16_t)random_u64(), 0, 0, to.v6, 0 };
	struct raw_pcb *pcb = ping_pcb(&pg);
	if (!pcb)
		return shell_err(argv[0], 1, "out of memory");
	ip_addr_t dest;
	inet_to_lwip(&to, &dest);
	char a[INET_IP_STR];
	inet_ip_format(&to, a);
	unsigned long long got = 0;
	for (unsigned long long i = 0; i < count; i++) {
		pg.seq = (uint16_t)(i + 1);
		if (ping_send(pcb, &pg, &dest)) {
			con_printf("ping: %s: cannot send\n", a);
		} else if (loop_wait(replied, &pg, pg.sent_us + PING_WAIT_US)) {
			got++;
			print_reply(a, pg.seq, time_us() - pg.sent_us);
		} else {
			con_printf("ping: %s: no reply to icmp_seq=%u\n", a,
				   (unsigned)pg.seq);
		}
		if (i + 1 < count)
			loop_wait(0, 0, pg.sent_us + PING_WAIT_US);
	}
	raw_remove(pcb);
	con_printf("ping: %s: %llu sent, %llu received, %llu%% loss\n", a,
		   count, got, (count - got) * 100 / count);
	return got ? 0 : 1;
}

static int cmd_cloud(int argc, char **argv)
{
	if (argc != 1)
		return shell_err(argv[0], SHELL_USAGE, "usage: cloud");
	cloud_print(app_script_from());
	return 0;
}

/* A port number: 1..65535, or 0 when zero is allowed. */
static int parse_port(const char *s, int zero_ok, uint16_t *port)
{
	unsigned long long v;
	if (shell_parse_u64(s, &v) || v > 65535 || (!v && !zero_ok))
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* serve [--port N] [--token TOKEN] [--tls CERT KEY] [--tls-port N] [DIR] */
static int cmd_serve(int argc, char **argv)
{
	struct http_opts o = { .port = 80, .dir = "/", .tls_port = 443 };
	int i = 1, bad = 0;
	while (!bad && i + 1 < argc && argv[i][0] == '-') {
		const char *opt = argv[i];
		if (!strcmp(opt, "--port"))
			bad = parse_port(argv[i + 1], 1, &o.port);
		else if (!strcmp(opt, "--tls-port"))
			bad = parse_port(argv[i + 1], 0, &o.tls_port);
		else if (!strcmp(opt, "--token") && argv[i + 1][0])
			o.token = argv[i + 1];
		else if (!strcmp(opt, "--tls") && i + 2 < argc &&
			 argv[i + 1][0] && argv[i + 2][0]) {
			o.tls_cert = argv[i + 1];
			o.tls_key = argv[++i + 1];
		} else
			bad = 1;
		i += 2;
	}
	if (!bad && i < argc && argv[i][0] != '-')
		o.dir = argv[i++];
	if (bad || i != argc)
		return shell_err(argv[0], SHELL_USAGE, "usage: serve [--port N]"
				 " [--token TOKEN] [--tls CERT KEY] "
				 "[--tls-port N] [DIR]");
	return http_serve(&o);
}

const struct shell_cmd shell_net_cmds[] = {
	{ "net", "[up [ADDR/PREFIX GATEWAY [DNS]]]",
	  "network status; up: DHCP, or a static address", cmd_net },
	{ "ping", "HOST [COUNT]", "ICMP echo, once a second", cmd_ping },
	{ "cloud", "", "the cloud (from SMBIOS), its metadata, the script's "
	  "source", cmd_cloud },
	{ "serve", "[--port N] [--token T] [--tls CERT KEY] [--tls-port N] "
	  "[DIR]", "HTTP/1.1 (and HTTPS) server for DIR until power-off",
	  cmd_serve },
	{ 0, 0, 0, 0 },
};
