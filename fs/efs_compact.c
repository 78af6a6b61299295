/* Online compaction (fs/README.md, "Compaction"): records move to free
 * space lower down, so that the holes between them close and the free
 * space gathers in large pieces. A move copies the record's bytes into
 * free space (nothing committed refers to it) and changes its table entry
 * through the journal; the old bytes are free once that commits. A batch
 * of moves is one transaction, bounded by the journal and by MOVE_BATCH
 * bytes, so a power cut loses at most one batch and leaves either the
 * layout before it or the layout after it.
 *
 * efs_compact closes holes everywhere; efs_make_room empties just one
 * window big enough for a change that found no piece of free space large
 * enough (the cheapest window: the fewest bytes to move). */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define MOVE_BATCH (16u << 20)	/* bytes copied per transaction */
#define PASSES 4

struct rec {
	uint64_t start, end;	/* the record's bytes */
	uint32_t ino;
	int align;		/* where its data should start if it moves */
};

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Every record, sorted by address. */
static int records(struct efs *fs, struct rec **out, uint32_t *count)
{
	struct rec *v = malloc((size_t)fs->n * sizeof(*v));
	uint32_t k = 0;
	if (!v)
		return EFS_ERR_NO_MEMORY;
	for (uint32_t ino = 1; ino <= fs->n; ino++) {
		struct efs_node nd;
		int err = efs_node_get(fs, ino, &nd);
		if (err) {
			free(v);
			return err;
		}
		int big = nd.kind == EFS_FILE && nd.data_len >= CONTENT_ALIGN &&
			  nd.canonical;
		v[k++] = (struct rec){ nd.rec, nd.rec + nd.rec_size, ino,
				       big ? ALIGN_CONTENT : ALIGN_NONE };
	}
	qsort(v, k, sizeof(*v), cmp_rec);
	*out = v;
	*count = k;
	return 0;
}

int efs_move(struct efs *fs, uint32_t ino, uint64_t dst)
{
	struct efs_node nd;
	int err = efs_node_get(fs, ino, &nd);
	if (err)
		return err;
	uint64_t len = nd.rec_size, from = nd.rec;
	uint8_t *buf = malloc(len < COPY_CHUNK ? len : COPY_CHUNK);
	err = buf ? efs_reserve(fs, 2) : EFS_ERR_NO_MEMORY;
	for (uint64_t done = 0; !err && done < len;) {
		size_t k = len - done < COPY_CHUNK ? (size_t)(len - done)
						  : COPY_CHUNK;
		err = efs_dread(fs, from + done, buf, k);
		if (!err)
			err = efs_direct(fs, dst + done, buf, k);
		done += k;
	}
	free(buf);
	if (!err)
		err = efs_patch_slot(fs, ino, dst);
	if (err)
		return err;
	efs_free_later(fs, from, fs->cap[ino - 1]);
	fs->cap[ino - 1] = dst + len;
	efs_set_safe(fs, ino, dst);
	efs_forget(fs, ino);
	return 0;
}

/* efs_move for a record of the sorted list. */
static int move_record(struct efs *fs, struct rec *r, uint64_t dst)
{
	int err = efs_move(fs, r->ino, dst);
	if (!err) {
		r->end = dst + (r->end - r->start);
		r->start = dst;
	}
	return err;
}

/* The lowest free place below `below` that holds len bytes placed as
 * align says; 0 when there is none. */
static uint64_t lowest_fit(struct efs *fs, uint64_t len, int align,
			   uint64_t below)
{
	for (uint32_t i = 0; i < fs->freemap.n; i++) {
		struct efs_extent *x = &fs->freemap.v[i];
		uint64_t s = x->start + efs_pad(fs, align, x->start);
		if (s + len > below)
			return 0;
		if (s + len <= x->end)
			return s;
	}
	return 0;
}

/* Moves r to dst, committing first when the batch is full. */
static int move(struct efs *fs, struct rec *r, uint64_t dst,
		struct efs_compact_result *res, uint64_t *batch)
{
	int err = efs_take(fs, dst, dst + (r->end - r->start));
	if (!err)
		err = move_record(fs, r, dst);
	if (err)
		return err;
	res->moved++;
	res->bytes += r->end - r->start;
	*batch += r->end - r->start;
	if (*batch >= MOVE_BATCH) {
		*batch = 0;
		res->transactions++;
		return efs_commit(fs);
	}
	return 0;
}

/* One pass from the top down: each record goes to the lowest hole below
 * it that holds it. */
static int pass(struct efs *fs, struct efs_compact_result *res, int *moved)
{
	struct rec *v;
	uint32_t k;
	uint64_t batch = 0;
	int err = records(fs, &v, &k);
	*moved = 0;
	for (uint32_t i = k; !err && i-- > 0;) {
		uint64_t dst = lowest_fit(fs, v[i].end - v[i].start, v[i].align,
					  v[i].start);
		if (!dst)
			continue;
		err = move(fs, &v[i], dst, res, &batch);
		*moved += !err;
	}
	free(v);
	if (!err && batch) {
		res->transactions++;
		err = efs_commit(fs);
	}
	return err;
}

