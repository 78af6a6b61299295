/* GPT parsing; see gpt.h. */
#include "gpt.h"

#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define HDR_SIG "EFI PART"
#define HDR_MIN 92
#define ENTRY_MIN 128
#define MAX_ENTRIES 1024	/* bound on what we read */
#define MBR_SIG_OFF 510
#define MBR_PART0 446
#define MBR_TYPE_GPT 0xee

static const struct {
	uint8_t guid[16];
	const char *name;
} known[] = {
	{ { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00,
	    0xa0, 0xc9, 0x3e, 0xc9, 0x3b }, "EFI system" },
	{ { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d,
	    0x69, 0xd8, 0x47, 0x7d, 0xe4 }, "Linux filesystem" },
	{ { 0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68,
	    0xb6, 0xb7, 0x26, 0x99, 0xc7 }, "Microsoft basic data" },
};

const char *gpt_strerror(int err)
{
	switch (err) {
	case GPT_OK: return "success";
	case GPT_ERR_IO: return "I/O error";
	case GPT_ERR_NO_GPT: return "no valid GPT header (primary or backup)";
	case GPT_ERR_MBR: return "no protective MBR (type 0xEE)";
	case GPT_ERR_CORRUPT: return "GPT partition entries are corrupt";
	case GPT_ERR_HEADER: return "GPT header refused";
	case GPT_ERR_INVALID: return "invalid argument";
	case GPT_ERR_NO_MEMORY: return "out of memory";
	default: return "unknown error";
	}
}

void gpt_guid_str(const uint8_t g[16], char out[37])
{
	static const char hex[] = "0123456789ABCDEF";
	/* First three fields little-endian, the rest in byte order. */
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
				       8, 9, 10, 11, 12, 13, 14, 15 };
	int k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[g[order[i]] >> 4];
		out[k++] = hex[g[order[i]] & 15];
	}
	out[k] = 0;
}

const char *gpt_type_name(const uint8_t g[16])
{
	for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!memcmp(g, known[i].guid, 16))
			return known[i].name;
	return "";
}

