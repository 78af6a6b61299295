/* fsck: every record, every directory, reachability, overlaps; repairs
 * only where nothing has to be guessed. */
#include <stdlib.h>
#include <string.h>

#include "efs_int.h"

#define FSCK_PASSES 3
#define LINE 160

struct ck {
	struct efs *fs;
	efs_report_fn *report;
	void *ctx;
	struct efs_fsck_result *res;
	uint32_t n;		/* slots this pass checks: a repair that makes
				 * /lost+found may grow the table under it */
	uint8_t *refs;		/* n bytes: whether each inode is named */
	int repair;
	int changed;
	uint32_t pre_errors, pre_repaired;	/* before the passes */
};

static void say(struct ck *c, const char *a, const char *b, uint32_t x,
		uint32_t y)
{
	/* "%1"/"%2" in a are x and y. */
	char line[LINE], ch[2] = { 0, 0 };
	struct efs_text t = { line, LINE, 0 };
	line[0] = 0;
	for (const char *p = a; *p; p++) {
		if (p[0] == '%' && (p[1] == '1' || p[1] == '2')) {
			efs_text_num(&t, *++p == '1' ? x : y, 10, 0);
		} else {
			ch[0] = *p;
			efs_text_str(&t, ch);
		}
	}
	efs_text_str(&t, b ? b : "");
	if (c->report)
		c->report(c->ctx, line);
}

static void error(struct ck *c, const char *a, const char *b, uint32_t x,
		  uint32_t y)
{
	c->res->errors++;
	say(c, a, b, x, y);
}

static const char *kind_name(uint8_t k)
{
	return k == EFS_DIR ? "directory" : k == EFS_SYMLINK ? "symlink"
							    : "file";
}

/* Records that lie or run past the end of the device: two or more are a
 * truncated volume, said once before the records (check_records names
 * and counts each). One alone says nothing of the volume: its size field
 * or table entry may be what is damaged. */
static void check_size(struct ck *c)
{
	struct efs *fs = c->fs;
	uint32_t past = 0;
	if (fs->damage & DAMAGE_SHORT)
		return;		/* the notice said it */
	for (uint32_t ino = 1; ino <= fs->n; ino++) {
		uint8_t h[REC_HDR];
		uint64_t abs;
		if (efs_slot_offset(fs, ino, &abs) ||
		    abs > fs->io.size - REC_HDR)
			past++;
		else if (!efs_bread(fs, abs, h, REC_HDR) &&
			 efs_ld32(h + REC_SIZE) > fs->io.size - abs)
			past++;
	}
	if (past < 2)
		return;
	char s[160];
	struct efs_text t = { s, sizeof(s), 0 };
	efs_text_str(&t, "the volume looks truncated: the device has ");
	efs_text_num(&t, fs->io.size, 10, 0);
	efs_text_str(&t, " bytes, and ");
	efs_text_num(&t, past, 10, 0);
	say(c, s, " records lie past its end (named below)", 0, 0);
}

/* What mount worked around (efs_notice); repair drops a damaged umbra
 * sector (the image becomes plain) or discards an invalid journal entry,
 * then mounts again. */
static int check_damage(struct ck *c, struct efs_io *rio, struct efs **fsp)
{
	struct efs *fs = *fsp;
	int fix = fs->damage & (DAMAGE_EXT | DAMAGE_JOURNAL);
	if (!fs->damage)
		return 0;
	say(c, efs_notice(fs), 0, 0, 0);
	if (!c->repair || !fix) {
		c->pre_errors++;
		return 0;
	}
	uint64_t at = fix & DAMAGE_EXT ? EXT_OFF : fs->jnl_off;
	uint32_t len = fix & DAMAGE_EXT ? 512 : fs->bs;
	uint8_t *zero = calloc(1, len);
	int err = zero ? efs_io_result(rio->write(rio->ctx, at, zero, len))
		       : EFS_ERR_NO_MEMORY;
	free(zero);
	if (!err)
		err = efs_io_result(rio->sync(rio->ctx));
	efs_unmount(fs);
	*fsp = 0;
	if (!err)
		err = efs_mount(rio, fsp);
	if (err)
		return err;
	(*fsp)->lenient = 1;
	c->pre_repaired++;
	say(c, fix & DAMAGE_EXT ? "repair: dropped umbra's sector (a plain "
	    "image now; a change adds a new journal)"
	    : "repair: discarded the invalid journal entry", 0, 0, 0);
	if ((*fsp)->damage)
		c->pre_errors++;
	return 0;
}

