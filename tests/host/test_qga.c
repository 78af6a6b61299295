/* app/agent/qga.c (the guest agent's protocol) and jw.c (its JSON
 * writer) against what qemu-ga's clients send and what a hostile host
 * may: the answers byte for byte (return, error classes and words, the
 * id echoed, guest-sync-delimited's 0xFF), the arguments checked, and
 * malformed JSON of every kind, invalid UTF-8, NUL and control bytes,
 * deep nesting, too many tokens, a request longer than the buffer,
 * endless input, 0xFF resets, a request trickling in byte by byte, a
 * flood, answers too long. Each gets an error answer or is dropped to
 * the next newline, and the next good request is answered. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/agent/jw.h"
#include "../../app/agent/qga.h"
#include "check.h"

static int frozen;
static char seen_mode[64];

static int is_frozen(void *ctx)
{
	(void)ctx;
	return frozen;
}

static void c_ping(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)q;
	(void)a;
	(void)w;
}

static void c_sync(struct qga *q, const struct qga_args *a, struct jw *w)
{
	const char *id;
	size_t n;
	(void)q;
	if (qga_arg_raw(a, "id", &id, &n))
		jw_raw(w, id, n);
}

static void c_sync_delimited(struct qga *q, const struct qga_args *a,
			     struct jw *w)
{
	qga_delimit(q);
	c_sync(q, a, w);
}

static void c_shutdown(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)w;
	strcpy(seen_mode, "powerdown");
	if (qga_arg_str(a, "mode", seen_mode, sizeof(seen_mode)) < 0)
		qga_error(q, "GenericError", "mode: not a usable string");
}

static void c_list(struct qga *q, const struct qga_args *a, struct jw *w)
{
	char item[128];
	int64_t n = 0;
	(void)q;
	jw_array(w);
	for (unsigned i = 0; qga_arg_item(a, "mountpoints", i, item,
					   sizeof(item)) > 0; i++)
		jw_str(w, item);
	if (qga_arg_int(a, "count", &n) > 0)
		jw_int(w, n);
	jw_end(w);
}

static void c_big(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)q;
	(void)a;
	jw_array(w);
	for (int i = 0; i < 5000; i++)
		jw_str(w, "0123456789");
	jw_end(w);
}

static void c_fails(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)a;
	jw_int(w, 1);	/* thrown away */
	qga_error(q, "GenericError", "it failed: %d", 7);
}

static const struct qga_cmd cmds[] = {
	{ "guest-sync", "id:i", c_sync, 1, 0 },
	{ "guest-sync-delimited", "id:i", c_sync_delimited, 1, 0 },
	{ "guest-ping", "", c_ping, 1, 0 },
	{ "guest-shutdown", "mode:s?", c_shutdown, 0, 1 },
	{ "guest-list", "mountpoints:a?,count:i?,flag:b?", c_list, 0, 0 },
	{ "guest-big", "", c_big, 1, 0 },
	{ "guest-fails", "", c_fails, 1, 0 },
};

static struct qga q;
static char got[1 << 20];
static size_t got_len;
static unsigned answers;

/* Feeds s (n bytes) as the channel would (as room allows), collecting
 * every answer into got. */
static void feed(const void *s, size_t n)
{
	const char *p = s;
	const char *out;
	size_t len;
	for (;;) {
		while (qga_next(&q, &out, &len)) {
			if (got_len + len <= sizeof(got))
				memcpy(got + got_len, out, len);
			got_len += len;
			answers++;
		}
		if (!n)
			return;
		size_t k = qga_room(&q) < n ? qga_room(&q) : n;
		qga_feed(&q, p, k);
		p += k;
		n -= k;
	}
}

static void feeds(const char *s)
{
	feed(s, strlen(s));
}

static void start(void)
{
	qga_free(&q);
	CHECK_INT(qga_init(&q, cmds, sizeof(cmds) / sizeof(cmds[0]),
			   is_frozen, 0), 0);
	got_len = 0;
	answers = 0;
	frozen = 0;
}

/* One request in, exactly `want` out. */
static void ask(const char *req, const char *want)
{
	got_len = 0;
	feeds(req);
	got[got_len < sizeof(got) ? got_len : sizeof(got) - 1] = 0;
	if (strcmp(got, want))
		fprintf(stderr, "request %s\n", req);
	CHECK_STR(got, want);
}

