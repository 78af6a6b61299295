/* A certificate chain and its private key, from PEM; see tls.h. Portable
 * C over BearSSL's decoders: the same file runs in the image and in the
 * host tests. Nothing in the files is trusted: PEM and DER lengths are
 * bounded before BearSSL reads them. */
#include "tls.h"

#include <stdlib.h>
#include <string.h>

#define PEM_OBJECTS 16
#define PEM_NAME 32
/* BearSSL 0.6's key decoder buffer (bearssl_x509.h: key_data). */
#define KEY_DATA_MAX (3 * BR_X509_BUFSIZE_SIG)

struct pem_obj {
	char name[PEM_NAME];
	size_t off, len;		/* the DER, in pem.der */
};

struct pem {
	unsigned char *der;		/* every object's DER, one after another */
	size_t used, size;
	struct pem_obj obj[PEM_OBJECTS];
	size_t n;
	int overflow;
};

static void pem_dest(void *ctx, const void *src, size_t len)
{
	struct pem *p = ctx;
	if (len > p->size - p->used) {
		p->overflow = 1;
		return;
	}
	memcpy(p->der + p->used, src, len);
	p->used += len;
}

/* The bytes of s[0..len) before its first CR (BearSSL 0.6's PEM
 * decoder takes a CR before the LF for part of a BEGIN line's name, so
 * files with CR LF line ends are given to it without their CRs). */
static size_t before_cr(const char *s, size_t len)
{
	const char *cr = memchr(s, '\r', len);
	return cr ? (size_t)(cr - s) : len;
}

/* Pushes s[0..len) into the decoder, taking its events: 0, or why
 * the PEM is bad. */
static const char *pem_push(br_pem_decoder_context *dc, struct pem *p,
			    const char *s, size_t len, int *inside)
{
	while (len) {
		size_t k = br_pem_decoder_push(dc, s, len);
		s += k;
		len -= k;
		switch (br_pem_decoder_event(dc)) {
		case BR_PEM_BEGIN_OBJ:
			if (p->n == PEM_OBJECTS)
				return "too many PEM objects";
			*inside = 1;
			memset(&p->obj[p->n], 0, sizeof(p->obj[0]));
			memcpy(p->obj[p->n].name, br_pem_decoder_name(dc),
			       strnlen(br_pem_decoder_name(dc), PEM_NAME - 1));
			p->obj[p->n].off = p->used;
			br_pem_decoder_setdest(dc, pem_dest, p);
			break;
		case BR_PEM_END_OBJ:
			if (*inside) {
				p->obj[p->n].len = p->used - p->obj[p->n].off;
				p->n++;
			}
			*inside = 0;
			break;
		case BR_PEM_ERROR:
			return "malformed PEM";
		}
		if (p->overflow)
			return "malformed PEM";
	}
	return 0;
}

/* Decodes every PEM object of text into p->der (which has room for
 * len bytes: base64 only shrinks). 0, or a sentence. */
static const char *pem_decode(struct pem *p, const char *text, size_t len)
{
	br_pem_decoder_context dc;
	const char *why = 0;
	int inside = 0;
	br_pem_decoder_init(&dc);
	for (size_t at = 0; at < len && !why;) {
		size_t n = before_cr(text + at, len - at);
		why = pem_push(&dc, p, text + at, n, &inside);
		at += n + 1;		/* and the CR */
	}
	/* a last line without its newline still ends its object */
	if (!why)
		why = pem_push(&dc, p, "\n", 1, &inside);
	if (!why && inside)
		why = "a PEM object does not end";
	return why;
}

/* --- DER: just enough to bound a private key's components ------------- */

struct der {
	const unsigned char *p;
	size_t n;
};

/* The next element of d: its tag and contents. 0, or -1 when it is not
 * DER this code (and the key) can have: a multi-byte tag, an indefinite
 * or over-long length, contents past the end. */
static int der_next(struct der *d, unsigned *tag, struct der *v)
{
	if (d->n < 2 || (d->p[0] & 0x1f) == 0x1f)
		return -1;
	size_t len = d->p[1], hdr = 2;
	if (len & 0x80) {
		size_t k = len & 0x7f;
		if (!k || k > 3 || d->n < 2 + k)
			return -1;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | d->p[2 + i];
		hdr += k;
	}
	if (len > d->n - hdr)
		return -1;
	*tag = d->p[0];
	v->p = d->p + hdr;
	v->n = len;
	d->p += hdr + len;
	d->n -= hdr + len;
	return 0;
}