/* What the strict loader refuses in a record the others read: a table
 * entry naming another inode, a missing base tag (format §2.2, §3.7). */
static int check_strict(struct ck *c, const struct efs_node *nd)
{
	struct efs *fs = c->fs;
	int err = 0;
	if (!efs_entry_ok(fs, nd->ino)) {
		error(c, "inode %1: its table entry names another inode (the "
		      "strict reader refuses the image)", 0, nd->ino, 0);
		if (c->repair) {
			err = efs_op_fix_entry(fs, nd->ino);
			c->res->repaired += !err;
			c->changed = 1;
		}
	}
	if (!err && !nd->complete) {
		error(c, "inode %1: its record lacks a base tag (the strict "
		      "reader refuses the image); repair rewrites it with the "
		      "values the other readers use", 0, nd->ino, 0);
		if (c->repair) {
			err = efs_op_rewrite(fs, nd->ino);
			c->res->repaired += !err;
			c->changed = 1;
		}
	}
	return err;
}

/* The size a record's canonical layout gives it (format §3.4): the nine
 * base tags at their offsets with their exact lengths, then, for a file or
 * symlink, the CONTENT tag of the length SIZE says (none when SIZE is 0);
 * for a directory, a DIRENTS tag whose entries fill it exactly (none when
 * the tag is not there). 0 when the layout does not tell. */
static uint32_t canonical_size(struct efs *fs, uint32_t ino, uint64_t rec)
{
	static const uint8_t at[] = { V_TYPE, V_MODE, V_UID, V_GID, V_SIZE,
				      V_ATIME, V_MTIME, V_CTIME, V_NLINK };
	static const uint8_t len_of[] = { 1, 4, 4, 4, 8, 8, 8, 8, 4 };
	uint8_t r[V_DATA];
	uint64_t room = fs->io.size - rec;	/* rec is inside: caller */
	if (room < BASE_RECORD ||
	    efs_bread(fs, rec, r, room < V_DATA ? BASE_RECORD : V_DATA) ||
	    efs_ld32(r + REC_INODE) != ino)
		return 0;
	for (int t = 0; t < 9; t++) {
		const uint8_t *h = r + at[t] - TLV_HDR;
		if (efs_ld16(h) != TAG_NODE_TYPE + t ||
		    efs_ld32(h + 2) != len_of[t])
			return 0;
	}
	uint8_t kind = r[V_TYPE];
	uint16_t tag = kind == EFS_DIR ? TAG_DIRENTS : TAG_CONTENT;
	int has = room >= V_DATA && efs_ld16(r + BASE_RECORD) == tag;
	uint64_t len = has ? efs_ld32(r + BASE_RECORD + 2) : 0;
	if (kind < EFS_FILE || kind > EFS_SYMLINK ||
	    (has && len > room - V_DATA))
		return 0;
	if (kind != EFS_DIR) {
		uint64_t size = efs_ld64(r + V_SIZE);
		if (!size)
			return kind == EFS_FILE ? BASE_RECORD : 0;
		return has && len == size ? (uint32_t)(V_DATA + len) : 0;
	}
	if (!has)
		return BASE_RECORD;
	uint8_t *d = malloc(len + 1);
	int ok = d && !efs_bread(fs, rec + V_DATA, d, len);
	uint64_t p = 0;
	while (ok && p < len) {
		ok = len - p >= 8;
		uint32_t nl = ok ? efs_ld32(d + p) : 0;
		uint32_t ch = ok ? efs_ld32(d + p + 4) : 0;
		ok = ok && nl <= len - p - 8 && ch >= 1 && ch <= fs->n &&
		     !efs_check_read_name((const char *)d + p + 8, nl);
		p += 8 + (uint64_t)nl;
	}
	free(d);
	return ok && p == len ? (uint32_t)(V_DATA + len) : 0;
}

/* A record that does not parse because its size field is wrong: said,
 * and when the canonical layout gives the size, repair writes it (else
 * the record is dropped as any bad one). 1 when said, 0 when the size is
 * not the fault, or an error. */
