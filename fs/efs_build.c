/* Writing a whole image in one pass, as the original writer does (format
 * §4): header, table, records packed in inode order. umbra's images add
 * the extension sector, a journal region before the records, and spare
 * slots holding placeholder records. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define WBUF (1u << 20)
#define SPARE_PER (16u << 10)	/* one spare slot per 16 KiB of volume */
#define SPARE_MIN 64u
#define SPARE_MAX 65536u

struct out {
	const struct efs_io *io;
	uint8_t *buf;
	uint64_t at;		/* device offset of buf[0] */
	size_t used;
	int err;
};

static void flush_out(struct out *o)
{
	if (!o->err && o->used)
		o->err = efs_io_result(o->io->write(o->io->ctx, o->at, o->buf,
						    o->used));
	o->at += o->used;
	o->used = 0;
}

static void emit(struct out *o, const void *p, size_t n)
{
	const uint8_t *s = p;
	while (n && !o->err) {
		size_t k = WBUF - o->used < n ? WBUF - o->used : n;
		memcpy(o->buf + o->used, s, k);
		o->used += k;
		s += k;
		n -= k;
		if (o->used == WBUF)
			flush_out(o);
	}
}

static uint64_t data_len(const struct efs_build_node *nd)
{
	if (nd->kind != EFS_DIR)
		return nd->size;
	uint64_t n = 0;
	for (uint32_t i = 0; i < nd->nchildren; i++)
		n += 8 + strlen(nd->children[i].name);
	return n;
}

static int cmp_child(const void *a, const void *b)
{
	return strcmp(((const struct efs_build_child *)a)->name,
		      ((const struct efs_build_child *)b)->name);
}

/* Checks what the caller wants written: kinds, names, child numbers,
 * duplicates, sizes. */
static int check_nodes(uint32_t nnodes, const struct efs_build_node *nodes)
{
	if (!nnodes || nodes[0].kind != EFS_DIR)
		return EFS_ERR_INVALID;
	for (uint32_t i = 0; i < nnodes; i++) {
		const struct efs_build_node *nd = &nodes[i];
		if (nd->kind < EFS_FILE || nd->kind > EFS_SYMLINK)
			return EFS_ERR_INVALID;
		if (nd->kind != EFS_DIR && nd->nchildren)
			return EFS_ERR_INVALID;
		if (data_len(nd) > 0xffffffffull - V_DATA)
			return EFS_ERR_TOO_BIG;
		if (nd->kind == EFS_SYMLINK && (!nd->size || nd->size > EFS_PATH_MAX))
			return EFS_ERR_INVALID;
		if (!nd->nchildren)
			continue;
		struct efs_build_child *c = malloc(nd->nchildren * sizeof(*c));
		if (!c)
			return EFS_ERR_NO_MEMORY;
		memcpy(c, nd->children, nd->nchildren * sizeof(*c));
		qsort(c, nd->nchildren, sizeof(*c), cmp_child);
		int err = 0;
		for (uint32_t k = 0; k < nd->nchildren && !err; k++) {
			if (efs_check_name(c[k].name, strlen(c[k].name)) ||
			    (k && !strcmp(c[k].name, c[k - 1].name)))
				err = EFS_ERR_NAME;
			else if (c[k].ino < 2 || c[k].ino > nnodes)
				err = EFS_ERR_INVALID;
		}
		free(c);
		if (err)
			return err;
	}
	return 0;
}

/* Bytes of gap before a record at abs: in umbra's images (not plain
 * ones) a file of a page or more gets its content on a page boundary, so
 * reads of it go straight from the disk into page-aligned buffers. */
static uint64_t pad_before(int plain, const struct efs_build_node *nd,
			   uint64_t abs)
{
	if (plain || nd->kind != EFS_FILE || nd->size < CONTENT_ALIGN)
		return 0;
	return efs_content_pad(abs);
}

static void write_header(struct out *o, uint32_t slots, uint64_t jnl_off,
			 uint64_t jnl_size, uint32_t bs)
{
	uint8_t *h = calloc(1, HDR_SIZE);
	if (!h) {
		o->err = EFS_ERR_NO_MEMORY;
		return;
	}
	memcpy(h, HDR_MAGIC, HDR_MAGIC_LEN);
	efs_st32(h + HDR_OFF_VERSION, HDR_VERSION);
	efs_st64(h + HDR_OFF_TABLE, HDR_SIZE);
	efs_st64(h + HDR_OFF_TABLE_SIZE, (uint64_t)slots * 8);
	efs_st32(h + HDR_OFF_INODES, slots);
	if (jnl_size) {
		efs_ext_encode(h + EXT_OFF, bs, jnl_off, jnl_size,
			       o->io->size);
	}
	emit(o, h, HDR_SIZE);
	free(h);
}

