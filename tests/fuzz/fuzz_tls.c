/* libFuzzer target: the TLS layer (app/net/altcp_tls.c) over a TCP
 * played by the input. The first byte picks how it begins: records from
 * a stranger (the rest of the input, cut into pieces, is what arrives,
 * with polls, acknowledgements, FINs and resets between), or a real
 * handshake with a BearSSL client first, after which the input is what
 * the client sends as plaintext and what the server above the layer
 * does with it (takes it or holds it, answers, closes, aborts), with raw
 * bytes mixed in. Nothing may crash, leak or touch freed memory, and
 * every slot and every receive buffer comes back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/net/tls.h"
#include "../host/tls_fake.h"
#include "lwip/altcp.h"
#include "lwip/opt.h"
#include "lwip/tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 2

static struct tls_creds creds;
static struct altcp_tls_config *conf;
static struct altcp_pcb *tcp_listener, *listener;
static br_ec_public_key pub;
static unsigned char pub_q[BR_EC_KBUF_PUB_MAX_SIZE];
static unsigned char priv[BR_EC_KBUF_PRIV_MAX_SIZE];
static unsigned char cert[] = "not a certificate: the client trusts "
			      "the key";

struct up {
	struct altcp_pcb *pcb;
	const uint8_t *script;	/* what to do at each recv */
	size_t left;
	size_t held;
};

static uint8_t next(struct up *u)
{
	if (!u->left)
		return 0;
	u->left--;
	return *u->script++;
}

static err_t up_recv(void *arg, struct altcp_pcb *pcb, struct pbuf *p,
		     err_t err)
{
	struct up *u = arg;
	(void)err;
	if (!p) {
		altcp_err(pcb, 0);
		u->pcb = 0;
		if (altcp_close(pcb) != ERR_OK) {
			altcp_abort(pcb);
			return ERR_ABRT;
		}
		return ERR_OK;
	}
	uint8_t what = next(u);
	size_t n = p->tot_len;
	pbuf_free(p);
	if (what & 1)
		u->held += n;
	else
		altcp_recved(pcb, (u16_t)n);
	if (what & 2) {
		static const char answer[2000] = "HTTP/1.1 200 OK\r\n";
		u16_t k = altcp_sndbuf(pcb);
		k = k < sizeof(answer) ? k : sizeof(answer);
		if (k)
			altcp_write(pcb, answer, k, what & 4 ?
				    TCP_WRITE_FLAG_MORE : 0);
	}
	if ((what & 0x30) == 0x10) {
		altcp_err(pcb, 0);
		u->pcb = 0;
		altcp_abort(pcb);
		return ERR_ABRT;
	}
	if ((what & 0x30) == 0x20) {
		altcp_err(pcb, 0);
		u->pcb = 0;
		if (altcp_close(pcb) != ERR_OK) {
			altcp_abort(pcb);
			return ERR_ABRT;
		}
	}
	if ((what & 0x30) == 0x30)
		altcp_shutdown(pcb, 0, 1);
	return ERR_OK;
}

static void up_err(void *arg, err_t err)
{
	(void)err;
	((struct up *)arg)->pcb = 0;
}

static err_t up_accept(void *arg, struct altcp_pcb *pcb, err_t err)
{
	struct up *u = arg;
	(void)err;
	u->pcb = pcb;
	altcp_arg(pcb, u);
	altcp_recv(pcb, up_recv);
	altcp_err(pcb, up_err);
	return ERR_OK;
}

/* A P-256 key made once from a fixed seed; a chain of one opaque
 * "certificate" (the server sends it, the client does not read it). */
static void setup(void)
{
	br_hmac_drbg_context rng;
	fake_lwip_init();
	br_hmac_drbg_init(&rng, &br_sha256_vtable, "fuzz", 4);
	br_ec_keygen(&rng.vtable, &br_ec_all_m31, &creds.ec, priv,
		     BR_EC_secp256r1);
	br_ec_compute_pub(&br_ec_all_m31, &pub, pub_q, &creds.ec);
	creds.key_type = BR_KEYTYPE_EC;
	creds.issuer_key_type = BR_KEYTYPE_EC;
	creds.bits = 256;
	creds.chain[0].data = cert;
	creds.chain[0].data_len = sizeof(cert);
	creds.chain_len = 1;
	conf = altcp_tls_server_config(&creds, SLOTS);
	tcp_listener = fake_listener();
	listener = altcp_tls_listener(conf, tcp_listener);
	altcp_accept(listener, up_accept);
}

/* The rest of the input as events: a control byte, then (for bytes)
 * a length byte and that many bytes. */
static void events(struct fake_tcp *f, struct fake_client *c,
		   const uint8_t *d, size_t n)
{
	while (n && f->pcb) {
		uint8_t op = *d++;
		n--;
		size_t k = 0;
		if ((op & 7) <= 2) {	/* a length byte, then the bytes */
			if (!n)
				break;
			k = (size_t)*d + 1;
			if (k > n - 1)
				k = n - 1;
			d++;
			n--;
		}
		switch (op & 7) {
		case 0:		/* raw bytes from the peer */
		case 1:
			fake_recv(f, d, k);
			break;
		case 2:		/* the client's plaintext, as records */
			if (c) {
				fake_client_write(c, d, k);
				fake_pump(c, f);
			}
			break;
		case 3:
			fake_poll(f);
			break;
		case 4:
			fake_sent(f, (size_t)(op >> 3) * 100);
			break;
		case 5:
			fake_now_ms += 11000;	/* past the handshake's time */
			fake_poll(f);
			break;
		case 6:
			if (op & 8)
				fake_fin(f);
			else if (op & 16)
				fake_rst(f);
			break;
		default:
			if (c)
				fake_pump(c, f);
			break;
		}
		d += k;
		n -= k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_client client;
	struct fake_tcp f;
	struct up u = { 0, 0, 0, 0 };
	if (!conf)
		setup();
	if (size < 2)
		return 0;
	fake_tcp_init(&f, data[1] & 1 ? 2000 : 65535);
	altcp_arg(listener, &u);
	if (fake_accept(tcp_listener, &f) != ERR_OK)
		abort();	/* a slot stayed taken */
	struct fake_client *c = 0;
	size_t half = (size - 2) / 2;
	if (data[0] & 1) {
		c = &client;
		fake_client_known(c, &pub);
		fake_pump(c, &f);
		if (!(fake_client_state(c) & BR_SSL_SENDAPP))
			abort();	/* a good client must get in */
		u.script = data + 2 + half;
		u.left = size - 2 - half;
		events(&f, c, data + 2, half);
	} else {
		events(&f, 0, data + 2, size - 2);
	}
	/* the end: the server closes what is left */
	if (u.pcb) {
		altcp_err(u.pcb, 0);
		if (altcp_close(u.pcb) != ERR_OK)
			altcp_abort(u.pcb);
	}
	if (f.pcb)
		fake_rst(&f);
	fake_tcp_free(&f);
	if (fake_pool_free() != PBUF_POOL_SIZE)
		abort();	/* a receive buffer kept */
	return 0;
}
