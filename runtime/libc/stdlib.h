/* The libc allocation subset the image provides (runtime/heap.c). */
#ifndef UMBRA_LIBC_STDLIB_H
#define UMBRA_LIBC_STDLIB_H

#include <stddef.h>

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);
void qsort(void *base, size_t n, size_t size,
	   int (*cmp)(const void *, const void *));

#endif
