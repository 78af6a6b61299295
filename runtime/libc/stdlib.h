/* The libc subset of stdlib.h the image provides (runtime/heap.c, sort.c,
 * string.c). */
#ifndef UMBRA_LIBC_STDLIB_H
#define UMBRA_LIBC_STDLIB_H

#include <stddef.h>

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);
int atoi(const char *s);	/* runtime/string.c */
void qsort(void *base, size_t n, size_t size,
	   int (*cmp)(const void *, const void *));

#endif
