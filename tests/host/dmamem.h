/* The drivers' own DMA memory in host tests: page_alloc's pool set to a
 * fresh mapping below 4 GiB, as the image's memory is (rings and tables
 * a legacy or 32-bit device must reach). Callers' buffers come from the
 * heap, which is above. */
#ifndef UMBRA_DMAMEM_H
#define UMBRA_DMAMEM_H

#include <stddef.h>

/* Resets the pool to `bytes` (a multiple of 4096) below 4 GiB; aborts
 * when the mapping cannot be had. */
void dmamem_init(size_t bytes);

#endif
