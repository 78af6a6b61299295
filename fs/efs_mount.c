/* Mount, path lookup and the read side: stat, read, readlink, readdir. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

int efs_probe(const void *buf, size_t len)
{
	return len >= HDR_MEANINGFUL && !memcmp(buf, HDR_MAGIC, HDR_MAGIC_LEN);
}

/* format §1.3 and §7.4 item 1. */
int efs_parse_header(const uint8_t *h, uint64_t dev_size, uint32_t *n,
		     uint32_t *width, uint64_t *table_off)
{
	if (!efs_probe(h, HDR_MEANINGFUL))
		return EFS_ERR_NOT_EFS;
	if (efs_ld32(h + HDR_OFF_VERSION) != HDR_VERSION)
		return EFS_ERR_VERSION;
	uint64_t off = efs_ld64(h + HDR_OFF_TABLE);
	uint64_t size = efs_ld64(h + HDR_OFF_TABLE_SIZE);
	uint32_t count = efs_ld32(h + HDR_OFF_INODES);
	if (count == 0 || count >= MAX_INODES || off < HDR_MEANINGFUL)
		return EFS_ERR_CORRUPT;
	if (size == (uint64_t)count * 8)
		*width = 8;
	else if (size == (uint64_t)count * 16)
		*width = 16;
	else
		return EFS_ERR_CORRUPT;
	if (off > dev_size || size > dev_size - off)
		return EFS_ERR_CORRUPT;
	*n = count;
	*table_off = off;
	return 0;
}

const char *efs_notice(struct efs *fs)
{
	return fs->notice;
}

/* Why a CRC-valid extension sector cannot be used, or NULL. */
static const char *ext_fault(struct efs *fs, const uint8_t *x)
{
	uint32_t bs = efs_ld32(x + EXT_BS);
	uint64_t off = efs_ld64(x + EXT_JNL_OFF), size = efs_ld64(x + EXT_JNL_SIZE);
	if (efs_ld32(x + EXT_VER) != EXT_VERSION)
		return "an unknown version";
	if ((bs != 512 && bs != 4096) || off % bs ||
	    size < MIN_JOURNAL_BLOCKS * (uint64_t)bs)
		return "a journal of impossible shape";
	if (off < fs->area_off || off > fs->io.size ||
	    size > fs->io.size - off)
		return "a journal outside the node area or the device";
	return 0;
}

/* The umbra extension sector (format §9.1). None: a plain image. One
 * that cannot be trusted (bad CRC, impossible fields): its journal may
 * hold a committed change, so the volume is mounted read-only, as it is
 * on disk, and fsck --repair drops the sector (fs/README.md). */
static void load_ext(struct efs *fs, const uint8_t *h)
{
	const uint8_t *x = h + EXT_OFF;
	const char *why = 0;
	if (fs->table_off < EXT_OFF + 512 || memcmp(x, EXT_MAGIC, EXT_MAGIC_LEN))
		return;
	if (efs_crc32(0, x, EXT_CRC_AT) != efs_ld32(x + EXT_CRC_AT))
		why = "a bad CRC";
	if (!why)
		why = ext_fault(fs, x);
	char s[160];
	struct efs_text t = { s, sizeof(s), 0 };
	if (why) {
		efs_text_str(&t, "umbra's sector has ");
		efs_text_str(&t, why);
		efs_text_str(&t, ": mounted read-only (fsck --repair drops "
			     "the sector)");
		efs_damaged(fs, DAMAGE_EXT, s);
		return;
	}
	uint64_t vol = efs_ld64(x + EXT_VOL_SIZE);
	if (vol > fs->io.size) {
		efs_text_str(&t, "the volume is truncated: made for ");
		efs_text_num(&t, vol, 10, 0);
		efs_text_str(&t, " bytes, the device has ");
		efs_text_num(&t, fs->io.size, 10, 0);
		efs_text_str(&t, ": mounted read-only");
		efs_damaged(fs, DAMAGE_SHORT, s);
	}
	uint32_t bs = efs_ld32(x + EXT_BS);
	uint64_t off = efs_ld64(x + EXT_JNL_OFF), size = efs_ld64(x + EXT_JNL_SIZE);
	fs->has_ext = 1;
	fs->bs = bs;
	fs->jnl_off = off;
	fs->jnl_size = size;
}

