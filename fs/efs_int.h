/* EclipseFS internals shared by the fs/ files. Format facts are cited as
 * "format §N" (docs/eclipsefs-format.md); the update scheme is in
 * fs/README.md. */
#ifndef UMBRA_EFS_INT_H
#define UMBRA_EFS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "eclipsefs.h"

/* format §1.1 header */
#define HDR_MAGIC "ECLIPSEFS"
#define HDR_MAGIC_LEN 9
#define HDR_VERSION 0x00020000u
#define HDR_OFF_VERSION 9
#define HDR_OFF_TABLE 13	/* u64 */
#define HDR_OFF_TABLE_SIZE 21	/* u64 */
#define HDR_OFF_INODES 29	/* u32 */
#define HDR_MEANINGFUL 33
#define HDR_SIZE 4096
#define MAX_INODES 0xf0000000u	/* format §1.3: the kernel's bound */

/* format §3: record header and tags */
#define REC_INODE 0		/* u32 */
#define REC_SIZE 4		/* u32, the header included */
#define REC_HDR 8
#define TLV_HDR 6
#define TAG_NODE_TYPE 0x0001
#define TAG_MODE 0x0002
#define TAG_UID 0x0003
#define TAG_GID 0x0004
#define TAG_SIZE 0x0005
#define TAG_ATIME 0x0006
#define TAG_MTIME 0x0007
#define TAG_CTIME 0x0008
#define TAG_NLINK 0x0009
#define TAG_CONTENT 0x000a
#define TAG_DIRENTS 0x000b

/* format §3.4: the base record, every tag in canonical order. Offsets of
 * the values from the record start. */
#define BASE_RECORD 111
#define V_TYPE 14
#define V_MODE 21
#define V_UID 31
#define V_GID 41
#define V_SIZE 51
#define V_ATIME 65
#define V_MTIME 79
#define V_CTIME 93
#define V_NLINK 107
#define V_DATA (BASE_RECORD + TLV_HDR)	/* CONTENT / DIRENTS value */

#define MODE_DIR 0040755u
#define MODE_FILE 0100644u
#define MODE_LINK 0120777u
#define S_IFMT_ 0170000u

/* umbra's extension: sector 1 of block 0 (format §9.1; header bytes past
 * 65 are ignored by every original reader, format §1.1). */
#define EXT_OFF 512
#define EXT_MAGIC "UMBRAEFS"
#define EXT_MAGIC_LEN 8
#define EXT_VERSION 1
#define EXT_VER 8		/* u32 version */
#define EXT_BS 12		/* u32 journal block size */
#define EXT_JNL_OFF 16		/* u64 */
#define EXT_JNL_SIZE 24		/* u64 */
#define EXT_VOL_SIZE 32		/* u64 the volume's size; 0: unknown */
#define EXT_CRC_AT 508

/* The journal entry's header at the start of the journal region (format
 * §9.2). */
#define JNL_MAGIC "UMBRAJNL"
#define JNL_MAGIC_LEN 8
#define JNL_GEN 8		/* u64 generation */
#define JNL_COUNT 16		/* u32 block count */
#define JNL_BS 20		/* u32 block size */
#define JNL_CRC 24		/* u32 CRC-32 of [0, JNL_CRC) and [JNL_ADDRS, end) */
#define JNL_ADDRS 32		/* the block address list starts here */

#define DEFAULT_BS 512
#define MIN_JOURNAL_BLOCKS 192	/* room for one operation's blocks */
#define DEFAULT_JOURNAL_BLOCKS 512
#define OP_BLOCKS 160		/* upper bound of blocks one change dirties */
#define PATCH_MAX_BLOCKS 32	/* larger in-place rewrites relocate */
#define RECORD_SLACK_MIN 512
#define CONTENT_ALIGN 4096u	/* big files' content starts page-aligned */
#define CONTENT_MAX (0xffffffffull - V_DATA)	/* u32 lengths */
#define COPY_CHUNK (1u << 20)	/* bytes per request when copying */

/* Internal only: a change must run again (efs_again), because its plan
 * found no room (room is made first) or the table grew; never returned by
 * the API. */
#define EFS_ERR_AGAIN (-100)

/* Bytes of gap before a record at abs that put its data value on a page
 * boundary (so reads of big files DMA straight into page buffers). */
static inline uint64_t efs_content_pad(uint64_t abs)
{
	return (CONTENT_ALIGN - (abs + V_DATA) % CONTENT_ALIGN) % CONTENT_ALIGN;
}

