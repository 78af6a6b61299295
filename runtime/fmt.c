/* printf-style formatting; see fmt.h. */
#include "fmt.h"

#include <stdint.h>

struct spec {
	int left, zero, width, prec;
	char len;		/* 'H' hh, 'h', 0, 'l', 'L' ll, 'z' */
};

static void pad(fmt_sink *sink, void *ctx, char c, int n, int *total)
{
	char buf[16];
	for (int i = 0; i < (int)sizeof(buf); i++)
		buf[i] = c;
	while (n > 0) {
		int k = n < (int)sizeof(buf) ? n : (int)sizeof(buf);
		sink(ctx, buf, (size_t)k);
		*total += k;
		n -= k;
	}
}

/* Emits s (n bytes) in a field, padded as the spec says. Zero padding goes
 * after a leading '-' sign. */
static void field(fmt_sink *sink, void *ctx, const struct spec *sp,
		  const char *s, int n, int numeric, int *total)
{
	int fill = sp->width > n ? sp->width - n : 0;
	if (sp->left) {
		sink(ctx, s, (size_t)n);
		*total += n;
		pad(sink, ctx, ' ', fill, total);
		return;
	}
	if (numeric && sp->zero) {
		if (n > 0 && s[0] == '-') {
			sink(ctx, s, 1);
			*total += 1;
			s++;
			n--;
		}
		pad(sink, ctx, '0', fill, total);
	} else {
		pad(sink, ctx, ' ', fill, total);
	}
	sink(ctx, s, (size_t)n);
	*total += n;
}

/* Writes v in base (10 or 16) right-aligned into buf[24]; returns start. */
static char *utoa(uint64_t v, unsigned base, int upper, char *end)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;
	do {
		*--p = digits[v % base];
		v /= base;
	} while (v);
	return p;
}

static uint64_t get_unsigned(const struct spec *sp, va_list *ap)
{
	switch (sp->len) {
	case 'H': return (unsigned char)va_arg(*ap, unsigned);
	case 'h': return (unsigned short)va_arg(*ap, unsigned);
	case 'l': return va_arg(*ap, unsigned long);
	case 'L': return va_arg(*ap, unsigned long long);
	case 'z': return va_arg(*ap, size_t);
	default: return va_arg(*ap, unsigned);
	}
}

static int64_t get_signed(const struct spec *sp, va_list *ap)
{
	switch (sp->len) {
	case 'H': return (signed char)va_arg(*ap, int);
	case 'h': return (short)va_arg(*ap, int);
	case 'l': return va_arg(*ap, long);
	case 'L': return va_arg(*ap, long long);
	case 'z': return (int64_t)va_arg(*ap, size_t);
	default: return va_arg(*ap, int);
	}
}

/* Parses flags, width, precision and length; returns the conversion char
 * and advances *fmt past it. */
static char parse_spec(const char **fmt, struct spec *sp, va_list *ap)
{
	const char *f = *fmt;
	*sp = (struct spec){ .prec = -1 };
	for (;; f++) {
		if (*f == '-')
			sp->left = 1;
		else if (*f == '0')
			sp->zero = 1;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = 1;
			sp->width = -sp->width;
		}
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		sp->prec = 0;
		if (*f == '*') {
			sp->prec = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->prec = sp->prec * 10 + (*f++ - '0');
	}
	if (f[0] == 'h' && f[1] == 'h') {
		sp->len = 'H';
		f += 2;
	} else if (f[0] == 'l' && f[1] == 'l') {
		sp->len = 'L';
		f += 2;
	} else if (*f == 'h' || *f == 'l' || *f == 'z') {
		sp->len = *f++;
	}
	*fmt = f + (*f != 0);
	return *f;
}

static void conversion(fmt_sink *sink, void *ctx, char c,
		       const struct spec *sp, va_list *ap, int *total)
{
	char buf[24], *end = buf + sizeof(buf), *p;
	switch (c) {
	case 'd':
	case 'i': {
		int64_t v = get_signed(sp, ap);
		uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
		p = utoa(m, 10, 0, end);
		if (v < 0)
			*--p = '-';
		field(sink, ctx, sp, p, (int)(end - p), 1, total);
		return;
	}
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		p = utoa(get_unsigned(sp, ap), c == 'u' ? 10 : c == 'o' ? 8 : 16,
			 c == 'X', end);
		field(sink, ctx, sp, p, (int)(end - p), 1, total);
		return;
	case 'p':
		p = utoa((uintptr_t)va_arg(*ap, void *), 16, 0, end);
		*--p = 'x';
		*--p = '0';
		field(sink, ctx, sp, p, (int)(end - p), 0, total);
		return;
	case 'c':
		buf[0] = (char)va_arg(*ap, int);
		field(sink, ctx, sp, buf, 1, 0, total);
		return;
	case 's': {
		const char *s = va_arg(*ap, const char *);
		int n = 0;
		if (!s)
			s = "(null)";
		while (s[n] && (sp->prec < 0 || n < sp->prec))
			n++;
		field(sink, ctx, sp, s, n, 0, total);
		return;
	}
	case '%':
		sink(ctx, "%", 1);
		*total += 1;
		return;
	default:	/* unknown conversion: show it rather than guess */
		sink(ctx, "%?", 2);
		*total += 2;
		return;
	}
}

int fmt_vformat(fmt_sink *sink, void *ctx, const char *fmt, va_list ap)
{
	int total = 0;
	va_list aq;
	va_copy(aq, ap);
	while (*fmt) {
		const char *lit = fmt;
		while (*fmt && *fmt != '%')
			fmt++;
		if (fmt > lit) {
			sink(ctx, lit, (size_t)(fmt - lit));
			total += (int)(fmt - lit);
		}
		if (!*fmt)
			break;
		fmt++;
		struct spec sp;
		char c = parse_spec(&fmt, &sp, &aq);
		if (!c)
			break;
		conversion(sink, ctx, c, &sp, &aq, &total);
	}
	va_end(aq);
	return total;
}

struct strbuf {
	char *buf;
	size_t size, used;
};

static void strbuf_sink(void *ctx, const char *s, size_t n)
{
	struct strbuf *b = ctx;
	for (size_t i = 0; i < n; i++, b->used++)
		if (b->used + 1 < b->size)
			b->buf[b->used] = s[i];
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct strbuf b = { buf, size, 0 };
	int n = fmt_vformat(strbuf_sink, &b, fmt, ap);
	if (size)
		buf[b.used < size ? b.used : size - 1] = 0;
	return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