static void write_node(struct out *o, uint32_t ino,
		       const struct efs_build_node *b, efs_content_fn *content,
		       void *ctx, uint8_t *chunk)
{
	uint64_t len = data_len(b);
	struct efs_node n = {
		.ino = ino, .kind = b->kind, .mode = b->mode, .uid = b->uid,
		.gid = b->gid, .nlink = b->nlink, .size = b->kind == EFS_DIR
		? 0 : b->size, .atime = b->atime, .mtime = b->mtime,
		.ctime = b->ctime, .rec_size = (uint32_t)(len ? V_DATA + len
							: BASE_RECORD),
		.data_len = (uint32_t)len,
	};
	uint8_t hdr[V_DATA], ent[8];
	emit(o, hdr, efs_node_encode(&n, hdr));
	if (b->kind == EFS_DIR) {
		for (uint32_t i = 0; i < b->nchildren; i++) {
			size_t nl = strlen(b->children[i].name);
			efs_st32(ent, (uint32_t)nl);
			efs_st32(ent + 4, b->children[i].ino);
			emit(o, ent, 8);
			emit(o, b->children[i].name, nl);
		}
		return;
	}
	for (uint64_t off = 0; off < len && !o->err;) {
		size_t k = len - off < WBUF ? (size_t)(len - off) : WBUF;
		int err = content(ctx, ino, off, chunk, k);
		if (err)
			o->err = err < 0 ? err : EFS_ERR_IO;
		else
			emit(o, chunk, k);
		off += k;
	}
}

int efs_build(const struct efs_io *io, const struct efs_build_opts *opts,
	      uint32_t nnodes, const struct efs_build_node *nodes,
	      efs_content_fn *content, void *ctx)
{
	static const struct efs_build_opts none;
	if (!opts)
		opts = &none;
	if (!io || !io->write || !io->sync || io->read_only)
		return EFS_ERR_INVALID;
	int err = check_nodes(nnodes, nodes);
	if (err)
		return err;
	uint32_t bs = io->block_size == 4096 ? 4096 : DEFAULT_BS;
	uint64_t spare = io->size / SPARE_PER;
	spare = spare < SPARE_MIN ? SPARE_MIN : spare > SPARE_MAX ? SPARE_MAX
								  : spare;
	uint64_t slots = opts->plain ? nnodes
		       : opts->slots ? opts->slots : nnodes + spare;
	if (slots < nnodes || slots >= MAX_INODES)
		return EFS_ERR_INVALID;
	uint64_t area = HDR_SIZE + slots * 8, jnl_off = 0, jnl_size = 0;
	if (!opts->plain) {
		jnl_size = opts->journal_size ? opts->journal_size
					      : (uint64_t)DEFAULT_JOURNAL_BLOCKS * bs;
		if (jnl_size % bs || jnl_size < (uint64_t)MIN_JOURNAL_BLOCKS * bs)
			return EFS_ERR_INVALID;
		jnl_off = (area + bs - 1) / bs * bs;
	}
	uint64_t end = jnl_size ? jnl_off + jnl_size : area;
	for (uint32_t i = 0; i < nnodes; i++) {
		uint64_t len = data_len(&nodes[i]);
		end += pad_before(opts->plain, &nodes[i], end);
		end += len ? V_DATA + len : BASE_RECORD;
	}
	end += (slots - nnodes) * BASE_RECORD;
	if (end - area > 0xffffffffull)
		return EFS_ERR_TOO_BIG;
	if (end > io->size)
		return EFS_ERR_NO_SPACE;

	struct out o = { .io = io, .buf = malloc(WBUF) };
	uint8_t *chunk = malloc(WBUF), *table = malloc(slots * 8);
	if (!o.buf || !chunk || !table) {
		err = EFS_ERR_NO_MEMORY;
		goto out;
	}
	write_header(&o, (uint32_t)slots, jnl_off, jnl_size, bs);
	uint64_t rel = jnl_size ? jnl_off + jnl_size - area : 0;
	for (uint32_t i = 0; i < slots; i++) {
		uint64_t len = i < nnodes ? data_len(&nodes[i]) : 0;
		if (i < nnodes)
			rel += pad_before(opts->plain, &nodes[i], area + rel);
		efs_st32(table + 8 * i, i + 1);
		efs_st32(table + 8 * i + 4, (uint32_t)rel);
		rel += len ? V_DATA + len : BASE_RECORD;
	}
	emit(&o, table, slots * 8);
	if (jnl_size) {
		/* Zero the gap before the journal and the journal itself:
		 * stale bytes there must never look like an entry. */
		memset(chunk, 0, WBUF);
		for (uint64_t z = area; z < jnl_off + jnl_size;) {
			size_t k = jnl_off + jnl_size - z < WBUF
					   ? (size_t)(jnl_off + jnl_size - z) : WBUF;
			emit(&o, chunk, k);
			z += k;
		}
	}
	memset(chunk, 0, CONTENT_ALIGN);
	for (uint32_t i = 0; i < nnodes && !o.err; i++) {
		emit(&o, chunk, (size_t)pad_before(opts->plain, &nodes[i],
						   o.at + o.used));
		write_node(&o, i + 1, &nodes[i], content, ctx, chunk);
	}
	for (uint32_t i = nnodes; i < slots && !o.err; i++) {
		uint8_t ph[BASE_RECORD];
		efs_placeholder(i + 1, ph);
		emit(&o, ph, BASE_RECORD);
	}
	flush_out(&o);
	err = o.err;
	if (!err)
		err = efs_io_result(io->sync(io->ctx));
out:
	free(o.buf);
	free(chunk);
	free(table);
	return err;
}

