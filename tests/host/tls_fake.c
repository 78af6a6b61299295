/* The test's TCP under the TLS layer, and its client; see tls_fake.h. */
#include "tls_fake.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../runtime/panic.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/priv/altcp_priv.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip_hooks.h"

/* --- lwIP's port on the host ------------------------------------------- */

uint32_t fake_now_ms = 1000;
unsigned char *inet_ram_heap;

u32_t sys_now(void)
{
	return fake_now_ms;
}

u32_t inet_tcp_isn(const ip_addr_t *local_ip, u16_t local_port,
		   const ip_addr_t *remote_ip, u16_t remote_port)
{
	(void)local_ip;
	(void)local_port;
	(void)remote_ip;
	(void)remote_port;
	return 0x12345678;
}

/* lwIP's DHCP and ARP hooks (inet_route.c in the image): these tests
 * have no DHCP and no ARP, so no options are added or read and the
 * next hop is always the gateway. */
void inet_dhcp_append(struct netif *netif, struct dhcp *dhcp, u8_t state,
		      struct dhcp_msg *msg, u8_t msg_type, u16_t *len)
{
	(void)netif, (void)dhcp, (void)state, (void)msg, (void)msg_type;
	(void)len;
}

void inet_dhcp_option(struct netif *netif, struct dhcp *dhcp, u8_t state,
		      struct dhcp_msg *msg, u8_t msg_type, u8_t option,
		      u8_t len, struct pbuf *p, u16_t offset)
{
	(void)netif, (void)dhcp, (void)state, (void)msg, (void)msg_type;
	(void)option, (void)len, (void)p, (void)offset;
}

const ip4_addr_t *inet_route_gw(struct netif *n, const ip4_addr_t *dest)
{
	(void)n, (void)dest;
	return 0;
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "panic: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

void fake_lwip_init(void)
{
	if (inet_ram_heap)
		return;
	inet_ram_heap = calloc(1, MEM_SIZE + 4096);
	lwip_init();
}

/* --- the inner pcb ------------------------------------------------------ */

static struct fake_tcp *F(struct altcp_pcb *pcb)
{
	return pcb->state;
}

static void gone(struct fake_tcp *f)
{
	struct altcp_pcb *pcb = f->pcb;
	f->pcb = 0;
	pcb->state = 0;
	altcp_free(pcb);
}

static err_t f_write(struct altcp_pcb *pcb, const void *data, u16_t len,
		     u8_t flags)
{
	struct fake_tcp *f = F(pcb);
	(void)flags;
	if (len > f->sndbuf)
		return ERR_MEM;
	if (f->out_len + len > f->out_cap) {
		f->out_cap = (f->out_len + len) * 2;
		f->out = realloc(f->out, f->out_cap);
	}
	memcpy(f->out + f->out_len, data, len);
	f->out_len += len;
	f->sndbuf -= len;
	return ERR_OK;
}

static u16_t f_sndbuf(struct altcp_pcb *pcb)
{
	size_t n = F(pcb)->sndbuf;
	return (u16_t)(n > 0xffff ? 0xffff : n);
}

static err_t f_output(struct altcp_pcb *pcb)
{
	F(pcb)->outputs++;
	return ERR_OK;
}

static void f_recved(struct altcp_pcb *pcb, u16_t len)
{
	F(pcb)->recved += len;
}

static err_t f_close(struct altcp_pcb *pcb)
{
	struct fake_tcp *f = F(pcb);
	f->closed = 1;
	gone(f);
	return ERR_OK;
}

/* as altcp_tcp: tcp_abort calls the err callback, then the pcb goes */
static void f_abort(struct altcp_pcb *pcb)
{
	struct fake_tcp *f = F(pcb);
	f->aborted = 1;
	if (pcb->err)
		pcb->err(pcb->arg, ERR_ABRT);
	gone(f);
}

static err_t f_shutdown(struct altcp_pcb *pcb, int rx, int tx)
{
	if (rx && tx)
		return f_close(pcb);
	F(pcb)->shut_tx |= tx;
	return ERR_OK;
}

static u16_t f_mss(struct altcp_pcb *pcb)
{
	(void)pcb;
	return 1460;
}

static void f_set_poll(struct altcp_pcb *pcb, u8_t interval)
{
	(void)pcb;
	(void)interval;
}

static const struct altcp_functions fake_fns = {
	.set_poll = f_set_poll,
	.recved = f_recved,
	.abort = f_abort,
	.close = f_close,
	.shutdown = f_shutdown,
	.write = f_write,
	.output = f_output,
	.mss = f_mss,
	.sndbuf = f_sndbuf,
};

void fake_tcp_init(struct fake_tcp *f, size_t sndbuf)
{
	memset(f, 0, sizeof(*f));
	f->pcb = altcp_alloc();
	f->pcb->fns = &fake_fns;
	f->pcb->state = f;
	f->sndbuf = sndbuf;
}

void fake_tcp_free(struct fake_tcp *f)
{
	if (f->pcb)
		gone(f);
	free(f->out);
	f->out = 0;
}

static err_t l_close(struct altcp_pcb *pcb)
{
	altcp_free(pcb);
	return ERR_OK;
}

static const struct altcp_functions listener_fns = { .close = l_close };

struct altcp_pcb *fake_listener(void)
{
	struct altcp_pcb *l = altcp_alloc();
	l->fns = &listener_fns;
	return l;
}

err_t fake_accept(struct altcp_pcb *listener, struct fake_tcp *f)
{
	err_t e = listener->accept(listener->arg, f->pcb, ERR_OK);
	if (e != ERR_OK && e != ERR_ABRT && f->pcb)
		f_abort(f->pcb);	/* lwIP aborts what accept refused */
	return e;
}

err_t fake_recv(struct fake_tcp *f, const void *data, size_t n)
{
	if (!f->pcb)
		return ERR_CLSD;
	/* from lwIP's receive pool, as received frames are */
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_POOL);
	if (!p)
		return ERR_MEM;
	pbuf_take(p, data, (u16_t)n);
	if (!f->pcb->recv) {
		pbuf_free(p);
		return ERR_OK;
	}
	return f->pcb->recv(f->pcb->arg, f->pcb, p, ERR_OK);
}