static void fs_free(struct efs *fs)
{
	for (int i = 0; i < DCACHE_SLOTS; i++)
		efs_dir_forget(fs, fs->dcache[i].ino);
	efs_cache_free(fs);
	free(fs->table);
	free(fs->state);
	free(fs->cap);
	free(fs->safe);
	free(fs->safe_gen);
	efs_free_drop(fs);
	free(fs);
}

/* The header, the table and the root, as the cache shows them (with a
 * replayed journal entry laid over the device): what mounting needs. The
 * header is read again when an entry may have changed it. */
static int open_volume(struct efs *fs, uint8_t *h, size_t hl, int again)
{
	struct efs_node root;
	int err = again ? efs_bread(fs, 0, h, hl) : 0;
	if (!err)
		err = efs_parse_header(h, fs->io.size, &fs->n, &fs->width,
				       &fs->table_off);
	if (err)
		return err;
	fs->area_off = fs->table_off + (uint64_t)fs->n * fs->width;
	free(fs->table);
	fs->table = malloc((size_t)fs->n * fs->width);
	if (!fs->table)
		return EFS_ERR_NO_MEMORY;
	err = efs_dread(fs, fs->table_off, fs->table,
			(size_t)fs->n * fs->width);
	if (!err)
		err = efs_node_get(fs, EFS_ROOT, &root);
	if (!err && root.kind != EFS_DIR)
		err = EFS_ERR_CORRUPT;
	return err;
}

/* Errors that say the bytes are no volume (not that the device failed). */
static int unmountable(int err)
{
	return err == EFS_ERR_CORRUPT || err == EFS_ERR_NOT_EFS ||
	       err == EFS_ERR_VERSION || err == EFS_ERR_TOO_BIG;
}

int efs_mount(const struct efs_io *io, struct efs **out)
{
	uint8_t h[1024];
	if (!io || !io->read || io->size < HDR_MEANINGFUL)
		return EFS_ERR_INVALID;
	if (!io->read_only && (!io->write || !io->sync))
		return EFS_ERR_INVALID;
	struct efs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return EFS_ERR_NO_MEMORY;
	fs->io = *io;
	memset(h, 0, sizeof(h));
	size_t hl = io->size < sizeof(h) ? (size_t)io->size : sizeof(h);
	int err = efs_io_result(io->read(io->ctx, 0, h, hl));
	if (!err)
		err = efs_parse_header(h, io->size, &fs->n, &fs->width,
				       &fs->table_off);
	if (err)
		goto fail;
	fs->area_off = fs->table_off + (uint64_t)fs->n * fs->width;
	fs->bs = io->block_size == 4096 ? 4096 : DEFAULT_BS;
	load_ext(fs, h);
	fs->max_dirty = fs->has_ext ? efs_journal_capacity(fs->jnl_size, fs->bs)
				    : 0;
	err = efs_cache_init(fs);
	int replayed = 0;
	if (!err)
		err = efs_replay(fs, &replayed);
	if (!err)
		err = open_volume(fs, h, hl, replayed);
	/* A committed entry is written in place only once the state it
	 * makes opens (a replay of table growth changes the header): one
	 * that would leave no volume is never written (fs/README.md, "What
	 * mount works around"). */
	if (replayed && unmountable(err)) {
		memset(fs->ncache, 0, sizeof(fs->ncache));
		err = efs_replay_refuse(fs, err);
		if (!err)
			err = open_volume(fs, h, hl, 1);
	} else if (!err && replayed) {
		err = efs_replay_apply(fs);
	}
	if (err)
		goto fail;
	*out = fs;
	return 0;
fail:
	fs_free(fs);
	return err;
}

int efs_unmount(struct efs *fs)
{
	if (!fs)
		return EFS_ERR_INVALID;
	int err = efs_commit(fs);
	/* A clean volume needs no replay at the next mount. */
	if (!err && fs->entry_live && !fs->io.read_only && !fs->failed)
		err = efs_clear_entry(fs);
	fs_free(fs);
	return err;
}

