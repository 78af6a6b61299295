/* The image's mem and str functions (runtime/string.c) against libc's:
 * every length from 0 to 300 at every alignment of source and
 * destination, forward and overlapping both ways, and larger blocks.
 * The file is compiled here under other names, beside libc's own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define memcpy rt_memcpy
#define memmove rt_memmove
#define memset rt_memset
#define memcmp rt_memcmp
#define memchr rt_memchr
#define strlen rt_strlen
#define strnlen rt_strnlen
#define strcmp rt_strcmp
#define strncmp rt_strncmp
#define strchr rt_strchr
#define strrchr rt_strrchr
#define strspn rt_strspn
#define atoi rt_atoi
#include "../../runtime/libc/stdlib.h"	/* the image's, renamed */
#include "../../runtime/libc/string.h"
#include "../../runtime/string.c"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef memchr
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef strrchr
#undef strspn
#undef atoi

#include "check.h"

#define AREA 4096

static uint8_t src[AREA], dst[AREA], want[AREA];

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* memcpy of every length and alignment: the bytes copied, nothing
 * around them touched, the destination returned. */
static void test_copy(void)
{
	int bad = 0;
	fill(src, AREA, 1);
	for (size_t n = 0; n <= 300; n++)
		for (size_t so = 0; so < 16; so++)
			for (size_t dof = 0; dof < 16; dof++) {
				memset(dst, 0xee, 512);
				memset(want, 0xee, 512);
				memcpy(want + dof, src + so, n);
				bad += rt_memcpy(dst + dof, src + so, n) !=
				       dst + dof;
				bad += memcmp(dst, want, 512) != 0;
			}
	CHECK_INT(bad, 0);
	/* a big one, unaligned */
	fill(src, AREA, 3);
	memset(dst, 0, AREA);
	rt_memcpy(dst + 3, src + 5, AREA - 8);
	CHECK(!memcmp(dst + 3, src + 5, AREA - 8));
	CHECK(dst[0] == 0 && dst[AREA - 2] == 0);
}

/* memmove with the areas overlapping either way, every distance. */
static void test_move(void)
{
	int bad = 0;
	for (size_t n = 0; n <= 200; n += 1)
		for (size_t gap = 0; gap <= 80; gap++) {
			/* dst above src */
			fill(dst, 512, (unsigned)n);
			memcpy(want, dst, 512);
			memmove(want + 10 + gap, want + 10, n);
			bad += rt_memmove(dst + 10 + gap, dst + 10, n) !=
			       dst + 10 + gap;
			bad += memcmp(dst, want, 512) != 0;
			/* dst below src */
			fill(dst, 512, (unsigned)n + 1);
			memcpy(want, dst, 512);
			memmove(want + 10, want + 10 + gap, n);
			rt_memmove(dst + 10, dst + 10 + gap, n);
			bad += memcmp(dst, want, 512) != 0;
		}
	CHECK_INT(bad, 0);
}

static void test_set_and_compare(void)
{
	int bad = 0;
	for (size_t n = 0; n <= 100; n++)
		for (size_t o = 0; o < 9; o++) {
			memset(dst, 1, 128);
			memset(want, 1, 128);
			memset(want + o, 0xab, n);
			rt_memset(dst + o, 0xab, n);
			bad += memcmp(dst, want, 128) != 0;
		}
	CHECK_INT(bad, 0);
	CHECK(rt_memcmp("abc", "abd", 3) < 0);
	CHECK(rt_memcmp("abd", "abc", 3) > 0);
	CHECK_INT(rt_memcmp("abc", "abd", 2), 0);
	CHECK(rt_memchr("hello", 'l', 5) == 0 ||
	      *(const char *)rt_memchr("hello", 'l', 5) == 'l');
	CHECK_INT(rt_strlen("umbra"), 5);
	CHECK_INT(rt_strnlen("umbra", 3), 3);
	CHECK(rt_strcmp("a", "b") < 0 && rt_strncmp("abx", "aby", 2) == 0);
	CHECK_STR(rt_strrchr("a/b/c", '/'), "/c");
	CHECK_INT(rt_strspn("  x", " "), 2);
	CHECK_INT(rt_atoi(" -42"), -42);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	RUN(test_copy);
	RUN(test_move);
	RUN(test_set_and_compare);
	return check_done();
}
