/* The changes: create, write, truncate, mkdir, rmdir, unlink, rename,
 * symlink, chmod, chown, times, sync. See fs/README.md for the scheme.
 *
 * Every change is planned before anything is written: the space it could
 * need is checked first, so "no space" leaves nothing behind. Then the
 * bytes of committed records change only through efs_patch (journaled);
 * new bytes go to free space with efs_direct. An I/O error in the middle
 * of a change stops all writing (fs->failed), so a half-made change is
 * never committed. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define COPY_CHUNK (64u << 10)
#define CONTENT_MAX (0xffffffffull - V_DATA)	/* u32 lengths */

/* A piece of a relocated record's data: old data, caller bytes, or zeros. */
struct seg {
	enum { SEG_OLD, SEG_BUF, SEG_ZERO } kind;
	uint64_t from;		/* SEG_OLD: offset within the old data */
	const void *buf;
	uint64_t len;
};

static int begin(struct efs *fs)
{
	int err = efs_prepare_write(fs);
	if (!err)
		err = efs_reserve(fs, OP_BLOCKS);
	return err;
}

/* Ends a change: an error after writing began stops all writes. */
static int finish(struct efs *fs, int err, int wrote)
{
	if (err && wrote && !fs->failed)
		fs->failed = efs_io_result(err);
	return err;
}

static uint64_t free_bytes(struct efs *fs)
{
	struct efs_space sp;
	return efs_space(fs, &sp) ? 0 : sp.free;
}

/* Writes [off, off+len) of a record whose safe mark is `safe`. */
static int put(struct efs *fs, uint64_t safe, uint64_t off, const void *buf,
	       uint64_t len)
{
	const uint8_t *p = buf;
	if (off < safe) {
		uint64_t n = safe - off < len ? safe - off : len;
		int err = efs_patch(fs, off, p, (size_t)n);
		if (err)
			return err;
		off += n;
		p += n;
		len -= n;
	}
	return len ? efs_direct(fs, off, p, (size_t)len) : 0;
}

static int put_zero(struct efs *fs, uint64_t safe, uint64_t off, uint64_t len)
{
	uint8_t *z = calloc(1, len < COPY_CHUNK ? len + 1 : COPY_CHUNK);
	int err = z ? 0 : EFS_ERR_NO_MEMORY;
	while (!err && len) {
		uint64_t n = len < COPY_CHUNK ? len : COPY_CHUNK;
		err = put(fs, safe, off, z, n);
		off += n;
		len -= n;
	}
	free(z);
	return err;
}

/* Blocks a rewrite of [off, off+len) puts in the journal. */
static uint32_t journal_cost(struct efs *fs, uint64_t safe, uint64_t off,
			     uint64_t len)
{
	if (off >= safe || !len)
		return 0;
	return efs_blocks_of(fs, off, (size_t)(safe - off < len ? safe - off
								 : len));
}

/* Whether record ino could end at `end` where it is. */
static int fits(struct efs *fs, uint32_t ino, uint64_t end)
{
	uint64_t cap = fs->cap[ino - 1];
	struct efs_space sp;
	if (end <= cap)
		return 1;
	return cap == fs->tail && !efs_space(fs, &sp) &&
	       end - cap <= sp.free;
}

static int patch_slot(struct efs *fs, uint32_t ino, uint64_t abs)
{
	uint8_t e[8];
	efs_slot_set(fs, ino, abs);
	memcpy(e, fs->table + (uint64_t)(ino - 1) * 8, 8);
	return efs_patch(fs, fs->table_off + (uint64_t)(ino - 1) * 8, e, 8);
}

static void forget(struct efs *fs, uint32_t ino)
{
	efs_node_forget(fs, ino);
	efs_dir_forget(fs, ino);
}

/* New lengths, times and the data tag of a canonical record, in place. */
static int set_header(struct efs *fs, const struct efs_node *nd,
		      uint64_t len, uint64_t now)
{
	uint8_t t[TLV_HDR];
	uint64_t rec = nd->rec;
	/* Before the record shrinks: mark what is committed (efs_safe). */
	efs_safe(fs, nd->ino, nd);
	int err = efs_patch32(fs, rec + 4, len ? (uint32_t)(V_DATA + len)
					       : BASE_RECORD);
	if (!err && nd->kind != EFS_DIR)
		err = efs_patch64(fs, rec + V_SIZE, len);
	if (!err && len) {
		efs_st16(t, nd->kind == EFS_DIR ? TAG_DIRENTS : TAG_CONTENT);
		efs_st32(t + 2, (uint32_t)len);
		err = efs_patch(fs, rec + BASE_RECORD, t, TLV_HDR);
	}
	if (!err)
		err = efs_patch64(fs, rec + V_MTIME, now);
	if (!err)
		err = efs_patch64(fs, rec + V_CTIME, now);
	forget(fs, nd->ino);
	return err;
}