/* UTF-16LE (36 units) to UTF-8; unpaired surrogates become '?'. */
static void name_utf8(const uint8_t *u, char *out)
{
	size_t k = 0;
	for (int i = 0; i < 36; i++) {
		uint32_t c = efs_ld16(u + 2 * i);
		if (!c)
			break;
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < 36) {
			uint32_t lo = efs_ld16(u + 2 * i + 2);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				c = '?';
			}
		} else if (c >= 0xd800 && c <= 0xdfff) {
			c = '?';
		}
		if (c < 0x80) {
			out[k++] = (char)c;
		} else if (c < 0x800) {
			out[k++] = (char)(0xc0 | c >> 6);
			out[k++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[k++] = (char)(0xe0 | c >> 12);
			out[k++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[k++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[k++] = (char)(0xf0 | c >> 18);
			out[k++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[k++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[k++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[k] = 0;
}

struct hdr {
	uint64_t my, alt, first_usable, last_usable, entries_lba;
	uint32_t nentries, entry_size, entries_crc;
	uint8_t disk_guid[16];
};

/* Why a header is refused: the first field that fails, for messages. */
static const char *header_problem(const struct gpt_io *io, uint64_t lba,
				  const struct hdr *h)
{
	if (h->my != lba)
		return "the header's own LBA is wrong";
	if (h->first_usable > h->last_usable ||
	    h->last_usable >= io->sectors)
		return "the usable range lies outside the disk";
	if (h->entry_size < ENTRY_MIN || h->entry_size % 8 ||
	    h->entry_size > 4096)
		return "entry size is not a multiple of 8 from 128 to 4096";
	if (h->nentries > MAX_ENTRIES)
		return "more than 1024 partition entries";
	if (h->entries_lba >= io->sectors)
		return "the entry array lies outside the disk";
	return 0;
}

/* The sectors gpt_read reads: the start of the disk (protective MBR,
 * header, and the usual 16 KiB of entries right behind it) comes in one
 * request, and what it holds is served from there; anything else (the
 * backup, entries elsewhere or beyond) is read as asked. */
struct reader {
	const struct gpt_io *io;
	uint8_t *head;
	uint64_t head_secs;	/* 0: no head (its read failed) */
};

#define HEAD_BYTES (2 * 4096 + 16384)	/* MBR, header, 128 x 128 bytes */

static int rd(const struct reader *r, uint64_t lba, uint32_t n, void *buf)
{
	uint32_t ss = r->io->sector_size;
	if (lba < r->head_secs && n <= r->head_secs - lba) {
		memcpy(buf, r->head + lba * ss, (size_t)n * ss);
		return 0;
	}
	return r->io->read(r->io->ctx, lba, n, buf);
}

/* UEFI §5.3.2: the header at lba, with its CRC over header_size bytes
 * (CRC field zeroed) and its fields within the disk. NO_GPT when there is
 * no header signature; HEADER (and *why) when there is one we refuse. */
static int read_header(const struct reader *r, uint64_t lba, uint8_t *sec,
		       struct hdr *h, const char **why)
{
	const struct gpt_io *io = r->io;
	if (rd(r, lba, 1, sec))
		return GPT_ERR_IO;
	if (memcmp(sec, HDR_SIG, 8))
		return GPT_ERR_NO_GPT;
	uint32_t hsize = efs_ld32(sec + 12);
	*why = "header size is not from 92 bytes to one sector";
	if (hsize < HDR_MIN || hsize > io->sector_size)
		return GPT_ERR_HEADER;
	uint32_t crc = efs_ld32(sec + 16);
	efs_st32(sec + 16, 0);
	*why = "header CRC mismatch";
	if (efs_crc32(0, sec, hsize) != crc)
		return GPT_ERR_HEADER;
	h->my = efs_ld64(sec + 24);
	h->alt = efs_ld64(sec + 32);
	h->first_usable = efs_ld64(sec + 40);
	h->last_usable = efs_ld64(sec + 48);
	memcpy(h->disk_guid, sec + 56, 16);
	h->entries_lba = efs_ld64(sec + 72);
	h->nentries = efs_ld32(sec + 80);
	h->entry_size = efs_ld32(sec + 84);
	h->entries_crc = efs_ld32(sec + 88);
	*why = header_problem(io, lba, h);
	return *why ? GPT_ERR_HEADER : 0;
}

static int cmp_first(const void *a, const void *b)
{
	const struct gpt_part *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* The entry array: its CRC, then each used entry's range. */
static int read_entries(const struct reader *r, const struct hdr *h,
			struct gpt *out, const char **why)
{
	const struct gpt_io *io = r->io;
	uint64_t bytes = (uint64_t)h->nentries * h->entry_size;
	uint32_t secs = (uint32_t)((bytes + io->sector_size - 1) /
				   io->sector_size);
	*why = "the entry array runs past the end of the disk";
	if (h->entries_lba + secs > io->sectors)
		return GPT_ERR_CORRUPT;
	uint8_t *e = malloc((size_t)secs * io->sector_size + 1);
	if (!e)
		return GPT_ERR_NO_MEMORY;
	int err = secs && rd(r, h->entries_lba, secs, e) ? GPT_ERR_IO : 0;
	*why = "entry array CRC mismatch";
	if (!err && efs_crc32(0, e, bytes) != h->entries_crc)
		err = GPT_ERR_CORRUPT;
	out->count = 0;
	static const uint8_t zero[16];
	for (uint32_t i = 0; !err && i < h->nentries; i++) {
		const uint8_t *p = e + (uint64_t)i * h->entry_size;
		if (!memcmp(p, zero, 16))
			continue;
		if (out->count == GPT_MAX_PARTS) {
			*why = "more than 128 partitions in use";
			err = GPT_ERR_CORRUPT;
			break;
		}
		struct gpt_part *q = &out->parts[out->count++];
		q->index = i + 1;
		memcpy(q->type, p, 16);
		memcpy(q->uuid, p + 16, 16);
		q->first = efs_ld64(p + 32);
		q->last = efs_ld64(p + 40);
		q->attrs = efs_ld64(p + 48);
		name_utf8(p + 56, q->name);
		*why = "a partition lies outside the usable range";
		if (q->first > q->last || q->first < h->first_usable ||
		    q->last > h->last_usable)
			err = GPT_ERR_CORRUPT;
	}
	free(e);
	if (err)
		return err;
	/* No two partitions may share a sector. Sort a copy by start. */
	struct gpt_part *s = malloc((out->count + 1) * sizeof(*s));
	if (!s)
		return GPT_ERR_NO_MEMORY;
	memcpy(s, out->parts, out->count * sizeof(*s));
	qsort(s, out->count, sizeof(*s), cmp_first);
	*why = "two partitions overlap";
	for (uint32_t i = 1; i < out->count; i++)
		if (s[i].first <= s[i - 1].last)
			err = GPT_ERR_CORRUPT;
	free(s);
	return err;
}

/* UEFI §5.2.3 protective MBR: signature and a partition of type 0xEE. */
static int check_mbr(const uint8_t *sec)
{
	if (sec[MBR_SIG_OFF] != 0x55 || sec[MBR_SIG_OFF + 1] != 0xaa)
		return GPT_ERR_MBR;
	for (int i = 0; i < 4; i++)
		if (sec[MBR_PART0 + 16 * i + 4] == MBR_TYPE_GPT)
			return 0;
	return GPT_ERR_MBR;
}

/* One copy of the table: the header at lba and its entries. */
static int read_copy(const struct reader *r, uint64_t lba, uint8_t *sec,
		     struct hdr *h, struct gpt *out, const char **why)
{
	int err = read_header(r, lba, sec, h, why);
	return err ? err : read_entries(r, h, out, why);
}

int gpt_read(const struct gpt_io *io, struct gpt *out)
{
	if (!io || !io->read || (io->sector_size != 512 &&
				 io->sector_size != 4096) || io->sectors < 3)
		return GPT_ERR_INVALID;
	uint8_t *sec = malloc(io->sector_size);
	struct reader r = { io, 0, HEAD_BYTES / io->sector_size };
	if (r.head_secs > io->sectors)
		r.head_secs = io->sectors;
	r.head = malloc(r.head_secs * io->sector_size);
	if (!sec || !r.head) {
		free(sec);
		free(r.head);
		return GPT_ERR_NO_MEMORY;
	}
	/* a failed head read leaves the sectors to be read one by one: a
	 * bad sector among them then fails only what needs it */
	if (io->read(io->ctx, 0, (uint32_t)r.head_secs, r.head))
		r.head_secs = 0;
	memset(out, 0, sizeof(*out));
	out->why = "";
	struct hdr h;
	const char *why = 0;
	int err = rd(&r, 0, 1, sec) ? GPT_ERR_IO : check_mbr(sec);
	if (!err)
		err = read_copy(&r, 1, sec, &h, out, &why);
	if (err && err != GPT_ERR_IO && err != GPT_ERR_NO_MEMORY &&
	    err != GPT_ERR_MBR) {
		/* The backup header lives in the last sector; the primary's
		 * pointer to it is not trusted. */
		const char *why2 = 0;
		int err2 = read_copy(&r, io->sectors - 1, sec, &h, out, &why2);
		out->primary_why = err == GPT_ERR_NO_GPT
					   ? "no primary header" : why;
		out->used_backup = 1;
		if (err2 != GPT_ERR_NO_GPT || err == GPT_ERR_NO_GPT) {
			err = err2;	/* the backup's verdict */
			why = why2;
		}
	}
	if (!err)
		memcpy(out->disk_guid, h.disk_guid, 16);
	else if (why)
		out->why = why;
	free(sec);
	free(r.head);
	return err;
}
