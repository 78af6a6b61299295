/* Writing prepared, and the transaction around a change: one scan of
 * every record on the first change (or space query) finds the free slots
 * and the free space (efs_free.c), and adds a journal to a plain image;
 * a record's space (its slack, growth in place, the safe mark); a change
 * begins (room in the journal) and finishes (what it did not use goes
 * back); a commit is the journal's (efs_cache.c), then the space it freed
 * becomes free. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

struct extent {
	uint64_t start, end;
	uint32_t ino;
	int slack;		/* may keep the gap after it as slack */
};

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Marks everything reachable from the root. A node named twice (a second
 * parent, or a cycle) or a directory that cannot be read counts as a scan
 * error: changing such a tree is unsafe until fsck repairs it. */
static int reach(struct efs *fs, uint8_t *seen)
{
	uint32_t *queue = malloc((size_t)fs->n * sizeof(*queue));
	uint32_t head = 0, tail = 0;
	int err = 0;
	if (!queue)
		return EFS_ERR_NO_MEMORY;
	queue[tail++] = EFS_ROOT;
	seen[EFS_ROOT - 1] = 1;
	while (head < tail && !err) {
		struct efs_node nd;
		struct dcache *dc;
		uint32_t ino = queue[head++];
		if (fs->state[ino - 1] == SLOT_BAD ||
		    efs_node_get(fs, ino, &nd) || nd.kind != EFS_DIR)
			continue;
		err = efs_dir_get(fs, &nd, &dc);
		if (err == EFS_ERR_CORRUPT) {
			fs->scan_errors++;
			err = 0;
			continue;
		}
		for (uint32_t i = 0; !err && i < dc->n; i++) {
			uint32_t c = dc->ents[i].ino;
			if (seen[c - 1] || fs->state[c - 1] == SLOT_BAD) {
				fs->scan_errors++;
			} else {
				seen[c - 1] = 1;
				queue[tail++] = c;
			}
		}
	}
	free(queue);
	return err;
}

/* How far past its end a record may keep the gap after it as slack when
 * the volume is mounted: as much as a relocation would give it. */
static uint64_t slack_of(const struct extent *e)
{
	uint64_t size = e->end - e->start;
	if (!e->slack)
		return 0;
	return size > RECORD_SLACK_MIN ? size : RECORD_SLACK_MIN;
}

/* Marks [used, s) free, and moves used to at least e. */
static int gap(struct efs *fs, uint64_t *used, uint64_t s, uint64_t e)
{
	int err = s > *used ? efs_free_add(fs, *used, s) : 0;
	*used = e > *used ? e : *used;
	return err;
}

/* Gives each record its space (cap) and puts every other byte of the
 * node area into the free map. Overlapping records are corruption. */
static int layout(struct efs *fs, struct extent *ex, uint32_t k)
{
	uint64_t limit = efs_area_limit(fs), jend = fs->jnl_off + fs->jnl_size;
	uint64_t used = fs->area_off;	/* everything below is taken */
	int jdone = !fs->has_ext, err = 0;
	qsort(ex, k, sizeof(*ex), cmp_extent);
	efs_free_reset(fs);
	for (uint32_t i = 0; i < k && !err; i++) {
		if (i && ex[i - 1].end > ex[i].start)
			fs->overlaps++;
		if (fs->has_ext && ex[i].start < jend && ex[i].end > fs->jnl_off)
			fs->overlaps++;
		if (!jdone && ex[i].start >= fs->jnl_off) {
			err = gap(fs, &used, fs->jnl_off, jend);
			jdone = 1;
		}
		if (!err)
			err = gap(fs, &used, ex[i].start, ex[i].end);
		uint64_t next = i + 1 < k ? ex[i + 1].start : limit;
		if (!jdone && next > fs->jnl_off)
			next = fs->jnl_off;
		uint64_t cap = ex[i].end + slack_of(&ex[i]);
		cap = cap < next ? cap : next;
		cap = cap > ex[i].end ? cap : ex[i].end;
		fs->cap[ex[i].ino - 1] = cap;
		used = cap > used ? cap : used;
	}
	if (!jdone && !err)
		err = gap(fs, &used, fs->jnl_off, jend);
	if (!err && limit > used)
		err = efs_free_add(fs, used, limit);
	fs->scan_errors += fs->overlaps;
	return err;
}

/* Where a bad record's bytes are, as far as its header tells. */
static struct extent bad_extent(struct efs *fs, uint32_t ino, uint64_t at)
{
	uint8_t h[REC_HDR];
	uint64_t len = REC_HDR;
	if (at <= fs->io.size - REC_HDR && !efs_bread(fs, at, h, REC_HDR) &&
	    efs_ld32(h + REC_SIZE) >= REC_HDR &&
	    efs_ld32(h + REC_SIZE) <= fs->io.size - at)
		len = efs_ld32(h + REC_SIZE);
	return (struct extent){ at, at + len, ino, 0 };
}