/* Space a relocation takes (no slack). */
static uint64_t record_bytes(uint64_t len)
{
	return len ? V_DATA + len : BASE_RECORD;
}

/* Writes a new canonical version of nd (with nd's fields, data from segs)
 * at the tail, with slack when room allows, leaving `keep` bytes free for
 * the rest of the change; then points the slot at it. */
static int relocate(struct efs *fs, struct efs_node *nd, const struct seg *s,
		    int nseg, uint64_t keep)
{
	uint64_t len = 0, off, avail = free_bytes(fs);
	for (int i = 0; i < nseg; i++)
		len += s[i].len;
	if (len > CONTENT_MAX)
		return EFS_ERR_TOO_BIG;
	uint64_t size = record_bytes(len);
	uint64_t slack = size > RECORD_SLACK_MIN ? size : RECORD_SLACK_MIN;
	/* Big files get their content on a page boundary (efs_build does
	 * the same): reads of them then need no bounce buffer. */
	uint64_t pad = 0;
	if (nd->kind == EFS_FILE && len >= CONTENT_ALIGN)
		pad = efs_content_pad(fs->tail);
	if (avail < pad + size + keep)
		pad = 0;
	if (avail < size + keep)
		return EFS_ERR_NO_SPACE;
	if (slack > avail - pad - size - keep)
		slack = avail - pad - size - keep;
	int err = efs_alloc(fs, pad + size + slack, &off);
	if (err)
		return err;
	off += pad;
	struct efs_node n = *nd;
	uint8_t hdr[V_DATA];
	uint64_t old = nd->data;
	n.rec = off;
	n.rec_size = (uint32_t)size;
	n.data_len = (uint32_t)len;
	n.has_data = len != 0;
	if (n.kind != EFS_DIR)
		n.size = len;
	size_t hl = efs_node_encode(&n, hdr);
	err = efs_direct(fs, off, hdr, hl);
	uint64_t at = off + V_DATA;
	uint8_t *tmp = malloc(COPY_CHUNK);
	if (!tmp)
		err = err ? err : EFS_ERR_NO_MEMORY;
	for (int i = 0; !err && i < nseg; i++) {
		for (uint64_t done = 0; !err && done < s[i].len;) {
			uint64_t k = s[i].len - done;
			if (k > COPY_CHUNK)
				k = COPY_CHUNK;
			const void *src = tmp;
			if (s[i].kind == SEG_OLD)
				err = efs_dread(fs, old + s[i].from + done, tmp,
						(size_t)k);
			else if (s[i].kind == SEG_ZERO)
				memset(tmp, 0, (size_t)k);
			else
				src = (const uint8_t *)s[i].buf + done;
			if (!err)
				err = efs_direct(fs, at, src, (size_t)k);
			at += k;
			done += k;
		}
	}
	free(tmp);
	if (!err)
		err = patch_slot(fs, nd->ino, off);
	if (err)
		return err;
	fs->garbage += nd->rec_size;
	fs->cap[nd->ino - 1] = off + size + slack;
	efs_set_safe(fs, nd->ino, off);
	forget(fs, nd->ino);
	*nd = n;
	return 0;
}

/* --- directory entries ------------------------------------------------ */

static int in_place(struct efs *fs, const struct efs_node *nd, uint64_t off,
		    uint64_t len, uint64_t new_end)
{
	return nd->canonical &&
	       journal_cost(fs, efs_safe(fs, nd->ino, nd), off, len) <=
		       PATCH_MAX_BLOCKS &&
	       fits(fs, nd->ino, new_end);
}

