/* The churn workload; see churn.h. */
#include "churn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memdev.h"

#define CHUNK (64u << 10)

#define PATLEN (CHUNK * 2)

/* File n holds pat from position n * 4099 on, round and round. */
static uint8_t pat[PATLEN];

static void pattern_init(void)
{
	uint64_t s = 0x5eed;
	if (pat[0] | pat[1])
		return;
	for (size_t i = 0; i < PATLEN; i++)
		pat[i] = (uint8_t)(memdev_rand(&s) >> 24);
}

/* Fills buf with len bytes of file n's content from offset off. */
static void pattern(uint32_t n, uint64_t off, uint8_t *buf, size_t len)
{
	while (len) {
		size_t at = (size_t)((off + (uint64_t)n * 4099) % PATLEN);
		size_t k = PATLEN - at < len ? PATLEN - at : len;
		memcpy(buf, pat + at, k);
		buf += k;
		off += k;
		len -= k;
	}
}

void churn_init(struct churn *c, uint64_t volume, uint64_t seed)
{
	memset(c, 0, sizeof(*c));
	pattern_init();
	c->limit = volume / 4;
	c->max_file = volume / 32 < (1u << 20) ? volume / 32 : (1u << 20);
	c->small_max = 200;
	c->seed = seed * 0x9e3779b97f4a7c15ull + 1;
}

void churn_free(struct churn *c)
{
	(void)c;
}

int churn_setup(struct churn *c, struct efs *fs)
{
	(void)c;
	int err = efs_mkdir(fs, "/data", 0755);
	if (err == EFS_ERR_EXISTS)
		err = 0;
	if (!err)
		err = efs_mkdir(fs, "/small", 0755);
	return err == EFS_ERR_EXISTS ? 0 : err;
}

/* Oldest and newest file numbers in dir, their count and bytes. */
struct listing {
	uint32_t count, oldest, newest;
	uint64_t bytes;
};

static int list(struct efs *fs, const char *dir, struct listing *l)
{
	uint32_t ino;
	struct efs_dir *d;
	struct efs_dirent e;
	int r, err = efs_lookup(fs, dir, 0, &ino);
	memset(l, 0, sizeof(*l));
	l->oldest = UINT32_MAX;
	if (!err)
		err = efs_opendir(fs, ino, &d);
	if (err)
		return err;
	while ((r = efs_readdir(d, &e)) > 0) {
		struct efs_stat st;
		uint32_t n = (uint32_t)strtoul(e.name + 1, 0, 10);
		if ((err = efs_stat(fs, e.ino, &st)))
			break;
		l->count++;
		l->bytes += st.size;
		l->oldest = n < l->oldest ? n : l->oldest;
		l->newest = n > l->newest ? n : l->newest;
	}
	efs_closedir(d);
	return err ? err : r;
}

static int write_file(struct efs *fs, const char *path, uint32_t n,
		      uint64_t size, uint64_t *written)
{
	static uint8_t buf[CHUNK];
	uint32_t ino;
	int err = efs_create(fs, path, 0644, &ino);
	for (uint64_t off = 0; !err && off < size; off += CHUNK) {
		uint64_t k = size - off < CHUNK ? size - off : CHUNK;
		pattern(n, off, buf, (size_t)k);
		int64_t w = efs_append(fs, ino, buf, (size_t)k);
		err = w < 0 ? (int)w : 0;
		*written += err ? 0 : k;
	}
	return err;
}

static int small_step(struct churn *c, struct efs *fs, uint64_t r,
		      const char **what)
{
	struct listing l;
	char path[48];
	int err = list(fs, "/small", &l);
	if (err) {
		*what = "list /small";
		return err;
	}
	c->nsmall = l.count;
	if (l.count && (l.count >= c->small_max || r % 3 == 0)) {
		snprintf(path, sizeof(path), "/small/s%u", l.oldest);
		*what = "remove a small file";
		return efs_unlink(fs, path);
	}
	uint32_t n = l.count ? l.newest + 1 : 1;
	snprintf(path, sizeof(path), "/small/s%u", n);
	*what = "write a small file";
	return write_file(fs, path, n, 1 + r % 200, &c->written);
}

static int big_step(struct churn *c, struct efs *fs, uint64_t r,
		    const char **what)
{
	struct listing l;
	char path[48];
	/* 1 KiB to max_file, spread over the sizes' magnitudes. */
	uint64_t size = 1024, max = c->max_file;
	while (size * 2 <= max && r % 3) {
		size *= 2;
		r /= 3;
	}
	size += r % size;
	size = size > max ? max : size;
	int err = list(fs, "/data", &l);
	while (!err && l.count && l.bytes + size > c->limit) {
		snprintf(path, sizeof(path), "/data/f%u", l.oldest);
		*what = "delete the oldest file";
		err = efs_unlink(fs, path);
		if (!err)
			err = list(fs, "/data", &l);
	}
	if (err) {
		if (!*what)
			*what = "list /data";
		return err;
	}
	uint32_t n = l.count ? l.newest + 1 : 1;
	snprintf(path, sizeof(path), "/data/f%u", n);
	*what = "write a file";
	err = write_file(fs, path, n, size, &c->written);
	c->live = l.bytes + size;
	c->nfiles = l.count + 1;
	return err;
}

int churn_step(struct churn *c, struct efs *fs, const char **what)
{
	uint64_t r = memdev_rand(&c->seed);
	*what = 0;
	if (r % 3 == 0)
		return small_step(c, fs, r / 3, what);
	return big_step(c, fs, r / 3, what);
}

/* Whether file n (ino) holds its pattern. */
static int file_ok(struct efs *fs, uint32_t ino, uint32_t n)
{
	static uint8_t buf[CHUNK], want[CHUNK];
	int64_t got;
	for (uint64_t off = 0;
	     (got = efs_read(fs, ino, off, buf, sizeof(buf))) > 0;
	     off += (uint64_t)got) {
		pattern(n, off, want, (size_t)got);
		if (memcmp(buf, want, (size_t)got))
			return 0;
	}
	return got == 0;
}

static int verify_dir(struct efs *fs, const char *dir)
{
	uint32_t ino;
	struct efs_dir *d;
	struct efs_dirent e;
	int bad = 0, r;
	if (efs_lookup(fs, dir, 0, &ino) || efs_opendir(fs, ino, &d))
		return 1;
	while ((r = efs_readdir(d, &e)) > 0) {
		uint32_t n = (uint32_t)strtoul(e.name + 1, 0, 10);
		if (!file_ok(fs, e.ino, n)) {
			printf("churn: %s/%s does not read back\n", dir, e.name);
			bad++;
		}
	}
	efs_closedir(d);
	return bad + (r < 0);
}

int churn_verify(struct churn *c, struct efs *fs)
{
	(void)c;
	return verify_dir(fs, "/data") + verify_dir(fs, "/small");
}
