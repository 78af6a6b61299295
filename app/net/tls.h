/* TLS for the network's servers, with BearSSL (Debian's source package
 * bearssl, 0.6): credentials, a certificate chain and its private key
 * decoded from PEM (tls_creds.c, portable, tested on the host), and a
 * TLS 1.2 server as a layer of lwIP's altcp interface (altcp_tls.c), so
 * that a server speaks to one interface whether its bytes go over plain
 * TCP or TLS.
 *
 * What the server offers: TLS 1.2 only; ECDHE key exchange (P-256,
 * P-384, P-521, X25519) with AEAD suites only (AES-GCM,
 * ChaCha20-Poly1305), in the server's order of preference (ChaCha20
 * first on a CPU without AES-NI); no renegotiation; SNI ignored;
 * sessions resumed from a small cache. Every connection's memory is
 * taken when the configuration is made, so a flood of handshakes finds
 * the slots taken and is refused, never more memory. */
#ifndef UMBRA_TLS_H
#define UMBRA_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "bearssl.h"

#define TLS_CERT_MAX (64u << 10)	/* a certificate chain in PEM */
#define TLS_KEY_MAX (16u << 10)		/* a private key in PEM */
#define TLS_CHAIN_MAX 8			/* certificates in the chain */

/* A certificate chain (the server's own first) and its private key. */
struct tls_creds {
	br_x509_certificate chain[TLS_CHAIN_MAX];
	size_t chain_len;
	int key_type;			/* BR_KEYTYPE_EC or BR_KEYTYPE_RSA */
	int issuer_key_type;		/* the key type that signed the
					 * server's certificate */
	unsigned bits;			/* RSA modulus, or the curve's size */
	br_ec_private_key ec;
	br_rsa_private_key rsa;
	unsigned char *mem;		/* the DER and the key's bytes */
	size_t mem_len;
};

/* Decodes PEM text: cert[0..cert_len) holds the chain, key[0..key_len)
 * the private key (PKCS#8, or SEC1 "EC PRIVATE KEY", or PKCS#1 "RSA
 * PRIVATE KEY"; not encrypted): ECDSA on P-256 or P-384, or RSA of 2048
 * to 4096 bits, which must be the key of the first certificate. Returns
 * NULL, with c filled (tls_creds_free frees it), or a sentence saying
 * what is wrong (c is then empty). */
const char *tls_creds_load(struct tls_creds *c, const char *cert,
			   size_t cert_len, const char *key, size_t key_len);

/* Wipes the key and frees c's memory. */
void tls_creds_free(struct tls_creds *c);

/* "ECDSA P-256", "RSA 2048": for the console. */
const char *tls_creds_describe(const struct tls_creds *c, char *out,
			       size_t n);

/* Whether a private key's DER (PKCS#8, SEC1 or PKCS#1) can go through
 * BearSSL 0.6's key decoder safely: that release checks its components
 * against a buffer 24 bytes larger than the real one (fixed upstream
 * after 0.6, commit b715b43, not in Debian's package), so a crafted key
 * could write past it. This walks the DER first: 1 when every
 * component, and an RSA key's five CRT components together, fit the
 * decoder's real buffer; 0 otherwise (or when it is no such DER). */
int tls_key_der_fits(const unsigned char *der, size_t len);

/* What the TLS layer counts, for `serve`'s statistics. */
struct tls_stats {
	uint64_t handshakes;	/* completed, full or resumed */
	uint64_t resumed;	/* of them, from the session cache */
	uint64_t failed;	/* TLS errors: bad records, bad hellos, ... */
	uint64_t timeouts;	/* handshakes not done in TLS_HANDSHAKE_MS */
	uint64_t refused;	/* connections over the limit */
};

#define TLS_HANDSHAKE_MS 10000	/* a handshake must be done in this */

/* altcp_tls.c, the lwIP side. A server configuration for creds (which
 * must outlive it) with max connections preallocated: NULL when memory
 * runs out. Each accepted connection takes a slot until it is closed;
 * with every slot taken, new connections are reset. */
struct altcp_pcb;
struct altcp_tls_config;
struct altcp_tls_config *altcp_tls_server_config(const struct tls_creds *c,
						 unsigned max);
/* TLS over inner, a listening TCP pcb (inet_listen): the listener to
 * give altcp_accept and altcp_arg; altcp_close closes both. NULL when
 * out of memory. */
struct altcp_pcb *altcp_tls_listener(struct altcp_tls_config *conf,
				     struct altcp_pcb *inner);
/* Frees conf; every connection made with it must be closed first. */
void altcp_tls_server_free(struct altcp_tls_config *conf);
const struct tls_stats *altcp_tls_stats(const struct altcp_tls_config *conf);
/* The suites offered, in order of preference, as the console shows
 * them: "ECDHE-ECDSA-CHACHA20-POLY1305, ..." */
const char *altcp_tls_suites(const struct altcp_tls_config *conf, char *out,
			     size_t n);

#endif