/* Space dir_add would need. */
static uint64_t add_need(struct efs *fs, const struct efs_node *d, size_t nl)
{
	uint64_t pos = d->rec + V_DATA + d->data_len, e = 8 + nl;
	if (in_place(fs, d, pos, e, pos + e)) {
		uint64_t cap = fs->cap[d->ino - 1];
		return pos + e > cap ? pos + e - cap : 0;
	}
	return record_bytes(d->data_len + e);
}

static int dir_add(struct efs *fs, uint32_t dir, const char *name,
		   size_t nl, uint32_t child, uint64_t now, uint64_t keep)
{
	struct efs_node d;
	uint8_t ent[8 + EFS_NAME_MAX];
	int err = efs_node_get(fs, dir, &d);
	if (err)
		return err;
	efs_st32(ent, (uint32_t)nl);
	efs_st32(ent + 4, child);
	memcpy(ent + 8, name, nl);
	uint64_t len = d.data_len + 8 + nl;
	uint64_t pos = d.rec + V_DATA + d.data_len;
	if (len > CONTENT_MAX)
		return EFS_ERR_TOO_BIG;
	if (in_place(fs, &d, pos, 8 + nl, pos + 8 + nl)) {
		err = efs_grow(fs, dir, pos + 8 + nl);
		if (!err)
			err = put(fs, efs_safe(fs, dir, &d), pos, ent, 8 + nl);
		return err ? err : set_header(fs, &d, len, now);
	}
	struct seg s[2] = { { SEG_OLD, 0, 0, d.data_len },
			    { SEG_BUF, 0, ent, 8 + nl } };
	d.mtime = d.ctime = now;
	return relocate(fs, &d, s, 2, keep);
}

static uint64_t remove_need(struct efs *fs, const struct efs_node *d,
			    const struct dent *e)
{
	uint64_t at = d->rec + V_DATA + e->pos, el = 8 + e->name_len;
	if (in_place(fs, d, at, d->data_len - e->pos - el, d->rec + d->rec_size))
		return 0;
	return record_bytes(d->data_len - el);
}

/* Removes the entry at byte pos (el bytes) of directory dir. */
static int dir_remove(struct efs *fs, uint32_t dir, uint32_t pos, uint32_t el,
		      uint64_t now, uint64_t keep)
{
	struct efs_node d;
	int err = efs_node_get(fs, dir, &d);
	if (err)
		return err;
	uint64_t at = d.rec + V_DATA + pos, rest = d.data_len - pos - el;
	if (in_place(fs, &d, at, rest, d.rec + d.rec_size)) {
		uint8_t *tmp = malloc(rest + 1);
		if (!tmp)
			return EFS_ERR_NO_MEMORY;
		err = efs_dread(fs, at + el, tmp, (size_t)rest);
		if (!err)
			err = put(fs, efs_safe(fs, dir, &d), at, tmp, rest);
		free(tmp);
		return err ? err : set_header(fs, &d, d.data_len - el, now);
	}
	struct seg s[2] = { { SEG_OLD, 0, 0, pos },
			    { SEG_OLD, pos + el, 0, rest } };
	d.mtime = d.ctime = now;
	return relocate(fs, &d, s, 2, keep);
}

/* A new placeholder record for slot ino at the tail, the slot pointed
 * at it. */
static int new_placeholder(struct efs *fs, uint32_t ino)
{
	uint8_t ph[BASE_RECORD];
	uint64_t off;
	int err = efs_alloc(fs, BASE_RECORD, &off);
	if (err)
		return err;
	efs_placeholder(ino, ph);
	err = efs_direct(fs, off, ph, BASE_RECORD);
	if (!err)
		err = patch_slot(fs, ino, off);
	if (!err) {
		fs->cap[ino - 1] = off + BASE_RECORD;
		efs_set_safe(fs, ino, off);
	}
	return err;
}

/* Turns slot ino into a free placeholder, in its record's place. */
static int free_slot(struct efs *fs, uint32_t ino)
{
	struct efs_node nd;
	uint8_t ph[BASE_RECORD];
	int err = efs_node_get(fs, ino, &nd);
	if (err)
		return err;
	efs_placeholder(ino, ph);
	if (nd.rec_size >= BASE_RECORD)
		err = put(fs, efs_safe(fs, ino, &nd), nd.rec, ph, BASE_RECORD);
	else
		err = new_placeholder(fs, ino);
	if (err)
		return err;
	fs->garbage += nd.rec_size > BASE_RECORD ? nd.rec_size - BASE_RECORD : 0;
	fs->state[ino - 1] = SLOT_FREE;
	fs->nfree++;
	forget(fs, ino);
	return 0;
}

