/* Between the request engine (blk.c) and its byte-granular front end
 * (blk_bytes.c); nothing else includes this. */
#ifndef UMBRA_BLK_INT_H
#define UMBRA_BLK_INT_H

#include <stdint.h>

struct blk_dev;

/* A piece of a transfer: sectors [lba, lba + count) of the device the
 * request names, to or from DMA address addr. */
struct blk_seg {
	uint64_t lba, count, addr;
};

/* Whether the device under d can DMA to [addr, addr + len) directly:
 * aligned to dma_align, below dma_limit. */
int blk_dma_ok(struct blk_dev *d, uint64_t addr, uint64_t len);

/* Runs op over every segment, all in flight together, after checking
 * each like blk_io. Buffers must meet the device's dma_align. */
int blk_run(struct blk_dev *d, int op, const struct blk_seg *sg, int nseg);

#endif
