/* mem and str functions for the image (the host build uses libc).
 *
 * Copies are loops of 16-byte SSE moves, 64 bytes a step, not rep movs:
 * under QEMU's TCG every step of a rep-string instruction ends a
 * translated block, and `rep movsq` moves about 90 MB/s there against
 * about 400 MB/s for the loop (a guest `memtest`, 1.5 KiB to 384 KiB
 * copies); on hardware the loop is close to rep movs. The loops are
 * written in assembly so that the compiler cannot turn them back into
 * calls to memcpy itself. The xmm registers they use are caller-saved
 * (MS x64 ABI) and saved by the interrupt dispatcher. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 64-byte blocks forward: n is a multiple of 64. */
static void copy64_fwd(uint8_t *d, const uint8_t *s, size_t n)
{
	__asm__ volatile(
		"1:\n\t"
		"movdqu (%1), %%xmm0\n\t"
		"movdqu 16(%1), %%xmm1\n\t"
		"movdqu 32(%1), %%xmm2\n\t"
		"movdqu 48(%1), %%xmm3\n\t"
		"movdqu %%xmm0, (%0)\n\t"
		"movdqu %%xmm1, 16(%0)\n\t"
		"movdqu %%xmm2, 32(%0)\n\t"
		"movdqu %%xmm3, 48(%0)\n\t"
		"add $64, %1\n\t"
		"add $64, %0\n\t"
		"sub $64, %2\n\t"
		"jnz 1b"
		: "+r"(d), "+r"(s), "+r"(n)
		: : "xmm0", "xmm1", "xmm2", "xmm3", "memory");
}

/* The same backwards, from the ends d + n and s + n down. */
static void copy64_back(uint8_t *d, const uint8_t *s, size_t n)
{
	__asm__ volatile(
		"1:\n\t"
		"sub $64, %1\n\t"
		"sub $64, %0\n\t"
		"movdqu (%1), %%xmm0\n\t"
		"movdqu 16(%1), %%xmm1\n\t"
		"movdqu 32(%1), %%xmm2\n\t"
		"movdqu 48(%1), %%xmm3\n\t"
		"movdqu %%xmm0, (%0)\n\t"
		"movdqu %%xmm1, 16(%0)\n\t"
		"movdqu %%xmm2, 32(%0)\n\t"
		"movdqu %%xmm3, 48(%0)\n\t"
		"sub $64, %2\n\t"
		"jnz 1b"
		: "+r"(d), "+r"(s), "+r"(n)
		: : "xmm0", "xmm1", "xmm2", "xmm3", "memory");
}

/* 16 bytes. */
static void copy16(uint8_t *d, const uint8_t *s)
{
	__asm__ volatile("movdqu (%1), %%xmm0\n\t"
			 "movdqu %%xmm0, (%0)"
			 : : "r"(d), "r"(s) : "xmm0", "memory");
}

typedef uint64_t __attribute__((may_alias, aligned(1))) u64_any;
typedef uint32_t __attribute__((may_alias, aligned(1))) u32_any;
typedef uint16_t __attribute__((may_alias, aligned(1))) u16_any;

/* Fewer than 64 bytes, in a few moves rather than a byte a step (the
 * headers the network copies per segment are 54 to 134 bytes): 16 at a
 * time, then what is left as its first and last 8, 4 or 2 (both read
 * before either is written; memmove copies forward with this too, with
 * the destination below the source: no move reads what an earlier one
 * wrote). */
static void copy_small(uint8_t *d, const uint8_t *s, size_t n)
{
	for (; n >= 16; n -= 16, d += 16, s += 16)
		copy16(d, s);
	if (n >= 8) {
		uint64_t a = *(const u64_any *)s, b = *(const u64_any *)(s + n - 8);
		*(u64_any *)d = a;
		*(u64_any *)(d + n - 8) = b;
	} else if (n >= 4) {
		uint32_t a = *(const u32_any *)s, b = *(const u32_any *)(s + n - 4);
		*(u32_any *)d = a;
		*(u32_any *)(d + n - 4) = b;
	} else if (n >= 2) {
		uint16_t a = *(const u16_any *)s, b = *(const u16_any *)(s + n - 2);
		*(u16_any *)d = a;
		*(u16_any *)(d + n - 2) = b;
	} else if (n) {
		*d = *s;
	}
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	size_t bulk = n & ~(size_t)63;
	if (bulk)
		copy64_fwd(d, s, bulk);
	copy_small(d + bulk, s + bulk, n - bulk);
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	if ((uintptr_t)dst - (uintptr_t)src >= n)
		return memcpy(dst, src, n);
	/* Overlapping with dst above src: copy backwards, the odd bytes at
	 * the end first, then the blocks. */
	uint8_t *d = dst;
	const uint8_t *s = src;
	size_t bulk = n & ~(size_t)63;
	for (size_t i = n; i > bulk; i--)
		*(volatile uint8_t *)(d + i - 1) = s[i - 1];
	if (bulk)
		copy64_back(d + bulk, s + bulk, bulk);
	return dst;
}

/* Eight bytes a step: under QEMU's TCG each step of a rep-string
 * instruction costs a translated-block dispatch, so stosq is about eight
 * times faster than stosb on the page-sized fills of boot. */
void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	uint64_t v = (uint8_t)c * 0x0101010101010101ull;
	size_t q = n >> 3;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	q = n & 7;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const uint8_t *p = s;
	for (size_t i = 0; i < n; i++)
		if (p[i] == (uint8_t)c)
			return (void *)(p + i);
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (uint8_t)*a - (uint8_t)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			break;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return 0;
	}
}

char *strrchr(const char *s, int c)
{
	const char *last = 0;
	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

size_t strspn(const char *s, const char *accept)
{
	size_t n = 0;
	while (s[n] && strchr(accept, s[n]))
		n++;
	return n;
}

/* Leading blanks, a sign, decimal digits (lwIP's netif names need it);
 * no overflow check, as C leaves it undefined. */
int atoi(const char *s)
{
	unsigned v = 0;
	int neg = 0;
	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned)(*s++ - '0');
	return (int)(neg ? 0u - v : v);
}
