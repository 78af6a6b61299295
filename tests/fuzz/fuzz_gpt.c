/* libFuzzer target: the input is a disk image; parse its GPT with 512-
 * and 4096-byte sectors. */
#include <stdint.h>
#include <string.h>

#include "../../fs/gpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct disk {
	const uint8_t *d;
	size_t size;
	uint32_t ss;
};

static int rd(void *ctx, uint64_t lba, uint32_t n, void *buf)
{
	struct disk *k = ctx;
	if (lba > k->size / k->ss || n > k->size / k->ss - lba)
		return -1;
	memcpy(buf, k->d + lba * k->ss, (size_t)n * k->ss);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gpt g;
	for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
		struct disk k = { data, size, ss };
		struct gpt_io io = { &k, rd, size / ss, ss };
		gpt_read(&io, &g);
	}
	return 0;
}
