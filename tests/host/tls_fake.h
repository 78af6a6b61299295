/* For the host tests and the fuzz target of app/net/altcp_tls.c: a TCP
 * connection played by the test (an altcp pcb whose writes are kept
 * and whose callbacks the test makes, as lwIP's altcp_tcp would), a
 * BearSSL client to shake hands with, and lwIP's port hooks. */
#ifndef UMBRA_TLS_FAKE_H
#define UMBRA_TLS_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "bearssl.h"
#include "lwip/altcp.h"

/* The inner pcb. pcb is NULL once it is closed or aborted (it is then
 * freed, as altcp_tcp frees its own). */
struct fake_tcp {
	struct altcp_pcb *pcb;
	unsigned char *out;	/* everything written to it */
	size_t out_len, out_cap, taken;
	size_t sndbuf;		/* what altcp_sndbuf says */
	size_t recved;		/* window opened by the layer above */
	int closed, aborted, shut_tx, outputs;
};

/* lwIP up (its pools and heap) for pcbs and pbufs; once. */
void fake_lwip_init(void);
/* The clock sys_now() reads: tests move it. */
extern uint32_t fake_now_ms;

/* A new connection (f zeroed first): an altcp pcb with room to send. */
void fake_tcp_init(struct fake_tcp *f, size_t sndbuf);
void fake_tcp_free(struct fake_tcp *f);
/* A listener: its accept callback is what the TLS layer sets. */
struct altcp_pcb *fake_listener(void);
/* The listener accepts f: what its accept callback returns. */
err_t fake_accept(struct altcp_pcb *listener, struct fake_tcp *f);

/* Events from "TCP" into the layer above f (their callbacks' results;
 * nothing happens once f is closed): n bytes arrive, the peer's FIN,
 * the peer acknowledges n bytes, a poll tick, a reset. */
err_t fake_recv(struct fake_tcp *f, const void *data, size_t n);
err_t fake_fin(struct fake_tcp *f);
err_t fake_sent(struct fake_tcp *f, size_t n);
err_t fake_poll(struct fake_tcp *f);
void fake_rst(struct fake_tcp *f);

/* How many of lwIP's receive buffers (its pbuf pool) are free. */
size_t fake_pool_free(void);

/* A BearSSL client that trusts one CA (X.509 validated, the name
 * umbra.test), or, with ca NULL, the server key's type only. */
struct fake_client {
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	br_x509_knownkey_context kc;
	br_x509_trust_anchor ta;
	unsigned char dn[1024], key[1024];
	unsigned char io[BR_SSL_BUFSIZE_BIDI];
};
/* 0, or -1 when ca is no certificate. vmin..vmax: the versions offered
 * (BR_TLS10..BR_TLS12); suites NULL: BearSSL's full list. */
int fake_client_init(struct fake_client *c, const unsigned char *ca,
		     size_t ca_len, unsigned vmin, unsigned vmax,
		     const uint16_t *suites, size_t nsuites,
		     const br_ssl_session_parameters *resume);

/* A client that trusts the EC key pk, whatever the certificate says. */
int fake_client_known(struct fake_client *c, const br_ec_public_key *pk);

/* Moves records between c and f until neither moves (acknowledging to
 * the server what the client took); returns the bytes moved. */
size_t fake_pump(struct fake_client *c, struct fake_tcp *f);

/* The client's state: BR_SSL_SENDAPP when the handshake is done. */
unsigned fake_client_state(struct fake_client *c);

/* Plaintext to the server, and what came back (at most max bytes). */
size_t fake_client_write(struct fake_client *c, const void *data, size_t n);
size_t fake_client_read(struct fake_client *c, void *out, size_t max);

#endif