static void error_is(const char *req, const char *cls, const char *desc)
{
	char want[512];
	snprintf(want, sizeof(want), "{\"error\": {\"class\": \"%s\", "
		 "\"desc\": \"%s\"}}\n", cls, desc);
	ask(req, want);
}

static void test_answers(void)
{
	start();
	ask("{\"execute\": \"guest-ping\"}\n", "{\"return\": {}}\n");
	ask("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":123456789}}",
	    "{\"return\": 123456789}\n");
	ask("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":"
	    "18446744073709551615}}", "{\"return\": 18446744073709551615}\n");
	ask("\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":-7}}",
	    "\xff{\"return\": -7}\n");
	ask("{\"execute\":\"guest-ping\",\"id\":{\"a\":[1,\"x\"]}}",
	    "{\"return\": {}, \"id\": {\"a\":[1,\"x\"]}}\n");
	ask("{\"execute\":\"guest-ping\",\"id\":\"a\\\"b\"}",
	    "{\"return\": {}, \"id\": \"a\\\"b\"}\n");
	ask("{\"execute\":\"guest-shutdown\"}", "");
	CHECK_STR(seen_mode, "powerdown");
	ask("{\"execute\":\"guest-shutdown\",\"arguments\":{\"mode\":"
	    "\"\\u0072eboot\"}}", "");
	CHECK_STR(seen_mode, "reboot");
	ask("{\"execute\":\"guest-list\",\"arguments\":{\"mountpoints\":"
	    "[\"/\",\"/x\\ty\",\"\\ud83d\\ude00\",\"\\ud800\"],\"count\":-3}}",
	    "{\"return\": [\"/\", \"/x\\u0009y\", \"\xf0\x9f\x98\x80\", "
	    "\"\xef\xbf\xbd\", -3]}\n");
	ask("{\"execute\":\"guest-fails\",\"id\":1}", "{\"error\": {\"class\": "
	    "\"GenericError\", \"desc\": \"it failed: 7\"}, \"id\": 1}\n");
	/* several in one write, with white space between */
	ask(" {\"execute\":\"guest-ping\"}\r\n\t{\"execute\":\"guest-ping\"}",
	    "{\"return\": {}}\n{\"return\": {}}\n");
	/* a string escaped on the way out, invalid UTF-8 replaced */
	char buf[128];
	struct jw w;
	jw_init(&w, buf, sizeof(buf));
	jw_object(&w);
	jw_kstr(&w, "s", "a\"b\\c\x01\n\xc3\xa9\xff\xed\xa0\x80z");
	jw_kint(&w, "min", INT64_MIN);
	jw_kbool(&w, "t", 1);
	jw_key(&w, "l");
	jw_array(&w);
	jw_end(&w);
	jw_end(&w);
	CHECK(!w.full);
	CHECK_INT(w.len, strlen("{\"s\": \"a\\\"b\\\\c\\u0001\\u000a\xc3\xa9"
				"\\ufffd\\ufffd\\ufffd\\ufffdz\", \"min\": "
				"-9223372036854775808, \"t\": true, \"l\": []}"));
	buf[w.len < sizeof(buf) ? w.len : 0] = 0;
	CHECK_STR(buf, "{\"s\": \"a\\\"b\\\\c\\u0001\\u000a\xc3\xa9\\ufffd"
		  "\\ufffd\\ufffd\\ufffdz\", \"min\": -9223372036854775808, "
		  "\"t\": true, \"l\": []}");
	jw_init(&w, buf, 8);
	jw_str(&w, "longer than eight");
	CHECK(w.full && w.len <= 8);
}

