/* Online compaction (fs/README.md, "Compaction"): records move to free
 * space lower down, so that the holes between them close and the free
 * space gathers in large pieces. A move copies the record's bytes into
 * free space (nothing committed refers to it) and changes its table entry
 * through the journal; the old bytes are free once that commits. A batch
 * of moves is one transaction, bounded by the journal and by MOVE_BATCH
 * bytes, so a power cut loses at most one batch and leaves either the
 * layout before it or the layout after it.
 *
 * efs_compact closes holes everywhere; efs_gather empties just one
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

/* Moves r to dst; commits when that fills the batch. */
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
	fs->spend_keep = 1;	/* a move frees what it takes */
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

/* Bytes of the records in [w, w + len) other than inode skip. */
static uint64_t window_cost(const struct rec *v, uint32_t k, uint64_t w,
			    uint64_t len, uint32_t skip)
{
	uint32_t lo = 0, hi = k;
	uint64_t cost = 0;
	while (lo < hi) {	/* the first record ending past w */
		uint32_t mid = lo + (hi - lo) / 2;
		if (v[mid].end <= w)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t j = lo; j < k && v[j].start < w + len; j++)
		if (v[j].ino != skip)
			cost += v[j].end - v[j].start;
	return cost;
}

/* The window that gives want bytes to record own (NULL: a new record)
 * for the fewest bytes of records moved: one from the start of a free
 * piece (want plus room to align the data), or from own's start (own
 * grows in place). Own counts as moved unless it grows in place; it may
 * lie in a window whose start can take its copy clear of its old bytes.
 * 1 and *at, or 0 when none can be emptied. */
static int cheapest_window(struct efs *fs, const struct rec *v, uint32_t k,
			   uint64_t want, const struct rec *own, uint64_t *at)
{
	uint64_t best = UINT64_MAX, limit = efs_area_limit(fs);
	uint64_t jend = fs->jnl_off + fs->jnl_size;
	uint64_t osize = own ? own->end - own->start : 0;
	for (uint32_t i = 0; i <= fs->freemap.n; i++) {
		int grow = i == fs->freemap.n;
		if (grow && !own)
			break;
		uint64_t w = grow ? own->start : fs->freemap.v[i].start;
		uint64_t len = grow ? want : want + CONTENT_ALIGN;
		if (w + len > limit ||
		    (fs->has_ext && w < jend && w + len > fs->jnl_off))
			continue;
		if (!grow && own && own->start < w + len && own->end > w &&
		    w + CONTENT_ALIGN + osize > own->start)
			continue;	/* its copy would overwrite it */
		uint64_t others = window_cost(v, k, w, len, own ? own->ino : 0);
		uint64_t cost = others + (grow ? 0 : osize);
		if (others < fs->freemap.bytes && cost < best) {
			best = cost;
			*at = w;
		}
	}
	return best != UINT64_MAX;
}

/* Moves every record in [w, w + len) but inode skip out of it, to free
 * space outside. Running out of space part-way stops the evacuation; what
 * moved stays moved (each move is whole) and is committed. */
static int evacuate(struct efs *fs, struct rec *v, uint32_t k, uint64_t w,
		    uint64_t len, uint32_t skip)
{
	struct efs_extents held = { 0 };
	int err = efs_hold(fs, w, w + len, &held), full = 0;
	for (uint32_t j = 0; !err && !full && j < k; j++) {
		uint64_t dst;
		if (v[j].end <= w || v[j].start >= w + len || v[j].ino == skip)
			continue;
		uint64_t size = v[j].end - v[j].start;
		err = efs_claim(fs, size, v[j].align, &dst);
		if (err == EFS_ERR_NO_SPACE && v[j].align)
			err = efs_claim(fs, size, ALIGN_NONE, &dst);
		full = err == EFS_ERR_NO_SPACE;
		if (!err)
			err = efs_stop(fs, move_record(fs, &v[j], dst));
	}
	if (!err || full)	/* what moved is committed */
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
	err = evacuate(fs, v, k, lo, hi - lo, 0);
	free(v);
	return err;
}

/* Empties the window at w for own (NULL: a new record): the other
 * records leave it; own, when it lies in it and does not grow in place,
 * moves to its start, so that its old bytes (free once that commits) are
 * where it grows. */
static int empty_window(struct efs *fs, struct rec *v, uint32_t k,
			uint64_t w, uint64_t want, struct rec *own)
{
	int grow = own && w == own->start;
	uint64_t len = grow ? want : want + CONTENT_ALIGN;
	int err = evacuate(fs, v, k, w, len, own ? own->ino : 0);
	if (err || !own || grow || own->end <= w || own->start >= w + len)
		return err;
	uint64_t dst = w + efs_pad(fs, own->align, w);
	if (efs_take(fs, dst, dst + (own->end - own->start)))
		return EFS_ERR_NO_SPACE;
	err = efs_stop(fs, move_record(fs, own, dst));
	return err ? err : efs_commit(fs);
}

int efs_gather(struct efs *fs, const struct efs_need *need, uint64_t keep)
{
	struct efs_node nd = { 0 };
	struct rec *v, *own = 0;
	uint32_t k;
	if (fs->scan_errors)
		return EFS_ERR_NO_SPACE;
	int err = need->ino ? efs_node_get(fs, need->ino, &nd) : 0;
	if (err)
		return err;
	/* The record's whole size once it has grown, or the new one's. */
	uint64_t want = need->at ? need->at + need->len - nd.rec : need->len;
	if (fs->freemap.bytes + nd.rec_size < want + keep)
		return EFS_ERR_NO_SPACE;
	err = efs_commit(fs);
	if (!err)
		err = records(fs, &v, &k);
	if (err)
		return err;
	for (uint32_t j = 0; need->ino && j < k; j++)
		if (v[j].ino == need->ino)
			own = &v[j];
	uint64_t w;
	int kept = fs->spend_keep;
	fs->spend_keep = 1;
	err = cheapest_window(fs, v, k, want, own, &w)
		      ? empty_window(fs, v, k, w, want, own)
		      : EFS_ERR_NO_SPACE;
	fs->spend_keep = kept;
	free(v);
	return err;
}
