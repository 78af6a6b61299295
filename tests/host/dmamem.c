#define _GNU_SOURCE
/* The host tests' DMA memory; see dmamem.h. */
#include "dmamem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../../runtime/page.h"

void dmamem_init(size_t bytes)
{
	void *mem = mmap(0, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (mem == MAP_FAILED)
		abort();
	page_reset();
	page_add((uintptr_t)mem, bytes / 4096);
}