static void test_errors(void)
{
	start();
	error_is("{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"sh\"}}",
		 "CommandNotFound", "The command guest-exec has not been found");
	error_is("{\"arguments\":{}}", "GenericError",
		 "QMP input lacks member 'execute'");
	error_is("{\"execute\":1}", "GenericError",
		 "QMP input member 'execute' must be a string");
	error_is("{\"execute\":\"guest-ping\",\"arguments\":[]}",
		 "GenericError", "QMP input member 'arguments' must be an "
		 "object");
	error_is("{\"execute\":\"guest-ping\",\"foo\":1}", "GenericError",
		 "QMP input member 'foo' is unexpected");
	error_is("{\"execute\":\"guest-ping\",\"execute\":\"guest-ping\"}",
		 "GenericError", "QMP input member 'execute' given twice");
	error_is("[\"guest-ping\"]", "GenericError",
		 "QMP input must be a JSON object");
	error_is("\"guest-ping\"", "GenericError",
		 "QMP input must be a JSON object");
	error_is("42\n", "GenericError", "QMP input must be a JSON object");
	error_is("{\"execute\":\"guest-sync\"}", "GenericError",
		 "Parameter 'id' is missing");
	error_is("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1.5}}",
		 "GenericError", "Invalid parameter type for 'id', expected: "
		 "integer");
	error_is("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":\"1\"}}",
		 "GenericError", "Invalid parameter type for 'id', expected: "
		 "integer");
	error_is("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1,"
		 "\"x\":2}}", "GenericError", "Parameter 'x' is unexpected");
	error_is("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1,"
		 "\"id\":2}}", "GenericError", "Parameter 'id' given twice");
	error_is("{\"execute\":\"guest-list\",\"arguments\":{\"mountpoints\":"
		 "[\"/\",1]}}", "GenericError", "Invalid parameter type for "
		 "'mountpoints', expected: array");
	error_is("{\"execute\":\"guest-list\",\"arguments\":{\"flag\":1}}",
		 "GenericError", "Invalid parameter type for 'flag', "
		 "expected: boolean");
	error_is("{\"execute\":\"guest-shutdown\",\"arguments\":{\"mode\":"
		 "\"a\\u0000b\"}}", "GenericError", "mode: not a usable string");
	/* while frozen, only what qemu-ga allows then */
	frozen = 1;
	error_is("{\"execute\":\"guest-shutdown\"}", "CommandNotFound",
		 "The command guest-shutdown has been disabled after fsfreeze");
	ask("{\"execute\":\"guest-ping\"}", "{\"return\": {}}\n");
	frozen = 0;
	/* an answer too long for the buffer */
	error_is("{\"execute\":\"guest-big\"}", "GenericError",
		 "the answer is longer than 16384 bytes");
	static char req[40000];
	snprintf(req, sizeof(req), "{\"execute\":\"guest-ping\",\"id\":\"%0*d\"}",
		 20000, 0);
	error_is(req, "GenericError", "the answer is longer than 16384 bytes");
	CHECK(q.errors >= 20);
}

/* Malformed JSON: an error each, the rest of the line dropped, the next
 * line's request answered. */
static void test_malformed(void)
{
	static const char *const bad[] = {
		"{\"a\":1 \"b\":2}", "{\"a\" \"b\"}", "{\"a\":}", "[\"a\":1]",
		"{\"a\",\"b\"}", "{:1}", "{\"a\":1,}", "[1,,2]", "{\"a\"::1}",
		"{\"a\":tru}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}",
		"{\"a\":nul}", "garbage", "}", "{1:2}", "{\"a\":[1,2}",
		"{\"a\":\"\x01\"}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}",
		"{\"a\":\"\xc3\"}", "{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xc0\xaf\"}",
	};
	start();
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		got_len = 0;
		feeds(bad[i]);
		feeds("\n{\"execute\":\"guest-ping\"}\n");
		got[got_len] = 0;
		int ok = !strncmp(got, "{\"error\": {\"class\": \"GenericError\", "
				  "\"desc\": \"", 45) &&
			 strstr(got, "}}\n{\"return\": {}}\n") &&
			 !strstr(strstr(got, "}}\n") + 3, "error");
		if (!ok)
			fprintf(stderr, "bad[%u] %s -> %s", i, bad[i], got);
		CHECK(ok);
	}
	/* a NUL byte is a control character, refused as one */
	got_len = 0;
	static const char nul[] = "{\"execute\":\"gu\0est-ping\"}\n"
				  "{\"execute\":\"guest-ping\"}";
	feed(nul, sizeof(nul) - 1);
	got[got_len] = 0;
	CHECK(strstr(got, "GenericError") && strstr(got, "{\"return\": {}}\n"));
	/* an object complete, a stray brace after it */
	ask("{\"execute\":\"guest-ping\"}}\n{\"execute\":\"guest-ping\"}",
	    "{\"return\": {}}\n{\"error\": {\"class\": \"GenericError\", "
	    "\"desc\": \"JSON parse error at byte 0\"}}\n{\"return\": {}}\n");
}

static char big[4 << 20];

