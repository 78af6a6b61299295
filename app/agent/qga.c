/* The guest agent's protocol; see qga.h. The messages follow qemu-ga
 * (QEMU's qga/main.c and qapi/qmp-dispatch.c): errors are GenericError
 * with qemu's words, CommandNotFound for what is not here (or disabled
 * while frozen). jsmn tokenizes; everything it accepts is checked again
 * before use, because jsmn is lenient where JSON is not (primitives,
 * control characters in strings, UTF-8). */
#include "qga.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/fmt.h"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

struct qga_args {
	const char *js;
	const jsmntok_t *tok;
	const char *spec;
	int at[QGA_ARGS];	/* each parameter's value token, or -1 */
};

/* The request being checked and answered (qga_next is not reentered). */
static jsmntok_t *toks;

static void reparse(struct qga *q);

int qga_init(struct qga *q, const struct qga_cmd *cmds, unsigned ncmds,
	     int (*frozen)(void *ctx), void *ctx)
{
	memset(q, 0, sizeof(*q));
	q->cmds = cmds;
	q->ncmds = ncmds;
	q->frozen = frozen;
	q->ctx = ctx;
	reparse(q);
	q->tokens = malloc(QGA_TOKENS * sizeof(jsmntok_t));
	return q->tokens ? 0 : -1;
}

void qga_free(struct qga *q)
{
	free(q->tokens);
	q->tokens = 0;
}

/* The text moved or went: jsmn starts again from its beginning. */
static void reparse(struct qga *q)
{
	jsmn_parser p;
	jsmn_init(&p);
	q->parse_pos = p.pos;
	q->parse_next = p.toknext;
	q->parse_super = p.toksuper;
}

/* Takes n bytes off the front of the input. */
static void consume(struct qga *q, size_t n)
{
	memmove(q->in, q->in + n, q->in_len - n);
	q->in_len -= n;
	reparse(q);
}

void qga_reset(struct qga *q)
{
	q->dropped += q->in_len;
	q->in_len = 0;
	q->discard = 0;
	reparse(q);
}

size_t qga_room(const struct qga *q)
{
	return QGA_IN_MAX - q->in_len;
}

/* 0xFF drops what came before it; in discard mode bytes go up to and
 * including a newline. A NUL (which would end jsmn's text) becomes a
 * control byte that no JSON may hold, so it is refused as one. */
void qga_feed(struct qga *q, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == 0xff) {
			qga_reset(q);
		} else if (q->discard) {
			q->dropped++;
			q->discard = p[i] != '\n';
		} else if (q->in_len == QGA_IN_MAX) {
			q->dropped++;	/* the caller asked for room first */
		} else {
			q->in[q->in_len++] = p[i] ? (char)p[i] : 1;
		}
	}
}

void qga_error(struct qga *q, const char *cls, const char *fmt, ...)
{
	char desc[256];
	va_list ap;
	if (q->failed)
		return;		/* the first error stands */
	va_start(ap, fmt);
	fmt_vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	q->failed = 1;
	jw_init(&q->w, q->out + 1, QGA_OUT_MAX);
	jw_object(&q->w);
	jw_key(&q->w, "error");
	jw_object(&q->w);
	jw_kstr(&q->w, "class", cls);
	jw_kstr(&q->w, "desc", desc);
	jw_end(&q->w);
}

void qga_delimit(struct qga *q)
{
	q->delimit = 1;
}

/* --- checking what jsmn accepted ------------------------------------------ */

static int tlen(const jsmntok_t *t)
{
	return t->end - t->start;
}

