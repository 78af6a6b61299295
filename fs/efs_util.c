/* Little-endian accessors, CRC-32, name checks, error strings. */
#include <string.h>

#include "efs_int.h"

uint16_t efs_ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t efs_ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint64_t efs_ld64(const uint8_t *p)
{
	return (uint64_t)efs_ld32(p) | (uint64_t)efs_ld32(p + 4) << 32;
}

void efs_st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void efs_st32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void efs_st64(uint8_t *p, uint64_t v)
{
	efs_st32(p, (uint32_t)v);
	efs_st32(p + 4, (uint32_t)(v >> 32));
}

/* CRC-32/ISO-HDLC (zlib's crc32), format §1.2: reflected 0xEDB88320. */
uint32_t efs_crc32(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = buf;
	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
int efs_utf8_ok(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int efs_check_name(const char *name, size_t len)
{
	if (len == 0 || len > EFS_NAME_MAX)
		return EFS_ERR_NAME;
	if (memchr(name, '/', len) || memchr(name, 0, len))
		return EFS_ERR_NAME;
	if (!efs_utf8_ok((const uint8_t *)name, len))
		return EFS_ERR_NAME;
	return 0;
}

void efs_mode_string(uint32_t mode, uint8_t kind, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	out[0] = kind == EFS_DIR ? 'd' : kind == EFS_SYMLINK ? 'l' : '-';
	for (int i = 0; i < 9; i++)
		out[1 + i] = mode & (0400 >> i) ? rwx[i] : '-';
	out[10] = 0;
}

uint64_t efs_now(struct efs *fs)
{
	return fs->io.now ? fs->io.now(fs->io.ctx) : 0;
}

const char *efs_strerror(int err)
{
	switch (err) {
	case EFS_OK: return "success";
	case EFS_ERR_IO: return "I/O error";
	case EFS_ERR_CORRUPT: return "corrupt filesystem";
	case EFS_ERR_NOT_FOUND: return "no such file or directory";
	case EFS_ERR_NOT_DIR: return "not a directory";
	case EFS_ERR_IS_DIR: return "is a directory";
	case EFS_ERR_EXISTS: return "already exists";
	case EFS_ERR_NOT_EMPTY: return "directory not empty";
	case EFS_ERR_NO_SPACE: return "no space left on the volume";
	case EFS_ERR_NO_INODES: return "no free inode slot";
	case EFS_ERR_NAME:
		return "invalid name (empty, not UTF-8, has '/', or too long)";
	case EFS_ERR_TOO_BIG: return "too big for the format";
	case EFS_ERR_NO_MEMORY: return "out of memory";
	case EFS_ERR_READ_ONLY: return "read-only";
	case EFS_ERR_LOOP: return "too many levels of symbolic links";
	case EFS_ERR_INVALID: return "invalid argument";
	case EFS_ERR_NOT_EFS: return "not an EclipseFS volume";
	case EFS_ERR_VERSION: return "unsupported EclipseFS version";
	case EFS_ERR_UNSUPPORTED: return "not supported";
	case EFS_ERR_TIMEOUT: return "the device did not answer in time";
	case EFS_ERR_DEVICE: return "the device failed";
	default: return "unknown error";
	}
}