static void test_limits(void)
{
	start();
	/* nesting: 32 levels are JSON enough (an unexpected argument), 33
	 * are refused */
	char deep[200];
	for (int depth = 32; depth <= 33; depth++) {
		int n = sprintf(deep, "{\"execute\":\"guest-ping\",\"arguments\":"
				"{\"x\":");
		for (int i = 0; i < depth - 2; i++)
			deep[n++] = '[';
		for (int i = 0; i < depth - 2; i++)
			deep[n++] = ']';
		strcpy(deep + n, "}}");
		error_is(deep, "GenericError", depth == 32
			 ? "Parameter 'x' is unexpected"
			 : "JSON parse error, nesting too deep");
	}
	/* more tokens than there is room for */
	int n = sprintf(big, "{\"execute\":\"guest-ping\",\"id\":[");
	for (int i = 0; i < 2000; i++)
		n += sprintf(big + n, "%d,", i);
	strcpy(big + n - 1, "]}\n{\"execute\":\"guest-ping\"}");
	ask(big, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON "
	    "parse error, more than 1024 tokens\"}}\n{\"return\": {}}\n");
	/* a request longer than the buffer, then a good one */
	n = sprintf(big, "{\"execute\":\"guest-ping\",\"id\":\"");
	memset(big + n, 'x', 100000);
	strcpy(big + n + 100000, "\"}\n{\"execute\":\"guest-ping\"}\n");
	ask(big, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON "
	    "parse error, a request longer than 65536 bytes\"}}\n"
	    "{\"return\": {}}\n");
	/* endless input: one error, everything dropped until 0xFF */
	memset(big, '[', sizeof(big));
	uint64_t dropped = q.dropped;
	got_len = 0;
	answers = 0;
	feed(big, sizeof(big));
	got[got_len] = 0;
	CHECK_INT(answers, 1);	/* too many tokens, then all dropped */
	CHECK(!strncmp(got, "{\"error\"", 8));
	CHECK(q.dropped - dropped >= sizeof(big) - 65536);
	ask("\xff{\"execute\":\"guest-ping\"}", "{\"return\": {}}\n");
	/* 0xFF in the middle of a request drops its first part */
	ask("{\"execute\":\"guest-sy\xff{\"execute\":\"guest-ping\"}",
	    "{\"return\": {}}\n");
}

/* A request that trickles in byte by byte is answered once, when whole;
 * jsmn's place is kept between the pieces (it goes on from there rather
 * than reading the request again from its start). */
static void test_trickle(void)
{
	start();
	int n = sprintf(big, "{\"execute\":\"guest-list\",\"arguments\":"
			"{\"mountpoints\":[");
	for (int i = 0; i < 900; i++)
		n += sprintf(big + n, "\"/mnt/%04d/pad-to-make-it-long-%034d\",",
			     i, 0);
	strcpy(big + n - 1, "]}}\n");
	size_t len = strlen(big);
	CHECK(len > 60000 && len < 65536);
	got_len = 0;
	for (size_t i = 0; i < len; i++) {
		feed(big + i, 1);
		if (i + 3 < len)
			CHECK_INT(got_len, 0);
		if (i == 40000)
			CHECK(q.parse_pos > 39000 && q.parse_next > 500);
	}
	got[got_len < sizeof(got) ? got_len : 0] = 0;
	CHECK_STR(got, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		  "\"the answer is longer than 16384 bytes\"}}\n");
}

/* A flood: every request answered, in order, as room allows. */
static void test_flood(void)
{
	start();
	size_t n = 0;
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(big + n, "{\"execute\":\"guest-sync\","
				     "\"arguments\":{\"id\":%d}}", i);
	got_len = 0;
	feed(big, n);
	CHECK_INT(answers, 20000);
	CHECK_INT(q.requests, 20000);
	CHECK(got_len < sizeof(got));
	char *p = got;
	int ok = 1;
	for (int i = 0; i < 20000 && ok; i++) {
		char want[40];
		int k = sprintf(want, "{\"return\": %d}\n", i);
		ok = !strncmp(p, want, (size_t)k);
		p += k;
	}
	CHECK(ok);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	RUN(test_answers);
	RUN(test_errors);
	RUN(test_malformed);
	RUN(test_limits);
	RUN(test_trickle);
	RUN(test_flood);
	qga_free(&q);
	return check_done();
}
