/* libFuzzer target: the input is what a client sends. The head goes
 * through http_parse (and the path must keep its promises: "/" first, no
 * "." or ".." segment, no NUL, backslash or control character), the rest
 * through the chunked decoder (whole and a byte at a time: the same
 * verdict and data); the fields through the range, validator
 * and token parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/http/http_parse.h"
#include "../host/http_promise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes in[0..len) as a chunked body, fed all at once and a byte at a
 * time: the verdict, the bytes consumed and the data must not depend on
 * how the input was split (the decoder keeps its state between feeds). */
static void chunked_same(const char *in, size_t len)
{
	char *whole = malloc(len + 1), *bytes = malloc(len + 1);
	struct http_chunked a, b;
	int done_a, done_b = 0;
	http_chunked_init(&a);
	http_chunked_init(&b);
	memcpy(whole, in, len);
	size_t n_a = len, n_b = 0, out_b = 0;
	long k_a = http_chunked_feed(&a, whole, &n_a, &done_a, 1 << 20), k_b = 0;
	if (k_a > (long)len || n_a > len)
		abort();
	while (n_b < len && !done_b) {
		char one = in[n_b];
		size_t n = 1;
		k_b = http_chunked_feed(&b, &one, &n, &done_b,
					(1 << 20) - out_b);
		if (k_b < 0)
			break;
		if (k_b)
			bytes[out_b++] = one;
		n_b += n;
	}
	if ((k_a < 0) != (k_b < 0) || (k_a < 0 && k_a != k_b))
		abort();
	if (k_a >= 0 && (done_a != done_b || n_a != n_b ||
			 (size_t)k_a != out_b || memcmp(whole, bytes, out_b)))
		abort();
	free(whole);
	free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct http_req r;
	memcpy(buf, data, size);
	buf[size] = 0;
	size_t end = http_head_end(buf, size);
	if (!end) {
		http_head_limit(buf, size);
	} else if (!http_parse(buf, end, &r)) {
		uint64_t a, b;
		if (!http_path_kept(r.path))
			abort();
		if (http_range(r.range, 1000, &a, &b) > 0 &&
		    (a > b || b >= 1000))
			abort();
		http_etag_match(r.if_none_match, "\"1-2-3\"");
		http_bearer_ok(r.authorization, "token");
		chunked_same(buf + end, size - end);
	}
	free(buf);
	return 0;
}
