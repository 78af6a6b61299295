/* Changing records: the steps every change is made of (plan, write, and
 * running again after room was made: efs_again, the one place that
 * retries), relocation, file content, attributes, sync. A change begins
 * and finishes in efs_alloc.c. Changes to names (create, remove, rename)
 * are in efs_names.c. See fs/README.md for the scheme.
 *
 * Every change is planned before anything is written: the space it will
 * need is set aside first (efs_plan), so "no space" leaves nothing behind.
 * Then the bytes of committed records change only through efs_patch
 * (journaled); new bytes go to free space with efs_direct. An I/O error in
 * the middle of a change stops all writing (fs->failed), so a half-made
 * change is never committed. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define REALIGN_MAX (64u << 10)	/* bytes of content worth moving */

/* The steps that make room (fs/README.md, "Free space"), cheapest
 * first: commit the open transaction (what it freed becomes free), give
 * unused slack back, empty a window for what was missing. Each changes
 * what the change decided from, so it runs again after one. 0 when a step
 * was taken, NO_SPACE when none is left. */
static int make_room(struct efs *fs)
{
	if (fs->pending.bytes)
		return efs_commit(fs);
	if (efs_reclaim_slack(fs))
		return 0;
	return efs_gather(fs, &fs->room.need, fs->room.keep);
}

int efs_again(struct efs *fs, int *err, int *tries)
{
	int wanted = fs->room.wanted;
	fs->room.wanted = 0;
	if (*err == EFS_ERR_AGAIN && wanted) {
		int e = make_room(fs);
		/* Page-aligned content is a nicety: dropped (for the rest of
		 * this operation) before giving up, without counting. */
		if (e == EFS_ERR_NO_SPACE && fs->room.aligned &&
		    !fs->room.unaligned) {
			fs->room.unaligned = 1;
			return 1;
		}
		if (e)
			*err = e;
	}
	if (*err == EFS_ERR_AGAIN && (*tries)++ < 4)
		return 1;
	if (*err == EFS_ERR_AGAIN)
		*err = EFS_ERR_NO_SPACE;
	fs->room.unaligned = 0;
	return 0;
}

int efs_wplan(struct efs *fs, struct efs_need *needs, int n)
{
	fs->room.aligned = 0;
	for (int i = 0; i < n; i++) {
		fs->room.aligned |= needs[i].align == ALIGN_CONTENT;
		if (fs->room.unaligned && needs[i].align == ALIGN_CONTENT)
			needs[i].align = ALIGN_NONE;
	}
	int err = efs_plan(fs, needs, n);
	return err == EFS_ERR_NO_SPACE ? EFS_ERR_AGAIN : err;
}

int efs_put(struct efs *fs, uint64_t safe, uint64_t off, const void *buf,
	    uint64_t len)
{
	const uint8_t *p = buf;
	if (off < safe) {
		uint64_t n = safe - off < len ? safe - off : len;
		int err = efs_patch(fs, off, p, (size_t)n);
		if (err)
			return err;
		off += n;
		p += n;
		len -= n;
	}
	return len ? efs_direct(fs, off, p, (size_t)len) : 0;
}

static int put_zero(struct efs *fs, uint64_t safe, uint64_t off, uint64_t len)
{
	uint8_t *z = calloc(1, len < COPY_CHUNK ? len + 1 : COPY_CHUNK);
	int err = z ? 0 : EFS_ERR_NO_MEMORY;
	while (!err && len) {
		uint64_t n = len < COPY_CHUNK ? len : COPY_CHUNK;
		err = efs_put(fs, safe, off, z, n);
		off += n;
		len -= n;
	}
	free(z);
	return err;
}

uint32_t efs_journal_cost(struct efs *fs, uint64_t safe, uint64_t off,
			  uint64_t len)
{
	if (off >= safe || !len)
		return 0;
	return efs_blocks_of(fs, off, (size_t)(safe - off < len ? safe - off
								 : len));
}

int efs_fits(struct efs *fs, uint32_t ino, uint64_t end)
{
	uint64_t cap = fs->cap[ino - 1];
	return end <= cap || efs_extendable(fs, cap, end - cap);
}

struct efs_need efs_grow_need(struct efs *fs, uint32_t ino, uint64_t end)
{
	uint64_t cap = fs->cap[ino - 1];
	return end > cap ? (struct efs_need){ end - cap, cap, ALIGN_NONE, ino }
			 : (struct efs_need){ 0, 0, ALIGN_NONE, ino };
}

uint64_t efs_record_bytes(uint64_t len)
{
	return len ? V_DATA + len : BASE_RECORD;
}

