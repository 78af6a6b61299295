/* Free space (fs/README.md, "Free space"): the extents of the node area
 * that nothing committed refers to, kept in memory from the first scan.
 * Only sets of byte ranges: nothing here reads a record or commits.
 *
 * Three sets: the free map (usable now), pending (freed by the open
 * transaction: usable after it commits, so a power cut never finds
 * committed bytes overwritten) and the reservations of the change being
 * made (efs_plan: everything a change will allocate is set aside before it
 * writes a byte, so it never runs out of space half-way; when that fails,
 * efs_plan says what found no place, and the change's retry makes room).
 * 1/32 of the node area (at most 64 KiB) stays back for the changes that
 * free space (deletes, compaction), so a full volume can always be
 * emptied. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define KEEP_MAX (64u << 10)
#define AREA_LIMIT 0xffffffffull	/* rel offsets are u32 (format §7.1) */

static int ext_grow(struct efs_extents *x)
{
	if (x->n < x->cap)
		return 0;
	uint32_t cap = x->cap ? x->cap * 2 : 64;
	struct efs_extent *v = realloc(x->v, cap * sizeof(*v));
	if (!v)
		return EFS_ERR_NO_MEMORY;
	x->v = v;
	x->cap = cap;
	return 0;
}

/* Index of the first extent with end > at (binary search). */
static uint32_t ext_find(const struct efs_extents *x, uint64_t at)
{
	uint32_t lo = 0, hi = x->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (x->v[mid].end <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Adds [s, e) to a sorted set, merging with its neighbours. The range
 * must not overlap the set. */
static int ext_insert(struct efs_extents *x, uint64_t s, uint64_t e)
{
	if (s >= e)
		return 0;
	uint32_t i = ext_find(x, s);
	int left = i > 0 && x->v[i - 1].end == s;
	int right = i < x->n && x->v[i].start == e;
	x->bytes += e - s;
	if (left && right) {
		x->v[i - 1].end = x->v[i].end;
		memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(*x->v));
		x->n--;
	} else if (left) {
		x->v[i - 1].end = e;
	} else if (right) {
		x->v[i].start = s;
	} else {
		if (ext_grow(x)) {
			x->bytes -= e - s;
			return EFS_ERR_NO_MEMORY;
		}
		memmove(&x->v[i + 1], &x->v[i], (x->n - i) * sizeof(*x->v));
		x->v[i] = (struct efs_extent){ s, e };
		x->n++;
	}
	return 0;
}

/* Removes [s, e) from extent i, which holds it. */
static int ext_cut(struct efs_extents *x, uint32_t i, uint64_t s, uint64_t e)
{
	struct efs_extent *v = &x->v[i];
	if (s > v->start && e < v->end) {
		if (ext_grow(x))
			return EFS_ERR_NO_MEMORY;
		v = &x->v[i];
		memmove(&x->v[i + 1], &x->v[i], (x->n - i) * sizeof(*x->v));
		x->n++;
		x->v[i].end = s;
		x->v[i + 1].start = e;
	} else if (s > v->start) {
		v->end = s;
	} else if (e < v->end) {
		v->start = e;
	} else {
		memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(*x->v));
		x->n--;
	}
	x->bytes -= e - s;
	return 0;
}

static void ext_clear(struct efs_extents *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}

uint64_t efs_area_limit(struct efs *fs)
{
	uint64_t limit = fs->io.size;
	if (limit > fs->area_off + AREA_LIMIT)
		limit = fs->area_off + AREA_LIMIT;
	return limit;
}

void efs_free_reset(struct efs *fs)
{
	ext_clear(&fs->freemap);
	ext_clear(&fs->pending);
	fs->nresv = 0;
	uint64_t area = efs_area_limit(fs) - fs->area_off;
	fs->keep = area / 32 < KEEP_MAX ? area / 32 : KEEP_MAX;
}

int efs_free_add(struct efs *fs, uint64_t s, uint64_t e)
{
	return ext_insert(&fs->freemap, s, e);
}

void efs_free_later(struct efs *fs, uint64_t s, uint64_t e)
{
	/* Pending extents never overlap each other or the free map: each
	 * byte is freed once, by the change that stopped using it. When
	 * memory runs out the bytes are only lost until the next mount. */
	if (ext_insert(&fs->pending, s, e))
		fs->lost += e - s;
}

void efs_free_committed(struct efs *fs)
{
	for (uint32_t i = 0; i < fs->pending.n; i++) {
		struct efs_extent *p = &fs->pending.v[i];
		if (ext_insert(&fs->freemap, p->start, p->end))
			fs->lost += p->end - p->start;
	}
	fs->pending.n = 0;
	fs->pending.bytes = 0;
}