/* --- paths ------------------------------------------------------------ */

#define MAX_DEPTH 256	/* directories deep, for ".." */

struct walk {
	uint32_t stack[MAX_DEPTH];
	int depth;		/* stack[depth-1] is the current directory */
	int links;
};

/* Finds name in directory dir. */
static int child_of(struct efs *fs, uint32_t dir, const char *name,
		    size_t len, uint32_t *ino)
{
	struct efs_node nd;
	struct dcache *dc;
	int err = efs_node_get(fs, dir, &nd);
	if (err)
		return err;
	if (nd.kind != EFS_DIR)
		return EFS_ERR_NOT_DIR;
	err = efs_dir_get(fs, &nd, &dc);
	if (err)
		return err;
	int i = efs_dir_find(dc, name, len);
	if (i < 0)
		return EFS_ERR_NOT_FOUND;
	*ino = dc->ents[i].ino;
	return 0;
}

/* Walks path (relative to the walk's current directory unless absolute),
 * leaving the result on the stack; the last component is not followed
 * when it is a symlink and !follow. */
static int walk(struct efs *fs, struct walk *w, const char *path, int follow)
{
	if (path[0] == '/')
		w->depth = 1;	/* stack[0] is the root */
	while (*path) {
		while (*path == '/')
			path++;
		if (!*path)
			break;
		const char *end = strchr(path, '/');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		const char *rest = path + len;
		int last = !*rest || !rest[strspn(rest, "/")];
		if (len == 1 && path[0] == '.') {
			path = rest;
			continue;
		}
		if (len == 2 && path[0] == '.' && path[1] == '.') {
			if (w->depth > 1)
				w->depth--;
			path = rest;
			continue;
		}
		uint32_t ino;
		int err = child_of(fs, w->stack[w->depth - 1], path, len, &ino);
		if (err)
			return err;
		struct efs_node nd;
		err = efs_node_get(fs, ino, &nd);
		if (err)
			return err;
		if (nd.kind == EFS_SYMLINK && (!last || follow)) {
			if (++w->links > EFS_SYMLINK_DEPTH)
				return EFS_ERR_LOOP;
			char *target = malloc(EFS_PATH_MAX + 1);
			if (!target)
				return EFS_ERR_NO_MEMORY;
			err = efs_readlink(fs, ino, target, EFS_PATH_MAX + 1);
			if (err >= 0)
				err = walk(fs, w, target, 1);
			free(target);
			if (err < 0)
				return err;
			path = rest;
			continue;
		}
		if (w->depth == MAX_DEPTH)
			return EFS_ERR_TOO_BIG;
		w->stack[w->depth++] = ino;
		path = rest;
	}
	return 0;
}

int efs_lookup(struct efs *fs, const char *path, int follow, uint32_t *ino)
{
	if (!path || path[0] != '/' || strlen(path) > EFS_PATH_MAX)
		return EFS_ERR_INVALID;
	struct walk *w = malloc(sizeof(*w));
	if (!w)
		return EFS_ERR_NO_MEMORY;
	w->stack[0] = EFS_ROOT;
	w->depth = 1;
	w->links = 0;
	int err = walk(fs, w, path, follow);
	if (!err)
		*ino = w->stack[w->depth - 1];
	free(w);
	return err;
}

int efs_resolve_parent(struct efs *fs, const char *path, uint32_t *parent,
		       const char **name, size_t *name_len)
{
	if (!path || path[0] != '/' || strlen(path) > EFS_PATH_MAX)
		return EFS_ERR_INVALID;
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	size_t nl = len - start;
	if (nl == 0 || (nl == 1 && path[start] == '.') ||
	    (nl == 2 && path[start] == '.' && path[start + 1] == '.'))
		return EFS_ERR_INVALID;	/* "/", ".", ".." name nothing new */
	int err = efs_check_read_name(path + start, nl);
	if (err)
		return err;
	char *dir = malloc(start + 2);
	if (!dir)
		return EFS_ERR_NO_MEMORY;
	memcpy(dir, path, start);
	dir[start] = 0;
	uint32_t ino;
	err = efs_lookup(fs, dir, 1, &ino);
	free(dir);
	if (err)
		return err;
	struct efs_node nd;
	err = efs_node_get(fs, ino, &nd);
	if (!err && nd.kind != EFS_DIR)
		err = EFS_ERR_NOT_DIR;
	if (err)
		return err;
	*parent = ino;
	*name = path + start;
	*name_len = nl;
	return 0;
}