int efs_scan(struct efs *fs)
{
	if (fs->scanned)
		return 0;
	uint32_t n = fs->n, k = 0;
	struct extent *ex = malloc((size_t)n * sizeof(*ex));
	uint8_t *seen = calloc(n, 1);
	free(fs->state);
	free(fs->cap);
	free(fs->safe);
	free(fs->safe_gen);
	efs_free_drop(fs);
	fs->state = calloc(n, 1);
	fs->cap = calloc(n, sizeof(*fs->cap));
	fs->safe = calloc(n, sizeof(*fs->safe));
	fs->safe_gen = calloc(n, sizeof(*fs->safe_gen));
	int err = 0;
	if (!ex || !seen || !fs->state || !fs->cap || !fs->safe ||
	    !fs->safe_gen) {
		err = EFS_ERR_NO_MEMORY;
		goto out;
	}
	fs->scan_errors = 0;
	fs->overlaps = 0;
	for (uint32_t ino = 1; ino <= n && !err; ino++) {
		struct efs_node nd;
		uint64_t at;
		err = efs_node_get(fs, ino, &nd);
		/* What the strict loader refuses is damage too: changes would
		 * keep the image unreadable to it (fsck --repair fixes it). */
		if (!err && (!nd.complete || !efs_entry_ok(fs, ino)))
			fs->scan_errors++;
		if (!err) {
			ex[k++] = (struct extent){ nd.rec, nd.rec + nd.rec_size,
						   ino, !efs_is_placeholder(&nd) };
		} else if (err == EFS_ERR_CORRUPT) {
			/* Keep the allocator off whatever it points at. */
			fs->state[ino - 1] = SLOT_BAD;
			fs->scan_errors++;
			if (!efs_slot_offset(fs, ino, &at) && at < fs->io.size)
				ex[k++] = bad_extent(fs, ino, at);
			err = 0;
		}
	}
	if (!err)
		err = reach(fs, seen);
	if (!err)
		err = layout(fs, ex, k);
	fs->nfree = 0;
	for (uint32_t i = 0; !err && i < n; i++) {
		struct efs_node nd;
		if (fs->state[i] == SLOT_BAD)
			continue;
		if (seen[i]) {
			fs->state[i] = SLOT_LIVE;
			continue;
		}
		err = efs_node_get(fs, i + 1, &nd);
		fs->state[i] = efs_is_placeholder(&nd) ? SLOT_FREE : SLOT_ORPHAN;
		fs->nfree += fs->state[i] == SLOT_FREE;
	}
	if (!err)
		fs->scanned = 1;
out:
	free(ex);
	free(seen);
	return err;
}

/* A plain image (no umbra extension) gets a journal in its free space
 * (sized from the largest piece, placed where it fits best: past the last
 * record in an image of the original writer) and the extension sector
 * that names it. */
static int upgrade(struct efs *fs)
{
	if (fs->table_off < EXT_OFF + 512)
		return EFS_ERR_UNSUPPORTED;	/* the table holds that sector */
	/* A quarter of the largest free piece, between the minimum and the
	 * default; that piece must hold twice as much (room for changes). */
	uint64_t min = (uint64_t)MIN_JOURNAL_BLOCKS * fs->bs;
	uint64_t avail = efs_largest_free(fs);
	uint64_t size = avail / 4 / fs->bs * fs->bs, start;
	if (size > (uint64_t)DEFAULT_JOURNAL_BLOCKS * fs->bs)
		size = (uint64_t)DEFAULT_JOURNAL_BLOCKS * fs->bs;
	if (size < min)
		size = min;
	if (avail < 2 * size + fs->bs)
		return EFS_ERR_NO_SPACE;
	fs->spend_keep = 1;
	int err = efs_claim(fs, size, ALIGN_BLOCK, &start);
	fs->spend_keep = 0;
	if (!err)
		err = efs_set_journal(fs, start, size);
	if (err)
		efs_free_add(fs, start, start + size);
	return err;
}

int efs_set_journal(struct efs *fs, uint64_t off, uint64_t size)
{
	uint8_t *blk = calloc(1, 512 > fs->bs ? 512 : fs->bs);
	int err = blk ? efs_dev_sync(fs) : EFS_ERR_NO_MEMORY;
	if (!err)
		err = efs_direct(fs, off, blk, fs->bs);
	if (!err)
		err = efs_dev_sync(fs);
	if (!err) {
		efs_ext_encode(blk, fs->bs, off, size, fs->io.size);
		err = efs_direct(fs, EXT_OFF, blk, 512);
	}
	if (!err)
		err = efs_dev_sync(fs);
	free(blk);
	if (err)
		return err;
	fs->direct_pending = 0;
	fs->entry_live = 0;
	fs->has_ext = 1;
	fs->jnl_off = off;
	fs->jnl_size = size;
	fs->max_dirty = efs_journal_capacity(size, fs->bs);
	return 0;
}

