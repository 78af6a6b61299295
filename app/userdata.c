/* cloud-init's user-data formats, told apart from an umbra script; see
 * userdata.h. The marks are those cloud-init's documentation lists
 * ("User data formats"). */
#include "userdata.h"

#include <string.h>

static const struct {
	const char *mark;	/* at the very start */
	const char *kind;
} marks[] = {
	{ "#cloud-config-archive", "a cloud-config archive" },
	{ "#cloud-config-jsonp", "a cloud-config JSON patch" },
	{ "#cloud-config", "cloud-config" },
	{ "#cloud-boothook", "a cloud-init boothook" },
	{ "#part-handler", "a cloud-init part handler" },
	{ "#include", "a cloud-init include list" },
	{ "## template: jinja", "a cloud-init Jinja template" },
	{ "#!", "a #! script" },
	{ "\x1f\x8b", "gzip-compressed data" },
};

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* s[0..n) starts with w, ignoring case. */
static int starts_nocase(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);
	if (k > n)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (lower((unsigned char)s[i]) != lower((unsigned char)w[i]))
			return 0;
	return 1;
}

const char *userdata_kind(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		size_t k = strlen(marks[i].mark);
		if (n >= k && !memcmp(s, marks[i].mark, k))
			return marks[i].kind;
	}
	/* RFC 2045/2046: a MIME message starts with its header fields */
	if (starts_nocase(s, n, "Content-Type: multipart/") ||
	    starts_nocase(s, n, "MIME-Version:"))
		return "MIME multipart";
	return 0;
}
