/* printf-style formatting, portable: the same file builds into the image
 * and into the host tests. Conversions: %d %i %u %o %x %X %s %p %c %%, length
 * modifiers h hh l ll z, flags '-' and '0', a field width (or '*') and a
 * precision for %s (or '.*'). */
#ifndef UMBRA_FMT_H
#define UMBRA_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Receives the output in pieces; ctx is the caller's. */
typedef void fmt_sink(void *ctx, const char *s, size_t n);

/* Formats into sink; returns the number of bytes produced. */
int fmt_vformat(fmt_sink *sink, void *ctx, const char *fmt, va_list ap);

/* Like snprintf: writes at most size-1 bytes plus a NUL (when size > 0)
 * and returns the length the whole output would have had. */
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif
