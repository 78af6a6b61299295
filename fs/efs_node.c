/* Records (format §3): the table lookup, parsing with every check of
 * format §7.4, the canonical encoding, and directory entries. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define MAX_DIRENTS (256u << 20)	/* sanity bound on one directory */

void efs_table_entry(uint8_t *e, uint32_t width, uint32_t ino, uint64_t rel)
{
	if (width == 8) {
		efs_st32(e, ino);
		efs_st32(e + 4, (uint32_t)rel);
	} else {
		efs_st64(e, ino);
		efs_st64(e + 8, rel);
	}
}

int efs_slot_offset(struct efs *fs, uint32_t ino, uint64_t *off)
{
	if (ino < 1 || ino > fs->n)
		return EFS_ERR_CORRUPT;
	const uint8_t *e = fs->table + (uint64_t)(ino - 1) * fs->width;
	uint64_t rel = fs->width == 8 ? efs_ld32(e + 4) : efs_ld64(e + 8);
	if (rel > fs->io.size - fs->area_off)
		return EFS_ERR_CORRUPT;
	*off = fs->area_off + rel;
	return 0;
}

int efs_entry_ok(struct efs *fs, uint32_t ino)
{
	const uint8_t *e = fs->table + (uint64_t)(ino - 1) * fs->width;
	return (fs->width == 8 ? efs_ld32(e) : efs_ld64(e)) == ino;
}

void efs_slot_set(struct efs *fs, uint32_t ino, uint64_t abs)
{
	uint8_t *e = fs->table + (uint64_t)(ino - 1) * fs->width;
	efs_table_entry(e, fs->width, ino, abs - fs->area_off);
}

int efs_patch_slot(struct efs *fs, uint32_t ino, uint64_t abs)
{
	uint64_t at = (uint64_t)(ino - 1) * fs->width;
	efs_slot_set(fs, ino, abs);
	return efs_patch(fs, fs->table_off + at, fs->table + at, fs->width);
}

void efs_forget(struct efs *fs, uint32_t ino)
{
	efs_node_forget(fs, ino);
	efs_dir_forget(fs, ino);
}

#define WINDOW 256	/* a record's first bytes, read at once */

struct parse {
	struct efs_node *nd;
	uint8_t win[WINDOW];	/* the record's first win_len bytes */
	uint32_t win_len;
	int seen_type, seen_content, seen_dirents, order_ok;
	uint32_t base_seen;	/* bit t set: base tag t seen */
	uint16_t last_tag;
	uint64_t content, dirents;
	uint32_t content_len, dirents_len;
};

/* One fixed-size tag: exact lengths as the strict loader demands. */
static int fixed_tag(struct parse *p, uint16_t tag, const uint8_t *v,
		     uint32_t len)
{
	struct efs_node *nd = p->nd;
	uint32_t want = tag == TAG_NODE_TYPE ? 1
		      : (tag == TAG_SIZE || tag == TAG_ATIME || tag == TAG_MTIME ||
			 tag == TAG_CTIME) ? 8 : 4;
	if (len != want)
		return EFS_ERR_CORRUPT;
	switch (tag) {
	case TAG_NODE_TYPE:
		if (v[0] < EFS_FILE || v[0] > EFS_SYMLINK)
			return EFS_ERR_CORRUPT;
		nd->kind = v[0];
		p->seen_type = 1;
		break;
	case TAG_MODE: nd->mode = efs_ld32(v); break;
	case TAG_UID: nd->uid = efs_ld32(v); break;
	case TAG_GID: nd->gid = efs_ld32(v); break;
	case TAG_SIZE: nd->size = efs_ld64(v); break;
	case TAG_ATIME: nd->atime = efs_ld64(v); break;
	case TAG_MTIME: nd->mtime = efs_ld64(v); break;
	case TAG_CTIME: nd->ctime = efs_ld64(v); break;
	case TAG_NLINK: nd->nlink = efs_ld32(v); break;
	}
	return 0;
}

