/* GPT partition tables (UEFI 2.10 §5.3): the protective MBR, the primary
 * header and entry array with their CRC32s, the backup when the primary
 * is bad, 512- and 4096-byte logical sectors. Portable C, like the rest of
 * fs/: the caller supplies a sector reader. */
#ifndef UMBRA_GPT_H
#define UMBRA_GPT_H

#include <stdint.h>

#define GPT_MAX_PARTS 128

enum gpt_err {
	GPT_OK = 0,
	GPT_ERR_IO = -101,
	GPT_ERR_NO_GPT = -102,	/* no valid header, primary or backup */
	GPT_ERR_MBR = -103,	/* no protective MBR */
	GPT_ERR_CORRUPT = -104,	/* header good, entries not */
	GPT_ERR_INVALID = -105,
	GPT_ERR_NO_MEMORY = -106,
	GPT_ERR_HEADER = -107,	/* a header, but its fields are refused */
};

struct gpt_io {
	void *ctx;
	/* Reads count sectors from lba into buf; 0 or nonzero on failure. */
	int (*read)(void *ctx, uint64_t lba, uint32_t count, void *buf);
	uint64_t sectors;
	uint32_t sector_size;	/* 512 or 4096 */
};

struct gpt_part {
	uint32_t index;		/* slot in the entry array, from 1 */
	uint8_t type[16], uuid[16];
	uint64_t first, last;	/* LBAs, inclusive */
	uint64_t attrs;
	char name[109];		/* UTF-8 of the 36 UTF-16 code units */
};

struct gpt {
	int used_backup;	/* the primary was bad ... */
	const char *primary_why;	/* ... for this reason */
	const char *why;	/* an error's reason, in words ("" if none) */
	uint8_t disk_guid[16];
	uint32_t count;		/* used entries in parts[] */
	struct gpt_part parts[GPT_MAX_PARTS];
};

/* Reads and checks the table. Partitions outside the usable range, with
 * first > last, or overlapping another, make the table corrupt. On an
 * error other than MBR (not a GPT disk), out->why says what was wrong;
 * when the primary copy was refused and the backup used, primary_why. */
int gpt_read(const struct gpt_io *io, struct gpt *out);

const char *gpt_strerror(int err);

/* "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" (the mixed-endian GUID text). */
void gpt_guid_str(const uint8_t g[16], char out[37]);

/* Known type names ("EFI system", "Linux filesystem", ...) or "". */
const char *gpt_type_name(const uint8_t g[16]);

#endif
