/* Seed drive volumes: which filesystem, paths, names; see seedfs.h. */
#include "seedfs.h"

#include <string.h>

#include "eclipsefs.h"
#include "seedfs_int.h"

const char *seedfs_strerror(int err)
{
	switch (err) {
	case SEEDFS_OK: return "success";
	case SEEDFS_ERR_IO: return "I/O error";
	case SEEDFS_ERR_NOT_FS: return "neither ISO 9660 nor FAT";
	case SEEDFS_ERR_CORRUPT: return "corrupt filesystem";
	case SEEDFS_ERR_NOT_FOUND: return "no such file";
	case SEEDFS_ERR_NOT_DIR: return "not a directory";
	case SEEDFS_ERR_IS_DIR: return "is a directory";
	case SEEDFS_ERR_UNSUPPORTED: return "not supported";
	case SEEDFS_ERR_INVALID: return "invalid path";
	case SEEDFS_ERR_NO_MEMORY: return "out of memory";
	default: return "unknown error";
	}
}

const char *seedfs_type_name(const struct seedfs *fs)
{
	switch (fs->type) {
	case SEEDFS_ISO9660: return "ISO 9660";
	case SEEDFS_FAT: return "FAT";
	case SEEDFS_FAT12: return "FAT12";
	case SEEDFS_FAT16: return "FAT16";
	case SEEDFS_FAT32: return "FAT32";
	default: return "none";
	}
}

int seedfs_bad(struct seedfs *fs, int err, const char *why)
{
	fs->why = why;
	return err;
}

int seedfs_get(struct seedfs *fs, uint64_t off, void *buf, size_t len,
	       const char *what)
{
	static const char tail[] = " past the end of the device";
	static char why[80];
	uint64_t size = fs->io->size;
	if (off > size || len > size - off) {
		size_t n = strnlen(what, sizeof(why) - sizeof(tail));
		memcpy(why, what, n);	/* fs/ has no printf */
		memcpy(why + n, tail, sizeof(tail));
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, why);
	}
	return fs->io->read(fs->io->ctx, off, buf, len) ? SEEDFS_ERR_IO : 0;
}

int seedfs_next(const char **path, char comp[SEEDFS_NAME_MAX + 1])
{
	const char *p = *path;
	while (*p == '/')
		p++;
	size_t n = 0;
	while (p[n] && p[n] != '/')
		n++;
	if (n > SEEDFS_NAME_MAX)
		return SEEDFS_ERR_INVALID;
	memcpy(comp, p, n);
	comp[n] = 0;
	*path = p + n;
	return (int)n;
}

static size_t put_utf8(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static uint32_t unit(const uint8_t *p, int big_endian)
{
	return big_endian ? (uint32_t)p[0] << 8 | p[1]
			  : (uint32_t)p[1] << 8 | p[0];
}

int seedfs_ucs2(const uint8_t *in, size_t n, int big_endian, char *out,
		size_t size)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = unit(in + 2 * i, big_endian);
		if (!c)
			break;
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < n &&
		    unit(in + 2 * i + 2, big_endian) - 0xdc00 < 0x400) {
			c = 0x10000 + ((c - 0xd800) << 10) +
			    (unit(in + 2 * i + 2, big_endian) - 0xdc00);
			i++;
		} else if (c >= 0xd800 && c <= 0xdfff) {
			c = '?';
		}
		if (size - k < 5)
			return -1;
		k += put_utf8(out + k, c);
	}
	out[k] = 0;
	return (int)k;
}

static int fold(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

int seedfs_same_nocase(const char *a, size_t alen, const char *b)
{
	size_t i = 0;
	for (; i < alen && b[i]; i++)
		if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
			return 0;
	return i == alen && !b[i];
}

void seedfs_label(char *out, const uint8_t *in, size_t n)
{
	while (n && (in[n - 1] == ' ' || !in[n - 1]))
		n--;
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? (char)in[i] : '?';
	out[n] = 0;
}

int seedfs_open(const struct efs_io *io, struct seedfs *fs)
{
	int err = fat_open(io, fs);
	if (err != SEEDFS_ERR_NOT_FS && err != SEEDFS_ERR_CORRUPT)
		return err;
	/* A boot sector that is not a FAT one may still front an ISO
	 * 9660 volume (a hybrid image's MBR); a FAT one that is corrupt
	 * is reported as such when there is no ISO behind it. */
	const char *fat_why = fs->why;
	uint8_t fat_type = fs->type;
	int iso = iso_open(io, fs);
	if (iso == SEEDFS_ERR_NOT_FS && err == SEEDFS_ERR_CORRUPT) {
		fs->type = fat_type;
		fs->why = fat_why;
		return err;
	}
	return iso;
}

int64_t seedfs_read(struct seedfs *fs, const char *path, void *buf,
		    size_t max, uint64_t *size)
{
	*size = 0;
	if (strnlen(path, SEEDFS_PATH_MAX + 1) > SEEDFS_PATH_MAX)
		return SEEDFS_ERR_INVALID;
	if (fs->type == SEEDFS_ISO9660)
		return iso_read(fs, path, buf, max, size);
	if (fs->type >= SEEDFS_FAT12 && fs->type <= SEEDFS_FAT32)
		return fat_read(fs, path, buf, max, size);
	return SEEDFS_ERR_INVALID;
}