/* Finds name in dir: its entry (a copy) or NOT_FOUND. */
static int find_entry(struct efs *fs, uint32_t dir, const char *name,
		      size_t nl, struct dent *out)
{
	struct efs_node d;
	struct dcache *dc;
	int err = efs_node_get(fs, dir, &d);
	if (!err)
		err = efs_dir_get(fs, &d, &dc);
	if (err)
		return err;
	int i = efs_dir_find(dc, name, nl);
	if (i < 0)
		return EFS_ERR_NOT_FOUND;
	*out = dc->ents[i];
	out->name = 0;	/* points into a cache that changes may drop */
	return 0;
}

/* --- creating ----------------------------------------------------------- */

static int make_node(struct efs *fs, const char *path, uint8_t kind,
		     uint32_t mode, const char *target, uint32_t *out)
{
	uint32_t parent, ino;
	const char *name;
	size_t nl, tl = target ? strlen(target) : 0;
	struct dent e;
	struct efs_node p;
	int err = begin(fs);
	if (!err)
		err = efs_resolve_parent(fs, path, &parent, &name, &nl);
	if (err)
		return err;
	err = find_entry(fs, parent, name, nl, &e);
	if (err != EFS_ERR_NOT_FOUND)
		return err ? err : EFS_ERR_EXISTS;
	if (kind == EFS_SYMLINK && (tl == 0 || tl > EFS_PATH_MAX))
		return EFS_ERR_INVALID;
	err = efs_node_get(fs, parent, &p);
	if (err)
		return err;
	uint64_t size = record_bytes(tl);
	uint64_t cap = (size + RECORD_SLACK_MIN - 1) / RECORD_SLACK_MIN *
		       RECORD_SLACK_MIN;
	uint64_t need = add_need(fs, &p, nl);
	if (free_bytes(fs) < cap + need)
		return EFS_ERR_NO_SPACE;
	err = efs_alloc_slot(fs, &ino);
	if (err)
		return err;
	uint64_t now = efs_now(fs), off;
	struct efs_node n = {
		.ino = ino, .kind = kind, .nlink = kind == EFS_DIR ? 2 : 1,
		.mode = (kind == EFS_DIR ? 0040000u : kind == EFS_SYMLINK ?
			 0120000u : 0100000u) | (mode & 07777),
		.size = tl, .atime = now, .mtime = now, .ctime = now,
		.rec_size = (uint32_t)size, .data_len = (uint32_t)tl,
	};
	uint8_t hdr[V_DATA];
	err = efs_alloc(fs, cap, &off);
	if (!err)
		err = efs_direct(fs, off, hdr, efs_node_encode(&n, hdr));
	if (!err && tl)
		err = efs_direct(fs, off + V_DATA, target, tl);
	if (!err)
		err = dir_add(fs, parent, name, nl, ino, now, 0);
	if (!err)
		err = patch_slot(fs, ino, off);
	if (err)
		return finish(fs, err, 1);
	fs->cap[ino - 1] = off + cap;
	efs_set_safe(fs, ino, off);
	forget(fs, ino);
	if (out)
		*out = ino;
	return 0;
}

int efs_create(struct efs *fs, const char *path, uint32_t mode, uint32_t *ino)
{
	return make_node(fs, path, EFS_FILE, mode, 0, ino);
}

int efs_mkdir(struct efs *fs, const char *path, uint32_t mode)
{
	return make_node(fs, path, EFS_DIR, mode, 0, 0);
}

int efs_symlink(struct efs *fs, const char *target, const char *path)
{
	if (!target)
		return EFS_ERR_INVALID;
	return make_node(fs, path, EFS_SYMLINK, 0777, target, 0);
}

/* --- file content ------------------------------------------------------- */

static int file_node(struct efs *fs, uint32_t ino, struct efs_node *nd)
{
	int err = efs_node_get(fs, ino, nd);
	if (err)
		return err;
	if (nd->kind == EFS_DIR)
		return EFS_ERR_IS_DIR;
	return nd->kind == EFS_FILE ? 0 : EFS_ERR_INVALID;
}

/* Sets bytes [off, off+len) of the content to buf (NULL: zeros), growing
 * the file as needed; truncates first to `cut` when cut < size. */