/* len bytes at pos of the record: from the window when they lie in it. */
static int rec_read(struct efs *fs, struct parse *p, uint64_t rec,
		    uint64_t pos, void *buf, uint32_t len)
{
	if (pos + len <= p->win_len) {
		memcpy(buf, p->win + pos, len);
		return 0;
	}
	return efs_bread(fs, rec + pos, buf, len);
}

/* Walks the TLVs of the record at rec (rec_size bytes): fixed tags are
 * read, CONTENT and DIRENTS only located. */
static int parse_tlvs(struct efs *fs, struct parse *p, uint64_t rec,
		      uint32_t rec_size)
{
	uint64_t pos = REC_HDR;
	int err;
	while (pos < rec_size) {
		uint8_t h[TLV_HDR + 8];
		if (rec_size - pos < TLV_HDR)
			return EFS_ERR_CORRUPT;
		err = rec_read(fs, p, rec, pos, h, TLV_HDR);
		if (err)
			return err;
		uint16_t tag = efs_ld16(h);
		uint32_t len = efs_ld32(h + 2);
		if (len > rec_size - pos - TLV_HDR)
			return EFS_ERR_CORRUPT;	/* overruns the record */
		uint64_t v = rec + pos + TLV_HDR;
		if (tag >= TAG_NODE_TYPE && tag <= TAG_NLINK) {
			p->base_seen |= 1u << tag;
			if (len > 8)
				return EFS_ERR_CORRUPT;
			err = rec_read(fs, p, rec, v - rec, h + TLV_HDR, len);
			if (!err)
				err = fixed_tag(p, tag, h + TLV_HDR, len);
			if (err)
				return err;
		} else if (tag == TAG_CONTENT) {
			p->seen_content = 1;
			p->content = v;
			p->content_len = len;
		} else if (tag == TAG_DIRENTS) {
			p->seen_dirents = 1;
			p->dirents = v;
			p->dirents_len = len;
		}
		/* Canonical: each base tag once, ascending, data tag last. */
		if (tag <= p->last_tag || tag > TAG_DIRENTS)
			p->order_ok = 0;
		p->last_tag = tag;
		pos += TLV_HDR + len;
	}
	return 0;
}

static int finish_parse(struct efs *fs, const struct parse *p, uint64_t rec,
			uint32_t rec_size);

static int parse_record(struct efs *fs, uint32_t ino, struct efs_node *nd)
{
	uint64_t rec;
	int err = efs_slot_offset(fs, ino, &rec);
	if (err)
		return err;
	if (rec > fs->io.size - REC_HDR)
		return EFS_ERR_CORRUPT;
	struct parse ps = { .nd = nd, .order_ok = 1 }, *p = &ps;
	p->win_len = fs->io.size - rec < WINDOW ? (uint32_t)(fs->io.size - rec)
						: WINDOW;
	err = efs_bread(fs, rec, p->win, p->win_len);
	uint32_t rec_size = efs_ld32(p->win + REC_SIZE);
	if (!err && (efs_ld32(p->win + REC_INODE) != ino || rec_size < REC_HDR ||
		     rec_size > fs->io.size - rec))
		err = EFS_ERR_CORRUPT;
	if (err)
		return err;
	p->win_len = rec_size < p->win_len ? rec_size : p->win_len;
	/* Defaults as the std reader (format §3.7). */
	memset(nd, 0, sizeof(*nd));
	nd->ino = ino;
	nd->kind = EFS_FILE;
	nd->mode = MODE_FILE;
	nd->nlink = 1;
	nd->rec = rec;
	nd->rec_size = rec_size;
	err = parse_tlvs(fs, p, rec, rec_size);
	return err ? err : finish_parse(fs, p, rec, rec_size);
}