struct efs_need efs_move_need(const struct efs_node *nd, uint64_t len)
{
	int big = nd->kind == EFS_FILE && len >= CONTENT_ALIGN;
	return (struct efs_need){ efs_record_bytes(len), 0,
				  big ? ALIGN_CONTENT : ALIGN_NONE, nd->ino };
}

int efs_set_header(struct efs *fs, const struct efs_node *nd, uint64_t len,
		   uint64_t now)
{
	uint8_t t[TLV_HDR];
	uint64_t rec = nd->rec;
	/* Before the record shrinks: mark what is committed (efs_safe). */
	efs_safe(fs, nd->ino, nd);
	int err = efs_patch32(fs, rec + REC_SIZE, len ? (uint32_t)(V_DATA + len)
					       : BASE_RECORD);
	if (!err && nd->kind != EFS_DIR)
		err = efs_patch64(fs, rec + V_SIZE, len);
	if (!err && len) {
		efs_st16(t, nd->kind == EFS_DIR ? TAG_DIRENTS : TAG_CONTENT);
		efs_st32(t + 2, (uint32_t)len);
		err = efs_patch(fs, rec + BASE_RECORD, t, TLV_HDR);
	}
	if (!err)
		err = efs_patch64(fs, rec + V_MTIME, now);
	if (!err)
		err = efs_patch64(fs, rec + V_CTIME, now);
	efs_node_forget(fs, nd->ino);
	return err;
}

/* Copies the segments to the new record's data at `at`. */
static int copy_segs(struct efs *fs, uint64_t old, const struct efs_seg *s,
		     int nseg, uint64_t at)
{
	uint64_t most = 1;
	for (int i = 0; i < nseg; i++)
		if (s[i].kind != SEG_BUF && s[i].len > most)
			most = s[i].len;
	uint8_t *tmp = malloc(most < COPY_CHUNK ? most : COPY_CHUNK);
	int err = tmp ? 0 : EFS_ERR_NO_MEMORY;
	for (int i = 0; !err && i < nseg; i++) {
		if (s[i].kind == SEG_BUF) {	/* the caller's bytes: one write */
			err = efs_direct(fs, at, s[i].buf, (size_t)s[i].len);
			at += s[i].len;
			continue;
		}
		for (uint64_t done = 0; !err && done < s[i].len;) {
			uint64_t k = s[i].len - done;
			if (k > COPY_CHUNK)
				k = COPY_CHUNK;
			if (s[i].kind == SEG_OLD)
				err = efs_dread(fs, old + s[i].from + done, tmp,
						(size_t)k);
			else
				memset(tmp, 0, (size_t)k);
			if (!err)
				err = efs_direct(fs, at, tmp, (size_t)k);
			at += k;
			done += k;
		}
	}
	free(tmp);
	return err;
}

int efs_relocate(struct efs *fs, struct efs_node *nd, const struct efs_seg *s,
		 int nseg)
{
	uint64_t len = 0, off;
	for (int i = 0; i < nseg; i++)
		len += s[i].len;
	if (len > CONTENT_MAX)
		return EFS_ERR_TOO_BIG;
	struct efs_need need = efs_move_need(nd, len);
	int err = efs_claim(fs, need.len, need.align, &off);
	if (err == EFS_ERR_NO_SPACE && need.align)
		err = efs_claim(fs, need.len, ALIGN_NONE, &off);
	if (err)
		return err;
	uint64_t size = need.len;
	uint64_t slack = efs_extend(fs, off + size, size > RECORD_SLACK_MIN
						   ? size : RECORD_SLACK_MIN);
	struct efs_node n = *nd;
	uint8_t hdr[V_DATA];
	n.rec = off;
	n.rec_size = (uint32_t)size;
	n.data_len = (uint32_t)len;
	n.has_data = len != 0;
	n.canonical = 1;
	if (n.kind != EFS_DIR)
		n.size = len;
	err = efs_direct(fs, off, hdr, efs_node_encode(&n, hdr));
	if (!err)
		err = copy_segs(fs, nd->data, s, nseg, off + V_DATA);
	if (!err)
		err = efs_patch_slot(fs, nd->ino, off);
	if (err)
		return err;
	efs_free_later(fs, nd->rec, fs->cap[nd->ino - 1]);
	fs->cap[nd->ino - 1] = off + size + slack;
	efs_set_safe(fs, nd->ino, off);
	efs_forget(fs, nd->ino);
	n.data = off + V_DATA;
	*nd = n;
	return 0;
}