size_t fake_pool_free(void)
{
	struct pbuf *all = 0, *p;
	size_t n = 0;
	while ((p = pbuf_alloc(PBUF_RAW, 1, PBUF_POOL))) {
		p->next = all;	/* a chain only this function walks */
		all = p;
		n++;
	}
	while (all) {
		p = all->next;
		all->next = 0;
		pbuf_free(all);
		all = p;
	}
	return n;
}

err_t fake_fin(struct fake_tcp *f)
{
	if (!f->pcb || !f->pcb->recv)
		return ERR_CLSD;
	return f->pcb->recv(f->pcb->arg, f->pcb, 0, ERR_OK);
}

err_t fake_sent(struct fake_tcp *f, size_t n)
{
	if (!f->pcb)
		return ERR_CLSD;
	f->sndbuf += n;
	if (!f->pcb->sent)
		return ERR_OK;
	return f->pcb->sent(f->pcb->arg, f->pcb, (u16_t)n);
}

err_t fake_poll(struct fake_tcp *f)
{
	if (!f->pcb || !f->pcb->poll)
		return ERR_CLSD;
	return f->pcb->poll(f->pcb->arg, f->pcb);
}

void fake_rst(struct fake_tcp *f)
{
	if (!f->pcb)
		return;
	if (f->pcb->err)
		f->pcb->err(f->pcb->arg, ERR_RST);
	gone(f);
}

/* --- the client ----------------------------------------------------------- */

static void dn_append(void *ctx, const void *data, size_t len)
{
	struct fake_client *c = ctx;
	if (c->ta.dn.len + len <= sizeof(c->dn)) {
		memcpy(c->dn + c->ta.dn.len, data, len);
		c->ta.dn.len += len;
	}
}

