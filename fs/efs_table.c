/* Online growth of the inode table (fs/README.md, "Table growth").
 *
 * The node area starts where the table ends (format §2.1), so K more
 * slots of width w need the K*w bytes after the table: the records there
 * move away first (ordinary moves, each batch its own transaction), the
 * journal too when it sits there or is too small to hold the new table.
 * Placeholders for the new slots are written to free space. Then one
 * transaction rewrites the header's table size and count and the whole
 * table, every entry rebased on the new start of the node area: a power
 * cut leaves the old table or the new one. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define GROW_MIN 64u

/* A journal size whose entries hold `blocks` blocks. */
static uint64_t journal_for(struct efs *fs, uint32_t blocks)
{
	uint64_t size = (uint64_t)MIN_JOURNAL_BLOCKS * fs->bs;
	while (efs_journal_capacity(size, fs->bs) < blocks)
		size += (uint64_t)(blocks / 8 + 1) * fs->bs;
	return size;
}

/* Puts the journal in a new region of size bytes (efs_set_journal: its
 * first block zeroed and flushed, then the sector that names it). The old
 * region is free then: its last entry was applied and flushed in place
 * before, and nothing names it any more. */
static int move_journal(struct efs *fs, uint64_t size)
{
	uint64_t off, old = fs->jnl_off, old_end = fs->jnl_off + fs->jnl_size;
	int err = efs_claim(fs, size, ALIGN_BLOCK, &off);
	if (!err)
		err = efs_stop(fs, efs_set_journal(fs, off, size));
	return err ? err : efs_free_add(fs, old, old_end);
}

/* Grows the per-slot arrays to n slots; new slots are zeroed. */
static int grow_arrays(struct efs *fs, uint32_t n)
{
	uint8_t *st = realloc(fs->state, n);
	if (st)
		fs->state = st;
	uint64_t *cap = realloc(fs->cap, (size_t)n * sizeof(*cap));
	if (cap)
		fs->cap = cap;
	uint64_t *safe = realloc(fs->safe, (size_t)n * sizeof(*safe));
	if (safe)
		fs->safe = safe;
	uint64_t *gen = realloc(fs->safe_gen, (size_t)n * sizeof(*gen));
	if (gen)
		fs->safe_gen = gen;
	if (!st || !cap || !safe || !gen)
		return EFS_ERR_NO_MEMORY;
	memset(st + fs->n, 0, n - fs->n);
	memset(safe + fs->n, 0, (size_t)(n - fs->n) * sizeof(*safe));
	memset(gen + fs->n, 0, (size_t)(n - fs->n) * sizeof(*gen));
	return 0;
}

/* Writes k placeholders (inodes n+1..n+k) to free space; ph gets where. */
static int placeholders(struct efs *fs, uint32_t n, uint32_t k, uint64_t *ph)
{
	uint8_t rec[BASE_RECORD];
	uint32_t i = 0;
	int err = 0;
	for (; i < k && !err; i++) {
		err = efs_claim(fs, BASE_RECORD, ALIGN_NONE, &ph[i]);
		if (err)
			break;
		efs_placeholder(n + 1 + i, rec);
		err = efs_direct(fs, ph[i], rec, BASE_RECORD);
	}
	if (err)	/* nothing refers to them: give the space back */
		while (i-- > 0)
			efs_free_add(fs, ph[i], ph[i] + BASE_RECORD);
	return err;
}

/* The new table in memory: every entry rebased on area. */
static uint8_t *new_table(struct efs *fs, uint32_t k, const uint64_t *ph,
			  uint64_t area)
{
	uint32_t n = fs->n, w = fs->width;
	uint8_t *t = malloc((size_t)(n + k) * w);
	for (uint32_t i = 0; t && i < n + k; i++) {
		uint64_t abs;
		if (i >= n)
			abs = ph[i - n];
		else if (efs_slot_offset(fs, i + 1, &abs)) {
			free(t);
			return 0;
		}
		efs_table_entry(t + (size_t)i * w, w, i + 1, abs - area);
	}
	return t;
}

/* The switch: header and table in one transaction. */
static int switch_table(struct efs *fs, uint32_t k, const uint64_t *ph,
			uint64_t area)
{
	uint32_t n = fs->n, w = fs->width;
	uint64_t bytes = (uint64_t)(n + k) * w;
	uint8_t *t = new_table(fs, k, ph, area);
	int err = t ? grow_arrays(fs, n + k) : EFS_ERR_NO_MEMORY;
	if (!err)
		err = efs_reserve(fs, efs_blocks_of(fs, fs->table_off, bytes) + 1);
	if (!err)
		err = efs_patch64(fs, HDR_OFF_TABLE_SIZE, bytes);
	if (!err)
		err = efs_patch32(fs, HDR_OFF_INODES, n + k);
	if (!err)
		err = efs_patch(fs, fs->table_off, t, bytes);
	if (!err)
		err = efs_commit(fs);
	if (err) {
		free(t);
		return efs_stop(fs, err);
	}
	free(fs->table);
	fs->table = t;
	for (uint32_t i = 0; i < k; i++) {
		fs->state[n + i] = SLOT_FREE;
		fs->cap[n + i] = ph[i] + BASE_RECORD;
	}
	fs->n = n + k;
	fs->nfree += k;
	fs->area_off = area;
	return 0;
}

/* How many slots to add: want, or as many again (at least GROW_MIN);
 * fewer when their placeholders would not fit. */
static uint32_t grow_by(struct efs *fs, uint32_t want)
{
	uint64_t k = want ? want : fs->n < GROW_MIN ? GROW_MIN : fs->n;
	if (k > MAX_INODES - 1 - fs->n)
		k = MAX_INODES - 1 - fs->n;
	while (k && k * (BASE_RECORD + fs->width) > fs->freemap.bytes / 2)
		k /= 2;
	return (uint32_t)k;
}

int efs_grow_table(struct efs *fs, uint32_t want)
{
	uint32_t k = grow_by(fs, want);
	if (!k || fs->scan_errors)
		return EFS_ERR_NO_INODES;
	int err = efs_commit(fs);
	if (err)
		return err;
	fs->spend_keep = 1;
	uint64_t lo = fs->area_off;
	uint64_t hi = fs->table_off + (uint64_t)(fs->n + k) * fs->width;
	uint32_t blocks = efs_blocks_of(fs, fs->table_off, hi - fs->table_off) + 1;
	struct efs_extents held = { 0 };
	uint64_t *ph = malloc((size_t)k * sizeof(*ph));
	err = ph ? efs_hold(fs, lo, hi, &held) : EFS_ERR_NO_MEMORY;
	if (!err && (fs->jnl_off < hi || fs->max_dirty < blocks + OP_BLOCKS))
		err = move_journal(fs, journal_for(fs, blocks + OP_BLOCKS));
	if (!err)
		err = efs_evacuate(fs, lo, hi);
	if (!err)	/* what the moves freed there */
		err = efs_hold(fs, lo, hi, &held);
	if (!err)
		err = placeholders(fs, fs->n, k, ph);
	if (!err)
		err = switch_table(fs, k, ph, hi);
	if (err)
		efs_unhold(fs, &held);
	else
		free(held.v);	/* those bytes are table now */
	free(ph);
	fs->spend_keep = 0;
	return err;
}

int efs_grow_slots(struct efs *fs, uint32_t slots)
{
	int err = efs_wbegin(fs);
	if (slots >= MAX_INODES)
		return EFS_ERR_TOO_BIG;
	while (!err && fs->n < slots)
		err = efs_grow_table(fs, slots - fs->n);
	return efs_wfinish(fs, err, 0);
}