static int check_rec_size(struct ck *c, uint32_t ino)
{
	struct efs *fs = c->fs;
	uint64_t rec;
	uint8_t h[REC_HDR];
	if (efs_slot_offset(fs, ino, &rec) || rec > fs->io.size - REC_HDR) {
		error(c, "inode %1: its record lies past the end of the device",
		      0, ino, 0);
		return 1;
	}
	if (efs_bread(fs, rec, h, REC_HDR) || efs_ld32(h + REC_INODE) != ino)
		return 0;
	uint32_t size = efs_ld32(h + REC_SIZE);
	uint32_t want = canonical_size(fs, ino, rec);
	int past = size > fs->io.size - rec, fix = want && want != size;
	if (!past && !fix)
		return 0;
	error(c, past ? "inode %1: its record's size (%2 bytes) runs past the "
			"end of the device"
		      : "inode %1: its record's size (%2 bytes) does not match "
			"its tags",
	      fix ? "; repair restores the size its tags give"
		  : "; repair drops it", ino, size);
	if (!c->repair || !fix)
		return 1;
	int err = efs_op_set_size(fs, ino, want);
	if (err == EFS_ERR_INVALID) {
		say(c, "inode %1: size not restored: another record lies in "
		    "the bytes it gives (repair drops it)", 0, ino, 0);
		return 1;
	}
	c->res->repaired += !err;
	c->changed = 1;
	return err ? err : 1;
}

static int check_records(struct ck *c)
{
	struct efs *fs = c->fs;
	for (uint32_t ino = 1; ino <= c->n; ino++) {
		struct efs_node nd;
		int err = efs_node_get(fs, ino, &nd);
		if (err == EFS_ERR_CORRUPT) {
			int said = check_rec_size(c, ino);
			if (said < 0)
				return said;
			if (said)
				continue;
		}
		if (err) {
			error(c, "inode %1: bad record: ", efs_strerror(err),
			      ino, 0);
			continue;
		}
		err = check_strict(c, &nd);
		if (err)
			return err;
		if (nd.kind == EFS_DIR)
			c->res->dirs++;
		else if (nd.kind == EFS_SYMLINK)
			c->res->symlinks++;
		else if (!efs_is_placeholder(&nd))
			c->res->files++;
		if (nd.kind == EFS_SYMLINK) {
			char *t = malloc(EFS_PATH_MAX + 1);
			err = t ? efs_readlink(fs, ino, t, EFS_PATH_MAX + 1)
				: EFS_ERR_NO_MEMORY;
			free(t);
			if (err < 0)
				error(c, "inode %1: bad symlink target: ",
				      efs_strerror(err), ino, 0);
		}
	}
	return 0;
}

/* Salvages a directory's entries: valid names, good children named once,
 * no duplicate names. Returns the bytes kept (caller frees) and counts
 * what was dropped. */
static uint8_t *salvage(struct ck *c, uint32_t dir, const struct efs_node *d,
			uint32_t *len, uint32_t *dropped)
{
	struct efs *fs = c->fs;
	uint8_t *raw = malloc(d->data_len + 1), *out = malloc(d->data_len + 1);
	uint32_t o = 0;
	*dropped = 0;
	if (!raw || !out || efs_dread(fs, d->data, raw, d->data_len)) {
		free(raw);
		free(out);
		return 0;
	}
	for (uint32_t p = 0; p + 8 <= d->data_len;) {
		uint32_t nl = efs_ld32(raw + p), ch = efs_ld32(raw + p + 4);
		if (nl > d->data_len - p - 8) {
			(*dropped)++;	/* the rest is unreadable */
			break;
		}
		const char *name = (const char *)raw + p + 8;
		struct efs_node cn;
		int keep = !efs_check_read_name(name, nl) && ch >= 1 && ch <= c->n &&
			   ch != EFS_ROOT && ch != dir && c->refs[ch - 1] == 0 &&
			   !efs_node_get(fs, ch, &cn);
		for (uint32_t q = 0; keep && q < o;) {
			uint32_t ql = efs_ld32(out + q);
			if (ql == nl && !memcmp(out + q + 8, name, nl))
				keep = 0;
			q += 8 + ql;
		}
		if (keep) {
			memcpy(out + o, raw + p, 8 + nl);
			o += 8 + nl;
			c->refs[ch - 1] = 1;
		} else {
			(*dropped)++;
		}
		p += 8 + nl;
	}
	free(raw);
	*len = o;
	return out;
}

/* Walks from the root, counting references; a directory with a bad
 * entry is reported, and rewritten with the good ones when repairing. */
