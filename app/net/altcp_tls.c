/* A TLS 1.2 server as a layer of lwIP's altcp interface, with BearSSL;
 * see tls.h. lwIP's own altcp_tls port speaks mbedTLS; this is the same
 * seam (lwIP's altcp_tls.h, altcp_priv.h) for BearSSL. Each connection
 * is an upper altcp pcb (what the server holds) over an inner one
 * (lwIP's altcp_tcp):
 *
 *   inner recv: ciphertext -> rx (copied out of lwIP's receive pool at
 *               once) -> BearSSL's record buffer -> the plaintext, one
 *               record at a time, to the upper's recv
 *   upper write: plaintext -> BearSSL's record buffer -> records ->
 *               altcp_write on the inner pcb
 *
 * run() moves bytes between the two until nothing moves. Flow control:
 * the inner window opens as BearSSL takes ciphertext, and BearSSL takes
 * none while the plaintext of a record waits for the upper, so a peer
 * that sends faster than the server reads fills its TCP window and
 * stops. The upper's callbacks are made only from the inner's (never
 * from a call the upper makes), so the upper is never entered twice;
 * a connection closed or aborted while run() is on the stack is freed
 * when run() unwinds. */
#include "tls.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/random.h"
#include "lwip/altcp.h"
#include "lwip/altcp_tcp.h"
#include "lwip/altcp_tls.h"
#include "lwip/priv/altcp_priv.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"

#define POLL_TICKS 2		/* the inner poll until the upper sets one */
#define RECORD_PLAIN 16384	/* plaintext of a full record */
#define RECORD_OVERHEAD 64	/* what a record adds: header, nonce, tag */
#define PUSH_MIN (4 * TCP_MSS)	/* a record in pieces of at least this */
#define SESSIONS 16384		/* bytes of session cache: ~160 sessions */

/* A connection's state: the engine, its buffers (one record each way),
 * what lies between it and the two pcbs. */
struct tls_conn {
	br_ssl_server_context sc;
	unsigned char io[BR_SSL_BUFSIZE_BIDI];
	struct altcp_tls_config *conf;
	struct tls_conn *next_free;
	/* Ciphertext not yet taken by BearSSL: at most what TCP let in,
	 * the window (it opens as BearSSL takes it), in the slot's own
	 * memory, so that a peer whose records wait (behind plaintext the
	 * server holds) keeps none of lwIP's receive buffers, which every
	 * connection needs. */
	unsigned char rx[TCP_WND];
	size_t rx_off, rx_len;
	struct pbuf *up;	/* plaintext the upper has not taken yet */
	uint32_t held;		/* plaintext the upper holds, not recved */
	uint32_t unacked;	/* plaintext written, not yet acknowledged */
	uint32_t t0;		/* accepted, sys_now() */
	uint8_t hs_done, peer_fin, eof_sent, closing;
	uint8_t aborted;	/* the inner pcb was aborted under us */
	int busy;		/* run() or a callback is on the stack */
	int gone;		/* closed or aborted: free when not busy */
};

/* The session cache, shared by every connection: BearSSL's LRU behind
 * a wrapper that counts the sessions resumed from it. */
struct cache {
	const br_ssl_session_cache_class *vtable;
	br_ssl_session_cache_lru lru;
	struct tls_stats *stats;
};

struct altcp_tls_config {
	const struct tls_creds *creds;
	uint16_t suites[3];
	size_t nsuites;
	struct cache cache;
	unsigned char *sessions;
	struct tls_conn *free, **all;
	unsigned max;
	struct tls_stats stats;
};

static const struct altcp_functions conn_fns, listen_fns;

/* --- the session cache ---------------------------------------------------- */

static void cache_save(const br_ssl_session_cache_class **ctx,
		       br_ssl_server_context *sc,
		       const br_ssl_session_parameters *params)
{
	struct cache *c = (struct cache *)(void *)ctx;
	c->lru.vtable->save(&c->lru.vtable, sc, params);
}