/* --- reading ------------------------------------------------------------ */

int efs_stat(struct efs *fs, uint32_t ino, struct efs_stat *st)
{
	struct efs_node nd;
	int err = efs_node_get(fs, ino, &nd);
	if (err)
		return err;
	*st = (struct efs_stat){ ino, nd.kind, nd.mode, nd.uid, nd.gid,
				 nd.nlink, nd.size, nd.atime, nd.mtime,
				 nd.ctime };
	return 0;
}

int64_t efs_read(struct efs *fs, uint32_t ino, uint64_t off, void *buf,
		 size_t len)
{
	struct efs_node nd;
	int err = efs_node_get(fs, ino, &nd);
	if (err)
		return err;
	if (nd.kind == EFS_DIR)
		return EFS_ERR_IS_DIR;
	if (nd.kind != EFS_FILE)
		return EFS_ERR_INVALID;
	if (off >= nd.data_len)
		return 0;
	uint64_t n = nd.data_len - off;
	if (n > len)
		n = len;
	if (n > INT64_MAX)
		return EFS_ERR_INVALID;
	err = efs_dread(fs, nd.data + off, buf, (size_t)n);
	return err ? err : (int64_t)n;
}

int efs_readlink(struct efs *fs, uint32_t ino, char *buf, size_t size)
{
	struct efs_node nd;
	int err = efs_node_get(fs, ino, &nd);
	if (err)
		return err;
	if (nd.kind != EFS_SYMLINK)
		return EFS_ERR_INVALID;
	if (nd.data_len == 0 || nd.data_len > EFS_PATH_MAX)
		return EFS_ERR_CORRUPT;
	if (nd.data_len >= size)
		return EFS_ERR_TOO_BIG;
	err = efs_bread(fs, nd.data, buf, nd.data_len);
	if (err)
		return err;
	buf[nd.data_len] = 0;
	if (memchr(buf, 0, nd.data_len))
		return EFS_ERR_CORRUPT;
	return (int)nd.data_len;
}

struct efs_dir {
	uint8_t *buf;
	uint32_t len, pos;
};

int efs_opendir(struct efs *fs, uint32_t ino, struct efs_dir **out)
{
	struct efs_node nd;
	struct dcache *dc;
	int err = efs_node_get(fs, ino, &nd);
	if (!err)
		err = efs_dir_get(fs, &nd, &dc);
	if (err)
		return err;
	/* A snapshot: changes made while iterating do not disturb it. */
	struct efs_dir *d = malloc(sizeof(*d));
	if (!d)
		return EFS_ERR_NO_MEMORY;
	d->buf = malloc(dc->data_len + 1);
	if (!d->buf) {
		free(d);
		return EFS_ERR_NO_MEMORY;
	}
	memcpy(d->buf, dc->buf, dc->data_len);
	d->len = dc->data_len;
	d->pos = 0;
	*out = d;
	return 0;
}

int efs_readdir(struct efs_dir *d, struct efs_dirent *e)
{
	if (d->pos >= d->len)
		return 0;
	/* Checked by efs_dir_get when the snapshot was taken. */
	uint32_t len = efs_ld32(d->buf + d->pos);
	e->ino = efs_ld32(d->buf + d->pos + 4);
	memcpy(e->name, d->buf + d->pos + 8, len);
	e->name[len] = 0;
	d->pos += 8 + len;
	return 1;
}

void efs_closedir(struct efs_dir *d)
{
	if (d) {
		free(d->buf);
		free(d);
	}
}
