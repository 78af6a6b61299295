/* libFuzzer target: the input is what a host sends down the guest
 * agent's channel, cut into pieces as the port delivers it (the first
 * byte gives the piece size). Every answer must be one line of valid
 * UTF-8 JSON text: '{' (after guest-sync-delimited's 0xFF) up to "}\n",
 * no longer than the output buffer, one object that jsmn (strict) reads
 * whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/agent/jw.h"
#include "../../app/agent/qga.h"

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void echo(struct qga *q, const struct qga_args *a, struct jw *w)
{
	const char *id;
	size_t n;
	char s[64], item[64];
	int64_t v;
	if (qga_arg_raw(a, "id", &id, &n))
		jw_raw(w, id, n);
	else if (qga_arg_int(a, "n", &v) > 0)
		jw_int(w, v);
	else if (qga_arg_str(a, "s", s, sizeof(s)) > 0)
		jw_str(w, s);
	for (unsigned i = 0; qga_arg_item(a, "l", i, item, sizeof(item)) > 0;
	     i++)
		if (i == 3)
			qga_error(q, "GenericError", "%s", item);
}

static void delimited(struct qga *q, const struct qga_args *a, struct jw *w)
{
	qga_delimit(q);
	echo(q, a, w);
}

static const struct qga_cmd cmds[] = {
	{ "guest-sync", "id:i", echo, 1, 0 },
	{ "guest-sync-delimited", "id:i", delimited, 1, 0 },
	{ "guest-ping", "n:i?,s:s?,l:a?,b:b?", echo, 0, 0 },
	{ "guest-shutdown", "s:s?", echo, 1, 1 },
};

static void check(const char *out, size_t len)
{
	if (!len)
		return;
	if (*out == (char)0xff) {
		out++;
		len--;
	}
	if (len < 3 || len > QGA_OUT_MAX + 1 || out[0] != '{' ||
	    out[len - 2] != '}' || out[len - 1] != '\n' ||
	    memchr(out, '\n', len - 1) || jw_utf8_valid(out, len) != len)
		abort();
	static jsmntok_t t[4096];
	jsmn_parser p;
	jsmn_init(&p);
	int r = jsmn_parse(&p, out, len - 1, t, 4096);
	if (r < 1 || t[0].type != JSMN_OBJECT || t[0].end != (int)len - 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct qga q;
	const char *out;
	size_t len;
	if (!size || qga_init(&q, cmds, 4, 0, 0))
		return 0;
	size_t piece = (size_t)data[0] + 1;
	data++;
	size--;
	while (size) {
		size_t k = size < piece ? size : piece;
		if (k > qga_room(&q))
			k = qga_room(&q);
		qga_feed(&q, data, k);
		data += k;
		size -= k;
		while (qga_next(&q, &out, &len))
			check(out, len);
	}
	qga_free(&q);
	return 0;
}
