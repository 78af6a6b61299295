/* Physical page allocator; see page.h. A sorted array of free ranges:
 * memory maps have tens of entries, and allocations are few and large
 * (DMA rings, buffers, heap arenas), so first fit over an array is
 * simple and fast enough. */
#include "page.h"

#include <string.h>

#define MAX_RANGES 256

struct range {
	uint64_t base, pages;
};

static struct range ranges[MAX_RANGES];
static unsigned nranges;
static uint64_t total_pages, free_pages;

void page_reset(void)
{
	nranges = 0;
	total_pages = free_pages = 0;
}

static uint64_t end_of(const struct range *r)
{
	return r->base + r->pages * PAGE_SIZE;
}

/* Inserts a free range, merging with its neighbours. */
static int insert(uint64_t base, uint64_t pages)
{
	unsigned i = 0;
	while (i < nranges && ranges[i].base < base)
		i++;
	/* Refuse overlaps (a double free or a bad map entry). */
	if ((i > 0 && end_of(&ranges[i - 1]) > base) ||
	    (i < nranges && base + pages * PAGE_SIZE > ranges[i].base))
		return -1;
	int join_prev = i > 0 && end_of(&ranges[i - 1]) == base;
	int join_next = i < nranges &&
			base + pages * PAGE_SIZE == ranges[i].base;
	if (join_prev && join_next) {
		ranges[i - 1].pages += pages + ranges[i].pages;
		memmove(&ranges[i], &ranges[i + 1],
			(nranges - i - 1) * sizeof(ranges[0]));
		nranges--;
	} else if (join_prev) {
		ranges[i - 1].pages += pages;
	} else if (join_next) {
		ranges[i].base = base;
		ranges[i].pages += pages;
	} else {
		if (nranges == MAX_RANGES)
			return -1;
		memmove(&ranges[i + 1], &ranges[i],
			(nranges - i) * sizeof(ranges[0]));
		ranges[i] = (struct range){ base, pages };
		nranges++;
	}
	free_pages += pages;
	return 0;
}

int page_add(uint64_t base, uint64_t pages)
{
	if (!pages || base % PAGE_SIZE)
		return -1;
	/* Page 0 stays unmapped so that NULL faults. */
	if (base == 0) {
		base += PAGE_SIZE;
		if (!--pages)
			return 0;
	}
	if (insert(base, pages))
		return -1;
	total_pages += pages;
	return 0;
}

uint64_t page_alloc_below(uint64_t pages, uint64_t limit)
{
	if (!pages)
		return 0;
	for (unsigned i = 0; i < nranges; i++) {
		struct range *r = &ranges[i];
		if (r->pages < pages || r->base + pages * PAGE_SIZE > limit)
			continue;
		uint64_t base = r->base;
		r->base += pages * PAGE_SIZE;
		r->pages -= pages;
		if (!r->pages) {
			memmove(r, r + 1, (nranges - i - 1) * sizeof(*r));
			nranges--;
		}
		free_pages -= pages;
		return base;
	}
	return 0;
}

uint64_t page_alloc(uint64_t pages)
{
	return page_alloc_below(pages, ~0ull);
}

void *page_alloc_zero(uint64_t pages)
{
	uint64_t p = page_alloc(pages);
	if (p)
		memset((void *)(uintptr_t)p, 0, pages * PAGE_SIZE);
	return (void *)(uintptr_t)p;
}

void page_free(uint64_t base, uint64_t pages)
{
	if (!base || !pages)
		return;
	/* XXX: a full range table leaks the pages rather than failing. */
	insert(base, pages);
}

uint64_t page_total(void)
{
	return total_pages;
}

uint64_t page_free_count(void)
{
	return free_pages;
}
