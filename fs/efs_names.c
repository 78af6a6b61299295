/* Changes to names: directory entries, create (files, directories,
 * symlinks), remove, rename, and the small steps fsck's repairs take.
 * Each change runs as efs_write.c describes: begin, plan the space, write,
 * finish; it runs again (efs_again) after room was made or the table
 * grew. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

/* Whether a change of [off, off+len) of directory d's entries, ending its
 * record at new_end, can be made where the record is. */
static int in_place(struct efs *fs, const struct efs_node *d, uint64_t off,
		    uint64_t len, uint64_t new_end)
{
	return d->canonical &&
	       efs_journal_cost(fs, efs_safe(fs, d->ino, d), off, len) <=
		       PATCH_MAX_BLOCKS &&
	       efs_fits(fs, d->ino, new_end);
}

/* The space adding an entry of nl name bytes to d takes. */
static struct efs_need add_need(struct efs *fs, const struct efs_node *d,
				size_t nl)
{
	uint64_t pos = d->rec + V_DATA + d->data_len, e = 8 + nl;
	if (in_place(fs, d, pos, e, pos + e))
		return efs_grow_need(fs, d->ino, pos + e);
	return efs_move_need(d, d->data_len + e);
}

static int dir_add(struct efs *fs, uint32_t dir, const char *name,
		   size_t nl, uint32_t child, uint64_t now)
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
	/* The cached entries get the new one appended: no re-reading. */
	struct dcache dc;
	efs_dir_detach(fs, &d, &dc);
	if (in_place(fs, &d, pos, 8 + nl, pos + 8 + nl)) {
		err = efs_grow(fs, dir, pos + 8 + nl, 1);
		if (!err)
			err = efs_put(fs, efs_safe(fs, dir, &d), pos, ent, 8 + nl);
		if (!err)
			err = efs_set_header(fs, &d, len, now);
	} else {
		struct efs_seg s[2] = { { SEG_OLD, 0, 0, d.data_len },
					{ SEG_BUF, 0, ent, 8 + nl } };
		d.mtime = d.ctime = now;
		err = efs_relocate(fs, &d, s, 2);
	}
	if (!err)
		err = efs_node_get(fs, dir, &d);
	efs_dir_attach(fs, &dc, !err, &d, ent, (uint32_t)(8 + nl));
	return err;
}

static struct efs_need remove_need(struct efs *fs, const struct efs_node *d,
				   const struct dent *e)
{
	uint64_t at = d->rec + V_DATA + e->pos, el = 8 + e->name_len;
	if (in_place(fs, d, at, d->data_len - e->pos - el, d->rec + d->rec_size))
		return (struct efs_need){ 0, 0, ALIGN_NONE, 0 };
	return efs_move_need(d, d->data_len - el);
}

/* Removes the entry at byte pos (el bytes) of directory dir. */
static int dir_remove(struct efs *fs, uint32_t dir, uint32_t pos, uint32_t el,
		      uint64_t now)
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
			err = efs_put(fs, efs_safe(fs, dir, &d), at, tmp, rest);
		free(tmp);
		if (!err)
			err = efs_set_header(fs, &d, d.data_len - el, now);
		efs_dir_forget(fs, dir);
		return err;
	}
	struct efs_seg s[2] = { { SEG_OLD, 0, 0, pos },
				{ SEG_OLD, pos + el, 0, rest } };
	d.mtime = d.ctime = now;
	return efs_relocate(fs, &d, s, 2);
}

/* A new placeholder record for slot ino in free space, the slot pointed
 * at it. */
static int new_placeholder(struct efs *fs, uint32_t ino)
{
	uint8_t ph[BASE_RECORD];
	uint64_t off;
	int err = efs_claim(fs, BASE_RECORD, ALIGN_NONE, &off);
	if (err)
		return err;
	efs_placeholder(ino, ph);
	err = efs_direct(fs, off, ph, BASE_RECORD);
	if (!err)
		err = efs_patch_slot(fs, ino, off);
	if (!err) {
		fs->cap[ino - 1] = off + BASE_RECORD;
		efs_set_safe(fs, ino, off);
	}
	return err;
}

/* The space turning slot ino into a placeholder takes: none when its
 * record can become one where it is. */