struct efs_node {
	uint32_t ino;
	uint8_t kind;
	uint8_t canonical;	/* base tags at the V_* offsets, data last */
	uint8_t complete;	/* all nine base tags (the strict loader) */
	uint8_t has_data;	/* a CONTENT or DIRENTS tag is present */
	uint32_t mode, uid, gid, nlink;
	uint64_t size, atime, mtime, ctime;
	uint64_t rec;		/* absolute offset of the record */
	uint32_t rec_size;
	uint64_t data;		/* absolute offset of the data value */
	uint32_t data_len;
};

struct cblock {
	uint64_t blk;
	struct cblock *hnext;		/* hash chain */
	struct cblock *lprev, *lnext;	/* LRU list of clean blocks */
	uint8_t dirty;
	uint8_t *data;			/* bs bytes, right after the struct */
};

struct dent {
	uint32_t ino;
	uint32_t name_len;
	uint32_t pos;		/* offset of the entry within the value */
};

/* A directory's entries in memory, with a hash index of the names (open
 * addressing: slot = entry index + 1, 0 empty), so lookups in big
 * directories take constant time. Kept up to date by appends. */
struct dcache {
	uint32_t ino;		/* 0: empty */
	uint64_t data;		/* identity: where the entries were read */
	uint32_t data_len;
	uint8_t *buf;		/* the entries' bytes */
	uint32_t buf_cap;
	struct dent *ents;	/* in on-disk order */
	uint32_t n, ents_cap;
	uint32_t *hash;
	uint32_t hmask;
	uint32_t use;
};

#define NCACHE_SLOTS 512
#define DCACHE_SLOTS 8

enum slot_state { SLOT_UNKNOWN, SLOT_LIVE, SLOT_FREE, SLOT_BAD, SLOT_ORPHAN };

enum {
	DAMAGE_EXT = 1,		/* umbra's sector is unusable */
	DAMAGE_JOURNAL = 2,	/* a committed journal entry is invalid */
	DAMAGE_SHORT = 4,	/* the device is shorter than the volume */
};

/* Byte ranges [start, end), sorted by start and merged (efs_free.c). */
struct efs_extent {
	uint64_t start, end;
};
struct efs_extents {
	struct efs_extent *v;
	uint32_t n, cap;
	uint64_t bytes;
};

/* Where a new record's data must start. */
enum { ALIGN_NONE, ALIGN_CONTENT, ALIGN_BLOCK };

/* One piece of space a change will need: len bytes anywhere (placed as
 * align says), or exactly at `at` (a record growing in place). */
struct efs_need {
	uint64_t len;
	uint64_t at;
	int align;
	uint32_t ino;	/* the record it is for, when it rewrites or grows one
			 * (0: a new record) */
};

/* Space set aside for the change being made. */
struct efs_resv {
	uint64_t start, end, at;
};
#define MAX_RESV 6

struct efs {
	struct efs_io io;
	uint32_t bs;			/* cache and journal block size */
	uint32_t n;			/* inode-table slots */
	uint32_t width;			/* table entry: 8 or 16 bytes */
	uint64_t table_off, area_off;
	uint8_t *table;			/* the table, as changed in memory */

	int has_ext;
	uint64_t jnl_off, jnl_size;
	uint64_t gen;			/* generation of the last committed
					 * journal entry; the open transaction
					 * is gen + 1 */

	/* What mount found wrong and worked around by mounting read-only
	 * (efs_notice); DAMAGE_* bits. */
	int damage;
	char notice[320];

	/* block cache */
	struct cblock **hash;
	uint32_t hash_mask;
	uint32_t nclean, ndirty, max_dirty, max_clean;
	struct cblock lru;		/* sentinel; lnext = most recent */
	struct cblock *spare;		/* evicted, for reuse */
	uint8_t *ra;			/* read-ahead buffer */
	int direct_pending;		/* unflushed writes outside the journal */
	int entry_live;			/* the journal holds a valid entry */
	int failed;			/* a change or commit broke off with
					 * this error: no more writes */

