/* Shared fs test helpers; see efs_util.h. */
#include "efs_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memdev.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct efs_dirent *)a)->name,
		      ((const struct efs_dirent *)b)->name);
}

int tree_verbose;

static int digest(struct efs *fs, uint32_t ino, const char *path, int depth,
		  uint64_t *h)
{
	struct efs_stat st;
	uint64_t h0 = *h;
	int err = efs_stat(fs, ino, &st);
	if (err)
		return err;
	if (depth > 64)
		return EFS_ERR_LOOP;
	*h = fnv(*h, path, strlen(path) + 1);
	uint32_t meta[2] = { st.kind, st.mode & 07777 };
	*h = fnv(*h, meta, sizeof(meta));
	*h = fnv(*h, &st.size, sizeof(st.size));
	if (st.kind == EFS_SYMLINK) {
		char t[EFS_PATH_MAX + 1];
		err = efs_readlink(fs, ino, t, sizeof(t));
		if (err < 0)
			return err;
		*h = fnv(*h, t, strlen(t));
		return 0;
	}
	if (st.kind == EFS_FILE) {
		static uint8_t buf[1 << 16];
		int64_t n;
		uint64_t c = 0;
		for (uint64_t off = 0;
		     (n = efs_read(fs, ino, off, buf, sizeof(buf))) > 0;
		     off += (uint64_t)n)
			c = fnv(c, buf, (size_t)n);
		*h = fnv(*h, &c, sizeof(c));
		if (tree_verbose)
			printf("    %s ino %u mode %o size %llu data %016llx\n",
			       path, ino, st.mode, (unsigned long long)st.size,
			       (unsigned long long)c);
		(void)h0;
		return n < 0 ? (int)n : 0;
	}
	struct efs_dir *d;
	struct efs_dirent *v = 0;
	size_t n = 0, cap = 0;
	err = efs_opendir(fs, ino, &d);
	if (err)
		return err;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(v, cap * sizeof(*v));
		}
		int r = efs_readdir(d, &v[n]);
		if (r <= 0) {
			err = r;
			break;
		}
		n++;
	}
	efs_closedir(d);
	qsort(v, n, sizeof(*v), cmp_name);
	for (size_t i = 0; !err && i < n; i++) {
		char *p = malloc(strlen(path) + strlen(v[i].name) + 2);
		sprintf(p, "%s/%s", path, v[i].name);
		err = digest(fs, v[i].ino, p, depth + 1, h);
		free(p);
	}
	free(v);
	return err;
}

int tree_digest(struct efs *fs, uint64_t *out)
{
	uint64_t h = 0xcbf29ce484222325ull;
	int err = digest(fs, EFS_ROOT, "", 0, &h);
	*out = h;
	return err;
}

/* Paths the workload plays with: few, so operations collide often. */
static const char *const paths[] = {
	"/a", "/b", "/c", "/d", "/d/e", "/d/f", "/d/g", "/d/sub",
	"/d/sub/h", "/log", "/\xc3\xa9t\xc3\xa9", "/d/\xe2\x98\x83",
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

int workload_step(struct efs *fs, uint64_t *seed, const char **kind)
{
	static uint8_t buf[300000];
	uint64_t r = memdev_rand(seed);
	const char *p = paths[r % NPATHS], *q = paths[(r >> 8) % NPATHS];
	uint32_t ino;
	size_t len = (size_t)((r >> 16) % 4000);
	if ((r >> 40) % 16 == 0)
		len = (size_t)((r >> 20) % sizeof(buf));	/* big */
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131 + (r >> 32));
	switch ((r >> 48) % 11) {
	case 0:
		*kind = "create";
		return efs_create(fs, p, 0644, &ino);
	case 1:
	case 2: {
		*kind = "write";
		int err = efs_lookup(fs, p, 0, &ino);
		if (err)
			return err;
		struct efs_stat st;
		err = efs_stat(fs, ino, &st);
		if (err)
			return err;
		uint64_t off = st.size ? (r >> 24) % (st.size + 100) : 0;
		int64_t n = efs_write(fs, ino, off, buf, len);
		return n < 0 ? (int)n : 0;
	}
	case 3: {
		*kind = "append";
		int err = efs_lookup(fs, p, 0, &ino);
		int64_t n = err ? err : efs_append(fs, ino, buf, len % 700);
		return n < 0 ? (int)n : 0;
	}
	case 4: {
		*kind = "truncate";
		int err = efs_lookup(fs, p, 0, &ino);
		return err ? err : efs_truncate(fs, ino, (r >> 24) % 5000);
	}
	case 5:
		*kind = "mkdir";
		return efs_mkdir(fs, p, 0755);
	case 6:
		*kind = "unlink";
		return efs_unlink(fs, p);
	case 7:
		*kind = "rmdir";
		return efs_rmdir(fs, p);
	case 8:
		*kind = "rename";
		return efs_rename(fs, p, q);
	case 9:
		*kind = "symlink";
		return efs_symlink(fs, q + 1, p);
	default:
		*kind = "chmod";
		{
			int err = efs_lookup(fs, p, 0, &ino);
			return err ? err : efs_chmod(fs, ino, (uint32_t)r & 0777);
		}
	}
}
