/* The physical page allocator: free ranges of 4 KiB pages taken from the
 * UEFI memory map. Memory is identity-mapped, so a page's address is both
 * the pointer and the DMA address. Portable logic (host-tested). */
#ifndef UMBRA_PAGE_H
#define UMBRA_PAGE_H

#include <stdint.h>

#define PAGE_SIZE 4096ull

/* Makes [base, base + pages*4096) available. Ranges may arrive in any
 * order; adjacent ones merge. Returns 0, or -1 when the range table is
 * full (the range is then not used). */
int page_add(uint64_t base, uint64_t pages);

/* Returns the lowest free run of `pages` pages that ends at or below
 * `limit` (exclusive), or 0 when none. Contents are not zeroed. */
uint64_t page_alloc_below(uint64_t pages, uint64_t limit);

/* page_alloc_below with no limit; page_alloc_zero also zeroes. */
uint64_t page_alloc(uint64_t pages);
void *page_alloc_zero(uint64_t pages);

/* Returns pages to the pool (they must have come from page_alloc). */
void page_free(uint64_t base, uint64_t pages);

/* Pages ever added, and pages free now. */
uint64_t page_total(void);
uint64_t page_free_count(void);

/* Forgets everything (for the host tests). */
void page_reset(void);

#endif