	/* write state, set up by efs_prepare_write on the first change */
	int scanned, prepared;
	uint32_t scan_errors;		/* problems the scan saw */
	uint32_t overlaps;		/* records sharing bytes */
	int lenient;			/* fsck --repair: write anyway */
	uint8_t *state;			/* enum slot_state per slot */
	uint64_t *cap;			/* end of the space each record owns */
	/* Bytes of a record at or past safe[i] are live in no committed
	 * state, so they may be written directly; valid while
	 * safe_gen[i] == gen + 1, the open transaction (else: the record's
	 * committed end, efs_safe). */
	uint64_t *safe, *safe_gen;
	struct efs_extents freemap;	/* usable now */
	struct efs_extents pending;	/* usable after the next commit */
	struct efs_resv resv[MAX_RESV];	/* for the change being made */
	int nresv;
	uint64_t keep;			/* free bytes kept back for the changes
					 * that free space */
	int spend_keep;			/* the change being made may take them
					 * (it frees space: a delete, a move) */
	uint64_t lost;			/* free bytes forgotten (no memory) */
	/* What the change being made found no place for (efs_plan), for
	 * the steps that make room before it runs again (efs_again). */
	struct efs_room {
		int wanted;		/* efs_plan failed: need had no place */
		struct efs_need need;
		uint64_t keep;		/* free bytes the change had to leave */
		int aligned;		/* a need asked for aligned content */
		int unaligned;		/* this operation drops that wish */
	} room;
	uint32_t nfree, free_hint;

	struct efs_node ncache[NCACHE_SLOTS];
	struct dcache dcache[DCACHE_SLOTS];
	uint32_t duse;
};

/* efs_util.c */
uint16_t efs_ld16(const uint8_t *p);
uint32_t efs_ld32(const uint8_t *p);
uint64_t efs_ld64(const uint8_t *p);
void efs_st16(uint8_t *p, uint16_t v);
void efs_st32(uint8_t *p, uint32_t v);
void efs_st64(uint8_t *p, uint64_t v);
uint32_t efs_crc32(uint32_t crc, const void *buf, size_t len);
/* 0 when name (len bytes) is a valid entry name: non-empty, UTF-8, no
 * '/' and no NUL; umbra writes names of at most EFS_NAME_MAX bytes. */
int efs_check_name(const char *name, size_t len);
/* The same for names read from a directory: up to EFS_NAME_READ_MAX. */
int efs_check_read_name(const char *name, size_t len);
/* RFC 3629 UTF-8 (no overlongs or surrogates). */
int efs_utf8_ok(const uint8_t *s, size_t len);
uint64_t efs_now(struct efs *fs);
/* A bounded text buffer: fs/ has no printf. Appending past the end
 * counts the bytes (len) without writing them; buf stays terminated. */
struct efs_text {
	char *buf;
	size_t size, len;
};
void efs_text_str(struct efs_text *t, const char *s);
/* v in base 8 or 10, zero-padded to at least width digits. */
void efs_text_num(struct efs_text *t, uint64_t v, unsigned base,
		  unsigned width);
/* A callback's return value as the error it stands for (struct efs_io). */
int efs_io_result(int rc);
/* Records damage mount works around: the sentence goes to the notice,
 * and the volume becomes read-only. */
void efs_damaged(struct efs *fs, int kind, const char *sentence);
/* umbra's extension sector (format §9.1): 512 bytes at x. */
void efs_ext_encode(uint8_t *x, uint32_t bs, uint64_t jnl_off,
		    uint64_t jnl_size, uint64_t vol_size);

/* efs_cache.c: every byte goes through here. */
int efs_cache_init(struct efs *fs);
/* The device callbacks, returning 0 or the device's error (efs_io). */
int efs_dev_read(struct efs *fs, uint64_t off, void *buf, size_t len);
int efs_dev_write(struct efs *fs, uint64_t off, const void *buf,
		  size_t len);
int efs_dev_sync(struct efs *fs);
void efs_cache_free(struct efs *fs);
/* Reads through the cache (metadata). */
int efs_bread(struct efs *fs, uint64_t off, void *buf, size_t len);
/* Reads large ranges straight from the device, with changes not yet
 * written laid over them. */
int efs_dread(struct efs *fs, uint64_t off, void *buf, size_t len);
/* A journaled change: lands at commit, atomically with the others. */
int efs_patch(struct efs *fs, uint64_t off, const void *buf, size_t len);
int efs_patch32(struct efs *fs, uint64_t off, uint32_t v);
int efs_patch64(struct efs *fs, uint64_t off, uint64_t v);
/* A write to space no committed state refers to (new record versions,
 * growth into a record's slack): written now, not journaled. */
