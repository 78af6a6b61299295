/* One string out of JSON; see jstr.h. Grammar: RFC 8259 §2-7. */
#include "jstr.h"

#include <string.h>

struct scan {
	const char *s, *end;
	int depth;
};

static void blanks(struct scan *sc)
{
	while (sc->s < sc->end && (*sc->s == ' ' || *sc->s == '\t' ||
				   *sc->s == '\n' || *sc->s == '\r'))
		sc->s++;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/* Appends code point cp as UTF-8 to out[*o..cap). */
static int put_utf8(unsigned cp, char *out, size_t cap, size_t *o)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
	}
	if (out && n > cap - *o)
		return JSTR_ERR_TOO_LONG;
	if (out)
		memcpy(out + *o, b, n);
	*o += n;
	return 0;
}

/* An escape after the backslash at sc->s (§7): its code point. */
static int escape(struct scan *sc, unsigned *cp)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (sc->end - sc->s < 2)
		return JSTR_ERR_SYNTAX;
	const char *k = memchr(from, sc->s[1], sizeof(from) - 1);
	if (k) {
		*cp = (unsigned char)to[k - from];
		sc->s += 2;
		return 0;
	}
	if (sc->s[1] != 'u' || sc->end - sc->s < 6 || hex4(sc->s + 2, cp))
		return JSTR_ERR_SYNTAX;
	sc->s += 6;
	if (*cp >= 0xd800 && *cp < 0xdc00) {	/* a surrogate pair */
		unsigned lo;
		if (sc->end - sc->s < 6 || sc->s[0] != '\\' ||
		    sc->s[1] != 'u' || hex4(sc->s + 2, &lo) ||
		    lo < 0xdc00 || lo >= 0xe000)
			return JSTR_ERR_SYNTAX;
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
		sc->s += 6;
	} else if (*cp >= 0xdc00 && *cp < 0xe000) {
		return JSTR_ERR_SYNTAX;
	}
	return 0;
}

/* A string at sc->s (its opening quote), decoded into out when out is
 * not NULL: its length, or an error. */
static long string(struct scan *sc, char *out, size_t cap)
{
	size_t o = 0;
	sc->s++;
	while (sc->s < sc->end && *sc->s != '"') {
		unsigned char c = (unsigned char)*sc->s;
		if (c < 0x20)
			return JSTR_ERR_SYNTAX;
		if (c != '\\') {
			if (out && o == cap)
				return JSTR_ERR_TOO_LONG;
			if (out)
				out[o] = (char)c;
			o++;
			sc->s++;
			continue;
		}
		unsigned cp;
		int err = escape(sc, &cp);
		if (!err)
			err = put_utf8(cp, out, cap, &o);
		if (err)
			return err;
	}
	if (sc->s == sc->end)
		return JSTR_ERR_SYNTAX;
	sc->s++;
	return (long)o;
}

static int value(struct scan *sc, const char *path, char *out, size_t cap,
		 long *found);

/* An object's members; path (NULL: nothing wanted here) is the rest of
 * the wanted path. */
static int object(struct scan *sc, const char *path, char *out, size_t cap,
		  long *found)
{
	sc->s++;
	blanks(sc);
	if (sc->s < sc->end && *sc->s == '}') {
		sc->s++;
		return 0;
	}
	for (;;) {
		blanks(sc);
		if (sc->s == sc->end || *sc->s != '"')
			return JSTR_ERR_SYNTAX;
		const char *key = sc->s + 1;
		long klen = string(sc, 0, 0);
		if (klen < 0)
			return (int)klen;
		size_t raw = (size_t)(sc->s - 1 - key);	/* as written */
		blanks(sc);
		if (sc->s == sc->end || *sc->s++ != ':')
			return JSTR_ERR_SYNTAX;
		const char *want = 0;
		if (path && *found == JSTR_ERR_NOT_FOUND) {
			const char *dot = strchr(path, '.');
			size_t plen = dot ? (size_t)(dot - path) : strlen(path);
			if (plen == raw && !memcmp(key, path, plen))
				want = path + plen;	/* "" or ".rest" */
		}
		int err = value(sc, want ? (*want ? want + 1 : want) : 0, out,
				cap, found);
		if (err)
			return err;
		blanks(sc);
		if (sc->s == sc->end)
			return JSTR_ERR_SYNTAX;
		if (*sc->s == '}') {
			sc->s++;
			return 0;
		}
		if (*sc->s++ != ',')
			return JSTR_ERR_SYNTAX;
	}
}

static int array(struct scan *sc)
{
	long none = 0;
	sc->s++;
	blanks(sc);
	if (sc->s < sc->end && *sc->s == ']') {
		sc->s++;
		return 0;
	}
	for (;;) {
		int err = value(sc, 0, 0, 0, &none);
		if (err)
			return err;
		blanks(sc);
		if (sc->s == sc->end)
			return JSTR_ERR_SYNTAX;
		if (*sc->s == ']') {
			sc->s++;
			return 0;
		}
		if (*sc->s++ != ',')
			return JSTR_ERR_SYNTAX;
	}
}

/* A number, true, false or null: their characters. */
static int scalar(struct scan *sc)
{
	const char *start = sc->s;
	while (sc->s < sc->end && strchr("0123456789+-.eEtrufalsn", *sc->s) &&
	       *sc->s)
		sc->s++;
	return sc->s == start ? JSTR_ERR_SYNTAX : 0;
}

/* A value; path "" means this is the one wanted (a string: into out). */
static int value(struct scan *sc, const char *path, char *out, size_t cap,
		 long *found)
{
	blanks(sc);
	if (sc->s == sc->end)
		return JSTR_ERR_SYNTAX;
	int wanted = path && !*path;
	if (*sc->s == '"') {
		long n = string(sc, wanted ? out : 0, cap ? cap - 1 : 0);
		if (n < 0)
			return (int)n;
		if (wanted) {
			out[n] = 0;
			*found = n;
		}
		return 0;
	}
	if (*sc->s != '{' && *sc->s != '[')
		return scalar(sc);
	if (++sc->depth > JSTR_DEPTH_MAX)
		return JSTR_ERR_DEPTH;
	int err = *sc->s == '{' ? object(sc, wanted ? 0 : path, out, cap,
					 found)
				: array(sc);
	sc->depth--;
	return err;
}

long jstr_get(const char *js, size_t n, const char *path, char *out,
	      size_t cap)
{
	struct scan sc = { js, js + n, 0 };
	long found = JSTR_ERR_NOT_FOUND;
	if (!cap)
		return JSTR_ERR_TOO_LONG;
	blanks(&sc);
	if (sc.s == sc.end || *sc.s != '{')
		return JSTR_ERR_SYNTAX;
	int err = value(&sc, path, out, cap, &found);
	return err ? err : found;
}