static int cache_load(const br_ssl_session_cache_class **ctx,
		      br_ssl_server_context *sc,
		      br_ssl_session_parameters *params)
{
	struct cache *c = (struct cache *)(void *)ctx;
	int found = c->lru.vtable->load(&c->lru.vtable, sc, params);
	if (found)
		c->stats->resumed++;
	return found;
}

static const br_ssl_session_cache_class cache_class = {
	sizeof(struct cache), cache_save, cache_load
};

/* --- the configuration ------------------------------------------------------ */

/* The suites, in the server's order: AES-GCM first when the CPU has
 * AES-NI (BearSSL then takes its AES-NI code), ChaCha20 first when not
 * (BearSSL's constant-time software AES is slower than ChaCha20). */
static void choose_suites(struct altcp_tls_config *conf)
{
	int ec = conf->creds->key_type == BR_KEYTYPE_EC;
	uint16_t aes128 = ec ? BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
			     : BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256;
	uint16_t aes256 = ec ? BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
			     : BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384;
	uint16_t chacha = ec ? BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
			     : BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;
	int ni = br_aes_x86ni_ctr_get_vtable() != 0;
	conf->suites[0] = ni ? aes128 : chacha;
	conf->suites[1] = ni ? aes256 : aes128;
	conf->suites[2] = ni ? chacha : aes256;
	conf->nsuites = 3;
}

/* One connection's engine, set up once; each connection then only
 * resets it (slot_take). */
