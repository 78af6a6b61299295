/* The heap; see heap.h. */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "panic.h"

#define HDR 16
#define MIN_SHIFT 5		/* 32-byte blocks (16 usable) */
#define MAX_SHIFT 12		/* 4 KiB blocks: 4080 usable */
#define NCLASS (MAX_SHIFT - MIN_SHIFT + 1)
#define MAGIC_USED 0x75736564u
#define MAGIC_FREE 0x66726565u
#define CARVE_PAGES 16		/* pages taken at a time for small blocks */

struct hdr {
	uint32_t magic;
	uint32_t cls;		/* class index, or NCLASS for page runs */
	uint64_t size;		/* bytes asked for (pages: run length) */
};
_Static_assert(sizeof(struct hdr) == HDR, "header keeps 16-byte alignment");

struct free_block {
	struct hdr h;
	struct free_block *next;
};

static struct free_block *freelist[NCLASS];
static uint64_t in_use;

static int class_of(size_t total)
{
	for (int c = 0; c < NCLASS; c++)
		if (total <= (1ull << (c + MIN_SHIFT)))
			return c;
	return NCLASS;
}

static int refill(int c)
{
	uint64_t bsize = 1ull << (c + MIN_SHIFT);
	uint64_t base = page_alloc(CARVE_PAGES);
	if (!base)
		return -1;
	for (uint64_t off = 0; off + bsize <= CARVE_PAGES * PAGE_SIZE;
	     off += bsize) {
		struct free_block *b = (void *)(uintptr_t)(base + off);
		b->h.magic = MAGIC_FREE;
		b->h.cls = (uint32_t)c;
		b->next = freelist[c];
		freelist[c] = b;
	}
	return 0;
}

void *malloc(size_t size)
{
	if (size > (1ull << 40))
		return 0;
	int c = class_of(size + HDR);
	struct hdr *h;
	if (c == NCLASS) {
		uint64_t pages = (size + HDR + PAGE_SIZE - 1) / PAGE_SIZE;
		h = (struct hdr *)(uintptr_t)page_alloc(pages);
		if (!h)
			return 0;
	} else {
		if (!freelist[c] && refill(c))
			return 0;
		struct free_block *b = freelist[c];
		freelist[c] = b->next;
		h = &b->h;
	}
	h->magic = MAGIC_USED;
	h->cls = (uint32_t)c;
	h->size = size;
	in_use += size;
	return (uint8_t *)h + HDR;
}

void free(void *p)
{
	if (!p)
		return;
	struct hdr *h = (struct hdr *)((uint8_t *)p - HDR);
	if (h->magic != MAGIC_USED || h->cls > NCLASS)
		panic("free(%p): not a live heap block", p);
	in_use -= h->size;
	if (h->cls == NCLASS) {
		h->magic = MAGIC_FREE;
		page_free((uint64_t)(uintptr_t)h,
			  (h->size + HDR + PAGE_SIZE - 1) / PAGE_SIZE);
		return;
	}
	struct free_block *b = (struct free_block *)h;
	b->h.magic = MAGIC_FREE;
	b->next = freelist[h->cls];
	freelist[h->cls] = b;
}

void *calloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		return 0;
	void *p = malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *realloc(void *p, size_t size)
{
	if (!p)
		return malloc(size);
	struct hdr *h = (struct hdr *)((uint8_t *)p - HDR);
	if (h->magic != MAGIC_USED)
		panic("realloc(%p): not a live heap block", p);
	void *q = malloc(size);
	if (!q)
		return 0;
	memcpy(q, p, h->size < size ? h->size : size);
	free(p);
	return q;
}

uint64_t heap_in_use(void)
{
	return in_use;
}