/* The CA as BearSSL's trust anchor: its name and its key. */
static int anchor(struct fake_client *c, const unsigned char *ca, size_t len)
{
	br_x509_decoder_context dc;
	c->ta.dn.data = c->dn;
	c->ta.dn.len = 0;
	c->ta.flags = BR_X509_TA_CA;
	br_x509_decoder_init(&dc, dn_append, c);
	br_x509_decoder_push(&dc, ca, len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (!pk)
		return -1;
	c->ta.pkey = *pk;
	if (pk->key_type == BR_KEYTYPE_EC) {
		memcpy(c->key, pk->key.ec.q, pk->key.ec.qlen);
		c->ta.pkey.key.ec.q = c->key;
	} else {
		memcpy(c->key, pk->key.rsa.n, pk->key.rsa.nlen);
		memcpy(c->key + pk->key.rsa.nlen, pk->key.rsa.e,
		       pk->key.rsa.elen);
		c->ta.pkey.key.rsa.n = c->key;
		c->ta.pkey.key.rsa.e = c->key + pk->key.rsa.nlen;
	}
	return 0;
}

/* The client's suites when the test names none: the AEAD ones the
 * server may pick. */
static const uint16_t aead[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};

/* The client's engine, checking the server's key with x509. */
static int client_up(struct fake_client *c, const br_x509_class **x509,
		     unsigned vmin, unsigned vmax, const uint16_t *suites,
		     size_t nsuites, const br_ssl_session_parameters *resume)
{
	static const br_hash_class *const hashes[] = {
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable
	};
	br_ssl_engine_context *e = &c->cc.eng;
	br_ssl_client_zero(&c->cc);
	br_ssl_engine_set_versions(e, vmin, vmax);
	if (!suites) {
		suites = aead;
		nsuites = sizeof(aead) / sizeof(aead[0]);
	}
	br_ssl_engine_set_suites(e, suites, nsuites);
	for (size_t i = 0; i < 3; i++)
		br_ssl_engine_set_hash(e, (int)(hashes[i]->desc >>
						BR_HASHDESC_ID_OFF) &
				       BR_HASHDESC_ID_MASK, hashes[i]);
	br_ssl_engine_set_x509(e, x509);
	br_ssl_engine_set_prf_sha256(e, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(e);
	br_ssl_engine_set_default_chapol(e);
	br_ssl_engine_set_ec(e, &br_ec_all_m31);
	br_ssl_engine_set_default_ecdsa(e);
	br_ssl_engine_set_default_rsavrfy(e);
	br_ssl_engine_set_buffer(e, c->io, sizeof(c->io), 1);
	uint8_t seed[32] = "the test client's seed, fixed";
	br_ssl_engine_inject_entropy(e, seed, sizeof(seed));
	if (resume)
		br_ssl_engine_set_session_parameters(e, resume);
	return br_ssl_client_reset(&c->cc, "umbra.test", resume != 0) ? 0 : -1;
}

int fake_client_init(struct fake_client *c, const unsigned char *ca,
		     size_t ca_len, unsigned vmin, unsigned vmax,
		     const uint16_t *suites, size_t nsuites,
		     const br_ssl_session_parameters *resume)
{
	static const br_hash_class *const hashes[] = {
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable
	};
	memset(c, 0, sizeof(*c));
	if (anchor(c, ca, ca_len))
		return -1;
	br_x509_minimal_init(&c->xc, &br_sha256_vtable, &c->ta, 1);
	for (size_t i = 0; i < 3; i++)
		br_x509_minimal_set_hash(&c->xc, (int)(hashes[i]->desc >>
						       BR_HASHDESC_ID_OFF) &
					 BR_HASHDESC_ID_MASK, hashes[i]);
	br_x509_minimal_set_rsa(&c->xc, br_rsa_pkcs1_vrfy_get_default());
	br_x509_minimal_set_ecdsa(&c->xc, &br_ec_all_m31,
				  br_ecdsa_i31_vrfy_asn1);
	/* BearSSL counts days from year 0 (its X.509 validation's clock) */
	br_x509_minimal_set_time(&c->xc,
				 719528 + (uint32_t)(time(0) / 86400),
				 (uint32_t)(time(0) % 86400));
	return client_up(c, &c->xc.vtable, vmin, vmax, suites, nsuites,
			 resume);
}

int fake_client_known(struct fake_client *c, const br_ec_public_key *pk)
{
	memset(c, 0, sizeof(*c));
	br_x509_knownkey_init_ec(&c->kc, pk, BR_KEYTYPE_SIGN);
	return client_up(c, &c->kc.vtable, BR_TLS12, BR_TLS12, 0, 0, 0);
}

unsigned fake_client_state(struct fake_client *c)
{
	return br_ssl_engine_current_state(&c->cc.eng);
}

size_t fake_pump(struct fake_client *c, struct fake_tcp *f)
{
	size_t total = 0, moved;
	do {
		moved = 0;
		size_t n;
		unsigned char *buf = br_ssl_engine_sendrec_buf(&c->cc.eng, &n);
		if (buf) {	/* lost once the server's TCP is closed */
			fake_recv(f, buf, n);
			br_ssl_engine_sendrec_ack(&c->cc.eng, n);
			moved += n;
		}
		buf = br_ssl_engine_recvrec_buf(&c->cc.eng, &n);
		if (buf && f->taken < f->out_len) {
			size_t k = f->out_len - f->taken;
			if (k > n)
				k = n;
			memcpy(buf, f->out + f->taken, k);
			f->taken += k;
			br_ssl_engine_recvrec_ack(&c->cc.eng, k);
			fake_sent(f, k);	/* the client's TCP acknowledges */
			moved += k;
		}
		total += moved;
	} while (moved);
	return total;
}

size_t fake_client_write(struct fake_client *c, const void *data, size_t n)
{
	size_t room;
	unsigned char *buf = br_ssl_engine_sendapp_buf(&c->cc.eng, &room);
	if (!buf)
		return 0;
	if (n > room)
		n = room;
	memcpy(buf, data, n);
	br_ssl_engine_sendapp_ack(&c->cc.eng, n);
	br_ssl_engine_flush(&c->cc.eng, 0);
	return n;
}

size_t fake_client_read(struct fake_client *c, void *out, size_t max)
{
	size_t n, got = 0;
	unsigned char *buf;
	while (got < max && (buf = br_ssl_engine_recvapp_buf(&c->cc.eng, &n))) {
		if (n > max - got)
			n = max - got;
		memcpy((unsigned char *)out + got, buf, n);
		br_ssl_engine_recvapp_ack(&c->cc.eng, n);
		got += n;
	}
	return got;
}