int efs_direct(struct efs *fs, uint64_t off, const void *buf, size_t len);
/* Blocks a patch of len bytes at off may dirty. */
uint32_t efs_blocks_of(struct efs *fs, uint64_t off, size_t len);
/* Steps 1-4 of a commit (fs/README.md, "Transactions"): the journal
 * entry of the dirty blocks, the commit point, the blocks in place. The
 * space accounting of step 5 is efs_commit's. */
int efs_cache_commit(struct efs *fs);
/* The storage's gate (efs_io.gate): 0, or why a change may not begin. */
int efs_gate(struct efs *fs);
/* A change or commit broke off after writing with err: no more writes
 * until the next mount, and every later change returns the first such
 * cause as it was (a timeout stays a timeout). Returns err. */
int efs_stop(struct efs *fs, int err);
/* Flushes, zeroes the journal entry's header and flushes again: no
 * entry is live, its blocks (and every direct write) are durable. */
int efs_clear_entry(struct efs *fs);
/* How many blocks one journal entry of size bytes holds (format §9.2). */
uint32_t efs_journal_capacity(uint64_t size, uint32_t bs);
/* Mount: lays a committed journal entry over the device in the cache
 * (dirty blocks, nothing written yet); sets *replayed when there was one.
 * An entry with invalid addresses is left alone (efs_damaged). */
int efs_replay(struct efs *fs, int *replayed);
/* Writes the laid-over blocks in place and flushes, once mount has found
 * that they leave a mountable volume (nothing when read-only). */
int efs_replay_apply(struct efs *fs);
/* Forgets the laid-over entry, whose state mount could not open (why):
 * the volume is mounted read-only as the device has it, with a notice. */
int efs_replay_refuse(struct efs *fs, int why);

/* efs_node.c */
/* Loads and validates inode ino's record (cached). */
int efs_node_get(struct efs *fs, uint32_t ino, struct efs_node *nd);
void efs_node_forget(struct efs *fs, uint32_t ino);
/* Drops cached views of ino (node and entries). */
void efs_forget(struct efs *fs, uint32_t ino);
/* Absolute offset of slot ino's record per the (in-memory) table. */
int efs_slot_offset(struct efs *fs, uint32_t ino, uint64_t *off);
void efs_slot_set(struct efs *fs, uint32_t ino, uint64_t abs);
/* Points slot ino at abs, in memory and through the journal. */
int efs_patch_slot(struct efs *fs, uint32_t ino, uint64_t abs);
/* Whether slot ino's table entry names inode ino (format §2.2: the
 * strict loader takes the node number from there). */
int efs_entry_ok(struct efs *fs, uint32_t ino);
/* A table entry of width 8 or 16 bytes (format §2.1, §5.3). */
void efs_table_entry(uint8_t *e, uint32_t width, uint32_t ino, uint64_t rel);
/* Serializes a canonical record header and base tags (111 bytes) plus
 * the data tag header when data_len > 0 (6 more). Returns bytes used. */
size_t efs_node_encode(const struct efs_node *nd, uint8_t *out);
/* The parsed entries of directory nd (cached; valid until the next
 * change to the filesystem). */
int efs_dir_get(struct efs *fs, const struct efs_node *nd,
		struct dcache **out);
void efs_dir_forget(struct efs *fs, uint32_t ino);
/* Index into dc->ents of name, or -1. */
int efs_dir_find(const struct dcache *dc, const char *name, size_t len);
/* The name of entry i (name_len bytes, not NUL-terminated). */
const char *efs_dent_name(const struct dcache *dc, uint32_t i);
/* Takes directory ino's cached entries (read at data, data_len) out of
 * the cache into *out, while a change appends to it; 0 when they were
 * not cached. */
int efs_dir_detach(struct efs *fs, const struct efs_node *d,
		   struct dcache *out);
/* Puts them back with the entry ent (len bytes) appended, now that the
 * directory is nd; or frees them when ok is 0 or they do not match. */
void efs_dir_attach(struct efs *fs, struct dcache *dc, int ok,
		    const struct efs_node *nd, const uint8_t *ent,
		    uint32_t len);
/* A placeholder record for a free slot: a file with mode 0, nlink 0. */
void efs_placeholder(uint32_t ino, uint8_t *out);
int efs_is_placeholder(const struct efs_node *nd);

/* efs_free.c: the sets of space (free, pending, reserved). */
/* The end of the usable node area (rel offsets are u32). */
uint64_t efs_area_limit(struct efs *fs);
/* Forgets all free space (a scan rebuilds it) and sets the delete
 * reserve. */