static int walk_tree(struct ck *c)
{
	struct efs *fs = c->fs;
	uint32_t *q = malloc((size_t)c->n * sizeof(*q)), h = 0, t = 0;
	if (!q)
		return EFS_ERR_NO_MEMORY;
	memset(c->refs, 0, c->n);
	q[t++] = EFS_ROOT;
	c->refs[EFS_ROOT - 1] = 1;
	int err = 0;
	while (h < t && !err) {
		uint32_t ino = q[h++];
		struct efs_node d;
		struct dcache *dc;
		if (efs_node_get(fs, ino, &d) || d.kind != EFS_DIR)
			continue;
		uint32_t marked = 0, twice = 0;
		int bad = efs_dir_get(fs, &d, &dc);
		/* Each child is named once in the whole tree: a second name
		 * (a second parent, a cycle, the root) is the fault. */
		while (!bad && marked < dc->n) {
			uint32_t ch = dc->ents[marked].ino;
			struct efs_node cn;
			if (ch == EFS_ROOT || c->refs[ch - 1])
				twice = ch;
			if (twice || efs_node_get(fs, ch, &cn))
				bad = EFS_ERR_CORRUPT;
			else
				c->refs[dc->ents[marked++].ino - 1] = 1;
		}
		if (!bad) {
			for (uint32_t i = 0; i < dc->n; i++)
				q[t++] = dc->ents[i].ino;
			continue;
		}
		for (uint32_t i = 0; i < marked; i++)
			c->refs[dc->ents[i].ino - 1] = 0;	/* salvage decides */
		uint32_t len, dropped;
		uint8_t *keep = salvage(c, ino, &d, &len, &dropped);
		if (twice)
			error(c, "inode %1: names inode %2, which is named "
			      "elsewhere too (a second parent or a cycle); "
			      "repair drops the later name", 0, ino, twice);
		else
			error(c, "inode %1: directory has bad entries (%2 dropped "
			      "by repair: unreadable, bad name, bad or repeated "
			      "child)", 0, ino, dropped);
		for (uint32_t p = 0; keep && p < len;) {
			q[t++] = efs_ld32(keep + p + 4);
			p += 8 + efs_ld32(keep + p);
		}
		if (keep && c->repair) {
			err = efs_op_set_entries(fs, ino, keep, len);
			c->res->repaired += !err;
			c->changed = 1;
		}
		free(keep);
	}
	free(q);
	return err;
}

/* The directory orphans are linked into, made when the first needs it.
 * Making it may grow the table, which the scan refuses while it counts
 * damage: what this pass repaired is committed and scanned again first. */
static int lost_found(struct ck *c, uint32_t *lf)
{
	struct efs *fs = c->fs;
	int err = efs_lookup(fs, "/lost+found", 0, lf);
	if (err != EFS_ERR_NOT_FOUND)
		return err;
	if (c->changed && fs->scan_errors) {
		err = efs_sync(fs);
		fs->scanned = 0;
		if (!err)
			err = efs_scan(fs);
	}
	if (!err)
		err = efs_mkdir(fs, "/lost+found", 0700);
	return err ? err : efs_lookup(fs, "/lost+found", 0, lf);
}

/* Links unreachable inode ino into /lost+found as "#ino". A repair that
 * cannot be made (no space, no slot) is said and the check goes on; a
 * device error or a change that broke off ends it. */
static int link_orphan(struct ck *c, uint32_t ino, uint32_t *lf)
{
	struct efs *fs = c->fs;
	char name[16];
	struct efs_text nt = { name, sizeof(name), 0 };
	efs_text_str(&nt, "#");
	efs_text_num(&nt, ino, 10, 0);
	int err = *lf ? 0 : lost_found(c, lf);
	if (!err)
		err = efs_op_link(fs, *lf, name, ino);
	if (!err) {
		c->res->repaired++;
		c->changed = 1;
		return 0;
	}
	if (fs->failed ||
	    (efs_io_result(err) == err && err != EFS_ERR_NO_SPACE))
		return err;
	say(c, "inode %1: not linked into /lost+found: ", efs_strerror(err),
	    ino, 0);
	return 0;
}

/* Unreachable inodes: free placeholders are fine; anything else is
 * reported, and linked into /lost+found when repairing (only the roots of
 * unreachable subtrees: their contents come along). */
