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

/* What a walk of the tree gathers: a digest of everything, one of
 * everything but file contents, and optionally every file. */
struct tree_walk {
	uint64_t full, meta;
	int keep;
	struct tree_file *files;
	size_t n, cap;
};

static void both(struct tree_walk *w, const void *p, size_t n)
{
	w->full = fnv(w->full, p, n);
	w->meta = fnv(w->meta, p, n);
}

/* Reads a whole file; *data (caller frees) when keep. */
static int file_digest(struct efs *fs, uint32_t ino, uint64_t size,
		       uint64_t *c, uint8_t **data)
{
	static uint8_t buf[1 << 16];
	uint8_t *out = data ? malloc(size + 1) : 0;
	int64_t n;
	*c = 0;
	if (data)
		*data = out;
	for (uint64_t off = 0;
	     (n = efs_read(fs, ino, off, buf, sizeof(buf))) > 0;
	     off += (uint64_t)n) {
		*c = fnv(*c, buf, (size_t)n);
		if (out && off + (uint64_t)n <= size)
			memcpy(out + off, buf, (size_t)n);
	}
	return n < 0 ? (int)n : 0;
}

static int keep_file(struct tree_walk *w, uint32_t ino, const char *path,
		     uint64_t size, uint8_t *data)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->files = realloc(w->files, w->cap * sizeof(*w->files));
	}
	w->files[w->n++] = (struct tree_file){ ino, strdup(path), size, data };
	return 0;
}

static int digest(struct efs *fs, uint32_t ino, const char *path, int depth,
		  struct tree_walk *w);

static int digest_dir(struct efs *fs, uint32_t ino, const char *path,
		      int depth, struct tree_walk *w)
{
	struct efs_dir *d;
	struct efs_dirent *v = 0;
	size_t n = 0, cap = 0;
	int err = efs_opendir(fs, ino, &d);
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
		err = digest(fs, v[i].ino, p, depth + 1, w);
		free(p);
	}
	free(v);
	return err;
}

static int digest(struct efs *fs, uint32_t ino, const char *path, int depth,
		  struct tree_walk *w)
{
	struct efs_stat st;
	int err = efs_stat(fs, ino, &st);
	if (err)
		return err;
	if (depth > 64)
		return EFS_ERR_LOOP;
	both(w, path, strlen(path) + 1);
	uint32_t meta[2] = { st.kind, st.mode & 07777 };
	both(w, meta, sizeof(meta));
	both(w, &st.size, sizeof(st.size));
	if (st.kind == EFS_SYMLINK) {
		char t[EFS_PATH_MAX + 1];
		err = efs_readlink(fs, ino, t, sizeof(t));
		if (err < 0)
			return err;
		both(w, t, strlen(t));
		return 0;
	}
	if (st.kind != EFS_FILE)
		return digest_dir(fs, ino, path, depth, w);
	uint64_t c;
	uint8_t *data = 0;
	err = file_digest(fs, ino, st.size, &c, w->keep ? &data : 0);
	w->full = fnv(w->full, &c, sizeof(c));
	if (tree_verbose)
		printf("    %s ino %u mode %o size %llu data %016llx\n", path,
		       ino, st.mode, (unsigned long long)st.size,
		       (unsigned long long)c);
	if (!err && w->keep)
		return keep_file(w, ino, path, st.size, data);
	free(data);
	return err;
}

int tree_digests(struct efs *fs, uint64_t *full, uint64_t *meta)
{
	struct tree_walk w = { 0xcbf29ce484222325ull, 0xcbf29ce484222325ull,
			       0, 0, 0, 0 };
	int err = digest(fs, EFS_ROOT, "", 0, &w);
	*full = w.full;
	if (meta)
		*meta = w.meta;
	return err;
}

int tree_digest(struct efs *fs, uint64_t *out)
{
	return tree_digests(fs, out, 0);
}

int tree_files(struct efs *fs, struct tree_file **out, size_t *n)
{
	struct tree_walk w = { 0, 0, 1, 0, 0, 0 };
	int err = digest(fs, EFS_ROOT, "", 0, &w);
	*out = w.files;
	*n = w.n;
	return err;
}

void tree_files_free(struct tree_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].data);
	}
	free(f);
}

static int inode_byte(void *ctx, uint32_t ino, uint64_t off, void *buf,
		      size_t len)
{
	(void)ctx;
	(void)off;
	memset(buf, (int)ino, len);
	return 0;
}

