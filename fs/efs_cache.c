/* The block cache and the redo journal (fs/README.md, "Transactions").
 *
 * Reads of metadata go through a cache of bs-sized blocks (read ahead in
 * groups). A journaled change dirties cache blocks; efs_cache_commit
 * flushes (the direct writes, and the previous commit's in-place blocks),
 * writes the dirty blocks' images to the journal over the previous entry,
 * flushes (the commit point), and writes them in place; the entry stays
 * valid until the next commit replaces it. A direct write (to space no
 * committed state refers to) goes to the device at once and into any
 * cached copy, so a cached block always equals the device or is dirty.
 * Mount lays a committed entry over the device here and writes it in
 * place once the volume it makes opens. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define HASH_BUCKETS 1024u
#define MAX_CLEAN_BYTES (1u << 20)
#define READAHEAD_BYTES 4096u
#define SMALL_READ_BLOCKS 8u	/* reads this small may come from the cache */

static uint32_t hash_of(struct efs *fs, uint64_t blk)
{
	return (uint32_t)(blk * 0x9e3779b97f4a7c15ull >> 40) & fs->hash_mask;
}

/* Bytes of block blk that lie on the device (the last may be short). */
static uint32_t block_len(struct efs *fs, uint64_t blk)
{
	uint64_t start = blk * fs->bs;
	if (start >= fs->io.size)
		return 0;
	uint64_t left = fs->io.size - start;
	return left < fs->bs ? (uint32_t)left : fs->bs;
}

static void lru_unlink(struct cblock *cb)
{
	cb->lprev->lnext = cb->lnext;
	cb->lnext->lprev = cb->lprev;
	cb->lprev = cb->lnext = cb;
}

static void lru_front(struct efs *fs, struct cblock *cb)
{
	cb->lnext = fs->lru.lnext;
	cb->lprev = &fs->lru;
	fs->lru.lnext->lprev = cb;
	fs->lru.lnext = cb;
}

static struct cblock *lookup(struct efs *fs, uint64_t blk)
{
	for (struct cblock *cb = fs->hash[hash_of(fs, blk)]; cb;
	     cb = cb->hnext)
		if (cb->blk == blk)
			return cb;
	return 0;
}

static void unhash(struct efs *fs, struct cblock *cb)
{
	struct cblock **pp = &fs->hash[hash_of(fs, cb->blk)];
	while (*pp != cb)
		pp = &(*pp)->hnext;
	*pp = cb->hnext;
}

/* Evicted blocks are kept on a list for reuse (hnext links them). */
static void evict(struct efs *fs)
{
	while (fs->nclean > fs->max_clean) {
		struct cblock *cb = fs->lru.lprev;
		lru_unlink(cb);
		unhash(fs, cb);
		cb->hnext = fs->spare;
		fs->spare = cb;
		fs->nclean--;
	}
}

/* A new clean block with the given contents, made most recent. */
static struct cblock *insert(struct efs *fs, uint64_t blk, const uint8_t *d)
{
	struct cblock *cb = fs->spare;
	if (cb)
		fs->spare = cb->hnext;
	else if (!(cb = malloc(sizeof(*cb) + fs->bs)))
		return 0;
	cb->data = (uint8_t *)(cb + 1);
	cb->blk = blk;
	cb->dirty = 0;
	memset(cb->data, 0, fs->bs);
	memcpy(cb->data, d, block_len(fs, blk));
	uint32_t h = hash_of(fs, blk);
	cb->hnext = fs->hash[h];
	fs->hash[h] = cb;
	lru_front(fs, cb);
	fs->nclean++;
	return cb;
}

int efs_dev_read(struct efs *fs, uint64_t off, void *buf, size_t len)
{
	return efs_io_result(fs->io.read(fs->io.ctx, off, buf, len));
}

int efs_dev_write(struct efs *fs, uint64_t off, const void *buf, size_t len)
{
	return efs_io_result(fs->io.write(fs->io.ctx, off, buf, len));
}

int efs_dev_sync(struct efs *fs)
{
	return efs_io_result(fs->io.sync(fs->io.ctx));
}

