/* A small JSON writer into a fixed buffer: objects, arrays, members,
 * strings (escaped: quote, backslash, control characters; bytes that are
 * not UTF-8 become U+FFFD, so the output is always valid JSON), integers,
 * booleans, and raw text already checked to be JSON. Commas and the
 * ": " / ", " spacing qemu-ga uses are placed by the writer. Running out
 * of room sets `full` and writes nothing more; the caller then answers
 * with an error instead. Portable C (host tests and fuzzing build it). */
#ifndef UMBRA_JW_H
#define UMBRA_JW_H

#include <stddef.h>
#include <stdint.h>

#define JW_DEPTH 16

struct jw {
	char *buf;
	size_t size, len;
	int full;
	int depth;
	uint8_t count[JW_DEPTH];	/* values written at each level */
	char closer[JW_DEPTH];		/* '}' or ']' */
};

void jw_init(struct jw *w, char *buf, size_t size);

void jw_object(struct jw *w);
void jw_array(struct jw *w);
void jw_end(struct jw *w);		/* closes the innermost one */
void jw_key(struct jw *w, const char *key);	/* a member's name */
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, int v);
void jw_raw(struct jw *w, const char *json, size_t n);

/* Members in one call: jw_key then the value. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kuint(struct jw *w, const char *key, uint64_t v);
void jw_kbool(struct jw *w, const char *key, int v);

/* Bytes [0, n) of s that form whole, valid UTF-8 sequences (no
 * overlong forms, surrogates or values past U+10FFFF): n when all do;
 * else the offset of the first bad byte. */
size_t jw_utf8_valid(const char *s, size_t n);

#endif