int efs_prepare_write(struct efs *fs)
{
	if (fs->prepared)
		return fs->failed;
	if (fs->io.read_only)
		return EFS_ERR_READ_ONLY;
	int err = efs_scan(fs);
	if (!err && fs->scan_errors && !fs->lenient)
		err = EFS_ERR_CORRUPT;	/* "run fsck --repair" */
	if (!err && !fs->has_ext)
		err = upgrade(fs);
	if (err)
		return err;
	fs->prepared = 1;
	return 0;
}

int efs_grow(struct efs *fs, uint32_t ino, uint64_t end, int ahead)
{
	uint64_t *cap = &fs->cap[ino - 1];
	if (end <= *cap)
		return 0;
	if (!efs_extendable(fs, *cap, end - *cap))
		return EFS_ERR_NO_SPACE;
	*cap += efs_extend(fs, *cap, end - *cap);
	/* A writer that keeps growing gets its next space now. */
	if (ahead) {
		struct efs_node nd;
		uint64_t more = !efs_node_get(fs, ino, &nd) ? end - nd.rec : 0;
		*cap += efs_extend(fs, *cap, more);
	}
	return *cap >= end ? 0 : EFS_ERR_NO_SPACE;
}

int efs_alloc_slot(struct efs *fs, uint32_t *ino)
{
	if (!fs->nfree)
		return EFS_ERR_NO_INODES;
	for (uint32_t k = 0; k < fs->n; k++) {
		uint32_t i = (fs->free_hint + k) % fs->n;
		if (fs->state[i] == SLOT_FREE) {
			fs->state[i] = SLOT_LIVE;
			fs->nfree--;
			fs->free_hint = i + 1;
			*ino = i + 1;
			return 0;
		}
	}
	return EFS_ERR_NO_INODES;
}

/* The first time a transaction looks at a record, the record is as
 * committed: its end is the mark. Later shrinking in the same
 * transaction must not lower it, or bytes still live on disk would be
 * overwritten directly. */
uint64_t efs_safe(struct efs *fs, uint32_t ino, const struct efs_node *nd)
{
	if (fs->safe_gen[ino - 1] != fs->gen + 1)
		efs_set_safe(fs, ino, nd->rec + nd->rec_size);
	return fs->safe[ino - 1];
}

void efs_set_safe(struct efs *fs, uint32_t ino, uint64_t from)
{
	fs->safe[ino - 1] = from;
	fs->safe_gen[ino - 1] = fs->gen + 1;
}

int efs_space(struct efs *fs, struct efs_space *sp)
{
	int err = efs_scan(fs);
	if (err)
		return err;
	uint64_t limit = efs_area_limit(fs);
	memset(sp, 0, sizeof(*sp));
	sp->size = fs->io.size;
	sp->free = fs->freemap.bytes;
	sp->pending = fs->pending.bytes;
	sp->used = limit - sp->free - sp->pending;
	sp->largest = efs_largest_free(fs);
	sp->reserved = fs->keep;
	sp->slots = fs->n;
	sp->free_slots = fs->nfree;
	sp->entry_width = fs->width;
	sp->journaled = fs->has_ext;
	return 0;
}

int efs_reclaim_slack(struct efs *fs)
{
	uint64_t before = fs->freemap.bytes;
	for (uint32_t ino = 1; ino <= fs->n; ino++) {
		struct efs_node nd;
		if (fs->state[ino - 1] == SLOT_BAD ||
		    fs->safe_gen[ino - 1] == fs->gen + 1 ||
		    efs_node_get(fs, ino, &nd))
			continue;
		uint64_t end = nd.rec + nd.rec_size;
		if (fs->cap[ino - 1] > end &&
		    !efs_free_add(fs, end, fs->cap[ino - 1]))
			fs->cap[ino - 1] = end;
	}
	return fs->freemap.bytes > before;
}

/* --- transactions: a change's begin and end, commit --------------------- */

int efs_reserve(struct efs *fs, uint32_t blocks)
{
	if (blocks > fs->max_dirty)
		return EFS_ERR_TOO_BIG;
	if (fs->ndirty + blocks > fs->max_dirty)
		return efs_commit(fs);
	return 0;
}

int efs_commit(struct efs *fs)
{
	int err = efs_cache_commit(fs);
	if (!err)	/* step 5: what the transaction freed is free */
		efs_free_committed(fs);
	return err;
}

int efs_wbegin(struct efs *fs)
{
	int err = efs_gate(fs);
	if (!err)
		err = efs_prepare_write(fs);
	if (!err)
		err = efs_reserve(fs, OP_BLOCKS);
	efs_plan_end(fs);
	fs->spend_keep = 0;
	return err;
}

int efs_wbegin_node(struct efs *fs, uint32_t ino, struct efs_node *nd)
{
	int err = efs_wbegin(fs);
	return err ? err : efs_node_get(fs, ino, nd);
}

int efs_wfinish(struct efs *fs, int err, int wrote)
{
	efs_plan_end(fs);
	fs->spend_keep = 0;
	return wrote ? efs_stop(fs, err) : err;
}