int efs_cache_init(struct efs *fs)
{
	fs->hash_mask = HASH_BUCKETS - 1;
	fs->hash = calloc(HASH_BUCKETS, sizeof(*fs->hash));
	if (!fs->hash)
		return EFS_ERR_NO_MEMORY;
	fs->lru.lnext = fs->lru.lprev = &fs->lru;
	fs->max_clean = MAX_CLEAN_BYTES / fs->bs;
	fs->ra = malloc(READAHEAD_BYTES > fs->bs ? READAHEAD_BYTES : fs->bs);
	return fs->ra ? 0 : EFS_ERR_NO_MEMORY;
}

void efs_cache_free(struct efs *fs)
{
	fs->nclean = fs->ndirty = 0;
	if (!fs->hash)
		return;
	for (uint32_t i = 0; i <= fs->hash_mask; i++) {
		struct cblock *cb = fs->hash[i];
		while (cb) {
			struct cblock *next = cb->hnext;
			free(cb);
			cb = next;
		}
	}
	while (fs->spare) {
		struct cblock *next = fs->spare->hnext;
		free(fs->spare);
		fs->spare = next;
	}
	free(fs->ra);
	free(fs->hash);
	fs->hash = 0;
	fs->ra = 0;
}

/* The cached block blk, reading it (and its read-ahead group) on a miss. */
static int load(struct efs *fs, uint64_t blk, struct cblock **out)
{
	struct cblock *cb = lookup(fs, blk);
	if (cb) {
		if (!cb->dirty) {
			lru_unlink(cb);
			lru_front(fs, cb);
		}
		*out = cb;
		return 0;
	}
	if (!block_len(fs, blk))
		return EFS_ERR_CORRUPT;
	uint32_t group = READAHEAD_BYTES >= fs->bs ? READAHEAD_BYTES / fs->bs
						   : 1;
	uint64_t first = blk - blk % group;
	uint64_t bytes = (uint64_t)group * fs->bs;
	if (first * fs->bs + bytes > fs->io.size)
		bytes = fs->io.size - first * fs->bs;
	uint8_t *tmp = fs->ra;
	int err = efs_dev_read(fs, first * fs->bs, tmp, bytes);
	if (err)
		return err;
	for (uint64_t b = first; (b - first) * fs->bs < bytes; b++) {
		if (lookup(fs, b))
			continue;
		struct cblock *nb = insert(fs, b, tmp + (b - first) * fs->bs);
		if (!nb)
			return EFS_ERR_NO_MEMORY;
		if (b == blk)
			cb = nb;
	}
	/* The group's blocks after the wanted one went in later (more
	 * recent), and eviction runs before returning: make it the most
	 * recent. */
	lru_unlink(cb);
	lru_front(fs, cb);
	evict(fs);
	*out = cb;
	return 0;
}

static int in_bounds(struct efs *fs, uint64_t off, size_t len)
{
	return off <= fs->io.size && len <= fs->io.size - off;
}