/* The key structures as BearSSL's decoder (skey_decoder.t0, main) tells
 * them apart: a SEQUENCE, an INTEGER version, then an INTEGER (PKCS#1
 * RSA: n e d p q dp dq iq), an OCTET STRING (SEC1 EC: the private
 * scalar) or a SEQUENCE (PKCS#8: the algorithm, then the key in an
 * OCTET STRING). */
static int key_fits(struct der d, int depth)
{
	struct der seq, v;
	unsigned tag;
	if (der_next(&d, &tag, &seq) || tag != 0x30 ||
	    der_next(&seq, &tag, &v) || tag != 0x02 || v.n > KEY_DATA_MAX ||
	    der_next(&seq, &tag, &v))
		return 0;
	if (tag == 0x02) {		/* RSA: n, then e d p q dp dq iq */
		size_t crt = 0;
		for (int i = 0; i < 8; i++) {
			if (v.n > KEY_DATA_MAX)
				return 0;
			if (i >= 3)
				crt += v.n;
			if (i < 7 && (der_next(&seq, &tag, &v) || tag != 0x02))
				return 0;
		}
		return crt <= KEY_DATA_MAX;
	}
	if (tag == 0x04)		/* EC: the scalar */
		return v.n <= KEY_DATA_MAX;
	if (tag == 0x30 && !depth)	/* PKCS#8 */
		return !der_next(&seq, &tag, &v) && tag == 0x04 &&
		       key_fits(v, 1);
	return 0;
}

int tls_key_der_fits(const unsigned char *der, size_t len)
{
	return key_fits((struct der){ der, len }, 0);
}

/* --- the key --------------------------------------------------------------- */

static int is_key(const char *name)
{
	return !strcmp(name, "PRIVATE KEY") ||
	       !strcmp(name, "EC PRIVATE KEY") ||
	       !strcmp(name, "RSA PRIVATE KEY");
}

/* Copies n bytes into c->mem at *at; returns where they went. */
static unsigned char *keep(struct tls_creds *c, size_t *at, const void *src,
			   size_t n)
{
	unsigned char *dst = c->mem + *at;
	memcpy(dst, src, n);
	*at += n;
	return dst;
}

static const char *take_key(struct tls_creds *c, const struct pem *p,
			    size_t *at)
{
	const struct pem_obj *o = 0;
	for (size_t i = 0; i < p->n && !o; i++) {
		if (!strcmp(p->obj[i].name, "ENCRYPTED PRIVATE KEY"))
			return "the private key is encrypted (write it "
			       "without a passphrase: openssl pkey)";
		if (is_key(p->obj[i].name))
			o = &p->obj[i];
	}
	if (!o)
		return "no private key in the key file";
	const unsigned char *der = p->der + o->off;
	if (!tls_key_der_fits(der, o->len))
		return "the private key is not DER BearSSL can read safely";
	br_skey_decoder_context *kc = malloc(sizeof(*kc));
	if (!kc)
		return "out of memory";
	br_skey_decoder_init(kc);
	br_skey_decoder_push(kc, der, o->len);
	const char *why = 0;
	if (br_skey_decoder_last_error(kc)) {
		why = "the private key cannot be decoded";
	} else if (br_skey_decoder_key_type(kc) == BR_KEYTYPE_EC) {
		const br_ec_private_key *k = br_skey_decoder_get_ec(kc);
		c->key_type = BR_KEYTYPE_EC;
		c->ec.curve = k->curve;
		c->ec.xlen = k->xlen;
		c->ec.x = keep(c, at, k->x, k->xlen);
		c->bits = k->curve == BR_EC_secp256r1 ? 256
			  : k->curve == BR_EC_secp384r1 ? 384 : 0;
		if (!c->bits)
			why = "the EC key is not on P-256 or P-384";
	} else {
		const br_rsa_private_key *k = br_skey_decoder_get_rsa(kc);
		c->key_type = BR_KEYTYPE_RSA;
		c->rsa = *k;
		c->rsa.p = keep(c, at, k->p, k->plen);
		c->rsa.q = keep(c, at, k->q, k->qlen);
		c->rsa.dp = keep(c, at, k->dp, k->dplen);
		c->rsa.dq = keep(c, at, k->dq, k->dqlen);
		c->rsa.iq = keep(c, at, k->iq, k->iqlen);
		c->bits = k->n_bitlen;
		if (c->bits < 2048 || c->bits > 4096)
			why = "the RSA key is not of 2048 to 4096 bits";
	}
	memset(kc, 0, sizeof(*kc));
	free(kc);
	return why;
}

/* --- the chain ------------------------------------------------------------- */

/* The certificates, in the file's order; their DER stays where PEM
 * decoding put it. */