static int set_content(struct efs *fs, struct efs_node *nd, uint64_t off,
		       const void *buf, uint64_t len)
{
	uint64_t L = nd->data_len, end = off + len;
	uint64_t nl = end > L ? end : L, now = efs_now(fs);
	if (end > CONTENT_MAX || off > CONTENT_MAX)
		return EFS_ERR_TOO_BIG;
	uint64_t data = nd->rec + V_DATA, safe = efs_safe(fs, nd->ino, nd);
	uint64_t lo = off < L ? off : L;	/* first byte that changes */
	if (in_place(fs, nd, data + lo, end - lo, data + nl)) {
		int err = efs_grow(fs, nd->ino, data + nl);
		if (!err && off > L)
			err = put_zero(fs, safe, data + L, off - L);
		if (!err)
			err = buf ? put(fs, safe, data + off, buf, len)
				  : put_zero(fs, safe, data + off, len);
		return finish(fs, err ? err : set_header(fs, nd, nl, now), 1);
	}
	struct seg s[4];
	int k = 0;
	s[k++] = (struct seg){ SEG_OLD, 0, 0, lo };
	if (off > L)
		s[k++] = (struct seg){ SEG_ZERO, 0, 0, off - L };
	s[k++] = (struct seg){ buf ? SEG_BUF : SEG_ZERO, 0, buf, len };
	if (end < L)
		s[k++] = (struct seg){ SEG_OLD, end, 0, L - end };
	nd->mtime = nd->ctime = now;
	int err = relocate(fs, nd, s, k, 0);
	return err == EFS_ERR_NO_SPACE || err == EFS_ERR_TOO_BIG
		       ? err : finish(fs, err, 1);
}

int64_t efs_write(struct efs *fs, uint32_t ino, uint64_t off,
		  const void *buf, size_t len)
{
	struct efs_node nd;
	int err = begin(fs);
	if (!err)
		err = file_node(fs, ino, &nd);
	if (err)
		return err;
	if (!len)
		return 0;
	err = set_content(fs, &nd, off, buf, len);
	return err ? err : (int64_t)len;
}

int64_t efs_append(struct efs *fs, uint32_t ino, const void *buf, size_t len)
{
	struct efs_node nd;
	int err = file_node(fs, ino, &nd);
	if (err)
		return err;
	return efs_write(fs, ino, nd.data_len, buf, len);
}

int efs_truncate(struct efs *fs, uint32_t ino, uint64_t size)
{
	struct efs_node nd;
	int err = begin(fs);
	if (!err)
		err = file_node(fs, ino, &nd);
	if (err)
		return err;
	if (size > CONTENT_MAX)
		return EFS_ERR_TOO_BIG;
	if (size > nd.data_len)
		return set_content(fs, &nd, nd.data_len, 0,
				   size - nd.data_len);
	if (size == nd.data_len)
		return 0;
	if (nd.canonical)
		return finish(fs, set_header(fs, &nd, size, efs_now(fs)), 1);
	struct seg s = { SEG_OLD, 0, 0, size };
	nd.mtime = nd.ctime = efs_now(fs);
	err = relocate(fs, &nd, &s, 1, 0);
	return err == EFS_ERR_NO_SPACE ? err : finish(fs, err, 1);
}

/* --- removing and renaming ----------------------------------------------- */

static int remove_node(struct efs *fs, const char *path, int want_dir)
{
	uint32_t parent;
	const char *name;
	size_t nl;
	struct dent e;
	struct efs_node c, p;
	int err = begin(fs);
	if (!err)
		err = efs_resolve_parent(fs, path, &parent, &name, &nl);
	if (!err)
		err = find_entry(fs, parent, name, nl, &e);
	if (!err)
		err = efs_node_get(fs, e.ino, &c);
	if (!err)
		err = efs_node_get(fs, parent, &p);
	if (err)
		return err;
	if (want_dir && c.kind != EFS_DIR)
		return EFS_ERR_NOT_DIR;
	if (!want_dir && c.kind == EFS_DIR)
		return EFS_ERR_IS_DIR;
	if (want_dir && c.data_len)
		return EFS_ERR_NOT_EMPTY;
	if (free_bytes(fs) < remove_need(fs, &p, &e) + BASE_RECORD)
		return EFS_ERR_NO_SPACE;
	err = dir_remove(fs, parent, e.pos, 8 + e.name_len, efs_now(fs), 0);
	if (!err)
		err = free_slot(fs, e.ino);
	return finish(fs, err, 1);
}

