/* The command line; see cmdline.h. */
#include "cmdline.h"

#include <string.h>

static const char *line = "";

void cmdline_set(const char *l)
{
	line = l ? l : "";
}

const char *cmdline_get(void)
{
	return line;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The end of the word at p: blanks end it, except inside "...". */
static const char *word_end(const char *p)
{
	int quoted = 0;
	for (; *p && (quoted || !blank(*p)); p++)
		if (*p == '"')
			quoted = !quoted;
	return p;
}

long cmdline_next(const char **pos, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	const char *p = *pos;
	for (;;) {
		while (blank(*p))
			p++;
		if (!*p)
			return -1;
		const char *end = word_end(p);
		if ((size_t)(end - p) > klen && !memcmp(p, key, klen) &&
		    p[klen] == '=') {
			size_t n = 0;
			for (const char *v = p + klen + 1; v < end; v++) {
				if (*v == '"')
					continue;
				if (size && n < size - 1)
					buf[n] = *v;
				n++;
			}
			if (size)
				buf[n < size - 1 ? n : size - 1] = 0;
			*pos = end;
			return (long)n;
		}
		p = end;
	}
}