static int is(const char *js, const jsmntok_t *t, const char *s)
{
	return (size_t)tlen(t) == strlen(s) && !memcmp(js + t->start, s,
						       (size_t)tlen(t));
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int number(const char *s, int n, int *integer)
{
	int i = 0, d;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	*integer = i == n;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == n;
}

/* The token after token i and everything inside it. */
static int skip(int i, int ntok)
{
	int end = toks[i].end, k = i + 1;
	while (k < ntok && toks[k].start < end)
		k++;
	return k;
}

/* A token's text with a string's quotes. */
static int outer_start(int i)
{
	return toks[i].start - (toks[i].type == JSMN_STRING);
}

static int outer_end(int i)
{
	return toks[i].end + (toks[i].type == JSMN_STRING);
}

/* js[from, to) is white space around exactly one c (none when c is 0). */
static int sep(const char *js, int from, int to, char c)
{
	int seen = 0;
	for (int k = from; k < to; k++) {
		if (js[k] == c && !seen)
			seen = 1;
		else if (!strchr(" \t\r\n", js[k]) || !js[k])
			return 0;
	}
	return seen == (c != 0);
}

/* RFC 8259 §4, §5 around container i, which jsmn does not enforce:
 * members "key": value separated by single commas, no stray or trailing
 * separators, one value per key, no key inside an array. */
static int container(const char *js, int i, int ntok)
{
	int obj = toks[i].type == JSMN_OBJECT, pos = toks[i].start + 1;
	int first = 1, end = skip(i, ntok);
	for (int c = i + 1; c < end; c++) {
		if (toks[c].parent != i)
			continue;
		if (!sep(js, pos, outer_start(c), first ? 0 : ','))
			return 0;
		first = 0;
		pos = outer_end(c);
		if (!obj) {
			if (toks[c].type == JSMN_STRING && toks[c].size)
				return 0;	/* a key in an array */
			continue;
		}
		if (toks[c].type != JSMN_STRING || toks[c].size != 1 ||
		    c + 1 >= end || toks[c + 1].parent != c ||
		    !sep(js, pos, outer_start(c + 1), ':'))
			return 0;
		pos = outer_end(c + 1);
	}
	return sep(js, pos, toks[i].end - 1, 0);
}

/* Each token: a valid primitive, a string without raw control bytes,
 * nesting within QGA_DEPTH, containers well formed. NULL, or why not. */
static const char *check(const char *js, int ntok)
{
	static int depth[QGA_TOKENS];
	int integer;
	for (int i = 0; i < ntok; i++) {
		const jsmntok_t *t = &toks[i];
		const char *s = js + t->start;
		depth[i] = (t->parent < 0 ? 0 : depth[t->parent]) +
			   (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY);
		if (depth[i] > QGA_DEPTH)
			return "nesting too deep";
		if (t->type == JSMN_PRIMITIVE && !is(js, t, "true") &&
		    !is(js, t, "false") && !is(js, t, "null") &&
		    !number(s, tlen(t), &integer))
			return "invalid literal";
		for (int k = 0; t->type == JSMN_STRING && k < tlen(t); k++)
			if ((unsigned char)s[k] < 0x20)
				return "control character in a string";
		if (t->type == JSMN_STRING && t->size &&
		    (t->parent < 0 || toks[t->parent].type != JSMN_OBJECT))
			return "a member outside an object";
	}
	for (int i = 0; i < ntok; i++)
		if ((toks[i].type == JSMN_OBJECT || toks[i].type == JSMN_ARRAY)
		    && !container(js, i, ntok))
			return "malformed object or array";
	return 0;
}

/* --- arguments ------------------------------------------------------------ */

/* Parameter k of spec: its name into name[], its type letter, whether it
 * is optional; 0 past the last. */
static int param(const char *spec, int k, char *name, size_t size,
		 char *type, int *optional)
{
	const char *p = spec;
	for (int i = 0; p && i < k; i++)
		p = (p = strchr(p, ',')) ? p + 1 : 0;
	if (!p || !*p)
		return 0;
	const char *colon = strchr(p, ':');
	size_t n = (size_t)(colon - p) < size - 1 ? (size_t)(colon - p)
						    : size - 1;
	memcpy(name, p, n);
	name[n] = 0;
	*type = colon[1];
	*optional = colon[2] == '?';
	return 1;
}

static int find_param(const struct qga_args *a, const char *name)
{
	char pname[32], type;
	int opt;
	for (int k = 0; k < QGA_ARGS &&
			param(a->spec, k, pname, sizeof(pname), &type, &opt); k++)
		if (!strcmp(pname, name))
			return a->at[k];
	return -1;
}

static int type_ok(const char *js, int i, int ntok, char type)
{
	const jsmntok_t *t = &toks[i];
	int integer = 0;
	switch (type) {
	case 'i':
		return t->type == JSMN_PRIMITIVE &&
		       number(js + t->start, tlen(t), &integer) && integer &&
		       tlen(t) <= 20;
	case 's':
		return t->type == JSMN_STRING;
	case 'b':
		return is(js, t, "true") || is(js, t, "false");
	case 'a':
		if (t->type != JSMN_ARRAY)
			return 0;
		for (int k = i + 1; k < skip(i, ntok); k = skip(k, ntok))
			if (toks[k].type != JSMN_STRING)
				return 0;
		return 1;
	}
	return 0;
}

static const char *type_name(char type)
{
	return type == 'i' ? "integer" : type == 's' ? "string"
	       : type == 'b' ? "boolean" : "array";
}

/* Checks the "arguments" object (token obj, or -1) against c's spec. */
static int bind(struct qga *q, const struct qga_cmd *c, const char *js,
		int obj, int ntok, struct qga_args *a)
{
	char pname[32], type;
	int opt, k;
	a->js = js;
	a->tok = toks;
	a->spec = c->args;
	for (k = 0; k < QGA_ARGS; k++)
		a->at[k] = -1;
	for (int i = obj < 0 ? ntok : obj + 1; i < ntok && obj >= 0 &&
	     toks[i].start < toks[obj].end; i = skip(i + 1, ntok)) {
		for (k = 0; param(c->args, k, pname, sizeof(pname), &type,
				  &opt); k++)
			if (is(js, &toks[i], pname))
				break;
		if (!param(c->args, k, pname, sizeof(pname), &type, &opt)) {
			qga_error(q, "GenericError", "Parameter '%.*s' is "
				  "unexpected", tlen(&toks[i]) > 64 ? 64
				  : tlen(&toks[i]), js + toks[i].start);
			return -1;
		}
		if (a->at[k] >= 0 || !type_ok(js, i + 1, ntok, type)) {
			qga_error(q, "GenericError", a->at[k] >= 0 ?
				  "Parameter '%s' given twice" :
				  "Invalid parameter type for '%s', expected: "
				  "%s", pname, type_name(type));
			return -1;
		}
		a->at[k] = i + 1;
	}
	for (k = 0; param(c->args, k, pname, sizeof(pname), &type, &opt); k++)
		if (a->at[k] < 0 && !opt) {
			qga_error(q, "GenericError", "Parameter '%s' is missing",
				  pname);
			return -1;
		}
	return 0;
}

int qga_arg_raw(const struct qga_args *a, const char *name,
		const char **json, size_t *n)
{
	int i = find_param(a, name);
	if (i < 0)
		return 0;
	*json = a->js + outer_start(i);	/* a string's quotes too */
	*n = (size_t)(outer_end(i) - outer_start(i));
	return 1;
}

int qga_arg_int(const struct qga_args *a, const char *name, int64_t *v)
{
	const char *s;
	size_t n;
	if (!qga_arg_raw(a, name, &s, &n))
		return 0;
	int neg = *s == '-';
	uint64_t m = 0;
	for (size_t i = (size_t)neg; i < n; i++) {
		unsigned dg = (unsigned)(s[i] - '0');
		if (m > (UINT64_MAX - dg) / 10)
			return -1;
		m = m * 10 + dg;
	}
	if (m > (uint64_t)INT64_MAX + (uint64_t)neg)
		return -1;
	*v = neg ? (int64_t)(0 - m) : (int64_t)m;
	return 1;
}

static int hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v = v << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

static size_t utf8(uint32_t cp, char *o)
{
	if (cp < 0x80)
		return o[0] = (char)cp, 1;
	if (cp < 0x800)
		return o[0] = (char)(0xc0 | cp >> 6),
		       o[1] = (char)(0x80 | (cp & 63)), 2;
	if (cp < 0x10000)
		return o[0] = (char)(0xe0 | cp >> 12),
		       o[1] = (char)(0x80 | (cp >> 6 & 63)),
		       o[2] = (char)(0x80 | (cp & 63)), 3;
	return o[0] = (char)(0xf0 | cp >> 18),
	       o[1] = (char)(0x80 | (cp >> 12 & 63)),
	       o[2] = (char)(0x80 | (cp >> 6 & 63)),
	       o[3] = (char)(0x80 | (cp & 63)), 4;
}

/* RFC 8259 §7 (jsmn strict has checked the escapes' shape). */
static int unescape(const char *s, int n, char *out, size_t size)
{
	size_t o = 0;
	for (int i = 0; i < n; i++) {
		char b[4];
		size_t k = 1;
		b[0] = s[i];
		if (s[i] == '\\' && i + 1 < n) {
			char e = s[++i];
			const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
			const char *at = strchr(from, e);
			if (e == 'u' && i + 4 < n) {
				uint32_t cp = (uint32_t)hex4(s + i + 1);
				i += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < n &&
				    s[i + 1] == '\\' && s[i + 2] == 'u') {
					uint32_t lo = (uint32_t)hex4(s + i + 3);
					if (lo >= 0xdc00 && lo < 0xe000) {
						cp = 0x10000 + ((cp - 0xd800) << 10) +
						     (lo - 0xdc00);
						i += 6;
					}
				}
				if (cp >= 0xd800 && cp < 0xe000)
					cp = 0xfffd;	/* a lone surrogate */
				k = utf8(cp, b);
			} else if (at && e) {
				b[0] = to[at - from];
			}
		}
		if (!b[0] || o + k >= size)
			return -1;
		memcpy(out + o, b, k);
		o += k;
	}
	out[o] = 0;
	return 0;
}