int efs_unlink(struct efs *fs, const char *path)
{
	return remove_node(fs, path, 0);
}

int efs_rmdir(struct efs *fs, const char *path)
{
	return remove_node(fs, path, 1);
}

/* Whether directory `inner` is `outer` or lies below it. */
static int inside(struct efs *fs, uint32_t outer, uint32_t inner, int *yes)
{
	uint32_t *q = malloc((size_t)fs->n * sizeof(*q));
	uint32_t h = 0, t = 0;
	int err = 0;
	if (!q)
		return EFS_ERR_NO_MEMORY;
	*yes = 0;
	q[t++] = outer;
	while (h < t && !err && !*yes) {
		struct efs_node d;
		struct dcache *dc;
		uint32_t cur = q[h++];
		if (cur == inner)
			*yes = 1;
		err = efs_node_get(fs, cur, &d);
		if (err || d.kind != EFS_DIR)
			continue;
		err = efs_dir_get(fs, &d, &dc);
		for (uint32_t i = 0; !err && i < dc->n && t < fs->n; i++)
			q[t++] = dc->ents[i].ino;
	}
	free(q);
	return err;
}

/* Checks a rename's target; sets *replace when it exists. */
static int check_target(struct efs *fs, const struct efs_node *s,
			uint32_t p2, const char *n2, size_t l2,
			struct dent *dst, int *replace)
{
	struct efs_node d;
	int err = find_entry(fs, p2, n2, l2, dst);
	*replace = 0;
	if (err == EFS_ERR_NOT_FOUND)
		return 0;
	if (!err)
		err = efs_node_get(fs, dst->ino, &d);
	if (err)
		return err;
	if (s->kind == EFS_DIR && d.kind != EFS_DIR)
		return EFS_ERR_NOT_DIR;
	if (s->kind != EFS_DIR && d.kind == EFS_DIR)
		return EFS_ERR_IS_DIR;
	if (d.kind == EFS_DIR && d.data_len)
		return EFS_ERR_NOT_EMPTY;
	*replace = 1;
	return 0;
}

int efs_rename(struct efs *fs, const char *from, const char *to)
{
	uint32_t p1, p2;
	const char *n1, *n2;
	size_t l1, l2;
	struct dent e1, e2;
	struct efs_node s, d1, d2;
	int replace, under, err = begin(fs);
	if (!err)
		err = efs_resolve_parent(fs, from, &p1, &n1, &l1);
	if (!err)
		err = efs_resolve_parent(fs, to, &p2, &n2, &l2);
	if (!err)
		err = find_entry(fs, p1, n1, l1, &e1);
	if (!err)
		err = efs_node_get(fs, e1.ino, &s);
	if (err)
		return err;
	if (p1 == p2 && l1 == l2 && !memcmp(n1, n2, l1))
		return 0;
	if (s.kind == EFS_DIR) {
		err = inside(fs, s.ino, p2, &under);
		if (err || under)
			return err ? err : EFS_ERR_INVALID;
	}
	err = check_target(fs, &s, p2, n2, l2, &e2, &replace);
	if (!err && replace && e2.ino == s.ino)
		return 0;
	if (!err)
		err = efs_node_get(fs, p1, &d1);
	if (!err)
		err = efs_node_get(fs, p2, &d2);
	if (err)
		return err;
	uint64_t now = efs_now(fs);
	uint64_t need1 = remove_need(fs, &d1, &e1);
	uint64_t need2 = replace ? BASE_RECORD : add_need(fs, &d2, l2);
	/* The same directory may be rewritten twice. */
	if (free_bytes(fs) < need1 + need2 + (p1 == p2 ? need2 : 0))
		return EFS_ERR_NO_SPACE;
	if (replace) {
		uint8_t c[4];
		efs_st32(c, s.ino);
		err = put(fs, efs_safe(fs, p2, &d2), d2.data + e2.pos + 4, c, 4);
		forget(fs, p2);
		if (!err)
			err = set_header(fs, &d2, d2.data_len, now);
	} else {
		err = dir_add(fs, p2, n2, l2, s.ino, now, need1);
	}
	/* Positions in p1 are unchanged by either step; look again anyway,
	 * the record may have moved. */
	if (!err)
		err = find_entry(fs, p1, n1, l1, &e1);
	if (!err)
		err = dir_remove(fs, p1, e1.pos, 8 + e1.name_len, now, 0);
	if (!err && replace)
		err = free_slot(fs, e2.ino);
	return finish(fs, err, 1);
}