int efs_rewrite(struct efs *fs, struct efs_node *nd, const struct efs_seg *s,
		int nseg, int *wrote)
{
	uint64_t len = 0;
	for (int i = 0; i < nseg; i++)
		len += s[i].len;
	struct efs_need need = efs_move_need(nd, len);
	int err = efs_wplan(fs, &need, 1);
	*wrote = !err;
	return err ? err : efs_relocate(fs, nd, s, nseg);
}

/* --- file content ------------------------------------------------------- */

/* The node a change names by inode number. A free slot names nothing:
 * its placeholder (format §9.3) never takes a change meant for a node
 * another operation removed (the caller's number is stale). */
static int live_node(struct efs *fs, uint32_t ino, struct efs_node *nd)
{
	if (ino < 1 || ino > fs->n)
		return EFS_ERR_INVALID;
	int err = efs_node_get(fs, ino, nd);
	if (!err && efs_is_placeholder(nd))
		err = EFS_ERR_NOT_FOUND;
	return err;
}

static int file_node(struct efs *fs, uint32_t ino, struct efs_node *nd)
{
	int err = live_node(fs, ino, nd);
	if (err)
		return err;
	if (nd->kind == EFS_DIR)
		return EFS_ERR_IS_DIR;
	return nd->kind == EFS_FILE ? 0 : EFS_ERR_INVALID;
}

/* New content times, and lengths when they change. */
static int content_header(struct efs *fs, const struct efs_node *nd,
			  uint64_t len, uint64_t now)
{
	if (len != nd->data_len)
		return efs_set_header(fs, nd, len, now);
	int err = efs_patch64(fs, nd->rec + V_MTIME, now);
	if (!err)
		err = efs_patch64(fs, nd->rec + V_CTIME, now);
	efs_node_forget(fs, nd->ino);
	return err;
}

/* Sets bytes [off, off+len) of the content to buf (NULL: zeros), growing
 * the file as needed. Content is never journaled (fs/README.md, "What a
 * power cut leaves"): bytes past the committed end go to slack nothing
 * refers to yet; bytes inside it are overwritten where they are. Only the
 * lengths and times change through the journal. */
static int set_content(struct efs *fs, struct efs_node *nd, uint64_t off,
		       const void *buf, uint64_t len)
{
	uint64_t L = nd->data_len, end = off + len;
	uint64_t nl = end > L ? end : L, now = efs_now(fs);
	if (end > CONTENT_MAX || off > CONTENT_MAX)
		return EFS_ERR_TOO_BIG;
	uint64_t data = nd->rec + V_DATA;
	uint64_t lo = off < L ? off : L;	/* first byte that changes */
	/* A file growing past a page moves once to put its content on a page
	 * boundary (while that is cheap): its reads and writes then go
	 * straight between the disk and page-aligned buffers. */
	int realign = nl >= CONTENT_ALIGN && efs_content_pad(nd->rec) &&
		      L <= REALIGN_MAX;
	int here = nd->canonical && !realign &&
		   efs_fits(fs, nd->ino, data + nl);
	struct efs_need need = here ? efs_grow_need(fs, nd->ino, data + nl)
				    : efs_move_need(nd, nl);
	int err = efs_wplan(fs, &need, 1);
	if (err)
		return efs_wfinish(fs, err, 0);
	if (here) {
		err = efs_grow(fs, nd->ino, data + nl, 1);
		if (!err && off > L)
			err = put_zero(fs, 0, data + L, off - L);
		if (!err)
			err = buf ? efs_direct(fs, data + off, buf, (size_t)len)
				  : put_zero(fs, 0, data + off, len);
		if (!err)
			err = content_header(fs, nd, nl, now);
		return efs_wfinish(fs, err, 1);
	}
	struct efs_seg s[4];
	int k = 0;
	s[k++] = (struct efs_seg){ SEG_OLD, 0, 0, lo };
	if (off > L)
		s[k++] = (struct efs_seg){ SEG_ZERO, 0, 0, off - L };
	s[k++] = (struct efs_seg){ buf ? SEG_BUF : SEG_ZERO, 0, buf, len };
	if (end < L)
		s[k++] = (struct efs_seg){ SEG_OLD, end, 0, L - end };
	nd->mtime = nd->ctime = now;
	return efs_wfinish(fs, efs_relocate(fs, nd, s, k), 1);
}

static int write_once(struct efs *fs, uint32_t ino, uint64_t off,
		      const void *buf, size_t len)
{
	struct efs_node nd;
	int err = efs_wbegin(fs);
	if (!err)
		err = file_node(fs, ino, &nd);
	if (err || !len)
		return err;
	return set_content(fs, &nd, off, buf, len);
}

