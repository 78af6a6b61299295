/* User data from a cloud (a seed drive's user-data; a metadata service's):
 * what it may hold, and single values from its metadata. Every source of
 * user data calls these, so each refuses the same things. Portable C
 * (host-tested: tests/host/test_userdata.c). */
#ifndef UMBRA_USERDATA_H
#define UMBRA_USERDATA_H

#include <stddef.h>

/* A script from any source is at most this many bytes (app/README.md). */
#define USERDATA_MAX (1L << 20)

/* NULL when data (n bytes) may run as an umbra script; otherwise what it
 * is, in words, for a one-line refusal: cloud-init's formats
 * (#cloud-config, #include, #cloud-boothook, #part-handler,
 * ## template: jinja, #upstart-job), a #! script, a MIME message
 * (multipart or not), gzip-compressed data. The words may live in a
 * static buffer until the next call. */
const char *userdata_kind(const char *data, size_t n);

/* The value of key in metadata text (n bytes): a JSON member
 * `"key": "value"` or a YAML line `key: value` (quoted or not), as
 * printable ASCII, into out (size bytes, NUL-terminated). Its length, or
 * -1 when the key is absent, its value is not a plain string, holds
 * anything else, or does not fit. No general JSON or YAML parsing: the
 * first occurrence of the key is taken. */
int userdata_meta_value(const char *text, size_t n, const char *key,
			char *out, size_t size);

#endif