/* Compaction needs a sound volume and nothing pending. */
static int start(struct efs *fs)
{
	int err = efs_wbegin(fs);
	if (!err && fs->scan_errors)
		err = EFS_ERR_CORRUPT;
	if (!err)
		err = efs_commit(fs);
	if (!err)
		efs_reclaim_slack(fs);
	fs->use_keep = 1;	/* a move frees what it takes */
	return err;
}

int efs_compact(struct efs *fs, struct efs_compact_result *res)
{
	struct efs_compact_result tmp;
	if (!res)
		res = &tmp;
	memset(res, 0, sizeof(*res));
	int err = start(fs), moved = 1;
	res->largest_before = efs_largest_free(fs);
	for (int p = 0; !err && moved && p < PASSES; p++)
		err = pass(fs, res, &moved);
	res->largest_after = efs_largest_free(fs);
	res->free = fs->freemap.bytes;
	return efs_wfinish(fs, err, res->moved > 0);
}

size_t efs_compact_text(const struct efs_compact_result *r, char *out,
			size_t size)
{
	struct efs_text t = { out, size, 0 };
	if (size)
		out[0] = 0;
	efs_text_str(&t, "compact: ");
	efs_text_num(&t, r->moved, 10, 0);
	efs_text_str(&t, " records moved (");
	efs_text_num(&t, r->bytes, 10, 0);
	efs_text_str(&t, " bytes) in ");
	efs_text_num(&t, r->transactions, 10, 0);
	efs_text_str(&t, " transactions; largest free piece ");
	efs_text_num(&t, r->largest_before, 10, 0);
	efs_text_str(&t, " -> ");
	efs_text_num(&t, r->largest_after, 10, 0);
	efs_text_str(&t, " bytes, ");
	efs_text_num(&t, r->free, 10, 0);
	efs_text_str(&t, " free");
	return t.len;
}

/* --- making room for one change ------------------------------------------ */

/* The window of len bytes (from a free piece's start) whose records are
 * the fewest bytes to move; returns its start, or 0. */
static uint64_t cheapest_window(struct efs *fs, const struct rec *v,
				uint32_t k, uint64_t len)
{
	uint64_t best = 0, best_cost = UINT64_MAX, limit = efs_area_limit(fs);
	uint32_t first = 0;
	for (uint32_t i = 0; i < fs->freemap.n; i++) {
		uint64_t w = fs->freemap.v[i].start, cost = 0;
		if (w + len > limit)
			break;
		if (fs->has_ext && w < fs->jnl_off + fs->jnl_size &&
		    w + len > fs->jnl_off)
			continue;
		while (first < k && v[first].end <= w)
			first++;
		for (uint32_t j = first; j < k && v[j].start < w + len; j++)
			cost += v[j].end - v[j].start;
		if (cost < best_cost && cost < fs->freemap.bytes) {
			best = w;
			best_cost = cost;
		}
	}
	return best;
}

/* Moves every record in [w, w + len) out of it, to free space outside.
 * Running out of space part-way stops the evacuation; what moved stays
 * moved (each move is whole) and is committed. */
static int evacuate(struct efs *fs, struct rec *v, uint32_t k, uint64_t w,
		    uint64_t len)
{
	struct efs_extents held = { 0 };
	int err = efs_hold(fs, w, w + len, &held), full = 0;
	for (uint32_t j = 0; !err && !full && j < k; j++) {
		uint64_t dst;
		if (v[j].end <= w || v[j].start >= w + len)
			continue;
		full = efs_alloc(fs, v[j].end - v[j].start, v[j].align, &dst) &&
		       efs_alloc(fs, v[j].end - v[j].start, ALIGN_NONE, &dst);
		if (!full && (err = move_record(fs, &v[j], dst)))
			fs->failed = efs_io_result(err);
	}
	if (!err)
		err = efs_commit(fs);
	efs_unhold(fs, &held);
	return err ? err : full ? EFS_ERR_NO_SPACE : 0;
}

int efs_evacuate(struct efs *fs, uint64_t lo, uint64_t hi)
{
	struct rec *v;
	uint32_t k;
	int err = records(fs, &v, &k);
	if (err)
		return err;
	err = evacuate(fs, v, k, lo, hi - lo);
	free(v);
	return err;
}

int efs_make_room(struct efs *fs, uint64_t len)
{
	struct rec *v;
	uint32_t k;
	if (fs->scan_errors || fs->freemap.bytes < len + CONTENT_ALIGN)
		return EFS_ERR_NO_SPACE;
	int err = efs_commit(fs);
	if (!err)
		err = records(fs, &v, &k);
	if (err)
		return err;
	len += CONTENT_ALIGN;	/* room for aligning the new data */
	uint64_t w = cheapest_window(fs, v, k, len);
	int keep = fs->use_keep;
	fs->use_keep = 1;
	err = w ? evacuate(fs, v, k, w, len) : EFS_ERR_NO_SPACE;
	fs->use_keep = keep;
	free(v);
	return err;
}