static struct efs_need free_need(struct efs *fs, uint32_t ino)
{
	struct efs_node nd;
	if (!efs_node_get(fs, ino, &nd) && nd.rec_size < BASE_RECORD)
		return (struct efs_need){ BASE_RECORD, 0, ALIGN_NONE, 0 };
	return (struct efs_need){ 0, 0, ALIGN_NONE, 0 };
}

/* Turns slot ino into a free placeholder, in its record's place; the rest
 * of the record's space is free once this commits. */
static int free_slot(struct efs *fs, uint32_t ino)
{
	struct efs_node nd;
	uint8_t ph[BASE_RECORD];
	int err = efs_node_get(fs, ino, &nd);
	if (err)
		return err;
	efs_placeholder(ino, ph);
	if (nd.rec_size >= BASE_RECORD) {
		err = efs_put(fs, efs_safe(fs, ino, &nd), nd.rec, ph,
			      BASE_RECORD);
		if (!err) {
			efs_free_later(fs, nd.rec + BASE_RECORD,
				       fs->cap[ino - 1]);
			fs->cap[ino - 1] = nd.rec + BASE_RECORD;
		}
	} else {
		err = new_placeholder(fs, ino);
		if (!err)
			efs_free_later(fs, nd.rec, nd.rec + nd.rec_size);
	}
	if (err)
		return err;
	fs->state[ino - 1] = SLOT_FREE;
	fs->nfree++;
	efs_forget(fs, ino);
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
	return 0;
}

/* --- creating ----------------------------------------------------------- */

/* Takes a free slot; its placeholder's space is free once this commits. */
static int take_slot(struct efs *fs, uint32_t *ino)
{
	struct efs_node ph;
	int err = efs_alloc_slot(fs, ino);
	if (err)
		return err;
	if (!efs_node_get(fs, *ino, &ph))
		efs_free_later(fs, ph.rec, fs->cap[*ino - 1]);
	return 0;
}

static int make_node(struct efs *fs, const char *path, uint8_t kind,
		     uint32_t mode, const char *target, uint32_t *out)
{
	uint32_t parent, ino;
	const char *name;
	size_t nl, tl = target ? strlen(target) : 0;
	struct dent e;
	struct efs_node p;
	int err = efs_wbegin(fs);
	if (!err)
		err = efs_resolve_parent(fs, path, &parent, &name, &nl);
	if (!err)
		err = efs_check_name(name, nl);	/* what umbra writes */
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
	if (!fs->nfree) {	/* the table grows, then this starts again */
		err = efs_grow_table(fs, 0);
		return err ? err : EFS_ERR_AGAIN;
	}
	uint64_t size = efs_record_bytes(tl), now = efs_now(fs), off;
	struct efs_need needs[2] = { { size, 0, ALIGN_NONE, 0 },
				     add_need(fs, &p, nl) };
	err = efs_wplan(fs, needs, 2);
	if (!err)
		err = take_slot(fs, &ino);
	if (err)
		return efs_wfinish(fs, err, 0);
	struct efs_node n = {
		.ino = ino, .kind = kind, .nlink = kind == EFS_DIR ? 2 : 1,
		.mode = (kind == EFS_DIR ? 0040000u : kind == EFS_SYMLINK ?
			 0120000u : 0100000u) | (mode & 07777),
		.size = tl, .atime = now, .mtime = now, .ctime = now,
		.rec_size = (uint32_t)size, .data_len = (uint32_t)tl,
	};
	uint8_t hdr[V_DATA];
	err = efs_claim(fs, size, ALIGN_NONE, &off);
	uint64_t slack = err ? 0 : efs_extend(fs, off + size, RECORD_SLACK_MIN);
	if (!err)
		err = efs_direct(fs, off, hdr, efs_node_encode(&n, hdr));
	if (!err && tl)
		err = efs_direct(fs, off + V_DATA, target, tl);
	if (!err)
		err = dir_add(fs, parent, name, nl, ino, now);
	if (!err)
		err = efs_patch_slot(fs, ino, off);
	if (err)
		return efs_wfinish(fs, err, 1);
	fs->cap[ino - 1] = off + size + slack;
	efs_set_safe(fs, ino, off);
	efs_forget(fs, ino);
	if (out)
		*out = ino;
	return efs_wfinish(fs, 0, 1);
}

static int make(struct efs *fs, const char *path, uint8_t kind,
		uint32_t mode, const char *target, uint32_t *out)
{
	int err, tries = 0;
	do
		err = make_node(fs, path, kind, mode, target, out);
	while (efs_again(fs, &err, &tries));
	return err;
}

