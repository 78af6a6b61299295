/* One string value out of a JSON text (RFC 8259), by its path of object
 * keys: what the metadata client needs of Oracle's instance document
 * ("metadata.user_data", "id") and OpenStack's meta_data.json ("uuid").
 * A bounded scan, not a parser: nesting is limited, every length is
 * checked, a malformed text is an error. Portable C: the same file
 * builds into the image, a host test and a fuzz target. */
#ifndef UMBRA_JSTR_H
#define UMBRA_JSTR_H

#include <stddef.h>

#define JSTR_DEPTH_MAX 32

enum jstr_err {
	JSTR_ERR_NOT_FOUND = -721,	/* no such key, or not a string */
	JSTR_ERR_SYNTAX = -722,		/* not JSON (as far as it was read) */
	JSTR_ERR_DEPTH = -723,		/* nested deeper than JSTR_DEPTH_MAX */
	JSTR_ERR_TOO_LONG = -724,	/* the value does not fit in out */
};

/* The string at path (keys joined by '.', e.g. "metadata.user_data"; the
 * outermost value must be an object) in js[0..n), its escapes decoded
 * (\uXXXX as UTF-8) into out[0..cap) and NUL-terminated. Returns its
 * length, or a JSTR_ERR_*. The first matching key wins. */
long jstr_get(const char *js, size_t n, const char *path, char *out,
	      size_t cap);

#endif
