/* Little-endian accessors, CRC-32, name checks, text, error strings,
 * umbra's sector, and the notice of what mount worked around. */
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

/* CRC-32/ISO-HDLC (zlib's crc32), format §1.2: reflected 0xEDB88320.
 * Eight bytes a step ("slicing-by-8": table k advances a byte's CRC by k
 * more zero bytes), a quarter of the steps of the bytewise loop: this CRC
 * covers GPT entry arrays and EclipseFS records at every boot, where an
 * emulated CPU pays for every step. */
uint32_t efs_crc32(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t t[8][256];
	const uint8_t *p = buf;
	if (!t[0][1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			t[0][i] = c;
		}
		for (int k = 1; k < 8; k++)
			for (uint32_t i = 0; i < 256; i++)
				t[k][i] = t[k - 1][i] >> 8 ^
					  t[0][t[k - 1][i] & 0xff];
	}
	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t a = crc ^ efs_ld32(p), b = efs_ld32(p + 4);
		crc = t[7][a & 0xff] ^ t[6][a >> 8 & 0xff] ^
		      t[5][a >> 16 & 0xff] ^ t[4][a >> 24] ^ t[3][b & 0xff] ^
		      t[2][b >> 8 & 0xff] ^ t[1][b >> 16 & 0xff] ^ t[0][b >> 24];
	}
	for (size_t i = 0; i < len; i++)
		crc = t[0][(crc ^ p[i]) & 0xff] ^ (crc >> 8);
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
	if (len > EFS_NAME_MAX)
		return EFS_ERR_NAME;
	return efs_check_read_name(name, len);
}

int efs_check_read_name(const char *name, size_t len)
{
	if (len == 0 || len > EFS_NAME_READ_MAX)
		return EFS_ERR_NAME;
	if (memchr(name, '/', len) || memchr(name, 0, len))
		return EFS_ERR_NAME;
	if (!efs_utf8_ok((const uint8_t *)name, len))
		return EFS_ERR_NAME;
	return 0;
}

static void text_char(struct efs_text *t, char c)
{
	if (t->len + 1 < t->size) {
		t->buf[t->len] = c;
		t->buf[t->len + 1] = 0;
	}
	t->len++;
}

void efs_text_str(struct efs_text *t, const char *s)
{
	while (*s)
		text_char(t, *s++);
}

void efs_text_num(struct efs_text *t, uint64_t v, unsigned base,
		  unsigned width)
{
	char d[24];
	unsigned k = 0;
	do {
		d[k++] = (char)('0' + v % base);
		v /= base;
	} while (v);
	while (width > k) {
		text_char(t, '0');
		width--;
	}
	while (k)
		text_char(t, d[--k]);
}

size_t efs_stat_text(const char *path, const struct efs_stat *st, char *out,
		     size_t size)
{
	static const char *const kinds[] = { "?", "file", "directory",
					     "symlink" };
	struct efs_text t = { out, size, 0 };
	const struct {
		const char *name;
		uint64_t v;
	} f[] = { { "\nuid: ", st->uid }, { "\ngid: ", st->gid },
		  { "\nnlink: ", st->nlink }, { "\nsize: ", st->size },
		  { "\natime: ", st->atime }, { "\nmtime: ", st->mtime },
		  { "\nctime: ", st->ctime } };
	if (size)
		out[0] = 0;
	efs_text_str(&t, "path: ");
	efs_text_str(&t, path);
	efs_text_str(&t, "\ninode: ");
	efs_text_num(&t, st->ino, 10, 0);
	efs_text_str(&t, "\nkind: ");
	efs_text_str(&t, kinds[st->kind <= EFS_SYMLINK ? st->kind : 0]);
	efs_text_str(&t, "\nmode: ");
	efs_text_num(&t, st->mode, 8, 6);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		efs_text_str(&t, f[i].name);
		efs_text_num(&t, f[i].v, 10, 0);
	}
	efs_text_str(&t, "\n");
	return t.len;
}

void efs_mode_string(uint32_t mode, uint8_t kind, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	out[0] = kind == EFS_DIR ? 'd' : kind == EFS_SYMLINK ? 'l' : '-';
	for (int i = 0; i < 9; i++)
		out[1 + i] = mode & (0400 >> i) ? rwx[i] : '-';
	out[10] = 0;
}

int efs_io_result(int rc)
{
	switch (rc) {
	case 0:
	case EFS_ERR_IO:
	case EFS_ERR_TIMEOUT:
	case EFS_ERR_DEVICE:
	case EFS_ERR_READ_ONLY:
	case EFS_ERR_NO_SPACE:
	case EFS_ERR_NO_MEMORY:
		return rc;
	default:
		return EFS_ERR_IO;
	}
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
	case EFS_ERR_FROZEN: return "the volume is frozen";
	case EFS_ERR_INVALID: return "invalid argument";
	case EFS_ERR_NOT_EFS: return "not an EclipseFS volume";
	case EFS_ERR_VERSION: return "unsupported EclipseFS version";
	case EFS_ERR_UNSUPPORTED: return "not supported";
	case EFS_ERR_TIMEOUT: return "the device did not answer in time";
	case EFS_ERR_DEVICE: return "the device failed";
	default: return "unknown error";
	}
}

void efs_ext_encode(uint8_t *x, uint32_t bs, uint64_t jnl_off,
		    uint64_t jnl_size, uint64_t vol_size)
{
	memset(x, 0, 512);
	memcpy(x, EXT_MAGIC, EXT_MAGIC_LEN);
	efs_st32(x + EXT_VER, EXT_VERSION);
	efs_st32(x + EXT_BS, bs);
	efs_st64(x + EXT_JNL_OFF, jnl_off);
	efs_st64(x + EXT_JNL_SIZE, jnl_size);
	efs_st64(x + EXT_VOL_SIZE, vol_size);
	efs_st32(x + EXT_CRC_AT, efs_crc32(0, x, EXT_CRC_AT));
}

void efs_damaged(struct efs *fs, int kind, const char *sentence)
{
	struct efs_text t = { fs->notice, sizeof(fs->notice),
			      strlen(fs->notice) };
	if (t.len)
		efs_text_str(&t, "; ");
	efs_text_str(&t, sentence);
	fs->damage |= kind;
	fs->io.read_only = 1;
}
