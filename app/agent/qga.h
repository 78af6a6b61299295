/* The QEMU guest agent's protocol (qemu-ga, QEMU's qga/): requests are
 * JSON objects {"execute": NAME, "arguments": {...}, "id": ANY} one after
 * another on a byte stream; each gets {"return": VALUE} or {"error":
 * {"class": ..., "desc": ...}} and a newline (with "id" when the request
 * had one); guest-sync-delimited's answer starts with a 0xFF byte, and a
 * 0xFF byte from the host drops whatever request was half read.
 *
 * This is the protocol alone, without the channel or the commands (the
 * app gives a table): bytes in (qga_feed), answers out (qga_next), JSON
 * read with jsmn (Debian's libjsmn-dev) and checked before use (UTF-8,
 * primitives, nesting, the members and each argument's type), written
 * with jw.h. Hostile input gets an error answer or is dropped up to the
 * next newline or 0xFF; nothing grows without bound and nothing waits.
 * Portable C: host tests and the fuzzer build it. */
#ifndef UMBRA_QGA_H
#define UMBRA_QGA_H

#include <stddef.h>
#include <stdint.h>

#include "jw.h"

#define QGA_IN_MAX (64u << 10)	/* a request longer than this: refused */
#define QGA_OUT_MAX (16u << 10)	/* an answer */
#define QGA_TOKENS 1024		/* JSON tokens in a request */
#define QGA_DEPTH 32		/* nesting of a request */
#define QGA_ARGS 4		/* arguments of a command */

struct qga;
struct qga_args;

/* A command as the app provides it. args: "name:T,name:T?" with T one of
 * i (integer), s (string), b (boolean), a (array of strings), and ? for
 * an optional one; the protocol checks them (missing, unexpected, wrong
 * type) before run is called. run writes the return value with jw (none
 * written: {}) or calls qga_error. */
struct qga_cmd {
	const char *name;
	const char *args;
	void (*run)(struct qga *q, const struct qga_args *a, struct jw *w);
	uint8_t frozen_ok;	/* allowed while frozen (qemu-ga's list) */
	uint8_t no_reply;	/* success-response false: guest-shutdown */
};

struct qga {
	const struct qga_cmd *cmds;
	unsigned ncmds;
	int (*frozen)(void *ctx);	/* only frozen_ok commands then */
	void *ctx;
	char in[QGA_IN_MAX];
	size_t in_len;
	int discard;		/* dropping input up to a newline or 0xFF */
	void *tokens;		/* jsmn's, QGA_TOKENS of them */
	unsigned parse_pos, parse_next;	/* jsmn's state: the text read so */
	int parse_super;		/* far is not read again */
	char out[1 + QGA_OUT_MAX + 1];	/* 0xFF, the answer, newline */
	struct jw w;
	int failed, delimit;	/* the request being answered */
	uint64_t requests, errors, dropped;
};

/* 0, or -1 without memory for the tokens. */
int qga_init(struct qga *q, const struct qga_cmd *cmds, unsigned ncmds,
	     int (*frozen)(void *ctx), void *ctx);

/* Gives back what qga_init took. */
void qga_free(struct qga *q);

/* A new peer: what was half read is dropped. */
void qga_reset(struct qga *q);

/* Bytes of input qga_feed takes now. */
size_t qga_room(const struct qga *q);

/* Takes n <= qga_room bytes from the channel. */
void qga_feed(struct qga *q, const void *data, size_t n);

/* Handles the next whole request: 1 and its answer in *out, *len (len 0
 * for a command that answers nothing), valid until the next call; 0 when
 * no request is whole yet. */
int qga_next(struct qga *q, const char **out, size_t *len);

/* The answer to the request being handled is this error; class is one of
 * qemu's ("GenericError", "CommandNotFound", ...). */
void qga_error(struct qga *q, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* guest-sync-delimited: the answer starts with 0xFF. */
void qga_delimit(struct qga *q);

/* The arguments, by name (as checked): 1 and the value, 0 when an
 * optional one is absent. qga_arg_int: an integer within int64;
 * qga_arg_raw: the value's JSON text; qga_arg_str: the string unescaped
 * into out (NUL-terminated; -1 when it holds a NUL or does not fit);
 * qga_arg_item: string i of an array (0 past its end). */
int qga_arg_int(const struct qga_args *a, const char *name, int64_t *v);
int qga_arg_raw(const struct qga_args *a, const char *name,
		const char **json, size_t *n);
int qga_arg_str(const struct qga_args *a, const char *name, char *out,
		size_t size);
int qga_arg_item(const struct qga_args *a, const char *name, unsigned i,
		 char *out, size_t size);

#endif