int64_t efs_write(struct efs *fs, uint32_t ino, uint64_t off,
		  const void *buf, size_t len)
{
	int err, tries = 0;
	do
		err = write_once(fs, ino, off, buf, len);
	while (efs_again(fs, &err, &tries));
	return err ? err : (int64_t)len;
}

int64_t efs_append(struct efs *fs, uint32_t ino, const void *buf, size_t len)
{
	struct efs_node nd;
	int err = file_node(fs, ino, &nd);
	if (err)
		return err;
	return efs_write(fs, ino, nd.data_len, buf, len);
}

static int truncate_once(struct efs *fs, uint32_t ino, uint64_t size)
{
	struct efs_node nd;
	int err = efs_wbegin(fs);
	if (!err)
		err = file_node(fs, ino, &nd);
	if (err)
		return err;
	if (size > CONTENT_MAX)
		return EFS_ERR_TOO_BIG;
	if (size > nd.data_len)
		return set_content(fs, &nd, nd.data_len, 0,
				   size - nd.data_len);
	if (size == nd.data_len)
		return 0;
	if (nd.canonical)
		return efs_wfinish(fs, efs_set_header(fs, &nd, size,
						      efs_now(fs)), 1);
	struct efs_seg s = { SEG_OLD, 0, 0, size };
	int wrote;
	nd.mtime = nd.ctime = efs_now(fs);
	err = efs_rewrite(fs, &nd, &s, 1, &wrote);
	return efs_wfinish(fs, err, wrote);
}

int efs_truncate(struct efs *fs, uint32_t ino, uint64_t size)
{
	int err, tries = 0;
	do
		err = truncate_once(fs, ino, size);
	while (efs_again(fs, &err, &tries));
	return err;
}

/* --- attributes ------------------------------------------------------------ */

/* One fixed-size base tag's new value. */
struct field {
	uint32_t at;		/* V_* offset in a canonical record */
	uint8_t bytes;		/* 4 or 8 */
	uint64_t value;
};

/* Sets base tags of ino's record in place (journaled), making it
 * canonical first. A MODE keeps the kind's type bits. */
static int set_fields_once(struct efs *fs, uint32_t ino, struct field *f,
			   int n)
{
	struct efs_node nd;
	int err = efs_wbegin(fs);
	if (!err)
		err = live_node(fs, ino, &nd);
	if (err)
		return err;
	int wrote = 1;
	if (!nd.canonical) {	/* a foreign layout is rewritten first */
		struct efs_seg s = { SEG_OLD, 0, 0, nd.data_len };
		err = efs_rewrite(fs, &nd, &s, 1, &wrote);
	}
	for (int i = 0; !err && i < n; i++) {
		if (f[i].at == V_MODE)
			f[i].value = (nd.mode & S_IFMT_) | (f[i].value & 07777);
		err = f[i].bytes == 4
			      ? efs_patch32(fs, nd.rec + f[i].at, (uint32_t)f[i].value)
			      : efs_patch64(fs, nd.rec + f[i].at, f[i].value);
	}
	efs_forget(fs, ino);
	return efs_wfinish(fs, err, wrote);
}

static int set_fields(struct efs *fs, uint32_t ino, struct field *f, int n)
{
	int err, tries = 0;
	do
		err = set_fields_once(fs, ino, f, n);
	while (efs_again(fs, &err, &tries));
	return err;
}

int efs_chmod(struct efs *fs, uint32_t ino, uint32_t mode)
{
	struct field f[] = { { V_MODE, 4, mode }, { V_CTIME, 8, efs_now(fs) } };
	return set_fields(fs, ino, f, 2);
}

int efs_chown(struct efs *fs, uint32_t ino, uint32_t uid, uint32_t gid)
{
	struct field f[] = { { V_UID, 4, uid }, { V_GID, 4, gid },
			     { V_CTIME, 8, efs_now(fs) } };
	return set_fields(fs, ino, f, 3);
}

int efs_set_times(struct efs *fs, uint32_t ino, uint64_t atime,
		  uint64_t mtime)
{
	struct field f[] = { { V_ATIME, 8, atime }, { V_MTIME, 8, mtime } };
	return set_fields(fs, ino, f, 2);
}

int efs_sync(struct efs *fs)
{
	return efs_commit(fs);
}

int efs_quiesce(struct efs *fs)
{
	int err = efs_commit(fs);
	if (!err && fs->entry_live && !fs->io.read_only && !fs->failed)
		err = efs_clear_entry(fs);
	return err;
}
