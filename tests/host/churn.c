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
	free(c->data.v);
	free(c->small.v);
	memset(&c->data, 0, sizeof(c->data));
	memset(&c->small, 0, sizeof(c->small));
}

void churn_forget(struct churn *c)
{
	c->data.valid = c->small.valid = 0;
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

static int cmp_file(const void *a, const void *b)
{
	uint32_t x = ((const struct churn_file *)a)->n;
	uint32_t y = ((const struct churn_file *)b)->n;
	return x < y ? -1 : x > y;
}

static void push(struct churn_listing *l, uint32_t n, uint64_t size,
		 uint64_t target)
{
	if (l->head + l->count == l->cap) {
		if (l->head)
			memmove(l->v, l->v + l->head, l->count * sizeof(*l->v));
		l->head = 0;
		if (l->count == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			l->v = realloc(l->v, l->cap * sizeof(*l->v));
		}
	}
	l->v[l->head + l->count++] = (struct churn_file){ n, size, target };
	l->bytes += size;
}

static struct churn_file *oldest(struct churn_listing *l)
{
	return &l->v[l->head];
}

static struct churn_file *newest(struct churn_listing *l)
{
	return &l->v[l->head + l->count - 1];
}

static int list(struct efs *fs, const char *dir, struct churn_listing *l)
{
	uint32_t ino;
	struct efs_dir *d;
	struct efs_dirent e;
	int r, err = efs_lookup(fs, dir, 0, &ino);
	l->head = l->count = 0;
	l->bytes = 0;
	if (!err)
		err = efs_opendir(fs, ino, &d);
	if (err)
		return err;
	while ((r = efs_readdir(d, &e)) > 0) {
		struct efs_stat st;
		char *end;
		uint32_t n = (uint32_t)strtoul(e.name + 1, &end, 10);
		if ((err = efs_stat(fs, e.ino, &st)))
			break;
		push(l, n, st.size, *end == '_' ? strtoull(end + 1, 0, 10)
						: st.size);
	}
	efs_closedir(d);
	if (l->count)
		qsort(l->v + l->head, l->count, sizeof(*l->v), cmp_file);
	l->valid = !err && !r;
	return err ? err : r;
}

static void file_path(char *out, size_t n, const char *dir,
		      const struct churn_file *f)
{
	snprintf(out, n, "%s/f%u_%llu", dir, f->n,
		 (unsigned long long)f->target);
}

/* Appends the next chunk of file f (ino). */
static int append_chunk(struct efs *fs, uint32_t ino, struct churn_file *f,
			struct churn_listing *l, uint64_t *written)
{
	static uint8_t buf[CHUNK];
	uint64_t k = f->target - f->size < CHUNK ? f->target - f->size : CHUNK;
	pattern(f->n, f->size, buf, (size_t)k);
	int64_t w = efs_append(fs, ino, buf, (size_t)k);
	if (w < 0)
		return (int)w;
	*written += (uint64_t)w;
	f->size += (uint64_t)w;
	l->bytes += (uint64_t)w;
	return 0;
}

/* One operation on dir: the next chunk of its newest file when that is
 * short of its size, else a delete of the oldest when `full`, else a new
 * (empty) file meant to grow to `size` bytes. */
static int dir_op(struct churn *c, struct efs *fs, const char *dir,
		  struct churn_listing *l, int full, uint64_t size,
		  const char **what)
{
	char path[64];
	uint32_t ino;
	int err;
	if (l->count && newest(l)->size < newest(l)->target) {
		file_path(path, sizeof(path), dir, newest(l));
		*what = "append to a file";
		err = efs_lookup(fs, path, 0, &ino);
		return err ? err : append_chunk(fs, ino, newest(l), l,
						&c->written);
	}
	if (l->count && full) {
		file_path(path, sizeof(path), dir, oldest(l));
		*what = "delete the oldest file";
		err = efs_unlink(fs, path);
		if (!err) {
			l->bytes -= oldest(l)->size;
			l->head++;
			l->count--;
		}
		return err;
	}
	uint32_t n = l->count ? newest(l)->n + 1 : 1;
	struct churn_file f = { n, 0, size };
	file_path(path, sizeof(path), dir, &f);
	*what = "create a file";
	err = efs_create(fs, path, 0644, &ino);
	if (!err)
		push(l, n, 0, size);
	return err;
}

/* dir_op on a listing read from the volume when it is not known. */
static int dir_step(struct churn *c, struct efs *fs, const char *dir,
		    struct churn_listing *l, int full, uint64_t size,
		    const char **what)
{
	int err = dir_op(c, fs, dir, l, full, size, what);
	if (err)
		l->valid = 0;
	return err;
}

static int listing(struct efs *fs, const char *dir, struct churn_listing *l,
		   const char **what)
{
	int err = l->valid ? 0 : list(fs, dir, l);
	if (err)
		*what = "list a directory";
	return err;
}

static int small_step(struct churn *c, struct efs *fs, uint64_t r,
		      const char **what)
{
	struct churn_listing *l = &c->small;
	int err = listing(fs, "/small", l, what);
	if (err)
		return err;
	c->nsmall = l->count;
	return dir_step(c, fs, "/small", l,
			l->count >= c->small_max || r % 3 == 0, 1 + r % 200,
			what);
}

static int big_step(struct churn *c, struct efs *fs, uint64_t r,
		    const char **what)
{
	struct churn_listing *l = &c->data;
	/* 1 KiB to max_file, as many of each power of two. */
	uint64_t size = 1024, max = c->max_file, steps = 0;
	while ((size << steps) * 2 <= max)
		steps++;
	size <<= r % (steps + 1);
	r /= steps + 1;
	size += r % size;
	size = size > max ? max : size;
	int err = listing(fs, "/data", l, what);
	if (err)
		return err;
	c->live = l->bytes;
	c->nfiles = l->count;
	return dir_step(c, fs, "/data", l, l->bytes + size > c->limit, size,
			what);
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