static void slot_init(struct altcp_tls_config *conf, struct tls_conn *t)
{
	br_ssl_server_context *sc = &t->sc;
	br_ssl_engine_context *e = &sc->eng;
	const struct tls_creds *c = conf->creds;
	t->conf = conf;
	br_ssl_server_zero(sc);
	br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(e, conf->suites, conf->nsuites);
	br_ssl_engine_add_flags(e, BR_OPT_ENFORCE_SERVER_PREFERENCES |
			        BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_ec(e, &br_ec_all_m31);
	br_ssl_engine_set_hash(e, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(e, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_hash(e, br_sha512_ID, &br_sha512_vtable);
	br_ssl_engine_set_prf_sha256(e, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(e);
	br_ssl_engine_set_default_chapol(e);
	if (c->key_type == BR_KEYTYPE_EC)
		br_ssl_server_set_single_ec(sc, c->chain, c->chain_len, &c->ec,
					    BR_KEYTYPE_SIGN,
					    (unsigned)c->issuer_key_type,
					    &br_ec_all_m31,
					    br_ecdsa_i31_sign_asn1);
	else
		br_ssl_server_set_single_rsa(sc, c->chain, c->chain_len,
					     &c->rsa, BR_KEYTYPE_SIGN,
					     br_rsa_private_get_default(),
					     br_rsa_pkcs1_sign_get_default());
	br_ssl_server_set_cache(sc, &conf->cache.vtable);
	br_ssl_engine_set_buffer(e, t->io, sizeof(t->io), 1);
}

struct altcp_tls_config *altcp_tls_server_config(const struct tls_creds *c,
						 unsigned max)
{
	struct altcp_tls_config *conf = calloc(1, sizeof(*conf));
	if (!conf)
		return 0;
	conf->creds = c;
	conf->max = max;
	choose_suites(conf);
	conf->sessions = malloc(SESSIONS);
	conf->all = calloc(max, sizeof(*conf->all));
	if (!conf->sessions || !conf->all) {
		altcp_tls_server_free(conf);
		return 0;
	}
	br_ssl_session_cache_lru_init(&conf->cache.lru, conf->sessions,
				      SESSIONS);
	conf->cache.vtable = &cache_class;
	conf->cache.stats = &conf->stats;
	for (unsigned i = 0; i < max; i++) {
		struct tls_conn *t = malloc(sizeof(*t));
		if (!t) {
			altcp_tls_server_free(conf);
			return 0;
		}
		slot_init(conf, t);
		conf->all[i] = t;
		t->next_free = conf->free;
		conf->free = t;
	}
	return conf;
}

void altcp_tls_server_free(struct altcp_tls_config *conf)
{
	unsigned idle = 0, made = 0;
	if (!conf)
		return;
	for (struct tls_conn *t = conf->free; t; t = t->next_free)
		idle++;
	for (unsigned i = 0; conf->all && i < conf->max; i++)
		made += conf->all[i] != 0;
	if (idle != made)
		return;	/* a connection still holds a slot: kept, not freed */
	for (unsigned i = 0; conf->all && i < conf->max; i++)
		if (conf->all[i]) {
			memset(conf->all[i], 0, sizeof(*conf->all[i]));
			free(conf->all[i]);
		}
	free(conf->all);
	free(conf->sessions);
	free(conf);
}

const struct tls_stats *altcp_tls_stats(const struct altcp_tls_config *conf)
{
	return &conf->stats;
}

static const char *suite_name(uint16_t s)
{
	switch (s) {
	case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-ECDSA-AES128-GCM-SHA256";
	case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-ECDSA-AES256-GCM-SHA384";
	case BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-ECDSA-CHACHA20-POLY1305";
	case BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-RSA-AES128-GCM-SHA256";
	case BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-RSA-AES256-GCM-SHA384";
	default:
		return "ECDHE-RSA-CHACHA20-POLY1305";
	}
}

const char *altcp_tls_suites(const struct altcp_tls_config *conf, char *out,
			     size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < conf->nsuites; i++) {
		const char *s = suite_name(conf->suites[i]);
		size_t len = strlen(s);
		if (k + len + 3 > n)
			break;
		if (i) {
			memcpy(out + k, ", ", 2);
			k += 2;
		}
		memcpy(out + k, s, len);
		k += len;
	}
	if (n)
		out[k] = 0;
	return out;
}

/* --- slots ------------------------------------------------------------------ */

/* A free slot, its engine reset for a new handshake with fresh entropy
 * from umbra's generator; NULL when all are taken. */
static struct tls_conn *slot_take(struct altcp_tls_config *conf)
{
	struct tls_conn *t = conf->free;
	if (!t)
		return 0;
	uint8_t seed[32];
	random_bytes(seed, sizeof(seed));
	br_ssl_engine_inject_entropy(&t->sc.eng, seed, sizeof(seed));
	memset(seed, 0, sizeof(seed));
	if (!br_ssl_server_reset(&t->sc))
		return 0;
	conf->free = t->next_free;
	t->next_free = 0;
	t->up = 0;
	t->rx_off = t->rx_len = 0;
	t->held = t->unacked = 0;
	t->hs_done = t->peer_fin = t->eof_sent = t->closing = 0;
	t->aborted = 0;
	t->busy = t->gone = 0;
	t->t0 = sys_now();
	return t;
}

static void slot_put(struct tls_conn *t)
{
	if (t->up)
		pbuf_free(t->up);
	t->up = 0;
	t->next_free = t->conf->free;
	t->conf->free = t;
}

/* --- the inner pcb ---------------------------------------------------------- */

static err_t lower_recv(void *arg, struct altcp_pcb *inner, struct pbuf *p,
			err_t err);
static err_t lower_sent(void *arg, struct altcp_pcb *inner, u16_t len);
static err_t lower_poll(void *arg, struct altcp_pcb *inner);
static void lower_err(void *arg, err_t err);

static void attach(struct altcp_pcb *conn, struct altcp_pcb *inner)
{
	altcp_arg(inner, conn);
	altcp_recv(inner, lower_recv);
	altcp_sent(inner, lower_sent);
	altcp_err(inner, lower_err);
}

static void detach(struct altcp_pcb *inner)
{
	altcp_arg(inner, 0);
	altcp_recv(inner, 0);
	altcp_sent(inner, 0);
	altcp_err(inner, 0);
	altcp_poll(inner, 0, inner->pollinterval);
}

/* Opens the inner window by n bytes. */
static void recved(struct altcp_pcb *inner, size_t n)
{
	while (n) {
		u16_t k = n > 0xffff ? 0xffff : (u16_t)n;
		altcp_recved(inner, k);
		n -= k;
	}
}

/* Frees what conn holds: its slot, then conn itself. */
static void release(struct altcp_pcb *conn)
{
	struct tls_conn *t = conn->state;
	if (t) {
		slot_put(t);
		conn->state = 0;
	}
	altcp_free(conn);
}

/* Marks conn gone; freed now, or by the run() on the stack. */
static void finish(struct altcp_pcb *conn, struct tls_conn *t)
{
	t->gone = 1;
	if (!t->busy)
		release(conn);
}

/* The end of a callback or of run(): e, or ERR_ABRT when the inner pcb
 * was aborted meanwhile (lwIP must hear it); conn is freed when it is
 * gone and nothing else is on the stack. */
static err_t leave(struct altcp_pcb *conn, struct tls_conn *t, err_t e)
{
	if (t->aborted)
		e = ERR_ABRT;
	if (!--t->busy && t->gone)
		release(conn);
	return e;
}

/* Ends the connection because of TLS (an error, a timeout, the peer's
 * FIN before the handshake ended): the inner pcb closed (reset when
 * that fails), the upper told through its err callback that conn is no
 * more. Returns ERR_ABRT when the inner pcb is gone too. */
static err_t fail(struct altcp_pcb *conn, struct tls_conn *t)
{
	struct altcp_pcb *inner = conn->inner_conn;
	altcp_err_fn up_err = conn->err;
	void *up_arg = conn->arg;
	err_t ret = ERR_OK;
	if (inner) {
		detach(inner);
		conn->inner_conn = 0;
		if (altcp_close(inner) != ERR_OK) {
			altcp_abort(inner);
			t->aborted = 1;
			ret = ERR_ABRT;
		}
	}
	finish(conn, t);
	if (up_err)
		up_err(up_arg, ERR_ABRT);
	return ret;
}

/* --- moving bytes ------------------------------------------------------------ */

/* Records from BearSSL to the inner pcb, as far as it takes them: the
 * rest of a record, or whole segments of it, PUSH_MIN at least. (Pieces
 * of what each acknowledgement frees would each end in a part-filled
 * TCP segment, and lwIP's segments are shared by every connection: a
 * dozen slow readers would take them all.) */
static int push(struct altcp_pcb *conn, struct tls_conn *t)
{
	int moved = 0;
	size_t n;
	unsigned char *rec;
	while (conn->inner_conn &&
	       (rec = br_ssl_engine_sendrec_buf(&t->sc.eng, &n))) {
		size_t room = altcp_sndbuf(conn->inner_conn);
		if (n > room) {
			room -= room % TCP_MSS;
			if (room < PUSH_MIN)
				break;	/* the next acknowledgement: lower_sent */
			n = room;
		}
		if (n > 0xffff)
			n = 0xffff;
		if (altcp_write(conn->inner_conn, rec, (u16_t)n,
				TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		br_ssl_engine_sendrec_ack(&t->sc.eng, n);
		moved = 1;
	}
	return moved;
}

/* Ciphertext from rx into BearSSL. */
static int feed(struct altcp_pcb *conn, struct tls_conn *t)
{
	size_t n;
	unsigned char *buf = br_ssl_engine_recvrec_buf(&t->sc.eng, &n);
	if (!buf || !t->rx_len)
		return 0;
	if (n > t->rx_len)
		n = t->rx_len;
	memcpy(buf, t->rx + t->rx_off, n);
	br_ssl_engine_recvrec_ack(&t->sc.eng, n);
	t->rx_off += n;
	t->rx_len -= n;
	if (!t->rx_len)
		t->rx_off = 0;
	if (conn->inner_conn)
		recved(conn->inner_conn, n);
	return 1;
}

/* p into rx (and back to lwIP): 0, or -1 when it does not fit, which
 * TCP's window keeps from happening. */
static int take_in(struct tls_conn *t, struct pbuf *p)
{
	if (p->tot_len > sizeof(t->rx) - t->rx_len)
		return -1;
	if (p->tot_len > sizeof(t->rx) - t->rx_off - t->rx_len) {
		memmove(t->rx, t->rx + t->rx_off, t->rx_len);
		t->rx_off = 0;
	}
	pbuf_copy_partial(p, t->rx + t->rx_off + t->rx_len, p->tot_len, 0);
	t->rx_len += p->tot_len;
	pbuf_free(p);
	return 0;
}

/* A record's plaintext to the upper (kept for later when it does not
 * take it, or when lwIP has no memory for it now). */
static int deliver(struct altcp_pcb *conn, struct tls_conn *t)
{
	size_t n;
	unsigned char *buf;
	if (!t->up && !t->held &&
	    (buf = br_ssl_engine_recvapp_buf(&t->sc.eng, &n))) {
		struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
		if (!p)
			return 0;	/* again at the next event */
		memcpy(p->payload, buf, n);
		br_ssl_engine_recvapp_ack(&t->sc.eng, n);
		t->up = p;
	}
	if (!t->up)
		return 0;
	struct pbuf *p = t->up;
	t->up = 0;
	if (!conn->recv) {
		pbuf_free(p);
		return 1;
	}
	t->held += p->tot_len;
	err_t e = conn->recv(conn->arg, conn, p, ERR_OK);
	if (t->gone)
		return 1;
	if (e != ERR_OK) {	/* not taken: offered again later */
		t->held -= p->tot_len;
		t->up = p;
		return 0;
	}
	return 1;
}

/* The end of the plaintext (the peer's close_notify, or its FIN after
 * the handshake): the upper's recv gets NULL, once, after the data. */
static void end_of_data(struct altcp_pcb *conn, struct tls_conn *t)
{
	if (t->eof_sent || t->up)
		return;
	t->eof_sent = 1;
	if (conn->recv)
		conn->recv(conn->arg, conn, 0, ERR_OK);
}

/* Moves bytes until nothing moves. Returns ERR_ABRT when the inner pcb
 * was aborted (the inner callback must say so to lwIP), else ERR_OK;
 * conn may be freed on return. */
static err_t run(struct altcp_pcb *conn, struct tls_conn *t)
{
	br_ssl_engine_context *e = &t->sc.eng;
	err_t ret = ERR_OK;
	int pushed = 0;
	t->busy++;		/* leave() at the end */
	for (int moved = 1; moved && !t->gone;) {
		unsigned st = br_ssl_engine_current_state(e);
		moved = 0;
		if (st & BR_SSL_CLOSED)
			break;
		if (st & BR_SSL_SENDREC)
			pushed |= moved |= push(conn, t);
		if (!t->hs_done && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
			t->hs_done = 1;
			t->conf->stats.handshakes++;
		}
		if ((st & BR_SSL_RECVAPP) || t->up)
			moved |= deliver(conn, t);
		if (!t->gone && (st & BR_SSL_RECVREC))
			moved |= feed(conn, t);
	}
	if (!t->gone && br_ssl_engine_current_state(e) == BR_SSL_CLOSED) {
		if (br_ssl_engine_last_error(e) != BR_ERR_OK) {
			t->conf->stats.failed++;
			ret = fail(conn, t);
		} else {	/* close_notify both ways */
			end_of_data(conn, t);
		}
	} else if (!t->gone && t->peer_fin && !t->rx_len) {
		if (t->hs_done) {
			end_of_data(conn, t);
		} else {	/* a hello cut short, or none */
			t->conf->stats.failed++;
			ret = fail(conn, t);
		}
	}
	if (!t->gone && pushed && conn->inner_conn)
		altcp_output(conn->inner_conn);
	return leave(conn, t, ret);
}

/* --- the inner pcb's callbacks ------------------------------------------------ */

static err_t lower_recv(void *arg, struct altcp_pcb *inner, struct pbuf *p,
			err_t err)
{
	struct altcp_pcb *conn = arg;
	struct tls_conn *t = conn ? conn->state : 0;
	(void)err;
	if (!t || t->gone) {
		if (p) {
			altcp_recved(inner, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p)
		t->peer_fin = 1;
	else if (t->closing) {	/* after our close_notify: dropped */
		altcp_recved(inner, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	} else if (take_in(t, p)) {
		return ERR_MEM;	/* lwIP keeps p and offers it again */
	}
	return run(conn, t);
}

/* The peer acknowledged len bytes of records: as many bytes of
 * plaintext count as sent for the upper (records are slightly larger
 * than what they carry). */
static err_t lower_sent(void *arg, struct altcp_pcb *inner, u16_t len)
{
	struct altcp_pcb *conn = arg;
	struct tls_conn *t = conn ? conn->state : 0;
	(void)inner;
	if (!t || t->gone)
		return ERR_OK;
	u16_t plain = len < t->unacked ? len : (u16_t)t->unacked;
	t->unacked -= plain;
	t->busy++;
	err_t e = run(conn, t);
	if (e == ERR_OK && !t->gone && t->hs_done && conn->sent && plain)
		e = conn->sent(conn->arg, conn, plain);
	return leave(conn, t, e);
}

static err_t lower_poll(void *arg, struct altcp_pcb *inner)
{
	struct altcp_pcb *conn = arg;
	struct tls_conn *t = conn ? conn->state : 0;
	(void)inner;
	if (!t || t->gone)
		return ERR_OK;
	if (!t->hs_done &&
	    (uint32_t)(sys_now() - t->t0) > TLS_HANDSHAKE_MS) {
		t->conf->stats.timeouts++;
		return fail(conn, t);
	}
	t->busy++;
	err_t e = run(conn, t);
	if (e == ERR_OK && !t->gone && conn->poll)
		e = conn->poll(conn->arg, conn);
	return leave(conn, t, e);
}

/* The inner pcb is gone (reset by the peer, or aborted). */
static void lower_err(void *arg, err_t err)
{
	struct altcp_pcb *conn = arg;
	struct tls_conn *t = conn ? conn->state : 0;
	if (!conn)
		return;
	conn->inner_conn = 0;
	altcp_err_fn up_err = conn->err;
	void *up_arg = conn->arg;
	if (t)
		t->aborted = 1;
	if (t && !t->gone) {
		finish(conn, t);
		if (up_err)
			up_err(up_arg, err);
	} else if (!t) {
		altcp_free(conn);
	}
}

static err_t lower_accept(void *arg, struct altcp_pcb *inner, err_t err)
{
	struct altcp_pcb *listener = arg;
	struct altcp_tls_config *conf = listener ? listener->state : 0;
	if (!conf || !listener->accept)
		return ERR_ARG;
	struct tls_conn *t = slot_take(conf);
	if (!t) {		/* lwIP resets the connection */
		conf->stats.refused++;
		return ERR_MEM;
	}
	struct altcp_pcb *conn = altcp_alloc();
	if (!conn) {
		slot_put(t);
		return ERR_MEM;
	}
	conn->fns = &conn_fns;
	conn->state = t;
	conn->inner_conn = inner;
	attach(conn, inner);
	altcp_poll(inner, lower_poll, POLL_TICKS);
	return listener->accept(listener->arg, conn, err);
}

/* --- the upper's calls (conn_fns) ------------------------------------------ */

static void tls_set_poll(struct altcp_pcb *conn, u8_t interval)
{
	if (conn->inner_conn)
		altcp_poll(conn->inner_conn, lower_poll, interval);
}

/* The upper took len bytes: BearSSL may take the next record. */
static void tls_recved(struct altcp_pcb *conn, u16_t len)
{
	struct tls_conn *t = conn->state;
	if (t)
		t->held -= len < t->held ? len : t->held;
}

/* Wraps what the record buffer holds into a record, and sends the
 * records on their way. */
static void flush(struct altcp_pcb *conn, struct tls_conn *t)
{
	br_ssl_engine_flush(&t->sc.eng, 0);
	push(conn, t);
}

/* What a write may give now: the room left in the record being filled,
 * or a whole record's when the one being filled can be sealed and
 * handed to the inner pcb first. */
static u16_t tls_sndbuf(struct altcp_pcb *conn)
{
	struct tls_conn *t = conn->state;
	size_t room;
	if (!t || t->gone || !t->hs_done || t->closing || !conn->inner_conn)
		return 0;
	if (!br_ssl_engine_sendapp_buf(&t->sc.eng, &room)) {
		push(conn, t);	/* records waiting: maybe they go now */
		if (!br_ssl_engine_sendapp_buf(&t->sc.eng, &room))
			return 0;
	}
	if (room < RECORD_PLAIN &&
	    altcp_sndbuf(conn->inner_conn) >= RECORD_PLAIN - room +
					       RECORD_OVERHEAD)
		room = RECORD_PLAIN;
	return (u16_t)(room > 0xffff ? 0xffff : room);
}

static err_t tls_write(struct altcp_pcb *conn, const void *data, u16_t len,
		       u8_t flags)
{
	struct tls_conn *t = conn->state;
	br_ssl_engine_context *e;
	size_t room;
	unsigned char *buf;
	if (!t || t->gone || t->closing || !conn->inner_conn)
		return ERR_CONN;
	if (!t->hs_done)
		return ERR_MEM;
	e = &t->sc.eng;
	buf = br_ssl_engine_sendapp_buf(e, &room);
	if (!buf || room < len) {	/* seal this record, start a new one */
		if (buf)
			flush(conn, t);
		else
			push(conn, t);
		buf = br_ssl_engine_sendapp_buf(e, &room);
		if (!buf || room < len)
			return ERR_MEM;
	}
	memcpy(buf, data, len);
	br_ssl_engine_sendapp_ack(e, len);	/* a full record seals itself */
	t->unacked += len;
	if (!(flags & TCP_WRITE_FLAG_MORE))
		br_ssl_engine_flush(e, 0);
	push(conn, t);
	return ERR_OK;
}

static err_t tls_output(struct altcp_pcb *conn)
{
	struct tls_conn *t = conn->state;
	if (!t || t->gone || !conn->inner_conn)
		return ERR_CONN;
	flush(conn, t);
	return altcp_output(conn->inner_conn);
}

/* Says goodbye (close_notify) once; what was unread goes (the fix made
 * upstream after 0.6, commit 946f5ba, done here: unread plaintext would
 * otherwise keep the engine from closing). */
static void say_goodbye(struct altcp_pcb *conn, struct tls_conn *t)
{
	size_t n;
	if (t->closing)
		return;
	t->closing = 1;
	if (br_ssl_engine_recvapp_buf(&t->sc.eng, &n))
		br_ssl_engine_recvapp_ack(&t->sc.eng, n);
	if (t->up) {
		pbuf_free(t->up);
		t->up = 0;
	}
	br_ssl_engine_close(&t->sc.eng);
	push(conn, t);
}

static err_t tls_close(struct altcp_pcb *conn)
{
	struct tls_conn *t = conn->state;
	struct altcp_pcb *inner = conn->inner_conn;
	if (t && !t->gone && inner)
		say_goodbye(conn, t);
	if (inner) {
		detach(inner);
		err_t e = altcp_close(inner);
		if (e != ERR_OK) {
			attach(conn, inner);
			altcp_poll(inner, lower_poll, conn->pollinterval);
			return e;
		}
		conn->inner_conn = 0;
	}
	if (t)
		finish(conn, t);
	else
		altcp_free(conn);
	return ERR_OK;
}

static void tls_abort(struct altcp_pcb *conn)
{
	struct tls_conn *t = conn->state;
	if (conn->inner_conn) {
		altcp_abort(conn->inner_conn);	/* lower_err: conn freed */
		return;
	}
	if (t)
		finish(conn, t);
	else
		altcp_free(conn);
}

static err_t tls_shutdown(struct altcp_pcb *conn, int shut_rx, int shut_tx)
{
	struct tls_conn *t = conn->state;
	if (shut_rx && shut_tx)
		return tls_close(conn);
	if (!conn->inner_conn)
		return ERR_CONN;
	if (shut_tx && t && !t->gone) {
		say_goodbye(conn, t);
		altcp_output(conn->inner_conn);
	}
	return altcp_shutdown(conn->inner_conn, shut_rx, shut_tx);
}

static u16_t tls_mss(struct altcp_pcb *conn)
{
	return conn->inner_conn ? altcp_mss(conn->inner_conn) : 0;
}

/* altcp_free: the slot back to the pool if it was not yet. */
static void tls_dealloc(struct altcp_pcb *conn)
{
	struct tls_conn *t = conn->state;
	if (t) {
		slot_put(t);
		conn->state = 0;
	}
}

static const struct altcp_functions conn_fns = {
	.set_poll = tls_set_poll,
	.recved = tls_recved,
	.bind = altcp_default_bind,
	.abort = tls_abort,
	.close = tls_close,
	.shutdown = tls_shutdown,
	.write = tls_write,
	.output = tls_output,
	.mss = tls_mss,
	.sndbuf = tls_sndbuf,
	.sndqueuelen = altcp_default_sndqueuelen,
	.nagle_disable = altcp_default_nagle_disable,
	.nagle_enable = altcp_default_nagle_enable,
	.nagle_disabled = altcp_default_nagle_disabled,
	.setprio = altcp_default_setprio,
	.dealloc = tls_dealloc,
	.addrinfo = altcp_default_get_tcp_addrinfo,
	.getip = altcp_default_get_ip,
	.getport = altcp_default_get_port,
};

/* --- the listener (listen_fns): over a listening TCP pcb -------------- */

static err_t listen_close(struct altcp_pcb *conn)
{
	if (conn->inner_conn) {
		altcp_arg(conn->inner_conn, 0);
		altcp_accept(conn->inner_conn, 0);
		err_t e = altcp_close(conn->inner_conn);
		if (e != ERR_OK)
			return e;
		conn->inner_conn = 0;
	}
	conn->state = 0;	/* the configuration is the caller's */
	altcp_free(conn);
	return ERR_OK;
}

static void listen_abort(struct altcp_pcb *conn)
{
	listen_close(conn);
}

static const struct altcp_functions listen_fns = {
	.abort = listen_abort,
	.close = listen_close,
	.addrinfo = altcp_default_get_tcp_addrinfo,
	.getip = altcp_default_get_ip,
	.getport = altcp_default_get_port,
};

struct altcp_pcb *altcp_tls_listener(struct altcp_tls_config *conf,
				     struct altcp_pcb *inner)
{
	struct altcp_pcb *conn = altcp_alloc();
	if (!conn)
		return 0;
	conn->fns = &listen_fns;
	conn->state = conf;
	conn->inner_conn = inner;
	altcp_arg(inner, conn);
	altcp_accept(inner, lower_accept);
	return conn;
}

/* lwIP's altcp_tls.h: BearSSL's server context of a TLS connection. */
void *altcp_tls_context(struct altcp_pcb *conn)
{
	if (!conn || conn->fns != &conn_fns || !conn->state)
		return 0;
	return &((struct tls_conn *)conn->state)->sc;
}