void efs_free_drop(struct efs *fs)
{
	ext_clear(&fs->freemap);
	ext_clear(&fs->pending);
	fs->nresv = 0;
}

uint64_t efs_pad(struct efs *fs, int align, uint64_t s)
{
	if (align == ALIGN_CONTENT)
		return efs_content_pad(s);
	if (align == ALIGN_BLOCK)
		return (fs->bs - s % fs->bs) % fs->bs;
	return 0;
}

int efs_take(struct efs *fs, uint64_t s, uint64_t e)
{
	uint32_t i = ext_find(&fs->freemap, s);
	if (i == fs->freemap.n || fs->freemap.v[i].start > s ||
	    fs->freemap.v[i].end < e)
		return EFS_ERR_INVALID;
	return ext_cut(&fs->freemap, i, s, e);
}

int efs_hold(struct efs *fs, uint64_t s, uint64_t e, struct efs_extents *held)
{
	uint32_t i = ext_find(&fs->freemap, s);
	while (i < fs->freemap.n && fs->freemap.v[i].start < e) {
		struct efs_extent x = fs->freemap.v[i];
		uint64_t a = x.start > s ? x.start : s, b = x.end < e ? x.end : e;
		int err = ext_insert(held, a, b);
		if (!err)
			err = ext_cut(&fs->freemap, i, a, b);
		if (err)
			return err;
		if (a > x.start)
			i++;	/* the part before the window stayed */
	}
	return 0;
}

void efs_unhold(struct efs *fs, struct efs_extents *held)
{
	for (uint32_t i = 0; i < held->n; i++)
		if (efs_free_add(fs, held->v[i].start, held->v[i].end))
			fs->lost += held->v[i].end - held->v[i].start;
	ext_clear(held);
}

/* The smallest free extent that holds len bytes placed as asked, with
 * `keep` bytes left in the free map; -1 when none. */
static int64_t best_fit(struct efs *fs, uint64_t len, int align,
			uint64_t keep)
{
	int64_t best = -1;
	uint64_t best_size = UINT64_MAX;
	if (fs->freemap.bytes < keep || fs->freemap.bytes - keep < len)
		return -1;
	for (uint32_t i = 0; i < fs->freemap.n; i++) {
		struct efs_extent *v = &fs->freemap.v[i];
		uint64_t size = v->end - v->start;
		uint64_t need = len + efs_pad(fs, align, v->start);
		if (size >= need && size < best_size &&
		    fs->freemap.bytes - need >= keep) {
			best = i;
			best_size = size;
		}
	}
	return best;
}

/* The free bytes the change being made must leave. */
static uint64_t keep_of(struct efs *fs)
{
	return fs->spend_keep ? 0 : fs->keep;
}

/* Sets one need aside. */
static int reserve(struct efs *fs, const struct efs_need *nd)
{
	struct efs_resv *r = &fs->resv[fs->nresv];
	uint64_t s, e;
	int64_t i;
	if (fs->nresv == MAX_RESV)
		return EFS_ERR_INVALID;
	if (nd->at) {
		i = ext_find(&fs->freemap, nd->at);
		if ((uint32_t)i == fs->freemap.n ||
		    fs->freemap.v[i].start > nd->at ||
		    fs->freemap.v[i].end - nd->at < nd->len ||
		    fs->freemap.bytes - nd->len < keep_of(fs))
			return EFS_ERR_NO_SPACE;
		s = nd->at;
		e = nd->at + nd->len;
	} else {
		i = best_fit(fs, nd->len, nd->align, keep_of(fs));
		if (i < 0)
			return EFS_ERR_NO_SPACE;
		s = fs->freemap.v[i].start;
		e = s + efs_pad(fs, nd->align, s) + nd->len;
	}
	int err = ext_cut(&fs->freemap, (uint32_t)i, s, e);
	if (err)
		return err;
	*r = (struct efs_resv){ s, e, nd->at };
	fs->nresv++;
	return 0;
}

/* Reserves every need; on NO_SPACE, *want is the one that found no
 * place. */