/* The checks that need every tag seen. */
static int finish_parse(struct efs *fs, const struct parse *p, uint64_t rec,
			uint32_t rec_size)
{
	struct efs_node *nd = p->nd;
	if (!p->seen_type)
		return EFS_ERR_CORRUPT;
	if (nd->kind == EFS_DIR ? p->seen_content : p->seen_dirents)
		return EFS_ERR_CORRUPT;
	if (nd->kind == EFS_DIR) {
		nd->has_data = (uint8_t)p->seen_dirents;
		nd->data = p->dirents;
		nd->data_len = p->dirents_len;
	} else {
		/* format §3.6: SIZE must equal the CONTENT length. */
		if (nd->size != (p->seen_content ? p->content_len : 0))
			return EFS_ERR_CORRUPT;
		nd->has_data = (uint8_t)p->seen_content;
		nd->data = p->content;
		nd->data_len = p->content_len;
	}
	if (nd->kind == EFS_SYMLINK) {
		/* format §3.6: a non-empty UTF-8 target of at most 4096. */
		uint8_t t[EFS_PATH_MAX];
		if (!nd->data_len || nd->data_len > EFS_PATH_MAX)
			return EFS_ERR_CORRUPT;
		int err = efs_bread(fs, nd->data, t, nd->data_len);
		if (err)
			return err;
		if (memchr(t, 0, nd->data_len) || !efs_utf8_ok(t, nd->data_len))
			return EFS_ERR_CORRUPT;
	}
	nd->complete = p->base_seen == 0x3fe;
	nd->canonical = p->order_ok && nd->complete &&
			(!nd->has_data || nd->data == rec + V_DATA);
	/* In order, each once, all nine base tags: then the data tag must
	 * end the record. */
	if (nd->canonical) {
		uint64_t end = nd->has_data ? nd->data + nd->data_len
					    : rec + BASE_RECORD;
		nd->canonical = end == rec + rec_size;
	}
	return 0;
}

int efs_node_get(struct efs *fs, uint32_t ino, struct efs_node *nd)
{
	struct efs_node *c = &fs->ncache[ino % NCACHE_SLOTS];
	if (ino && c->ino == ino) {
		*nd = *c;
		return 0;
	}
	int err = parse_record(fs, ino, nd);
	if (err)
		return err;
	*c = *nd;
	return 0;
}

void efs_node_forget(struct efs *fs, uint32_t ino)
{
	struct efs_node *c = &fs->ncache[ino % NCACHE_SLOTS];
	if (c->ino == ino)
		c->ino = 0;
}

static uint8_t *tlv(uint8_t *p, uint16_t tag, uint32_t len)
{
	efs_st16(p, tag);
	efs_st32(p + 2, len);
	return p + TLV_HDR;
}

size_t efs_node_encode(const struct efs_node *nd, uint8_t *out)
{
	uint8_t *p = out;
	efs_st32(p + REC_INODE, nd->ino);
	efs_st32(p + REC_SIZE, nd->rec_size);
	p += REC_HDR;
	p = tlv(p, TAG_NODE_TYPE, 1);
	*p++ = nd->kind;
	p = tlv(p, TAG_MODE, 4); efs_st32(p, nd->mode); p += 4;
	p = tlv(p, TAG_UID, 4); efs_st32(p, nd->uid); p += 4;
	p = tlv(p, TAG_GID, 4); efs_st32(p, nd->gid); p += 4;
	p = tlv(p, TAG_SIZE, 8); efs_st64(p, nd->size); p += 8;
	p = tlv(p, TAG_ATIME, 8); efs_st64(p, nd->atime); p += 8;
	p = tlv(p, TAG_MTIME, 8); efs_st64(p, nd->mtime); p += 8;
	p = tlv(p, TAG_CTIME, 8); efs_st64(p, nd->ctime); p += 8;
	p = tlv(p, TAG_NLINK, 4); efs_st32(p, nd->nlink); p += 4;
	if (nd->data_len)
		p = tlv(p, nd->kind == EFS_DIR ? TAG_DIRENTS : TAG_CONTENT,
			nd->data_len);
	return (size_t)(p - out);
}

