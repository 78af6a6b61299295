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

/* Where slot ino's record ends, as far as its header says (0: unknown). */
static uint64_t record_end(struct efs *fs, uint32_t ino)
{
	uint8_t h[REC_HDR];
	uint64_t abs;
	if (efs_slot_offset(fs, ino, &abs))
		return 0;
	if (abs > fs->io.size - REC_HDR || efs_bread(fs, abs, h, REC_HDR))
		return abs + REC_HDR;
	return abs + (efs_ld32(h + 4) > REC_HDR ? efs_ld32(h + 4) : REC_HDR);
}

/* Records that run past the end of the device: a truncated volume, said
 * once before the records it makes unreadable. */
static void check_size(struct ck *c)
{
	struct efs *fs = c->fs;
	uint32_t past = 0;
	uint64_t need = 0;
	if (fs->damage & DAMAGE_SHORT)
		return;		/* the notice said it */
	for (uint32_t ino = 1; ino <= fs->n; ino++) {
		uint64_t end = record_end(fs, ino);
		if (end > fs->io.size) {
			past++;
			need = end > need ? end : need;
		}
	}
	if (!past)
		return;
	c->pre_errors++;
	char s[160];
	struct efs_text t = { s, sizeof(s), 0 };
	efs_text_str(&t, "the volume is truncated: the device has ");
	efs_text_num(&t, fs->io.size, 10, 0);
	efs_text_str(&t, " bytes, records reach past ");
	efs_text_num(&t, need, 10, 0);
	say(c, s, " (the records below that lie past its end)", 0, 0);
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

/* Every record on its own. */
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

static int check_records(struct ck *c)
{
	struct efs *fs = c->fs;
	for (uint32_t ino = 1; ino <= c->n; ino++) {
		struct efs_node nd;
		int err = efs_node_get(fs, ino, &nd);
		if (err && record_end(fs, ino) > fs->io.size) {
			error(c, "inode %1: its record runs past the end of the "
			      "device", 0, ino, 0);
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
