/* TLS on the host: the credentials (tls_creds.c) with keys and
 * certificates openssl makes for the test, the bounded DER walk that
 * keeps crafted keys from BearSSL 0.6's decoder, the generator's jitter
 * check, and the altcp TLS layer (altcp_tls.c) over a TCP played by the
 * test, shaking hands with a BearSSL client: data both ways, flow
 * control, resumption, closing, refused versions and suites, hostile
 * records, a handshake that stops halfway, the connection limit, and a
 * server that closes or aborts from inside its callbacks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../app/net/tls.h"
#include "../../runtime/random.h"
#include "check.h"
#include "lwip/altcp.h"
#include "lwip/opt.h"
#include "lwip/tcp.h"
#include "tls_fake.h"

static char dir[] = "/tmp/umbra-tls-XXXXXX";

/* --- files openssl makes ---------------------------------------------- */

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n = snprintf(cmd, sizeof(cmd), "cd %s && (", dir);
	va_start(ap, fmt);
	n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, ") >/dev/null 2>&1");
	int st = system(cmd);
	if (st)
		fprintf(stderr, "command failed: %s\n", cmd);
	return st;
}

struct text {
	char *p;
	size_t n;
};

static struct text slurp(const char *name)
{
	struct text t = { 0, 0 };
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return t;
	t.p = malloc(1 << 20);
	t.n = fread(t.p, 1, 1 << 20, f);
	fclose(f);
	return t;
}

/* A key (openssl genpkey options) and a certificate for umbra.test
 * signed by the test's CA. */
static void server(const char *name, const char *genpkey)
{
	CHECK(!sh("openssl genpkey %s -out %s.key", genpkey, name));
	CHECK(!sh("openssl req -new -key %s.key -subj /CN=umbra.test "
		  "-out %s.csr && openssl x509 -req -in %s.csr -CA ca.pem "
		  "-CAkey ca.key -CAcreateserial -days 2 -extfile ext "
		  "-out %s.pem", name, name, name, name));
}