int qga_arg_str(const struct qga_args *a, const char *name, char *out,
		size_t size)
{
	int i = find_param(a, name);
	if (i < 0)
		return 0;
	return unescape(a->js + a->tok[i].start, tlen(&a->tok[i]), out, size)
	       ? -1 : 1;
}

int qga_arg_item(const struct qga_args *a, const char *name, unsigned n,
		 char *out, size_t size)
{
	int i = find_param(a, name);
	if (i < 0 || (unsigned)a->tok[i].size <= n)
		return 0;
	int k = i + 1;
	for (unsigned j = 0; j < n; j++)
		k++;	/* items are strings: one token each */
	return unescape(a->js + a->tok[k].start, tlen(&a->tok[k]), out, size)
	       ? -1 : 1;
}

/* --- requests ---------------------------------------------------------- */

static const struct qga_cmd *lookup(struct qga *q, const char *js,
				    const jsmntok_t *t)
{
	for (unsigned i = 0; i < q->ncmds; i++)
		if (is(js, t, q->cmds[i].name))
			return &q->cmds[i];
	return 0;
}

/* The members of the request object (token 0): execute, arguments, id. */
static int members(struct qga *q, const char *js, int ntok, int *exec,
		   int *args, int *id)
{
	*exec = *args = *id = -1;
	for (int i = 1; i < ntok; i = skip(i + 1, ntok)) {
		int *slot = is(js, &toks[i], "execute") ? exec
			  : is(js, &toks[i], "arguments") ? args
			  : is(js, &toks[i], "id") ? id : 0;
		if (!slot || *slot >= 0) {
			qga_error(q, "GenericError", slot ? "QMP input member "
				  "'%.*s' given twice" : "QMP input member "
				  "'%.*s' is unexpected", tlen(&toks[i]) > 64 ?
				  64 : tlen(&toks[i]), js + toks[i].start);
			return -1;
		}
		*slot = i + 1;
	}
	if (*exec < 0)
		qga_error(q, "GenericError", "QMP input lacks member 'execute'");
	else if (toks[*exec].type != JSMN_STRING)
		qga_error(q, "GenericError",
			  "QMP input member 'execute' must be a string");
	else if (*args >= 0 && toks[*args].type != JSMN_OBJECT)
		qga_error(q, "GenericError",
			  "QMP input member 'arguments' must be an object");
	else
		return 0;
	return -1;
}

