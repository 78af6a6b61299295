/* libFuzzer target: the input is a seed drive's volume (ISO 9660 with
 * Joliet or Rock Ridge, or FAT12/16/32). Recognise it, then read the
 * files a seed drive holds and a few that are not there, with small and
 * large buffers. Each input is tried twice: as a device of exactly its
 * size, and at the start of a 40 MiB device of zeros (so a FAT32 volume,
 * at least 32 MiB, fits: its seeds are the non-zero start of one).
 * Nothing may crash, hang or read outside the device (the device here
 * aborts on that). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/eclipsefs.h"
#include "../../fs/seedfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {
	"user-data", "meta-data", "openstack/latest/user_data",
	"openstack/latest/meta_data.json", "USER_DAT", "a/b/c/d/e/f/g/h/i",
	"sub/f", "many/file-299.txt",
};

#define WIDE (40u << 20)

/* The input, then zeros up to size. */
struct dev {
	const uint8_t *data;
	size_t len;
	uint64_t size;
};

static int dev_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct dev *d = ctx;
	if (off > d->size || len > d->size - off)
		abort();	/* the readers must never ask */
	size_t have = off < d->len ? d->len - off : 0;
	if (have > len)
		have = len;
	memcpy(buf, d->data + off, have);
	memset((uint8_t *)buf + have, 0, len - have);
	return 0;
}

static void try(const uint8_t *data, size_t size, uint64_t devsize)
{
	static uint8_t buf[64 << 10];
	struct dev d = { data, size, devsize };
	struct efs_io io = { .ctx = &d, .read = dev_read, .size = devsize };
	struct seedfs fs;
	if (!seedfs_open(&io, &fs)) {
		uint64_t n;
		for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			seedfs_read(&fs, paths[i], buf, 7, &n);
			seedfs_read(&fs, paths[i], buf, sizeof(buf), &n);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (4u << 20))
		return 0;
	try(data, size, size);
	try(data, size, WIDE);
	return 0;
}
