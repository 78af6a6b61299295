/* runtime/fmt.c against the host's snprintf for the conversions umbra
 * uses, plus truncation and the return value. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "../../runtime/fmt.h"
#include "check.h"

static char got[256], want[256];

/* Formats with both implementations and compares. */
__attribute__((format(printf, 1, 2))) static void same(const char *f, ...)
{
	va_list ap, aq;
	va_start(ap, f);
	va_copy(aq, ap);
	int n1 = fmt_vsnprintf(got, sizeof(got), f, ap);
	int n2 = vsnprintf(want, sizeof(want), f, aq);
	va_end(aq);
	va_end(ap);
	CHECK_STR(got, want);
	CHECK_INT(n1, n2);
}

int main(void)
{
	same("plain");
	same("%d %d %d", 0, -1, 2147483647);
	same("%d", (int)-2147483647 - 1);
	same("%i|%5d|%-5d|%05d|%05d", 7, 42, 42, 42, -42);
	same("%u %u", 0u, 4294967295u);
	same("%o %06o %lo", 0100644u, 040755u, 0777ul);
	same("%x %X %08x %llx", 0xbeefu, 0xbeefu, 0x1234u,
	     0xfedcba9876543210ull);
	same("%lld %llu", -9223372036854775807ll - 1, 18446744073709551615ull);
	same("%ld %lu %lx", -5l, 5ul, 0xabcul);
	same("%zu", (size_t)123456789);
	same("%hhu %hd", (unsigned char)300, (short)70000);
	same("%s|%10s|%-10s|%.3s", "abc", "right", "left", "truncate");
	same("%*d|%-*d|%.*s", 6, 1, 6, 2, 2, "xyz");
	same("%c%c%%", 'o', 'k');
	same("%016llx", 0x1ull);

	/* %p: 0x then lower-case hex. */
	fmt_snprintf(got, sizeof(got), "%p", (void *)(uintptr_t)0xdead0);
	CHECK_STR(got, "0xdead0");
	/* (null) for a NULL string. */
	fmt_snprintf(got, sizeof(got), "%s", (char *)NULL);
	CHECK_STR(got, "(null)");

	/* Truncation: NUL always written, full length returned. */
	char small[5];
	CHECK_INT(fmt_snprintf(small, sizeof(small), "%s", "abcdefgh"), 8);
	CHECK_STR(small, "abcd");
	CHECK_INT(fmt_snprintf(small, 1, "xyz"), 3);
	CHECK_STR(small, "");
	CHECK_INT(fmt_snprintf(NULL, 0, "%d", 12345), 5);

#pragma clang diagnostic ignored "-Wformat"
#pragma clang diagnostic ignored "-Wformat-invalid-specifier"
	/* Unknown conversions are shown, not guessed at. */
	fmt_snprintf(got, sizeof(got), "a%qb");
	CHECK_STR(got, "a%?b");
	/* A trailing lone % ends the output. */
	fmt_snprintf(got, sizeof(got), "end%");
	CHECK_STR(got, "end");
	return check_done();
}