void efs_placeholder(uint32_t ino, uint8_t *out)
{
	struct efs_node nd = { .ino = ino, .kind = EFS_FILE,
			       .rec_size = BASE_RECORD };
	efs_node_encode(&nd, out);
}

int efs_is_placeholder(const struct efs_node *nd)
{
	return nd->kind == EFS_FILE && nd->mode == 0 && nd->nlink == 0 &&
	       nd->size == 0 && !nd->has_data;
}

/* --- directories ---------------------------------------------------------- */

const char *efs_dent_name(const struct dcache *dc, uint32_t i)
{
	return (const char *)dc->buf + dc->ents[i].pos + 8;
}

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

static void dcache_clear(struct dcache *dc)
{
	free(dc->buf);
	free(dc->ents);
	free(dc->hash);
	memset(dc, 0, sizeof(*dc));
}

/* Adds entry i to the index; 1 if its name is there already. */
static int index_add(struct dcache *dc, uint32_t i)
{
	const struct dent *e = &dc->ents[i];
	const char *name = efs_dent_name(dc, i);
	for (uint32_t h = name_hash(name, e->name_len);; h++) {
		uint32_t *slot = &dc->hash[h & dc->hmask];
		if (!*slot) {
			*slot = i + 1;
			return 0;
		}
		const struct dent *o = &dc->ents[*slot - 1];
		if (o->name_len == e->name_len &&
		    !memcmp(efs_dent_name(dc, *slot - 1), name, e->name_len))
			return 1;
	}
}

/* Rebuilds the index for n entries (at most half full). */
static int index_build(struct dcache *dc)
{
	uint32_t size = 16;
	while (size < 2 * (dc->n + 1))
		size *= 2;
	free(dc->hash);
	dc->hash = calloc(size, sizeof(*dc->hash));
	if (!dc->hash)
		return EFS_ERR_NO_MEMORY;
	dc->hmask = size - 1;
	for (uint32_t i = 0; i < dc->n; i++)
		if (index_add(dc, i))
			return EFS_ERR_CORRUPT;	/* duplicate name */
	return 0;
}

/* Appends one entry (at pos of buf) to the entry list. */
static int ents_push(struct dcache *dc, uint32_t child, uint32_t len,
		     uint32_t pos)
{
	if (dc->n == dc->ents_cap) {
		uint32_t cap = dc->ents_cap ? dc->ents_cap * 2 : 16;
		struct dent *e = realloc(dc->ents, cap * sizeof(*e));
		if (!e)
			return EFS_ERR_NO_MEMORY;
		dc->ents = e;
		dc->ents_cap = cap;
	}
	dc->ents[dc->n++] = (struct dent){ child, len, pos };
	return 0;
}

/* Parses and checks a directory value (format §3.5, §7.4 item 4). */
static int parse_dir(struct efs *fs, struct dcache *dc)
{
	for (uint32_t pos = 0; pos < dc->data_len;) {
		if (dc->data_len - pos < 8)
			return EFS_ERR_CORRUPT;
		uint32_t len = efs_ld32(dc->buf + pos);
		uint32_t child = efs_ld32(dc->buf + pos + 4);
		if (len > dc->data_len - pos - 8 || child < 1 || child > fs->n ||
		    efs_check_read_name((const char *)dc->buf + pos + 8, len))
			return EFS_ERR_CORRUPT;
		int err = ents_push(dc, child, len, pos);
		if (err)
			return err;
		pos += 8 + len;
	}
	return index_build(dc);
}