void efs_free_reset(struct efs *fs);
void efs_free_drop(struct efs *fs);
/* [s, e) is free now (it must not overlap other free space). */
int efs_free_add(struct efs *fs, uint64_t s, uint64_t e);
/* [s, e) stops being used by the open transaction: free after commit. */
void efs_free_later(struct efs *fs, uint64_t s, uint64_t e);
/* The open transaction committed: pending space becomes free. */
void efs_free_committed(struct efs *fs);
/* Sets aside every piece of space a change will need, before it writes
 * anything. 0, or NO_SPACE with nothing set aside and fs->room saying
 * what found no place (for the steps that make room: efs_again). */
int efs_plan(struct efs *fs, const struct efs_need *needs, int n);
/* Returns what the change did not use. */
void efs_plan_end(struct efs *fs);
/* Claims len bytes for a new record, from the change's reservations or
 * else the free map; *off is where the record starts. */
int efs_claim(struct efs *fs, uint64_t len, int align, uint64_t *off);
/* Takes up to want bytes of free space starting exactly at end (a record
 * growing in place); returns how many. */
uint64_t efs_extend(struct efs *fs, uint64_t end, uint64_t want);
/* Whether len bytes at end could be taken. */
int efs_extendable(struct efs *fs, uint64_t end, uint64_t len);
uint64_t efs_largest_free(struct efs *fs);
/* Gap before a record placed at s so that its data is aligned as asked. */
uint64_t efs_pad(struct efs *fs, int align, uint64_t s);
/* Takes [s, e), which must be free, out of the free map. */
int efs_take(struct efs *fs, uint64_t s, uint64_t e);
/* Takes every free byte of [s, e) out of the free map into held (so
 * allocations go elsewhere); efs_unhold gives them back. */
int efs_hold(struct efs *fs, uint64_t s, uint64_t e, struct efs_extents *held);
void efs_unhold(struct efs *fs, struct efs_extents *held);

/* efs_alloc.c: writing prepared (the scan, slots, a record's space, the
 * journal's place) and the transaction around a change. */
int efs_prepare_write(struct efs *fs);
/* Makes [off, off+size) (taken from free space) the journal: flushes
 * what is pending, zeroes and flushes its first block, then writes and
 * flushes umbra's sector naming it (one sector: atomic). */
int efs_set_journal(struct efs *fs, uint64_t off, uint64_t size);
int efs_alloc_slot(struct efs *fs, uint32_t *ino);
/* Grows record ino's space to end bytes if it can (its slack, or the
 * free space right after it, with as much again for later growth when
 * `ahead`); 0 or NO_SPACE. */
int efs_grow(struct efs *fs, uint32_t ino, uint64_t end, int ahead);
/* Scans every record once (no writes): slot states, space, tail. */
int efs_scan(struct efs *fs);
/* The first byte of record ino that may be written directly. */
uint64_t efs_safe(struct efs *fs, uint32_t ino, const struct efs_node *nd);
void efs_set_safe(struct efs *fs, uint32_t ino, uint64_t from);
/* Gives the slack of every record the open transaction has not touched
 * back to the free map; nonzero when that freed something. */
int efs_reclaim_slack(struct efs *fs);
/* Makes room in the journal for a change that dirties at most `blocks`
 * more blocks, committing the open transaction first if it would
 * overflow. */
int efs_reserve(struct efs *fs, uint32_t blocks);
/* Commits the open transaction (efs_cache_commit), then what it freed
 * becomes free (step 5). */
int efs_commit(struct efs *fs);
/* Starts a change: prepares writing, room in the journal. */
int efs_wbegin(struct efs *fs);
/* efs_wbegin, then node ino. */
int efs_wbegin_node(struct efs *fs, uint32_t ino, struct efs_node *nd);
/* Ends a change: returns unused space; an error after writing began
 * (wrote) stops all writes (efs_stop). Returns err. */
int efs_wfinish(struct efs *fs, int err, int wrote);

/* efs_compact.c: moving records (compaction, one window). */
/* Copies record ino to dst (free space already taken) and points its
 * slot there; its old space is free once this commits. */
int efs_move(struct efs *fs, uint32_t ino, uint64_t dst);
/* Moves every record that has bytes in [lo, hi) to free space outside it
 * and commits; [lo, hi) is then free. */