/* Answers one whole request js[0, n), tokens toks[0, ntok). */
static void answer(struct qga *q, const char *js, size_t n, int ntok)
{
	int exec = -1, args = -1, id = -1;
	const char *why = jw_utf8_valid(js, n) < n ? "invalid UTF-8"
						   : check(js, ntok);
	const struct qga_cmd *c = 0;
	struct qga_args a;
	if (why)
		qga_error(q, "GenericError", "JSON parse error, %s", why);
	else if (toks[0].type != JSMN_OBJECT)
		qga_error(q, "GenericError", "QMP input must be a JSON object");
	else if (!members(q, js, ntok, &exec, &args, &id) &&
		 !(c = lookup(q, js, &toks[exec])))
		qga_error(q, "CommandNotFound", "The command %.*s has not been "
			  "found", tlen(&toks[exec]) > 64 ? 64
			  : tlen(&toks[exec]), js + toks[exec].start);
	else if (c && !c->frozen_ok && q->frozen && q->frozen(q->ctx))
		qga_error(q, "CommandNotFound", "The command %s has been "
			  "disabled after fsfreeze", c->name);
	if (c && !q->failed && !bind(q, c, js, args, ntok, &a)) {
		jw_init(&q->w, q->out + 1, QGA_OUT_MAX);
		jw_object(&q->w);
		jw_key(&q->w, "return");
		size_t before = q->w.len;
		c->run(q, &a, &q->w);
		if (!q->failed && q->w.len == before)
			jw_raw(&q->w, "{}", 2);
		if (!q->failed && c->no_reply) {
			q->w.len = 0;
			return;
		}
	}
	if (id >= 0) {		/* checked JSON: echoed as it came */
		jw_key(&q->w, "id");
		jw_raw(&q->w, js + outer_start(id),
		       (size_t)(outer_end(id) - outer_start(id)));
	}
	jw_end(&q->w);
	if (q->w.full) {	/* a long return value, or a long id */
		q->failed = 0;
		qga_error(q, "GenericError", "the answer is longer than %u "
			  "bytes", QGA_OUT_MAX);
		jw_end(&q->w);
	}
}

