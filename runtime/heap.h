/* The heap (malloc and friends, declared in libc/stdlib.h) on top of the
 * page allocator: power-of-two size classes up to 2 KiB carved from
 * pages, whole pages above that. Every block carries a 16-byte header so
 * free() knows its size and catches foreign or double frees. */
#ifndef UMBRA_HEAP_H
#define UMBRA_HEAP_H

#include <stdint.h>

/* Bytes handed out and not yet freed (headers excluded). */
uint64_t heap_in_use(void);

#endif