static const char *take_chain(struct tls_creds *c, const struct pem *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->obj[i].name, "CERTIFICATE"))
			continue;
		if (c->chain_len == TLS_CHAIN_MAX)
			return "more than 8 certificates in the chain";
		br_x509_certificate *x = &c->chain[c->chain_len++];
		x->data = p->der + p->obj[i].off;
		x->data_len = p->obj[i].len;
	}
	return c->chain_len ? 0 : "no certificate in the certificate file";
}

/* Whether the key is the first certificate's: the same curve and point,
 * or a signature the certificate's RSA key verifies. */
static const char *check_pair(struct tls_creds *c)
{
	br_x509_decoder_context *dc = malloc(sizeof(*dc));
	if (!dc)
		return "out of memory";
	br_x509_decoder_init(dc, 0, 0);
	br_x509_decoder_push(dc, c->chain[0].data, c->chain[0].data_len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(dc);
	const char *why = 0;
	if (!pk) {
		why = "the certificate cannot be decoded";
	} else if (pk->key_type != c->key_type) {
		why = "the certificate's key is of another type than the "
		      "private key";
	} else if (c->key_type == BR_KEYTYPE_EC) {
		unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
		size_t n = br_ec_compute_pub(&br_ec_all_m31, 0, q, &c->ec);
		if (pk->key.ec.curve != c->ec.curve || !n ||
		    n != pk->key.ec.qlen || memcmp(q, pk->key.ec.q, n))
			why = "the private key is not the certificate's";
	} else {
		static const unsigned char msg[32] = "umbra: key and cert";
		unsigned char sig[512], back[32];
		size_t len = (c->bits + 7) / 8;
		if (!br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, msg,
						     32, &c->rsa, sig) ||
		    !br_rsa_pkcs1_vrfy_get_default()(sig, len,
						     BR_HASH_OID_SHA256, 32,
						     &pk->key.rsa, back) ||
		    memcmp(back, msg, 32))
			why = "the private key is not the certificate's";
	}
	c->issuer_key_type = br_x509_decoder_get_signer_key_type(dc);
	free(dc);
	return why;
}

const char *tls_creds_load(struct tls_creds *c, const char *cert,
			   size_t cert_len, const char *key, size_t key_len)
{
	memset(c, 0, sizeof(*c));
	if (cert_len > TLS_CERT_MAX)
		return "the certificate file is over 64 KiB";
	if (key_len > TLS_KEY_MAX)
		return "the key file is over 16 KiB";
	/* c->mem: the chain's DER, the key's DER (wiped before returning),
	 * then the key's components copied out of BearSSL's decoder; PEM
	 * decodes to at most 3/4 of its length, and a key's components are
	 * fewer bytes than its DER. */
	struct pem *pc = calloc(1, sizeof(*pc)), *pk = calloc(1, sizeof(*pk));
	c->mem_len = cert_len + 2 * key_len;
	c->mem = malloc(c->mem_len + 1);
	const char *why = 0;
	if (!pc || !pk || !c->mem)
		why = "out of memory";
	if (!why) {
		pc->der = c->mem;
		pc->size = cert_len;
		why = pem_decode(pc, cert, cert_len);
	}
	if (!why) {
		pk->der = c->mem + pc->used;
		pk->size = key_len;
		why = pem_decode(pk, key, key_len);
	}
	if (!why)
		why = take_chain(c, pc);
	size_t at = pc && pk ? pc->used + pk->used : 0;
	if (!why)
		why = take_key(c, pk, &at);
	if (!why)
		why = check_pair(c);
	if (pk && pk->der)
		memset(pk->der, 0, pk->used);
	free(pc);
	free(pk);
	if (why)
		tls_creds_free(c);
	return why;
}

void tls_creds_free(struct tls_creds *c)
{
	if (c->mem) {
		volatile unsigned char *m = c->mem;
		for (size_t i = 0; i < c->mem_len; i++)
			m[i] = 0;
		free(c->mem);
	}
	memset(c, 0, sizeof(*c));
}

const char *tls_creds_describe(const struct tls_creds *c, char *out, size_t n)
{
	const char *what = c->key_type == BR_KEYTYPE_RSA ? "RSA" : "ECDSA P-";
	size_t k = strlen(what);
	if (n < k + 6)
		return "";
	memcpy(out, what, k);
	if (c->key_type == BR_KEYTYPE_RSA)
		out[k++] = ' ';
	unsigned v = c->bits, div = 1000;
	while (div > v && div > 1)
		div /= 10;
	for (; div; div /= 10)
		out[k++] = (char)('0' + v / div % 10);
	out[k] = 0;
	return out;
}