/* Drops what was read up to and including the first newline at or after
 * `from`; without one, all of it and what follows up to a newline. */
static void drop_line(struct qga *q, size_t from)
{
	const char *nl = from < q->in_len ? memchr(q->in + from, '\n',
						   q->in_len - from) : 0;
	size_t n = nl ? (size_t)(nl - q->in) + 1 : q->in_len;
	q->dropped += n;
	consume(q, n);
	q->discard = !nl;
}

/* jsmn over what has come, going on from where it stopped last time (a
 * request that trickles in is not read again from its start). */
static int parse(struct qga *q, unsigned *ntok, unsigned *pos)
{
	jsmn_parser p = { q->parse_pos, q->parse_next, q->parse_super };
	int r = jsmn_parse(&p, q->in, q->in_len, toks, QGA_TOKENS);
	q->parse_pos = p.pos;
	q->parse_next = p.toknext;
	q->parse_super = p.toksuper;
	*ntok = p.toknext;
	*pos = p.pos;
	return r;
}

/* The answer to send: the 0xFF sentinel when asked, the text, newline. */
static int finish(struct qga *q, const char **out, size_t *len)
{
	q->errors += (uint64_t)q->failed;
	if (!q->w.len) {
		*out = q->out;
		*len = 0;
		return 1;
	}
	q->out[1 + q->w.len] = '\n';
	q->out[0] = (char)0xff;
	*out = q->delimit ? q->out : q->out + 1;
	*len = q->w.len + 1 + (size_t)q->delimit;
	return 1;
}

int qga_next(struct qga *q, const char **out, size_t *len)
{
	size_t ws = 0;
	unsigned ntok, pos;
	while (ws < q->in_len && strchr(" \t\r\n", q->in[ws]))
		ws++;
	if (ws)
		consume(q, ws);
	if (!q->in_len)
		return 0;
	toks = q->tokens;
	int r = parse(q, &ntok, &pos);
	q->failed = q->delimit = 0;
	q->w.len = 0;
	if (ntok > 0 && toks[0].end >= 0) {
		size_t n = (size_t)outer_end(0);	/* a string's quote too */
		q->requests++;
		answer(q, q->in, n, skip(0, (int)ntok));
		consume(q, n);
		return finish(q, out, len);
	}
	if (r == JSMN_ERROR_PART && q->in_len < QGA_IN_MAX)
		return 0;	/* more to come */
	q->requests++;
	if (r == JSMN_ERROR_PART)
		qga_error(q, "GenericError", "JSON parse error, a request "
			  "longer than %u bytes", QGA_IN_MAX);
	else if (r == JSMN_ERROR_NOMEM)
		qga_error(q, "GenericError", "JSON parse error, more than %u "
			  "tokens", QGA_TOKENS);
	else
		qga_error(q, "GenericError", "JSON parse error at byte %u", pos);
	jw_end(&q->w);
	drop_line(q, r == JSMN_ERROR_INVAL ? pos : 0);
	return finish(q, out, len);
}
