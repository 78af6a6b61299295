/* What user data holds, and metadata values; see userdata.h. */
#include "userdata.h"

#include <string.h>

static int starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && !memcmp(s, prefix, k);
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* s (n bytes) begins with prefix, ASCII case ignored. */
static int starts_nocase(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (lower((unsigned char)s[i]) != prefix[i])
			return 0;
	return 1;
}

/* A MIME head (RFC 2045: header fields up to a blank line): multipart
 * when one of its first lines is Content-Type: multipart/... */
static const char *mime(const char *s, size_t n)
{
	if (!starts_nocase(s, n, "content-type:") &&
	    !starts_nocase(s, n, "mime-version:"))
		return 0;
	for (int line = 0; line < 16 && n; line++) {
		if (starts_nocase(s, n, "content-type:")) {
			size_t k = 13;
			while (k < n && (s[k] == ' ' || s[k] == '\t'))
				k++;
			if (starts_nocase(s + k, n - k, "multipart/"))
				return "a MIME multipart message";
		}
		const char *nl = memchr(s, '\n', n);
		if (!nl || nl == s || (nl == s + 1 && s[0] == '\r'))
			break;	/* the head's end */
		n -= (size_t)(nl + 1 - s);
		s = nl + 1;
	}
	return "a MIME message";
}

const char *userdata_kind(const char *data, size_t n)
{
	static const struct {
		const char *prefix, *what;
	} cloud_init[] = {
		{ "#cloud-config", "cloud-init's #cloud-config" },
		{ "#include", "cloud-init's #include" },
		{ "#cloud-boothook", "a cloud-init #cloud-boothook" },
		{ "#part-handler", "a cloud-init #part-handler" },
		{ "#upstart-job", "an #upstart-job" },
		{ "## template: jinja", "a cloud-init jinja template" },
	};
	static char shebang[64];
	if (starts(data, n, "\xef\xbb\xbf")) {	/* a UTF-8 byte order mark */
		data += 3;
		n -= 3;
	}
	if (n >= 2 && (unsigned char)data[0] == 0x1f &&
	    (unsigned char)data[1] == 0x8b)
		return "gzip-compressed data";
	for (unsigned i = 0; i < sizeof(cloud_init) / sizeof(*cloud_init); i++)
		if (starts(data, n, cloud_init[i].prefix))
			return cloud_init[i].what;
	if (starts(data, n, "#!")) {
		size_t k = 2;
		while (k < n && k < 34 && data[k] >= 0x20 && data[k] < 0x7f)
			k++;
		memcpy(shebang, "a #! script (", 13);
		memcpy(shebang + 13, data, k);
		memcpy(shebang + 13 + k, ")", 2);
		return shebang;
	}
	return mime(data, n);
}

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The value starting at v (up to end): quoted (JSON's must be), or up to
 * the end of the line or a YAML comment; blanks around it cut. */
static int value(const char *v, const char *end, int json, char *out,
		 size_t size)
{
	while (v < end && blank(*v))
		v++;
	const char *stop;
	if (v < end && (json ? *v != '"' : *v == '{' || *v == '['))
		return -1;
	if (v < end && (*v == '"' || *v == '\'')) {
		char q = *v++;
		stop = memchr(v, q, (size_t)(end - v));
		if (!stop)
			return -1;
	} else {
		stop = v;
		while (stop < end && *stop != '\n' && *stop != '\r' &&
		       *stop != ',' && *stop != '}' &&
		       !(*stop == '#' && stop > v && blank(stop[-1])))
			stop++;
		while (stop > v && blank(stop[-1]))
			stop--;
	}
	size_t k = (size_t)(stop - v);
	if (!k || k >= size)
		return -1;
	for (size_t i = 0; i < k; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == '\\')
			return -1;
	memcpy(out, v, k);
	out[k] = 0;
	return (int)k;
}

int userdata_meta_value(const char *text, size_t n, const char *key,
			char *out, size_t size)
{
	size_t k = strlen(key);
	const char *end = text + n;
	for (const char *p = text; k && p + k <= end; p++) {
		if (memcmp(p, key, k))
			continue;
		const char *q = p + k;
		int json = p > text && p[-1] == '"' && q < end && *q == '"';
		int yaml = (p == text || p[-1] == '\n') && !json;
		if (json)
			q++;
		else if (!yaml)
			continue;
		while (q < end && blank(*q))
			q++;
		if (q < end && *q == ':')
			return value(q + 1, end, json, out, size);
	}
	return -1;
}