static void make_pki(void)
{
	CHECK(mkdtemp(dir) != 0);
	CHECK(!sh("printf 'subjectAltName=DNS:umbra.test\\n' > ext"));
	CHECK(!sh("openssl req -x509 -newkey ec -pkeyopt "
		  "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
		  "-days 2 -subj '/CN=umbra test CA'"));
	CHECK(!sh("openssl x509 -in ca.pem -outform DER -out ca.der"));
	server("ec256", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256");
	server("ec384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384");
	server("ec521", "-algorithm EC -pkeyopt ec_paramgen_curve:P-521");
	server("rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
	CHECK(!sh("openssl genpkey -algorithm EC -pkeyopt "
		  "ec_paramgen_curve:P-256 -out other.key"));
	CHECK(!sh("openssl genpkey -algorithm RSA -pkeyopt "
		  "rsa_keygen_bits:2048 -out rsa-other.key"));
	CHECK(!sh("openssl genpkey -algorithm RSA -pkeyopt "
		  "rsa_keygen_bits:1024 -out rsa1024.key"));
	/* the same keys in their other encodings */
	CHECK(!sh("openssl rsa -in rsa.key -traditional -out rsa-pkcs1.key"));
	CHECK(!sh("openssl ec -in ec256.key -out ec256-sec1.key && "
		  "openssl ecparam -name prime256v1 > ec256-params.key && "
		  "cat ec256-sec1.key >> ec256-params.key"));
	CHECK(!sh("openssl pkey -in ec256.key -aes256 -passout pass:x "
		  "-out ec256-enc.key"));
	/* CR LF line ends, and no line end after the last line */
	CHECK(!sh("sed 's/$/\\r/' ec256.key | head -c -2 > ec256-crlf.key"));
	CHECK(!sh("cat ec256.pem ca.pem > chain.pem"));
	CHECK(!sh("openssl pkey -in rsa.key -outform DER -out rsa.der && "
		  "openssl rsa -in rsa.key -traditional -outform DER "
		  "-out rsa-pkcs1.der && openssl pkey -in ec384.key -outform "
		  "DER -out ec384.der && openssl ec -in ec384.key -outform "
		  "DER -out ec384-sec1.der"));
}

/* --- credentials -------------------------------------------------------- */

static const char *load(struct tls_creds *c, const char *cert,
			const char *key)
{
	struct text a = slurp(cert), b = slurp(key);
	const char *why = tls_creds_load(c, a.p ? a.p : "", a.n,
					 b.p ? b.p : "", b.n);
	free(a.p);
	free(b.p);
	return why;
}

static void expect_ok(const char *cert, const char *key, const char *what,
		      size_t chain)
{
	struct tls_creds c;
	char d[32];
	const char *why = load(&c, cert, key);
	if (why)
		fprintf(stderr, "%s + %s: %s\n", cert, key, why);
	CHECK(!why);
	if (!why) {
		CHECK_STR(tls_creds_describe(&c, d, sizeof(d)), what);
		CHECK_INT(c.chain_len, chain);
	}
	tls_creds_free(&c);
	CHECK(!c.mem && !c.chain_len);
}

static void expect_refused(const char *cert, const char *key,
			   const char *words)
{
	struct tls_creds c;
	const char *why = load(&c, cert, key);
	CHECK(why && strstr(why, words));
	if (why && !strstr(why, words))
		fprintf(stderr, "%s + %s: \"%s\", wanted \"%s\"\n", cert, key,
			why, words);
	CHECK(!c.mem);
}

static void test_creds(void)
{
	expect_ok("ec256.pem", "ec256.key", "ECDSA P-256", 1);
	expect_ok("ec256.pem", "ec256-sec1.key", "ECDSA P-256", 1);
	expect_ok("ec256.pem", "ec256-params.key", "ECDSA P-256", 1);
	expect_ok("ec256.pem", "ec256-crlf.key", "ECDSA P-256", 1);
	expect_ok("chain.pem", "ec256.key", "ECDSA P-256", 2);
	expect_ok("ec384.pem", "ec384.key", "ECDSA P-384", 1);
	expect_ok("rsa.pem", "rsa.key", "RSA 2048", 1);
	expect_ok("rsa.pem", "rsa-pkcs1.key", "RSA 2048", 1);
	expect_refused("ec521.pem", "ec521.key", "not on P-256 or P-384");
	expect_refused("rsa.pem", "rsa1024.key", "2048 to 4096");
	expect_refused("ec256.pem", "ec256-enc.key", "encrypted");
	expect_refused("ec256.pem", "other.key", "not the certificate's");
	expect_refused("ec256.pem", "ec384.key", "not the certificate's");
	expect_refused("rsa.pem", "rsa-other.key", "not the certificate's");
	expect_refused("rsa.pem", "ec256.key", "another type");
	expect_refused("ec256.key", "ec256.key", "no certificate");
	expect_refused("ec256.pem", "ec256.pem", "no private key");
	expect_refused("ec256.pem", "nosuchfile", "no private key");
	struct tls_creds c;
	const char *bad = "-----BEGIN CERTIFICATE-----\n@@@@\n"
			  "-----END CERTIFICATE-----\n";
	CHECK(tls_creds_load(&c, bad, strlen(bad), "", 0) != 0);
	const char *open = "-----BEGIN CERTIFICATE-----\nAAAA\n";
	CHECK(tls_creds_load(&c, open, strlen(open), "", 0) != 0);
	char *big = calloc(1, TLS_CERT_MAX + 2);
	CHECK(tls_creds_load(&c, big, TLS_CERT_MAX + 1, "", 0) != 0);
	free(big);
}

/* --- the DER walk ---------------------------------------------------------- */

/* Appends a DER element (tag, length, contents of n bytes of fill). */
static size_t put(unsigned char *out, unsigned tag, size_t n,
		  const unsigned char *body, int fill)
{
	size_t k = 0;
	out[k++] = (unsigned char)tag;
	if (n < 128) {
		out[k++] = (unsigned char)n;
	} else {
		out[k++] = 0x82;
		out[k++] = (unsigned char)(n >> 8);
		out[k++] = (unsigned char)n;
	}
	if (body)
		memmove(out + k, body, n);
	else
		memset(out + k, fill, n);
	if (!body && n && tag == 0x02)
		out[k] = 0x7f;	/* a positive INTEGER */
	return k + n;
}

/* A PKCS#1 RSA key whose eight integers have these lengths. */
static size_t rsa_der(unsigned char *out, const size_t len[8])
{
	unsigned char body[8192];
	size_t n = put(body, 0x02, 1, (const unsigned char *)"\0", 0);
	for (int i = 0; i < 8; i++)
		n += put(body + n, 0x02, len[i], 0, 0x55);
	return put(out, 0x30, n, body, 0);
}

static size_t pkcs8(unsigned char *out, const unsigned char *key, size_t n)
{
	static const unsigned char alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a,
		0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
	unsigned char body[8192];
	size_t k = put(body, 0x02, 1, (const unsigned char *)"\0", 0);
	memcpy(body + k, alg, sizeof(alg));
	k += sizeof(alg);
	k += put(body + k, 0x04, n, key, 0);
	return put(out, 0x30, k, body, 0);
}

static void test_der(void)
{
	static const char *ok[] = { "rsa.der", "rsa-pkcs1.der", "ec384.der",
				    "ec384-sec1.der" };
	for (size_t i = 0; i < 4; i++) {
		struct text t = slurp(ok[i]);
		CHECK(t.p && tls_key_der_fits((unsigned char *)t.p, t.n));
		/* cut short anywhere: no longer DER */
		if (t.p)
			CHECK(!tls_key_der_fits((unsigned char *)t.p,
						t.n - 1));
		free(t.p);
	}
	unsigned char der[16384], wrapped[16384];
	/* p q dp dq iq: 1536 bytes fit BearSSL's buffer exactly, 1550 is
	 * what 0.6's check lets through past it */
	size_t fits[8] = { 256, 3, 256, 400, 400, 300, 300, 136 };
	size_t over[8] = { 256, 3, 256, 400, 400, 300, 300, 150 };
	size_t big_n[8] = { 1540, 3, 256, 128, 128, 128, 128, 128 };
	CHECK(tls_key_der_fits(der, rsa_der(der, fits)));
	CHECK(!tls_key_der_fits(der, rsa_der(der, over)));
	CHECK(!tls_key_der_fits(wrapped, pkcs8(wrapped, der,
					       rsa_der(der, over))));
	CHECK(tls_key_der_fits(wrapped, pkcs8(wrapped, der,
					      rsa_der(der, fits))));
	CHECK(!tls_key_der_fits(der, rsa_der(der, big_n)));
	/* SEC1: the scalar */
	unsigned char body[4096];
	size_t k = put(body, 0x02, 1, (const unsigned char *)"\1", 0);
	size_t k1536 = k + put(body + k, 0x04, 1536, 0, 0x11);
	CHECK(tls_key_der_fits(der, put(der, 0x30, k1536, body, 0)));
	size_t k1540 = k + put(body + k, 0x04, 1540, 0, 0x11);
	CHECK(!tls_key_der_fits(der, put(der, 0x30, k1540, body, 0)));
	/* not DER: indefinite length, high tag, nothing */
	static const unsigned char indef[] = { 0x30, 0x80, 0x02, 0x01, 0x00,
					       0x00, 0x00 };
	static const unsigned char high[] = { 0x3f, 0x81, 0x01, 0x00 };
	CHECK(!tls_key_der_fits(indef, sizeof(indef)));
	CHECK(!tls_key_der_fits(high, sizeof(high)));
	CHECK(!tls_key_der_fits(high, 0));
	/* and through PEM: refused before BearSSL decodes it */
	size_t n = rsa_der(der, over);
	FILE *f = fopen("/dev/null", "r");
	fclose(f);
	char name[300];
	snprintf(name, sizeof(name), "%s/over.der", dir);
	f = fopen(name, "wb");
	fwrite(der, 1, n, f);
	fclose(f);
	CHECK(!sh("(echo '-----BEGIN RSA PRIVATE KEY-----'; base64 over.der; "
		  "echo '-----END RSA PRIVATE KEY-----') > over.key"));
	expect_refused("rsa.pem", "over.key", "safely");
}

static void test_jitter(void)
{
	uint64_t t[256];
	for (int i = 0; i < 256; i++)
		t[i] = 84 + ((uint64_t)i << 20);	/* the delta never moves */
	CHECK(!random_jitter_varies(t, 256));
	for (int i = 0; i < 256; i += 16)
		t[i] += 2;				/* 31 changes */
	CHECK(random_jitter_varies(t, 256));
	for (int i = 0; i < 256; i++)
		t[i] = (i < 8 ? 80 + i : 84) + ((uint64_t)i << 20);
	CHECK(!random_jitter_varies(t, 256));		/* 8 changes */
}

/* --- the TLS layer --------------------------------------------------------- */

/* The server above the TLS layer, as http_conn.c is. */
struct up {
	struct altcp_pcb *pcb;
	unsigned char got[1 << 18];
	size_t got_len, held;
	int eof, errs, hold, abort_in_recv, close_in_recv;
};

static err_t up_recv(void *arg, struct altcp_pcb *pcb, struct pbuf *p,
		     err_t err)
{
	struct up *u = arg;
	(void)err;
	if (!p) {
		u->eof = 1;
		return ERR_OK;
	}
	size_t n = p->tot_len;
	if (u->got_len + n <= sizeof(u->got))
		u->got_len += pbuf_copy_partial(p, u->got + u->got_len,
						(u16_t)n, 0);
	pbuf_free(p);
	if (u->hold)
		u->held += n;
	else
		altcp_recved(pcb, (u16_t)n);
	if (u->abort_in_recv) {
		altcp_err(pcb, 0);
		altcp_abort(pcb);
		u->pcb = 0;
		return ERR_ABRT;
	}
	if (u->close_in_recv) {
		altcp_err(pcb, 0);
		altcp_recv(pcb, 0);
		CHECK(altcp_close(pcb) == ERR_OK);
		u->pcb = 0;
	}
	return ERR_OK;
}

static void up_err(void *arg, err_t err)
{
	struct up *u = arg;
	(void)err;
	u->errs++;
	u->pcb = 0;
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

/* A server with creds from files, its listener, and room for max. */
struct server {
	struct tls_creds creds;
	struct altcp_tls_config *conf;
	struct altcp_pcb *tcp_listener, *listener;
	struct up *next;	/* the next accepted connection's */
};

static void server_up(struct server *s, const char *cert, const char *key,
		      unsigned max)
{
	CHECK(!load(&s->creds, cert, key));
	s->conf = altcp_tls_server_config(&s->creds, max);
	CHECK(s->conf != 0);
	s->tcp_listener = fake_listener();
	s->listener = altcp_tls_listener(s->conf, s->tcp_listener);
	altcp_accept(s->listener, up_accept);
}

/* Accepts f for u; the result of the accept. */
static err_t accept_one(struct server *s, struct fake_tcp *f, struct up *u,
		     size_t sndbuf)
{
	memset(u, 0, sizeof(*u));
	fake_tcp_init(f, sndbuf);
	altcp_arg(s->listener, u);
	return fake_accept(s->tcp_listener, f);
}

static void server_down(struct server *s)
{
	CHECK(altcp_close(s->listener) == ERR_OK);
	altcp_tls_server_free(s->conf);
	tls_creds_free(&s->creds);
}

static struct text ca;

static int shake(struct fake_client *c, struct fake_tcp *f, unsigned vmin,
		 const uint16_t *suites, size_t n,
		 const br_ssl_session_parameters *resume)
{
	CHECK(!fake_client_init(c, (unsigned char *)ca.p, ca.n, vmin,
				BR_TLS12, suites, n, resume));
	fake_pump(c, f);
	return (fake_client_state(c) & BR_SSL_SENDAPP) != 0;
}

static int is_aead(unsigned suite)
{
	return suite == BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ||
	       suite == BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 ||
	       suite == BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 ||
	       suite == BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;
}

/* Everything of n bytes from the server's upper to the client, written
 * as http_send.c writes (what altcp_sndbuf allows, MORE until the end). */
static size_t send_down(struct up *u, struct fake_client *c,
			struct fake_tcp *f, const unsigned char *data,
			size_t n, unsigned char *back)
{
	size_t off = 0, got = 0;
	for (int rounds = 0; rounds < 1000 && got < n; rounds++) {
		size_t room = altcp_sndbuf(u->pcb);
		size_t k = n - off < room ? n - off : room;
		if (k > 0xffff)
			k = 0xffff;
		if (k && altcp_write(u->pcb, data + off, (u16_t)k,
				     off + k < n ? TCP_WRITE_FLAG_MORE : 0) ==
			ERR_OK)
			off += k;
		altcp_output(u->pcb);
		fake_pump(c, f);
		got += fake_client_read(c, back + got, n - got);
	}
	return got;
}

static void test_session(const char *cert, const char *key)
{
	struct server s;
	struct fake_tcp f;
	struct up u;
	struct fake_client *c = malloc(sizeof(*c));
	server_up(&s, cert, key, 4);
	CHECK(accept_one(&s, &f, &u, 65535) == ERR_OK && u.pcb);
	CHECK(altcp_sndbuf(u.pcb) == 0);	/* no handshake yet */
	CHECK(shake(c, &f, BR_TLS10, 0, 0, 0));
	br_ssl_session_parameters sp;
	br_ssl_engine_get_session_parameters(&c->cc.eng, &sp);
	CHECK(sp.version == BR_TLS12 && is_aead(sp.cipher_suite));
	CHECK_INT(altcp_tls_stats(s.conf)->handshakes, 1);
	/* up: one request */
	static const char req[] = "GET /x HTTP/1.1\r\n\r\n";
	CHECK(fake_client_write(c, req, sizeof(req) - 1) == sizeof(req) - 1);
	fake_pump(c, &f);
	CHECK(u.got_len == sizeof(req) - 1 && !memcmp(u.got, req, u.got_len));
	/* down: 100000 bytes in records of 16 KiB */
	size_t n = 100000;
	unsigned char *data = malloc(n), *back = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7 + (i >> 8));
	size_t before = f.out_len;
	CHECK(altcp_sndbuf(u.pcb) == 16384);
	CHECK_INT(send_down(&u, c, &f, data, n, back), n);
	CHECK(!memcmp(data, back, n));
	CHECK(f.out_len - before < n + 7 * 64);	/* 7 records' overhead */
	/* the server closes: close_notify, then the TCP close */
	CHECK(altcp_close(u.pcb) == ERR_OK);
	CHECK(f.closed && !f.aborted);
	fake_pump(c, &f);
	CHECK(fake_client_state(c) == BR_SSL_CLOSED &&
	      br_ssl_engine_last_error(&c->cc.eng) == BR_ERR_OK);
	/* again, resumed from the cache */
	fake_tcp_free(&f);
	CHECK(accept_one(&s, &f, &u, 65535) == ERR_OK);
	CHECK(shake(c, &f, BR_TLS12, 0, 0, &sp));
	CHECK_INT(altcp_tls_stats(s.conf)->resumed, 1);
	CHECK_INT(altcp_tls_stats(s.conf)->handshakes, 2);
	/* the client says goodbye: the server's upper sees the end */
	br_ssl_engine_close(&c->cc.eng);
	fake_pump(c, &f);
	CHECK(u.eof);
	CHECK(altcp_close(u.pcb) == ERR_OK);
	fake_tcp_free(&f);
	CHECK_INT(altcp_tls_stats(s.conf)->failed, 0);
	server_down(&s);
	free(data);
	free(back);
	free(c);
}

/* A client that the server must refuse: the upper hears of it once,
 * the TCP closes, the slot comes back. */
static void refused(struct server *s, unsigned vmin, unsigned vmax,
		    const uint16_t *suites, size_t n)
{
	struct fake_tcp f;
	struct up u;
	struct fake_client *c = malloc(sizeof(*c));
	uint64_t failed = altcp_tls_stats(s->conf)->failed;
	CHECK(accept_one(s, &f, &u, 65535) == ERR_OK);
	CHECK(!fake_client_init(c, (unsigned char *)ca.p, ca.n, vmin, vmax,
				suites, n, 0));
	fake_pump(c, &f);
	CHECK(!(fake_client_state(c) & BR_SSL_SENDAPP));
	CHECK(f.closed || f.aborted);
	CHECK_INT(u.errs, 1);
	CHECK_INT(altcp_tls_stats(s->conf)->failed, failed + 1);
	fake_tcp_free(&f);
	free(c);
}

static void test_refused(void)
{
	struct server s;
	static const uint16_t cbc[] = {
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	};
	static const uint16_t rsa_kx[] = { BR_TLS_RSA_WITH_AES_128_GCM_SHA256 };
	server_up(&s, "ec256.pem", "ec256.key", 2);
	refused(&s, BR_TLS10, BR_TLS11, 0, 0);
	refused(&s, BR_TLS12, BR_TLS12, cbc, 2);
	refused(&s, BR_TLS12, BR_TLS12, rsa_kx, 1);
	server_down(&s);
}

/* Raw bytes from a hostile client: the server ends the connection. */
static void hostile(struct server *s, const void *data, size_t n, int fin)
{
	struct fake_tcp f;
	struct up u;
	uint64_t failed = altcp_tls_stats(s->conf)->failed;
	CHECK(accept_one(s, &f, &u, 65535) == ERR_OK);
	fake_recv(&f, data, n);
	if (fin)
		fake_fin(&f);
	CHECK(f.closed || f.aborted);
	CHECK_INT(u.errs, 1);
	CHECK_INT(altcp_tls_stats(s->conf)->failed, failed + 1);
	fake_tcp_free(&f);
}

static void test_hostile(void)
{
	struct server s;
	struct fake_tcp f, g, h;
	struct up u, v, w;
	struct fake_client *c = malloc(sizeof(*c));
	server_up(&s, "ec256.pem", "ec256.key", 2);
	hostile(&s, "GET / HTTP/1.1\r\nHost: umbra\r\n\r\n", 32, 0);
	unsigned char big[300] = { 0x16, 0x03, 0x03, 0x48, 0x01 };
	hostile(&s, big, sizeof(big), 0);		/* 18433-byte record */
	unsigned char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };
	hostile(&s, alert, sizeof(alert), 0);
	/* a hello cut short, then FIN */
	CHECK(!fake_client_init(c, (unsigned char *)ca.p, ca.n, BR_TLS12,
				BR_TLS12, 0, 0, 0));
	size_t n;
	unsigned char *hello = br_ssl_engine_sendrec_buf(&c->cc.eng, &n);
	CHECK(hello && n > 40);
	hostile(&s, hello, 40, 1);
	/* the whole hello, the server's answer, then nothing: the
	 * handshake times out at the poll after 10 s */
	CHECK(accept_one(&s, &f, &u, 65535) == ERR_OK);
	fake_recv(&f, hello, n);
	CHECK(f.out_len > 0 && f.out[0] == 0x16);	/* ServerHello ... */
	fake_poll(&f);
	CHECK(!f.closed && !u.errs);
	fake_now_ms += TLS_HANDSHAKE_MS + 1;
	fake_poll(&f);
	CHECK(f.closed || f.aborted);
	CHECK_INT(u.errs, 1);
	CHECK_INT(altcp_tls_stats(s.conf)->timeouts, 1);
	fake_tcp_free(&f);
	/* the limit: 2 slots, a third is refused, one back, one more */
	CHECK(accept_one(&s, &f, &u, 65535) == ERR_OK);
	CHECK(accept_one(&s, &g, &v, 65535) == ERR_OK);
	CHECK(accept_one(&s, &h, &w, 65535) == ERR_MEM && h.aborted);
	CHECK_INT(altcp_tls_stats(s.conf)->refused, 1);
	fake_rst(&f);		/* a reset: the upper hears, the slot comes back */
	CHECK_INT(u.errs, 1);
	fake_tcp_free(&h);
	CHECK(accept_one(&s, &h, &w, 65535) == ERR_OK);
	CHECK(altcp_close(v.pcb) == ERR_OK && altcp_close(w.pcb) == ERR_OK);
	fake_tcp_free(&f);
	fake_tcp_free(&g);
	fake_tcp_free(&h);
	server_down(&s);
	free(c);
}

/* The upper holds what it got: BearSSL takes no more ciphertext, the
 * TCP window stays shut; once the upper takes it, the rest comes. */
static void test_flow(void)
{
	struct server s;
	struct fake_tcp f;
	struct up u;
	struct fake_client *c = malloc(sizeof(*c));
	static unsigned char data[3 * 16384];
	server_up(&s, "ec256.pem", "ec256.key", 2);
	CHECK(accept_one(&s, &f, &u, 65535) == ERR_OK);
	CHECK(shake(c, &f, BR_TLS12, 0, 0, 0));
	u.hold = 1;
	size_t sent = 0, before = f.recved;
	for (int i = 0; i < 16 && sent < sizeof(data); i++) {
		sent += fake_client_write(c, data + sent, sizeof(data) - sent);
		fake_pump(c, &f);
	}
	CHECK(sent == sizeof(data));	/* all three records sent */
	CHECK(u.got_len == 16384);	/* one reached the upper */
	/* BearSSL took the second into its buffer; the third waits
	 * unacknowledged: the window did not open for it */
	CHECK(f.recved - before >= 16384);
	CHECK(f.recved - before <= 2 * (16384 + 64));
	/* the waiting record is the layer's to hold, not lwIP's pool's */
	CHECK_INT(fake_pool_free(), PBUF_POOL_SIZE);
	altcp_recved(u.pcb, (u16_t)u.held);
	u.held = 0;
	u.hold = 0;
	for (int i = 0; i < 8 && u.got_len < sizeof(data); i++) {
		fake_poll(&f);
		fake_pump(c, &f);
	}
	CHECK(u.got_len >= sizeof(data));
	CHECK(altcp_close(u.pcb) == ERR_OK);
	fake_tcp_free(&f);
	server_down(&s);
	free(c);
}

/* The upper ends the connection from inside its recv callback. */
static void test_reentry(void)
{
	struct server s;
	struct fake_tcp f;
	struct up u;
	struct fake_client *c = malloc(sizeof(*c));
	server_up(&s, "ec256.pem", "ec256.key", 1);
	for (int abort = 0; abort < 2; abort++) {
		CHECK(accept_one(&s, &f, &u, 65535) == ERR_OK);
		CHECK(shake(c, &f, BR_TLS12, 0, 0, 0));
		u.abort_in_recv = abort;
		u.close_in_recv = !abort;
		fake_client_write(c, "bye", 3);
		size_t n;
		unsigned char *rec = br_ssl_engine_sendrec_buf(&c->cc.eng, &n);
		err_t e = fake_recv(&f, rec, n);
		CHECK(e == (abort ? ERR_ABRT : ERR_OK));
		CHECK(abort ? f.aborted : f.closed);
		CHECK(!u.pcb && u.got_len == 3);
		fake_tcp_free(&f);
	}
	/* the one slot is free again */
	CHECK(accept_one(&s, &f, &u, 65535) == ERR_OK && u.pcb);
	CHECK(altcp_close(u.pcb) == ERR_OK);
	fake_tcp_free(&f);
	server_down(&s);
	free(c);
}

int main(void)
{
	fake_lwip_init();
	make_pki();
	ca = slurp("ca.der");
	test_creds();
	test_der();
	test_jitter();
	test_session("ec256.pem", "ec256.key");
	test_session("rsa.pem", "rsa.key");
	test_session("ec384.pem", "ec384.key");
	test_refused();
	test_hostile();
	test_flow();
	test_reentry();
	free(ca.p);
	sh("rm -rf %s", dir);
	return check_done();
}