static int try_plan(struct efs *fs, const struct efs_need *needs, int n,
		    struct efs_need *want)
{
	int err = 0;
	/* Growth in place first (it cannot go elsewhere), then the largest. */
	for (int pass = 0; pass < 2 && !err; pass++) {
		uint8_t done[MAX_RESV] = { 0 };
		for (int k = 0; k < n && !err; k++) {
			int best = -1;
			for (int i = 0; i < n; i++) {
				int grow = needs[i].at != 0;
				if (done[i] || grow != (pass == 0) || !needs[i].len)
					continue;
				if (best < 0 || needs[i].len > needs[best].len)
					best = i;
			}
			if (best < 0)
				break;
			done[best] = 1;
			err = reserve(fs, &needs[best]);
			if (err == EFS_ERR_NO_SPACE)
				*want = needs[best];
		}
	}
	if (err)
		efs_plan_end(fs);
	return err;
}

int efs_plan(struct efs *fs, const struct efs_need *needs, int n)
{
	efs_plan_end(fs);
	if (n > MAX_RESV)
		return EFS_ERR_INVALID;
	struct efs_need want = { 0, 0, ALIGN_NONE, 0 };
	int err = try_plan(fs, needs, n, &want);
	if (err == EFS_ERR_NO_SPACE) {	/* for the steps that make room */
		fs->room.wanted = 1;
		fs->room.need = want;
		fs->room.keep = keep_of(fs);
	}
	return err;
}

void efs_plan_end(struct efs *fs)
{
	for (int i = 0; i < fs->nresv; i++)
		if (efs_free_add(fs, fs->resv[i].start, fs->resv[i].end))
			fs->lost += fs->resv[i].end - fs->resv[i].start;
	fs->nresv = 0;
}

static void drop_resv(struct efs *fs, int i)
{
	fs->resv[i] = fs->resv[--fs->nresv];
}

int efs_claim(struct efs *fs, uint64_t len, int align, uint64_t *off)
{
	int best = -1;
	for (int i = 0; i < fs->nresv; i++) {
		struct efs_resv *r = &fs->resv[i];
		uint64_t size = r->end - r->start;
		if (!r->at && size >= len + efs_pad(fs, align, r->start) &&
		    (best < 0 || size < fs->resv[best].end - fs->resv[best].start))
			best = i;
	}
	if (best >= 0) {
		struct efs_resv r = fs->resv[best];
		uint64_t s = r.start + efs_pad(fs, align, r.start);
		drop_resv(fs, best);
		/* The rest goes back: the part after the record can become
		 * its slack (efs_extend). */
		if (efs_free_add(fs, r.start, s) ||
		    efs_free_add(fs, s + len, r.end))
			fs->lost += (s - r.start) + (r.end - s - len);
		*off = s;
		return 0;
	}
	int64_t i = best_fit(fs, len, align, keep_of(fs));
	if (i < 0)
		return EFS_ERR_NO_SPACE;
	uint64_t s = fs->freemap.v[i].start;
	s += efs_pad(fs, align, s);
	int err = ext_cut(&fs->freemap, (uint32_t)i, s, s + len);
	if (!err)
		*off = s;
	return err;
}

/* Bytes free right at `end`, in a reservation for it or the free map. */
static uint64_t free_at(struct efs *fs, uint64_t end, int *resv)
{
	*resv = -1;
	for (int i = 0; i < fs->nresv; i++)
		if (fs->resv[i].at == end && fs->resv[i].start == end) {
			*resv = i;
			return fs->resv[i].end - end;
		}
	uint32_t i = ext_find(&fs->freemap, end);
	if (i == fs->freemap.n || fs->freemap.v[i].start != end)
		return 0;
	uint64_t n = fs->freemap.v[i].end - end;
	uint64_t keep = keep_of(fs);
	if (fs->freemap.bytes < keep)
		return 0;
	return n < fs->freemap.bytes - keep ? n : fs->freemap.bytes - keep;
}

uint64_t efs_extend(struct efs *fs, uint64_t end, uint64_t want)
{
	int r;
	uint64_t n = free_at(fs, end, &r);
	if (n > want)
		n = want;
	if (!n)
		return 0;
	if (r >= 0) {
		fs->resv[r].start += n;
		fs->resv[r].at += n;
		if (fs->resv[r].start == fs->resv[r].end)
			drop_resv(fs, r);
		return n;
	}
	uint32_t i = ext_find(&fs->freemap, end);
	return ext_cut(&fs->freemap, i, end, end + n) ? 0 : n;
}

int efs_extendable(struct efs *fs, uint64_t end, uint64_t len)
{
	int r;
	return free_at(fs, end, &r) >= len;
}

uint64_t efs_largest_free(struct efs *fs)
{
	uint64_t best = 0;
	for (uint32_t i = 0; i < fs->freemap.n; i++)
		if (fs->freemap.v[i].end - fs->freemap.v[i].start > best)
			best = fs->freemap.v[i].end - fs->freemap.v[i].start;
	return best;
}