int efs_create(struct efs *fs, const char *path, uint32_t mode, uint32_t *ino)
{
	return make(fs, path, EFS_FILE, mode, 0, ino);
}

int efs_mkdir(struct efs *fs, const char *path, uint32_t mode)
{
	return make(fs, path, EFS_DIR, mode, 0, 0);
}

int efs_symlink(struct efs *fs, const char *target, const char *path)
{
	if (!target)
		return EFS_ERR_INVALID;
	return make(fs, path, EFS_SYMLINK, 0777, target, 0);
}

/* --- removing and renaming ----------------------------------------------- */

static int remove_node(struct efs *fs, const char *path, int want_dir)
{
	uint32_t parent;
	const char *name;
	size_t nl;
	struct dent e;
	struct efs_node c, p;
	int err = efs_wbegin(fs);
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
	/* A delete may use the reserve: a full volume can be emptied. */
	fs->spend_keep = 1;
	struct efs_need needs[2] = { remove_need(fs, &p, &e),
				     free_need(fs, e.ino) };
	err = efs_wplan(fs, needs, 2);
	if (err)
		return efs_wfinish(fs, err, 0);
	err = dir_remove(fs, parent, e.pos, 8 + e.name_len, efs_now(fs));
	if (!err)
		err = free_slot(fs, e.ino);
	return efs_wfinish(fs, err, 1);
}

static int remove_path(struct efs *fs, const char *path, int want_dir)
{
	int err, tries = 0;
	do
		err = remove_node(fs, path, want_dir);
	while (efs_again(fs, &err, &tries));
	return err;
}

int efs_unlink(struct efs *fs, const char *path)
{
	return remove_path(fs, path, 0);
}