int efs_format(const struct efs_io *io, const struct efs_build_opts *opts,
	       uint64_t time)
{
	struct efs_build_node root = {
		.kind = EFS_DIR, .mode = MODE_DIR, .nlink = 2,
		.atime = time, .mtime = time, .ctime = time,
	};
	return efs_build(io, opts, 1, &root, 0, 0);
}

/* --- copy ------------------------------------------------------------------ */

static int copy_content(void *ctx, uint32_t ino, uint64_t off, void *buf,
			size_t len)
{
	struct efs *fs = ctx;
	struct efs_node nd;
	int err = efs_node_get(fs, ino, &nd);
	if (err || off > nd.data_len || len > nd.data_len - off)
		return err ? err : EFS_ERR_CORRUPT;
	return efs_dread(fs, nd.data + off, buf, len);
}

static void free_children(struct efs_build_node *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (!b[i].children)
			continue;
		for (uint32_t k = 0; k < b[i].nchildren; k++)
			free((char *)b[i].children[k].name);
		free((void *)b[i].children);
	}
	free(b);
}

/* One node of the copy; free slots stay placeholders. */
static int describe(struct efs *fs, uint32_t ino, struct efs_build_node *b)
{
	struct efs_node nd;
	struct dcache *dc;
	int err = efs_node_get(fs, ino, &nd);
	if (err)
		return err;
	*b = (struct efs_build_node){ nd.kind, nd.mode, nd.uid, nd.gid,
				      nd.nlink, nd.atime, nd.mtime, nd.ctime,
				      nd.kind == EFS_DIR ? 0 : nd.data_len,
				      0, 0 };
	if (nd.kind != EFS_DIR || !nd.data_len)
		return 0;
	err = efs_dir_get(fs, &nd, &dc);
	if (err)
		return err;
	struct efs_build_child *c = calloc(dc->n, sizeof(*c));
	if (!c)
		return EFS_ERR_NO_MEMORY;
	b->children = c;
	for (uint32_t k = 0; k < dc->n; k++) {
		char *name = malloc(dc->ents[k].name_len + 1);
		if (!name)
			return EFS_ERR_NO_MEMORY;
		memcpy(name, efs_dent_name(dc, k), dc->ents[k].name_len);
		name[dc->ents[k].name_len] = 0;
		c[k] = (struct efs_build_child){ name, dc->ents[k].ino };
		b->nchildren = k + 1;
	}
	return 0;
}

int efs_copy(struct efs *fs, const struct efs_io *dst,
	     const struct efs_build_opts *opts)
{
	int err = efs_commit(fs);
	if (!err)
		err = efs_scan(fs);
	if (err)
		return err;
	/* The highest slot in use bounds the copy; the rest are spare. */
	uint32_t last = 1;
	for (uint32_t i = 0; i < fs->n; i++)
		if (fs->state[i] != SLOT_FREE)
			last = i + 1;
	struct efs_build_node *b = calloc(last, sizeof(*b));
	if (!b)
		return EFS_ERR_NO_MEMORY;
	for (uint32_t i = 0; i < last && !err; i++) {
		if (fs->state[i] == SLOT_FREE)
			b[i] = (struct efs_build_node){ .kind = EFS_FILE };
		else
			err = describe(fs, i + 1, &b[i]);
	}
	struct efs_build_opts o = opts ? *opts : (struct efs_build_opts){ 0 };
	if (!o.slots && !o.plain)
		o.slots = fs->n > last ? fs->n : last;
	if (o.plain && o.slots)
		o.slots = 0;
	if (!err)
		err = efs_build(dst, &o, last, b, copy_content, fs);
	free_children(b, last);
	return err;
}
