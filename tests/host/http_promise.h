/* What the HTTP parser promises of a path it accepted (app/http/
 * http_parse.h): "/" first, no "//", no "." or ".." segment, no NUL,
 * backslash or control character. Shared by test_http and fuzz_http. */
#ifndef UMBRA_HTTP_PROMISE_H
#define UMBRA_HTTP_PROMISE_H

#include <string.h>

static inline int http_path_kept(const char *p)
{
	size_t len = strlen(p);
	if (p[0] != '/' || strstr(p, "//") || strstr(p, "/../") ||
	    strstr(p, "/./") || strchr(p, '\\') ||
	    (len >= 3 && !strcmp(p + len - 3, "/..")) ||
	    (len >= 2 && !strcmp(p + len - 2, "/.")))
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

#endif