int efs_evacuate(struct efs *fs, uint64_t lo, uint64_t hi);
/* Gathers one free piece for a need that found no place, keep bytes
 * left free: empties the cheapest window that can hold it (committed);
 * the record the need is for may lie in the window (it then grows in
 * place, or moves to the window's start first). 0, or NO_SPACE when no
 * window can be emptied. */
int efs_gather(struct efs *fs, const struct efs_need *need, uint64_t keep);

/* efs_table.c */
/* Adds want slots to the table (0: as many again, at least 64) while
 * mounted; see the file. NO_INODES when none can be added, NO_SPACE. */
int efs_grow_table(struct efs *fs, uint32_t want);

/* efs_mount.c */
/* Resolves path to its parent directory and final name. */
int efs_resolve_parent(struct efs *fs, const char *path, uint32_t *parent,
		       const char **name, size_t *name_len);
int efs_parse_header(const uint8_t *hdr, uint64_t dev_size, uint32_t *n,
		     uint32_t *width, uint64_t *table_off);

/* efs_write.c: the steps every change is made of, and the one place a
 * change runs again (after making room). */
/* efs_plan, with page alignment of content dropped once room-making has
 * given up on it; AGAIN when room must be made first (efs_again). */
int efs_wplan(struct efs *fs, struct efs_need *needs, int n);
/* Whether a change that returned *err must run again: on AGAIN, after
 * the next step that makes room when its plan found none (a few times
 * at most; then NO_SPACE, or that step's error, in *err). */
int efs_again(struct efs *fs, int *err, int *tries);
/* Writes [off, off+len) of a record whose safe mark is `safe`: patched
 * below it, direct from it. */
int efs_put(struct efs *fs, uint64_t safe, uint64_t off, const void *buf,
	    uint64_t len);
/* Blocks a rewrite of [off, off+len) puts in the journal. */
uint32_t efs_journal_cost(struct efs *fs, uint64_t safe, uint64_t off,
			  uint64_t len);
/* Whether record ino could end at `end` where it is. */
int efs_fits(struct efs *fs, uint32_t ino, uint64_t end);
/* The space record ino needs to end at `end` where it is. */
struct efs_need efs_grow_need(struct efs *fs, uint32_t ino, uint64_t end);
/* The space a new version of nd with len bytes of data needs. */
struct efs_need efs_move_need(const struct efs_node *nd, uint64_t len);
uint64_t efs_record_bytes(uint64_t len);
/* New lengths, times and the data tag of a canonical record, in place. */
int efs_set_header(struct efs *fs, const struct efs_node *nd, uint64_t len,
		   uint64_t now);
/* A piece of a relocated record's data: old data, caller bytes, zeros. */
struct efs_seg {
	enum { SEG_OLD, SEG_BUF, SEG_ZERO } kind;
	uint64_t from;		/* SEG_OLD: offset within the old data */
	const void *buf;
	uint64_t len;
};
/* Writes a new canonical version of nd (nd's fields, data from the
 * segments) in planned space, with slack when free space follows it, and
 * points the slot at it; nd becomes the new version. */
int efs_relocate(struct efs *fs, struct efs_node *nd, const struct efs_seg *s,
		 int nseg);

/* Plans the space for a new version of nd holding the segments, then
 * writes it (efs_relocate); *wrote says whether writing began. */
int efs_rewrite(struct efs *fs, struct efs_node *nd, const struct efs_seg *s,
		int nseg, int *wrote);

/* efs_names.c, for fsck's repairs. */
/* Replaces directory dir's entries with `len` bytes of entries. */
int efs_op_set_entries(struct efs *fs, uint32_t dir, const uint8_t *ents,
		       uint32_t len);
/* Points slot ino at a new placeholder record (it becomes free). */
int efs_op_clear_slot(struct efs *fs, uint32_t ino);
/* Writes slot ino's table entry again (naming inode ino). */
int efs_op_fix_entry(struct efs *fs, uint32_t ino);
/* Writes a canonical version of ino's record (all base tags). */
int efs_op_rewrite(struct efs *fs, uint32_t ino);
/* Writes size into ino's record header, taking the free bytes it then
 * covers (INVALID when they are not free). */
int efs_op_set_size(struct efs *fs, uint32_t ino, uint32_t size);
/* Adds an entry name -> child to dir. */
int efs_op_link(struct efs *fs, uint32_t dir, const char *name,
		uint32_t child);

#endif