/* --- attributes ------------------------------------------------------------ */

/* Gets a canonical node, rewriting a foreign-layout record first. */
static int canonical_node(struct efs *fs, uint32_t ino, struct efs_node *nd)
{
	int err = efs_node_get(fs, ino, nd);
	if (err || nd->canonical)
		return err;
	struct seg s = { SEG_OLD, 0, 0, nd->data_len };
	return relocate(fs, nd, &s, 1, 0);
}

/* One fixed-size base tag's new value. */
struct field {
	uint32_t at;		/* V_* offset in a canonical record */
	uint8_t bytes;		/* 4 or 8 */
	uint64_t value;
};

/* Sets base tags of ino's record in place (journaled), making it
 * canonical first. A MODE keeps the kind's type bits. */
static int set_fields(struct efs *fs, uint32_t ino, struct field *f, int n)
{
	struct efs_node nd;
	int err = begin(fs);
	if (!err)
		err = canonical_node(fs, ino, &nd);
	if (err)
		return err;
	for (int i = 0; !err && i < n; i++) {
		if (f[i].at == V_MODE)
			f[i].value = (nd.mode & S_IFMT_) | (f[i].value & 07777);
		err = f[i].bytes == 4
			      ? efs_patch32(fs, nd.rec + f[i].at, (uint32_t)f[i].value)
			      : efs_patch64(fs, nd.rec + f[i].at, f[i].value);
	}
	forget(fs, ino);
	return finish(fs, err, 1);
}

int efs_chmod(struct efs *fs, uint32_t ino, uint32_t mode)
{
	struct field f[] = { { V_MODE, 4, mode }, { V_CTIME, 8, efs_now(fs) } };
	return set_fields(fs, ino, f, 2);
}

int efs_chown(struct efs *fs, uint32_t ino, uint32_t uid, uint32_t gid)
{
	struct field f[] = { { V_UID, 4, uid }, { V_GID, 4, gid },
			     { V_CTIME, 8, efs_now(fs) } };
	return set_fields(fs, ino, f, 3);
}

int efs_set_times(struct efs *fs, uint32_t ino, uint64_t atime,
		  uint64_t mtime)
{
	struct field f[] = { { V_ATIME, 8, atime }, { V_MTIME, 8, mtime } };
	return set_fields(fs, ino, f, 2);
}

int efs_sync(struct efs *fs)
{
	return efs_commit(fs);
}

/* --- for fsck ---------------------------------------------------------------- */

int efs_op_set_entries(struct efs *fs, uint32_t dir, const uint8_t *ents,
		       uint32_t len)
{
	struct efs_node d;
	int err = begin(fs);
	if (!err)
		err = efs_node_get(fs, dir, &d);
	if (err)
		return err;
	struct seg s = { SEG_BUF, 0, ents, len };
	d.mtime = d.ctime = efs_now(fs);
	return relocate(fs, &d, &s, 1, 0);
}

int efs_op_clear_slot(struct efs *fs, uint32_t ino)
{
	int err = begin(fs);
	if (err)
		return err;
	err = new_placeholder(fs, ino);
	if (err)	/* no space: nothing written; else stop writing */
		return finish(fs, err, err != EFS_ERR_NO_SPACE);
	fs->state[ino - 1] = SLOT_FREE;
	fs->nfree++;
	forget(fs, ino);
	return 0;
}

int efs_op_link(struct efs *fs, uint32_t dir, const char *name,
		uint32_t child)
{
	struct efs_node d;
	size_t nl = strlen(name);
	int err = begin(fs);
	if (!err)
		err = efs_node_get(fs, dir, &d);
	if (!err && free_bytes(fs) < add_need(fs, &d, nl))
		err = EFS_ERR_NO_SPACE;
	if (err)
		return err;
	return finish(fs, dir_add(fs, dir, name, nl, child, efs_now(fs), 0),
		      1);
}
