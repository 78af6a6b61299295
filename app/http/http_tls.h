/* serve --tls: HTTPS beside (or instead of) plain HTTP, over the same
 * connection code (app/net/altcp_tls.c is the TLS layer under it). The
 * certificate chain and the private key come from the volume or from
 * QEMU's fw_cfg (then the key never touches the image). */
#ifndef UMBRA_HTTP_TLS_H
#define UMBRA_HTTP_TLS_H

#include <stddef.h>

struct http_opts;
struct http_site;
struct altcp_tls_config;

#define HTTP_TLS_FWCFG "fw_cfg"		/* CERT or KEY from fw_cfg: */
#define HTTP_TLS_FWCFG_CERT "opt/umbra/tls/cert"
#define HTTP_TLS_FWCFG_KEY "opt/umbra/tls/key"

/* Reads o->tls_cert and o->tls_key, checks them (a key file inside the
 * served directory is refused: it would be served) and makes the TLS
 * configuration, a slot for every connection. Refuses when the random
 * generator has no seed. 0, or a sentence saying why not. */
const char *http_tls_start(const struct http_opts *o,
			   const struct http_site *s);

/* The configuration for the listener; NULL before http_tls_start. */
struct altcp_tls_config *http_tls_config(void);

/* "TLS 1.2, ECDSA P-256 key, suites ECDHE-ECDSA-...": for the console. */
const char *http_tls_describe(char *out, size_t n);

/* Prints "serve: tls: ..." (the counts) when TLS is on. */
void http_tls_stats(void);

/* Frees the configuration and wipes the key. */
void http_tls_stop(void);

#endif
