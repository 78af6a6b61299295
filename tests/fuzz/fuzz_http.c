/* libFuzzer target: the input is what a client sends. The head goes
 * through http_parse (and the path must keep its promises: "/" first, no
 * "." or ".." segment, no NUL, backslash or control character), the rest
 * through the chunked decoder; the fields through the range, validator
 * and token parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/http/http_parse.h"
#include "../host/http_promise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		struct http_chunked c;
		http_chunked_init(&c);
		size_t n = size - end;
		int done;
		long k = http_chunked_feed(&c, buf + end, &n, &done, 1 << 20);
		if (k > (long)(size - end) || n > size - end)
			abort();
	}
	free(buf);
	return 0;
}