int efs_rmdir(struct efs *fs, const char *path)
{
	return remove_path(fs, path, 1);
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

/* Points the existing entry e of directory d at inode child. */
static int retarget(struct efs *fs, const struct efs_node *d,
		    const struct dent *e, uint32_t child, uint64_t now)
{
	uint8_t c[4];
	efs_st32(c, child);
	int err = efs_put(fs, efs_safe(fs, d->ino, d), d->data + e->pos + 4,
			  c, 4);
	efs_dir_forget(fs, d->ino);
	return err ? err : efs_set_header(fs, d, d->data_len, now);
}

static int rename_once(struct efs *fs, const char *from, const char *to)
{
	uint32_t p1, p2;
	const char *n1, *n2;
	size_t l1, l2;
	struct dent e1, e2;
	struct efs_node s, d1, d2;
	int replace, under, err = efs_wbegin(fs);
	if (!err)
		err = efs_resolve_parent(fs, from, &p1, &n1, &l1);
	if (!err)
		err = efs_resolve_parent(fs, to, &p2, &n2, &l2);
	if (!err)
		err = efs_check_name(n2, l2);	/* what umbra writes */
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
	/* The same directory may be rewritten twice. */
	struct efs_need needs[3] = {
		remove_need(fs, &d1, &e1),
		replace ? free_need(fs, e2.ino) : add_need(fs, &d2, l2),
		p1 == p2 ? efs_move_need(&d1, d1.data_len + 8 + l2)
			 : (struct efs_need){ 0, 0, ALIGN_NONE, 0 },
	};
	err = efs_wplan(fs, needs, 3);
	if (err)
		return efs_wfinish(fs, err, 0);
	if (replace)
		err = retarget(fs, &d2, &e2, s.ino, now);
	else
		err = dir_add(fs, p2, n2, l2, s.ino, now);
	/* Positions in p1 are unchanged by either step; look again anyway,
	 * the record may have moved. */
	if (!err)
		err = find_entry(fs, p1, n1, l1, &e1);
	if (!err)
		err = dir_remove(fs, p1, e1.pos, 8 + e1.name_len, now);
	if (!err && replace)
		err = free_slot(fs, e2.ino);
	return efs_wfinish(fs, err, 1);
}

int efs_rename(struct efs *fs, const char *from, const char *to)
{
	int err, tries = 0;
	do
		err = rename_once(fs, from, to);
	while (efs_again(fs, &err, &tries));
	return err;
}

/* --- for fsck ---------------------------------------------------------------- */

static int set_entries_once(struct efs *fs, uint32_t dir, const uint8_t *ents,
			    uint32_t len)
{
	struct efs_node d;
	int err = efs_wbegin_node(fs, dir, &d);
	if (err)
		return err;
	fs->spend_keep = 1;
	struct efs_seg s = { SEG_BUF, 0, ents, len };
	int wrote;
	d.mtime = d.ctime = efs_now(fs);
	err = efs_rewrite(fs, &d, &s, 1, &wrote);
	return efs_wfinish(fs, err, wrote);
}

int efs_op_set_entries(struct efs *fs, uint32_t dir, const uint8_t *ents,
		       uint32_t len)
{
	int err, tries = 0;
	do
		err = set_entries_once(fs, dir, ents, len);
	while (efs_again(fs, &err, &tries));
	return err;
}

static int clear_slot_once(struct efs *fs, uint32_t ino)
{
	int err = efs_wbegin(fs);
	if (err)
		return err;
	fs->spend_keep = 1;
	struct efs_need need = { BASE_RECORD, 0, ALIGN_NONE, 0 };
	err = efs_wplan(fs, &need, 1);
	if (err)
		return efs_wfinish(fs, err, 0);
	/* The bad record's bytes stay taken until a scan finds them free:
	 * nothing trustworthy says where it ends. */
	err = new_placeholder(fs, ino);
	if (!err) {
		fs->state[ino - 1] = SLOT_FREE;
		fs->nfree++;
		efs_forget(fs, ino);
	}
	return efs_wfinish(fs, err, 1);
}

int efs_op_clear_slot(struct efs *fs, uint32_t ino)
{
	int err, tries = 0;
	do
		err = clear_slot_once(fs, ino);
	while (efs_again(fs, &err, &tries));
	return err;
}

int efs_op_fix_entry(struct efs *fs, uint32_t ino)
{
	uint64_t abs;
	int err = efs_wbegin(fs);
	if (!err)
		err = efs_slot_offset(fs, ino, &abs);
	if (err)
		return err;
	return efs_wfinish(fs, efs_patch_slot(fs, ino, abs), 1);
}

static int rewrite_once(struct efs *fs, uint32_t ino)
{
	struct efs_node nd;
	int err = efs_wbegin_node(fs, ino, &nd);
	if (err)
		return err;
	fs->spend_keep = 1;
	struct efs_seg s = { SEG_OLD, 0, 0, nd.data_len };
	int wrote;
	err = efs_rewrite(fs, &nd, &s, 1, &wrote);
	return efs_wfinish(fs, err, wrote);
}

int efs_op_rewrite(struct efs *fs, uint32_t ino)
{
	int err, tries = 0;
	do
		err = rewrite_once(fs, ino);
	while (efs_again(fs, &err, &tries));
	return err;
}

int efs_op_set_size(struct efs *fs, uint32_t ino, uint32_t size)
{
	uint64_t rec;
	int err = efs_wbegin(fs);
	if (!err)
		err = efs_slot_offset(fs, ino, &rec);
	if (err)
		return err;
	/* The scan gave the record what its old size covered (bad_extent):
	 * the rest must be free, or another record lies there. */
	uint64_t *cap = &fs->cap[ino - 1];
	if (rec + size > *cap) {
		err = efs_take(fs, *cap, rec + size);
		if (err)
			return efs_wfinish(fs, err, 0);
		*cap = rec + size;
	}
	err = efs_patch32(fs, rec + REC_SIZE, size);
	if (!err)
		fs->state[ino - 1] = SLOT_LIVE;
	efs_forget(fs, ino);
	return efs_wfinish(fs, err, 1);
}

static int link_once(struct efs *fs, uint32_t dir, const char *name,
		     uint32_t child)
{
	struct efs_node d;
	size_t nl = strlen(name);
	int err = efs_wbegin_node(fs, dir, &d);
	if (err)
		return err;
	fs->spend_keep = 1;
	struct efs_need need = add_need(fs, &d, nl);
	err = efs_wplan(fs, &need, 1);
	if (err)
		return efs_wfinish(fs, err, 0);
	return efs_wfinish(fs, dir_add(fs, dir, name, nl, child, efs_now(fs)),
			   1);
}

int efs_op_link(struct efs *fs, uint32_t dir, const char *name,
		uint32_t child)
{
	int err, tries = 0;
	do
		err = link_once(fs, dir, name, child);
	while (efs_again(fs, &err, &tries));
	return err;
}