int efs_dir_get(struct efs *fs, const struct efs_node *nd,
		struct dcache **out)
{
	struct dcache *victim = &fs->dcache[0];
	if (nd->kind != EFS_DIR)
		return EFS_ERR_NOT_DIR;
	for (int i = 0; i < DCACHE_SLOTS; i++) {
		struct dcache *dc = &fs->dcache[i];
		if (dc->ino == nd->ino && dc->data == nd->data &&
		    dc->data_len == nd->data_len) {
			dc->use = ++fs->duse;
			*out = dc;
			return 0;
		}
		if (dc->use < victim->use)
			victim = dc;
	}
	if (nd->data_len > MAX_DIRENTS)
		return EFS_ERR_TOO_BIG;
	dcache_clear(victim);
	victim->buf = malloc(nd->data_len + 1);
	if (!victim->buf)
		return EFS_ERR_NO_MEMORY;
	victim->buf_cap = nd->data_len + 1;
	victim->data = nd->data;
	victim->data_len = nd->data_len;
	int err = efs_dread(fs, nd->data, victim->buf, nd->data_len);
	if (!err)
		err = parse_dir(fs, victim);
	if (err) {
		dcache_clear(victim);
		return err;
	}
	victim->ino = nd->ino;
	victim->use = ++fs->duse;
	*out = victim;
	return 0;
}

void efs_dir_forget(struct efs *fs, uint32_t ino)
{
	for (int i = 0; i < DCACHE_SLOTS; i++)
		if (fs->dcache[i].ino == ino)
			dcache_clear(&fs->dcache[i]);
}

int efs_dir_find(const struct dcache *dc, const char *name, size_t len)
{
	for (uint32_t h = name_hash(name, len);; h++) {
		uint32_t slot = dc->hash[h & dc->hmask];
		if (!slot)
			return -1;
		const struct dent *e = &dc->ents[slot - 1];
		if (e->name_len == len &&
		    !memcmp(efs_dent_name(dc, slot - 1), name, len))
			return (int)slot - 1;
	}
}

int efs_dir_detach(struct efs *fs, const struct efs_node *d,
		   struct dcache *out)
{
	for (int i = 0; i < DCACHE_SLOTS; i++) {
		struct dcache *dc = &fs->dcache[i];
		if (dc->ino == d->ino && dc->data == d->data &&
		    dc->data_len == d->data_len) {
			*out = *dc;
			memset(dc, 0, sizeof(*dc));
			return 1;
		}
	}
	memset(out, 0, sizeof(*out));
	return 0;
}

/* Appends ent to dc's bytes, entries and index. */
static int dcache_append(struct dcache *dc, const uint8_t *ent, uint32_t len)
{
	if (dc->data_len + len + 1 > dc->buf_cap) {
		uint32_t cap = (dc->data_len + len + 1) * 2;
		uint8_t *b = realloc(dc->buf, cap);
		if (!b)
			return EFS_ERR_NO_MEMORY;
		dc->buf = b;
		dc->buf_cap = cap;
	}
	memcpy(dc->buf + dc->data_len, ent, len);
	int err = ents_push(dc, efs_ld32(ent + 4), len - 8, dc->data_len);
	dc->data_len += len;
	if (err)
		return err;
	if (2 * (dc->n + 1) > dc->hmask + 1)
		return index_build(dc);
	return index_add(dc, dc->n - 1) ? EFS_ERR_CORRUPT : 0;
}

void efs_dir_attach(struct efs *fs, struct dcache *dc, int ok,
		    const struct efs_node *nd, const uint8_t *ent,
		    uint32_t len)
{
	struct dcache *victim = &fs->dcache[0];
	if (!dc->ino || !ok || dc->data_len + len != nd->data_len ||
	    dcache_append(dc, ent, len)) {
		dcache_clear(dc);
		return;
	}
	efs_dir_forget(fs, nd->ino);
	for (int i = 0; i < DCACHE_SLOTS; i++)
		if (fs->dcache[i].use < victim->use)
			victim = &fs->dcache[i];
	dcache_clear(victim);
	*victim = *dc;
	victim->data = nd->data;
	victim->use = ++fs->duse;
}