int efs_bread(struct efs *fs, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	if (!in_bounds(fs, off, len))
		return EFS_ERR_CORRUPT;
	while (len) {
		struct cblock *cb;
		int err = load(fs, off / fs->bs, &cb);
		if (err)
			return err;
		uint32_t in = (uint32_t)(off % fs->bs);
		size_t n = fs->bs - in < len ? fs->bs - in : len;
		memcpy(p, cb->data + in, n);
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Copies [off, off+len) from the cache when every block of it is there
 * (a small file's bytes came in with its record); 0 when not. */
static int from_cache(struct efs *fs, uint64_t off, uint8_t *buf, size_t len)
{
	uint64_t first = off / fs->bs, last = (off + len - 1) / fs->bs;
	if (last - first >= SMALL_READ_BLOCKS)
		return 0;
	for (uint64_t b = first; b <= last; b++)
		if (!lookup(fs, b))
			return 0;
	for (uint64_t b = first; b <= last; b++) {
		struct cblock *cb = lookup(fs, b);
		uint64_t s = b * fs->bs > off ? b * fs->bs : off;
		uint64_t e = (b + 1) * fs->bs < off + len ? (b + 1) * fs->bs
							 : off + len;
		memcpy(buf + (s - off), cb->data + (s - b * fs->bs), e - s);
	}
	return 1;
}

/* What a cached block and a byte range share, for the copies below. */
struct span {
	uint64_t off, len;	/* the range */
	const uint8_t *from;	/* set: its bytes go into the blocks */
	uint8_t *to;		/* else: dirty blocks' bytes come out here */
};

static void copy_span(struct efs *fs, struct cblock *cb, struct span *sp)
{
	uint64_t b0 = cb->blk * fs->bs, end = sp->off + sp->len;
	uint64_t s = b0 > sp->off ? b0 : sp->off;
	uint64_t e = b0 + fs->bs < end ? b0 + fs->bs : end;
	if (sp->from)
		memcpy(cb->data + (s - b0), sp->from + (s - sp->off), e - s);
	else if (cb->dirty)
		memcpy(sp->to + (s - sp->off), cb->data + (s - b0), e - s);
}

/* copy_span on every cached block the range touches: looked up block by
 * block for short ranges, found by walking the cache for long ones (a
 * 32 MiB write must not cost 65536 lookups). */
static void each_cached(struct efs *fs, struct span *sp)
{
	uint64_t first = sp->off / fs->bs;
	uint64_t last = (sp->off + sp->len - 1) / fs->bs;
	if (last - first < fs->nclean + fs->ndirty + fs->hash_mask) {
		for (uint64_t b = first; b <= last; b++) {
			struct cblock *cb = lookup(fs, b);
			if (cb)
				copy_span(fs, cb, sp);
		}
		return;
	}
	for (uint32_t h = 0; h <= fs->hash_mask; h++)
		for (struct cblock *cb = fs->hash[h]; cb; cb = cb->hnext)
			if (cb->blk >= first && cb->blk <= last)
				copy_span(fs, cb, sp);
}

int efs_dread(struct efs *fs, uint64_t off, void *buf, size_t len)
{
	if (!in_bounds(fs, off, len))
		return EFS_ERR_CORRUPT;
	if (!len || from_cache(fs, off, buf, len))
		return 0;
	int err = efs_dev_read(fs, off, buf, len);
	if (err || !fs->ndirty)
		return err;
	struct span sp = { off, len, 0, buf };
	each_cached(fs, &sp);
	return 0;
}

uint32_t efs_blocks_of(struct efs *fs, uint64_t off, size_t len)
{
	if (!len)
		return 0;
	return (uint32_t)((off + len - 1) / fs->bs - off / fs->bs + 1);
}

int efs_patch(struct efs *fs, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (fs->io.read_only)
		return EFS_ERR_READ_ONLY;
	if (fs->failed)
		return fs->failed;
	if (!in_bounds(fs, off, len))
		return EFS_ERR_CORRUPT;
	while (len) {
		struct cblock *cb;
		int err = load(fs, off / fs->bs, &cb);
		if (err)
			return err;
		if (!cb->dirty) {
			/* efs_reserve guarantees room; refuse rather than
			 * overflow the journal if a caller got it wrong. */
			if (fs->ndirty >= fs->max_dirty)
				return EFS_ERR_TOO_BIG;
			lru_unlink(cb);
			cb->dirty = 1;
			fs->nclean--;
			fs->ndirty++;
		}
		uint32_t in = (uint32_t)(off % fs->bs);
		size_t n = fs->bs - in < len ? fs->bs - in : len;
		memcpy(cb->data + in, p, n);
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int efs_patch32(struct efs *fs, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	efs_st32(b, v);
	return efs_patch(fs, off, b, 4);
}

int efs_patch64(struct efs *fs, uint64_t off, uint64_t v)
{
	uint8_t b[8];
	efs_st64(b, v);
	return efs_patch(fs, off, b, 8);
}

int efs_direct(struct efs *fs, uint64_t off, const void *buf, size_t len)
{
	if (fs->io.read_only)
		return EFS_ERR_READ_ONLY;
	if (fs->failed)
		return fs->failed;
	if (!in_bounds(fs, off, len))
		return EFS_ERR_CORRUPT;
	if (!len)
		return 0;
	int err = efs_dev_write(fs, off, buf, len);
	if (err)
		return err;
	fs->direct_pending = 1;
	struct span sp = { off, len, buf, 0 };
	each_cached(fs, &sp);
	return 0;
}

static int cmp_blk(const void *a, const void *b)
{
	uint64_t x = (*(struct cblock *const *)a)->blk;
	uint64_t y = (*(struct cblock *const *)b)->blk;
	return x < y ? -1 : x > y;
}

uint32_t efs_journal_capacity(uint64_t size, uint32_t bs)
{
	/* One block for the entry's header; each block then costs its image
	 * plus an 8-byte address. */
	uint64_t blocks = size / bs;
	return blocks > 1 ? (uint32_t)((blocks - 1) * bs / (bs + 8)) : 0;
}

static uint64_t data_start(struct efs *fs, uint32_t n)
{
	uint64_t a = JNL_ADDRS + (uint64_t)n * 8;
	return (a + fs->bs - 1) / fs->bs * fs->bs;
}

/* Writes the dirty blocks where they belong (coalescing runs); the next
 * commit's first flush makes them durable before its entry replaces the
 * one that holds them. */
static int apply(struct efs *fs, struct cblock **v, uint32_t n)
{
	for (uint32_t i = 0; i < n;) {
		uint32_t j = i + 1;
		while (j < n && v[j]->blk == v[j - 1]->blk + 1 &&
		       block_len(fs, v[j]->blk) == fs->bs && j - i < 256)
			j++;
		uint64_t len = 0;
		for (uint32_t k = i; k < j; k++)
			len += block_len(fs, v[k]->blk);
		uint8_t *buf = malloc(len);
		if (!buf)
			return EFS_ERR_NO_MEMORY;
		for (uint32_t k = i; k < j; k++)
			memcpy(buf + (uint64_t)(k - i) * fs->bs, v[k]->data,
			       block_len(fs, v[k]->blk));
		int err = efs_dev_write(fs, v[i]->blk * fs->bs, buf, len);
		free(buf);
		if (err)
			return err;
		i = j;
	}
	fs->direct_pending = 1;
	fs->entry_live = 1;
	for (uint32_t i = 0; i < n; i++) {
		v[i]->dirty = 0;
		lru_front(fs, v[i]);
		fs->nclean++;
	}
	fs->ndirty = 0;
	evict(fs);
	return 0;
}

/* All dirty blocks, sorted by address (caller frees). */
static struct cblock **dirty_list(struct efs *fs, uint32_t *count)
{
	struct cblock **v = malloc((fs->ndirty + 1) * sizeof(*v));
	uint32_t n = 0;
	if (!v)
		return 0;
	for (uint32_t h = 0; h <= fs->hash_mask; h++)
		for (struct cblock *cb = fs->hash[h]; cb; cb = cb->hnext)
			if (cb->dirty)
				v[n++] = cb;
	qsort(v, n, sizeof(*v), cmp_blk);
	*count = n;
	return v;
}

/* The CRC of an entry of total bytes (format §9.2): its header up to the
 * CRC field, then everything from the addresses on. */
static uint32_t entry_crc(const uint8_t *j, uint64_t total)
{
	uint32_t crc = efs_crc32(0, j, JNL_CRC);
	return efs_crc32(crc, j + JNL_ADDRS, total - JNL_ADDRS);
}

/* Journal entry: header, then the block addresses, then the images. */
static int write_journal(struct efs *fs, struct cblock **v, uint32_t n)
{
	uint64_t ds = data_start(fs, n), total = ds + (uint64_t)n * fs->bs;
	if (total > fs->jnl_size)
		return EFS_ERR_TOO_BIG;
	uint8_t *j = calloc(1, total);
	if (!j)
		return EFS_ERR_NO_MEMORY;
	memcpy(j, JNL_MAGIC, JNL_MAGIC_LEN);
	efs_st64(j + JNL_GEN, fs->gen + 1);
	efs_st32(j + JNL_COUNT, n);
	efs_st32(j + JNL_BS, fs->bs);
	for (uint32_t i = 0; i < n; i++) {
		efs_st64(j + JNL_ADDRS + 8 * i, v[i]->blk * fs->bs);
		memcpy(j + ds + (uint64_t)i * fs->bs, v[i]->data, fs->bs);
	}
	efs_st32(j + JNL_CRC, entry_crc(j, total));
	int err = efs_dev_write(fs, fs->jnl_off, j, total);
	free(j);
	return err;
}

int efs_clear_entry(struct efs *fs)
{
	/* The entry's blocks in place first: only then may it go. */
	uint8_t *zero = calloc(1, fs->bs);
	int err = zero ? efs_dev_sync(fs) : EFS_ERR_NO_MEMORY;
	if (!err)
		err = efs_dev_write(fs, fs->jnl_off, zero, fs->bs);
	free(zero);
	if (!err)
		err = efs_dev_sync(fs);
	if (!err)
		fs->entry_live = fs->direct_pending = 0;	/* all flushed */
	return err;
}

int efs_gate(struct efs *fs)
{
	return fs->io.gate ? fs->io.gate(fs->io.ctx) : 0;
}

int efs_cache_commit(struct efs *fs)
{
	int err = 0;
	if (fs->failed)
		return fs->failed;
	if (fs->io.read_only)
		return 0;
	if ((fs->ndirty || fs->direct_pending) && (err = efs_gate(fs)))
		return err;	/* refused before anything is written */
	if (!fs->ndirty) {
		/* Direct writes only: the live entry's blocks may hold file
		 * bytes overwritten since, which a replay would put back. */
		if (fs->direct_pending && fs->entry_live)
			err = efs_clear_entry(fs);
		else if (fs->direct_pending)
			err = efs_dev_sync(fs);
		if (err)
			goto fail;
		fs->direct_pending = 0;
		return 0;
	}
	if (!fs->has_ext)
		return EFS_ERR_UNSUPPORTED;
	uint32_t n;
	struct cblock **v = dirty_list(fs, &n);
	if (!v)
		return EFS_ERR_NO_MEMORY;
	/* 1: the new records the entry will point at reach the medium first. */
	if (fs->direct_pending)
		err = efs_dev_sync(fs);
	/* 2, 3: the entry (over the last one), then the commit point. */
	if (!err)
		err = write_journal(fs, v, n);
	if (!err)
		err = efs_dev_sync(fs);
	/* 4: in place (the entry stays valid until the next one). */
	if (!err)
		err = apply(fs, v, n);
	free(v);
	if (err)
		goto fail;
	fs->gen++;
	return 0;
fail:
	/* What reached the disk is unknown: the next mount replays or
	 * ignores the entry, whichever is right. Stop writing until then. */
	return efs_stop(fs, err);
}

int efs_stop(struct efs *fs, int err)
{
	if (err && !fs->failed)
		fs->failed = err;
	return err;
}

/* Checks a journal entry's shape; returns its block count or -1. */
static int64_t entry_blocks(struct efs *fs, const uint8_t *hdr)
{
	if (memcmp(hdr, JNL_MAGIC, JNL_MAGIC_LEN) ||
	    efs_ld32(hdr + JNL_BS) != fs->bs)
		return -1;
	uint32_t n = efs_ld32(hdr + JNL_COUNT);
	if (!n || n > fs->jnl_size / fs->bs ||
	    data_start(fs, n) + (uint64_t)n * fs->bs > fs->jnl_size)
		return -1;
	return n;
}

/* Why address a of a committed entry cannot be written, or NULL: only
 * whole blocks on the device, outside the journal, and not umbra's
 * sector unless it shares block 0 with the header (4096-byte blocks). */
static const char *bad_address(struct efs *fs, uint64_t a)
{
	if (a % fs->bs)
		return " is not on a block boundary";
	if (a >= fs->io.size)
		return " lies outside the volume";
	if (a && a < EXT_OFF + 512)
		return " lies in the header's umbra sector";
	if (a + fs->bs > fs->jnl_off && a < fs->jnl_off + fs->jnl_size)
		return " lies inside the journal";
	return 0;
}

/* Checks every address of a CRC-valid entry before anything is written.
 * umbra never writes such an entry; when one is found, nothing of it is
 * applied and the volume is mounted read-only as it was before it. */
static int entry_valid(struct efs *fs, const uint8_t *j, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = efs_ld64(j + JNL_ADDRS + 8 * i);
		const char *why = bad_address(fs, a);
		if (!why)
			continue;
		char s[200];
		struct efs_text t = { s, sizeof(s), 0 };
		efs_text_str(&t, "the journal's committed entry (generation ");
		efs_text_num(&t, fs->gen, 10, 0);
		efs_text_str(&t, ") is invalid: block address ");
		efs_text_num(&t, a, 10, 0);
		efs_text_str(&t, why);
		efs_text_str(&t, ": not replayed, mounted read-only (fsck "
			     "--repair discards the entry)");
		efs_damaged(fs, DAMAGE_JOURNAL, s);
		return 0;
	}
	return 1;
}

int efs_replay(struct efs *fs, int *replayed)
{
	*replayed = 0;
	if (!fs->has_ext)
		return 0;
	uint8_t hdr[JNL_ADDRS];
	int err = efs_dev_read(fs, fs->jnl_off, hdr, sizeof(hdr));
	if (err)
		return err;
	int64_t n = entry_blocks(fs, hdr);
	if (n < 0)
		return 0;
	uint64_t ds = data_start(fs, (uint32_t)n), total = ds + n * fs->bs;
	uint8_t *j = malloc(total);
	if (!j)
		return EFS_ERR_NO_MEMORY;
	if ((err = efs_dev_read(fs, fs->jnl_off, j, total))) {
		free(j);
		return err;
	}
	if (entry_crc(j, total) != efs_ld32(j + JNL_CRC)) {	/* torn */
		free(j);
		return 0;
	}
	fs->gen = efs_ld64(j + JNL_GEN);
	if (!entry_valid(fs, j, (uint32_t)n)) {
		free(j);	/* the state before it, read-only */
		return 0;
	}
	for (uint32_t i = 0; i < n && !err; i++) {
		uint64_t a = efs_ld64(j + JNL_ADDRS + 8 * i);
		struct cblock *cb = lookup(fs, a / fs->bs);
		if (!cb && !(cb = insert(fs, a / fs->bs, j + ds + i * fs->bs)))
			err = EFS_ERR_NO_MEMORY;
		if (err)
			break;
		memcpy(cb->data, j + ds + i * fs->bs, block_len(fs, cb->blk));
		if (!cb->dirty) {
			lru_unlink(cb);
			cb->dirty = 1;
			fs->nclean--;
			fs->ndirty++;
		}
	}
	free(j);
	if (!err)
		*replayed = 1;
	return err;
}

int efs_replay_apply(struct efs *fs)
{
	if (fs->io.read_only || !fs->ndirty)
		return 0;
	uint32_t cnt;
	struct cblock **v = dirty_list(fs, &cnt);
	if (!v)
		return EFS_ERR_NO_MEMORY;
	int err = apply(fs, v, cnt);
	free(v);
	if (!err)
		err = efs_dev_sync(fs);
	fs->direct_pending = 0;
	return err;
}

int efs_replay_refuse(struct efs *fs, int why)
{
	char s[240];
	struct efs_text t = { s, sizeof(s), 0 };
	efs_text_str(&t, "the journal's committed entry (generation ");
	efs_text_num(&t, fs->gen, 10, 0);
	efs_text_str(&t, ") would leave the volume unmountable (");
	efs_text_str(&t, efs_strerror(why));
	efs_text_str(&t, "): not replayed, mounted read-only (fsck --repair "
		     "discards the entry)");
	efs_damaged(fs, DAMAGE_JOURNAL, s);
	efs_cache_free(fs);
	return efs_cache_init(fs);
}