static int check_unreachable(struct ck *c)
{
	struct efs *fs = c->fs;
	uint32_t n = c->n, lf = 0;
	uint8_t *inner = calloc(n, 1);
	int err = inner ? 0 : EFS_ERR_NO_MEMORY;
	for (uint32_t i = 0; !err && i < n; i++) {
		struct efs_node d;
		struct dcache *dc;
		if (c->refs[i] || efs_node_get(fs, i + 1, &d) ||
		    d.kind != EFS_DIR || efs_dir_get(fs, &d, &dc))
			continue;
		for (uint32_t k = 0; k < dc->n; k++)
			if (dc->ents[k].ino <= n)
				inner[dc->ents[k].ino - 1] = 1;
	}
	for (uint32_t i = 0; !err && i < n; i++) {
		struct efs_node nd;
		/* named, or the /lost+found this pass made in a free slot */
		if (c->refs[i] || i + 1 == lf)
			continue;
		int e = efs_node_get(fs, i + 1, &nd);
		if (!e && efs_is_placeholder(&nd)) {
			c->res->free_slots++;
			continue;
		}
		if (e) {
			if (c->repair) {	/* already reported */
				err = efs_op_clear_slot(fs, i + 1);
				c->res->repaired += !err;
				c->changed = 1;
			}
			continue;
		}
		error(c, "inode %1: unreachable ", kind_name(nd.kind), i + 1, 0);
		if (c->repair && !inner[i])
			err = link_orphan(c, i + 1, &lf);
	}
	free(inner);
	return err;
}

static int one_pass(struct ck *c)
{
	struct efs_fsck_result *r = c->res;
	memset(r, 0, sizeof(*r));
	if (c->n != c->fs->n) {
		uint8_t *refs = realloc(c->refs, c->fs->n);
		if (!refs)
			return EFS_ERR_NO_MEMORY;
		c->refs = refs;
		c->n = c->fs->n;
	}
	r->nodes = c->n;
	int err = check_records(c);
	if (!err)
		err = walk_tree(c);
	if (!err)
		err = check_unreachable(c);
	if (!err && !c->fs->ndirty && !c->fs->pending.bytes) {
		/* Overlaps, and what a change would refuse: the scan. */
		c->fs->scanned = 0;
		err = efs_scan(c->fs);
	}
	return err;
}

int efs_fsck(const struct efs_io *io, int repair, efs_report_fn *report,
	     void *ctx, struct efs_fsck_result *res)
{
	struct efs_io rio = *io;
	struct efs *fs;
	struct efs_fsck_result tmp;
	if (!res)
		res = &tmp;
	memset(res, 0, sizeof(*res));
	rio.read_only = !repair;
	struct ck c = { .report = report, .ctx = ctx, .res = res,
			.repair = repair };
	int err = efs_mount(&rio, &fs);
	if (err) {
		res->errors = 1;
		say(&c, "cannot mount: ", efs_strerror(err), 0, 0);
		return err;
	}
	fs->lenient = 1;
	c.fs = fs;
	err = check_damage(&c, &rio, &fs);
	if (err) {
		res->errors = 1;
		say(&c, "repair failed: ", efs_strerror(err), 0, 0);
		if (fs)
			efs_unmount(fs);
		return err;
	}
	c.fs = fs;
	check_size(&c);
	c.n = fs->n;
	c.refs = calloc(c.n, 1);
	if (!c.refs) {
		efs_unmount(fs);
		return EFS_ERR_NO_MEMORY;
	}
	uint32_t repaired = 0;
	for (int pass = 0; pass < FSCK_PASSES; pass++) {
		c.changed = 0;
		err = one_pass(&c);
		repaired += res->repaired;
		if (err || !repair || !c.changed)
			break;
		err = efs_sync(fs);
		if (err)
			break;
		/* Check again what the repairs left. */
		c.repair = pass + 1 < FSCK_PASSES;
		say(&c, "repair: pass %1 done, checking again", 0, pass + 1, 0);
	}
	res->repaired = repaired + c.pre_repaired;
	res->errors += c.pre_errors;
	if (err)	/* the summary alone would not say why */
		error(&c, repair ? "repair failed: " : "fsck stopped: ",
		      efs_strerror(err), 0, 0);
	if (!err && fs->overlaps)
		error(&c, "%1 records overlap another record or the journal "
		      "(not repairable here; compact copies the readable ones)",
		      0, fs->overlaps, 0);
	/* Clean must mean writable: the check a change makes agrees. */
	if (!err && !res->errors && fs->scan_errors)
		error(&c, "the check before a change still finds %1 problems",
		      0, fs->scan_errors, 0);
	free(c.refs);
	int uerr = efs_unmount(fs);
	return err ? err : uerr;
}