int build_ab(const struct efs_io *io, const struct efs_build_opts *opts,
	     uint64_t a, uint64_t b, efs_content_fn *fn)
{
	struct efs_build_child kids[] = { { "a", 2 }, { "b", 3 } };
	struct efs_build_node nodes[] = {
		{ EFS_DIR, 040755, 0, 0, 2, 0, 0, 0, 0, 2, kids },
		{ EFS_FILE, 0100644, 0, 0, 1, 0, 0, 0, a, 0, 0 },
		{ EFS_FILE, 0100644, 0, 0, 1, 0, 0, 0, b, 0, 0 },
	};
	return efs_build(io, opts, 3, nodes, fn ? fn : inode_byte, 0);
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

/* --- the original readers' rules, checked independently of fs/ ------------ */

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static int bad(char *why, size_t n, const char *what, uint64_t k)
{
	snprintf(why, n, "%s (inode %llu)", what, (unsigned long long)k);
	return -1;
}

/* A directory's entries: non-empty names without '/' or NUL, children in
 * 1..count, no name twice. */
static int check_entries(const uint8_t *v, uint32_t len, uint64_t count,
			 uint64_t k, char *why, size_t n)
{
	for (uint32_t p = 0; p < len;) {
		if (len - p < 8)
			return bad(why, n, "entry overruns", k);
		uint32_t nl = (uint32_t)le(v + p, 4);
		uint64_t child = le(v + p + 4, 4);
		if (!nl || nl > len - p - 8 || !child || child > count ||
		    memchr(v + p + 8, '/', nl) || memchr(v + p + 8, 0, nl))
			return bad(why, n, "bad entry", k);
		for (uint32_t q = 0; q < p;) {
			uint32_t ql = (uint32_t)le(v + q, 4);
			if (ql == nl && !memcmp(v + q + 8, v + p + 8, nl))
				return bad(why, n, "duplicate name", k);
			q += 8 + ql;
		}
		p += 8 + nl;
	}
	return 0;
}

/* One record as the strict loader reads it: every base tag once, in
 * order, exact lengths; SIZE equal to the CONTENT length. */
static int check_record(const uint8_t *r, uint32_t size, uint64_t count,
			uint64_t k, char *why, size_t n)
{
	static const uint8_t want[] = { 0, 1, 4, 4, 4, 8, 8, 8, 8, 4 };
	uint32_t seen = 0, pos = 8, data_len = 0;
	uint64_t sz = 0;
	int kind = 0, tag_prev = 0;
	while (pos < size) {
		if (size - pos < 6)
			return bad(why, n, "TLV overruns", k);
		int tag = (int)le(r + pos, 2);
		uint32_t len = (uint32_t)le(r + pos + 2, 4);
		const uint8_t *v = r + pos + 6;
		if (len > size - pos - 6 || tag <= tag_prev || tag > 0x0b)
			return bad(why, n, "TLV out of order or overruns", k);
		if (tag <= 9 && len != want[tag])
			return bad(why, n, "base tag of the wrong length", k);
		if (tag == 1)
			kind = v[0];
		if (tag == 5)
			sz = le(v, 8);
		if (tag >= 0x0a)
			data_len = len;
		if (tag == 0x0b && check_entries(v, len, count, k, why, n))
			return -1;
		seen |= 1u << tag;
		tag_prev = tag;
		pos += 6 + len;
	}
	if ((seen & 0x3fe) != 0x3fe || kind < 1 || kind > 3)
		return bad(why, n, "base tag missing or bad kind", k);
	if (kind != 2 && sz != data_len)
		return bad(why, n, "SIZE is not the CONTENT length", k);
	return 0;
}

int original_rules(const uint8_t *img, uint64_t size, char *why, size_t n)
{
	if (size < 4096 || memcmp(img, "ECLIPSEFS", 9) ||
	    le(img + 9, 4) != 0x00020000)
		return bad(why, n, "bad header", 0);
	uint64_t off = le(img + 13, 8), tsize = le(img + 21, 8);
	uint64_t count = le(img + 29, 4);
	uint64_t w = count ? tsize / count : 0;
	if (!count || count >= 0xf0000000u || (w != 8 && w != 16) ||
	    w * count != tsize || off + tsize > size)
		return bad(why, n, "bad table", 0);
	for (uint64_t k = 1; k <= count; k++) {
		const uint8_t *e = img + off + (k - 1) * w;
		uint64_t abs = off + tsize + le(e + w / 2, (int)w / 2);
		if (le(e, (int)w / 2) != k)
			return bad(why, n, "entry's inode is not its slot", k);
		if (abs + 8 > size || le(img + abs, 4) != k ||
		    le(img + abs + 4, 4) < 8 ||
		    abs + le(img + abs + 4, 4) > size)
			return bad(why, n, "entry points at no record of it", k);
		if (check_record(img + abs, (uint32_t)le(img + abs + 4, 4), count,
				 k, why, n))
			return -1;
	}
	return (int)w;
}
