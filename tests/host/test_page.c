/* runtime/page.c: ranges merge, allocation is first fit and respects
 * limits, frees coalesce, overlaps are refused, counters add up. The
 * allocator never touches the memory it manages except page_alloc_zero,
 * so fake addresses are fine. */
#include <stdint.h>

#include "../../runtime/page.h"
#include "check.h"

#define P PAGE_SIZE

int main(void)
{
	page_reset();
	CHECK_INT(page_add(0x100000, 16), 0);
	CHECK_INT(page_add(0x200000, 16), 0);
	CHECK_INT(page_add(0x100000 + 16 * P, 16), 0);	/* merges left */
	CHECK_INT(page_total(), 48);
	CHECK_INT(page_free_count(), 48);

	/* Misaligned or empty ranges are refused. */
	CHECK_INT(page_add(0x300001, 1), -1);
	CHECK_INT(page_add(0x300000, 0), -1);
	/* Overlap with a free range is refused. */
	CHECK_INT(page_add(0x100000 + 4 * P, 2), -1);

	/* Page 0 is never handed out. */
	CHECK_INT(page_add(0, 4), 0);
	uint64_t a = page_alloc(1);
	CHECK(a == P);
	page_free(a, 1);

	/* First fit: 32 pages from the merged run at 1 MiB. */
	uint64_t b = page_alloc(32);
	CHECK(b == 0x100000);
	/* Limits: nothing of 20 pages below 2 MiB is left. */
	CHECK_INT(page_alloc_below(20, 0x200000), 0);
	uint64_t c = page_alloc_below(16, 0x200000 + 16 * P);
	CHECK(c == 0x200000);
	CHECK_INT(page_alloc(1000), 0);
	CHECK_INT(page_alloc(0), 0);

	/* Frees coalesce back into one run; a double free is refused. */
	page_free(b, 32);
	page_free(c, 16);
	page_free(c, 16);
	CHECK_INT(page_free_count(), 48 + 3);
	uint64_t d = page_alloc(32);
	CHECK(d == 0x100000);
	page_free(d, 32);

	/* Many disjoint ranges: fill the table, then one more is refused. */
	page_reset();
	int refused = 0;
	for (uint64_t i = 0; i < 300; i++)
		if (page_add(0x1000000 + i * 2 * P, 1))
			refused++;
	CHECK(refused > 0);
	CHECK_INT(page_total(), 300 - refused);
	return check_done();
}
