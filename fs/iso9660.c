/* ISO 9660 (ECMA-119, 2nd edition 1987), read-only, with Joliet names
 * (the Joliet specification, 1995: a supplementary volume descriptor
 * whose tree holds UCS-2 names) and Rock Ridge names (SUSP 1.12 and RRIP
 * 1.12: NM entries in the system use area of each directory record).
 * The primary tree alone holds only d-character names such as
 * "USER_DAT.;1"; Rock Ridge is preferred, then Joliet. */
#include <stdlib.h>
#include <string.h>

#include "eclipsefs.h"
#include "efs_int.h"
#include "seedfs_int.h"

#define ISO_VD_SECTOR 2048	/* volume descriptors' sector size (§6.1.2) */
#define ISO_VD_FIRST 16		/* after the system area (§6.2.1) */
#define ISO_VD_MAX 64		/* descriptors read before a terminator */
#define ISO_DIR_MAX (4u << 20)	/* a directory bigger than this is refused */
#define ISO_CE_MAX 16		/* continuation areas followed per record */

/* Volume descriptor (§8.1, §8.4, §8.5): byte offsets. */
#define VD_TYPE 0
#define VD_ID 1			/* "CD001" */
#define VD_VOLUME_ID 40		/* 32 characters */
#define VD_ESCAPES 88		/* supplementary: Joliet's "%/@" "%/C" "%/E" */
#define VD_BLOCK 128		/* logical block size, both-endian 16 */
#define VD_ROOT 156		/* the root's directory record, 34 bytes */
#define VD_PRIMARY 1
#define VD_SUPPLEMENTARY 2
#define VD_TERMINATOR 255

/* Directory record (§9.1). */
#define DR_LEN 0
#define DR_XATTR 1		/* extended attribute record, blocks */
#define DR_EXTENT 2		/* LBA, both-endian 32 (little half used) */
#define DR_SIZE 10		/* data length, both-endian 32 */
#define DR_FLAGS 25
#define DR_UNIT 26		/* interleaving: file unit size ... */
#define DR_GAP 27		/* ... and gap */
#define DR_NAME_LEN 32
#define DR_NAME 33
#define DR_MIN 34
#define FL_DIR 0x02		/* §9.1.6 */
#define FL_ASSOCIATED 0x04
#define FL_MULTI 0x80		/* multi-extent: continues in the next */

/* SUSP 1.12 §5.1 CE, §5.3 SP, §5.4 ST; RRIP 1.12 §4.1.4 NM. */
#define NM_CONTINUE 0x01
#define NM_CURRENT 0x02
#define NM_PARENT 0x04

struct iso_rec {
	uint32_t lba;		/* where the data starts */
	uint32_t size;		/* bytes */
	uint8_t flags;
};

/* The record of r as a struct iso_rec: 0, or UNSUPPORTED for files
 * recorded in pieces. */
static int take(struct seedfs *fs, const uint8_t *r, struct iso_rec *out)
{
	out->lba = efs_ld32(r + DR_EXTENT) + r[DR_XATTR];
	out->size = efs_ld32(r + DR_SIZE);
	out->flags = r[DR_FLAGS];
	if (out->lba < r[DR_XATTR])
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "an extent wraps "
				  "around");
	if (out->flags & FL_MULTI)
		return seedfs_bad(fs, SEEDFS_ERR_UNSUPPORTED, "a multi-extent "
				  "file");
	if (r[DR_UNIT] || r[DR_GAP])
		return seedfs_bad(fs, SEEDFS_ERR_UNSUPPORTED, "an interleaved "
				  "file");
	return 0;
}

/* A descriptor's root record into r: 0, or CORRUPT. */
static int root_rec(struct seedfs *fs, const uint8_t *vd, struct iso_rec *r)
{
	const uint8_t *d = vd + VD_ROOT;
	if (d[DR_LEN] != DR_MIN || !(d[DR_FLAGS] & FL_DIR))
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "the root's directory "
				  "record is not a directory's");
	return take(fs, d, r);
}

static int joliet(const uint8_t *vd)
{
	return vd[VD_ESCAPES] == '%' && vd[VD_ESCAPES + 1] == '/' &&
	       (vd[VD_ESCAPES + 2] == '@' || vd[VD_ESCAPES + 2] == 'C' ||
		vd[VD_ESCAPES + 2] == 'E');
}

/* Joliet's label: 16 UCS-2 characters, blanks at the end cut. */
static void joliet_label(char *out, const uint8_t *vd)
{
	char tmp[SEEDFS_LABEL_MAX + 5];
	if (seedfs_ucs2(vd + VD_VOLUME_ID, 16, 1, tmp, sizeof(tmp)) < 0)
		tmp[0] = 0;
	size_t n = strlen(tmp);
	while (n && tmp[n - 1] == ' ')
		n--;
	for (size_t i = 0; i < n && i < SEEDFS_LABEL_MAX; i++)
		out[i] = (unsigned char)tmp[i] < 0x20 ? '?' : tmp[i];
	out[n < SEEDFS_LABEL_MAX ? n : SEEDFS_LABEL_MAX] = 0;
}

/* The system use area of record r (len bytes), after SUSP's skip. */
static const uint8_t *sua(const struct seedfs *fs, const uint8_t *r,
			  unsigned len, unsigned *n)
{
	unsigned at = DR_NAME + r[DR_NAME_LEN] + !(r[DR_NAME_LEN] & 1);
	at += fs->u.iso.susp_skip;
	*n = at < len ? len - at : 0;
	return r + at;
}

/* Is the root's first record's first SUSP entry SP (SUSP §5.3)? Then
 * the primary tree carries Rock Ridge. */
static int find_sp(struct seedfs *fs, const struct iso_rec *root)
{
	uint8_t *b = malloc(fs->u.iso.block);
	if (!b)
		return SEEDFS_ERR_NO_MEMORY;
	int err = seedfs_get(fs, (uint64_t)root->lba * fs->u.iso.block, b,
			     fs->u.iso.block, "the root directory");
	unsigned n = 0;
	const uint8_t *a = 0;
	if (!err && b[DR_LEN] >= DR_MIN && b[DR_NAME_LEN] + DR_NAME <=
	    b[DR_LEN])
		a = sua(fs, b, b[DR_LEN], &n);
	if (a && n >= 7 && a[0] == 'S' && a[1] == 'P' && a[2] >= 7 &&
	    a[4] == 0xbe && a[5] == 0xef) {
		fs->u.iso.names = SEEDFS_NAMES_ROCK;
		fs->u.iso.susp_skip = a[6];
	}
	free(b);
	return err;
}

/* The descriptors (§8): the primary's root, block size and label; a
 * Joliet supplementary's root and label, if any. */
static int descriptors(struct seedfs *fs, uint8_t *vd, struct iso_rec *prim,
		       struct iso_rec *jol)
{
	int have_pvd = 0;
	for (unsigned i = 0; i < ISO_VD_MAX; i++) {
		uint64_t off = (uint64_t)(ISO_VD_FIRST + i) * ISO_VD_SECTOR;
		int err = seedfs_get(fs, off, vd, ISO_VD_SECTOR,
				     "the volume descriptor set");
		if (err && i == 0)
			return err == SEEDFS_ERR_IO ? err : SEEDFS_ERR_NOT_FS;
		if (err)
			return err;
		if (memcmp(vd + VD_ID, "CD001", 5)) {
			if (i == 0)
				return SEEDFS_ERR_NOT_FS;
			return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a volume "
					  "descriptor without CD001 before "
					  "the terminator");
		}
		fs->type = SEEDFS_ISO9660;
		uint32_t bs = efs_ld16(vd + VD_BLOCK);
		if (vd[VD_TYPE] == VD_TERMINATOR && !have_pvd)
			return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "no primary "
					  "volume descriptor");
		if (vd[VD_TYPE] == VD_TERMINATOR)
			return 0;
		if (vd[VD_TYPE] == VD_PRIMARY && !have_pvd) {
			if (bs != 512 && bs != 1024 && bs != 2048)
				return seedfs_bad(fs, SEEDFS_ERR_CORRUPT,
						  "logical block size not "
						  "512, 1024 or 2048");
			fs->u.iso.block = bs;
			seedfs_label(fs->label, vd + VD_VOLUME_ID, 32);
			err = root_rec(fs, vd, prim);
			have_pvd = 1;
		} else if (vd[VD_TYPE] == VD_SUPPLEMENTARY && joliet(vd) &&
			   !jol->size) {
			err = root_rec(fs, vd, jol);
			char label[SEEDFS_LABEL_MAX + 1];
			joliet_label(label, vd);
			if (!err && label[0])	/* lower case fits here */
				memcpy(fs->label, label, sizeof(label));
		}
		if (err)
			return err;
	}
	return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "no volume descriptor set "
			  "terminator within 64 descriptors");
}

int iso_open(const struct efs_io *io, struct seedfs *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->io = io;
	fs->why = "";
	struct iso_rec prim = { 0 }, jol = { 0 };
	uint8_t *vd = malloc(ISO_VD_SECTOR);
	if (!vd)
		return SEEDFS_ERR_NO_MEMORY;
	int err = descriptors(fs, vd, &prim, &jol);
	free(vd);
	if (err)
		return err;
	/* Joliet's block size is the primary's (a supplementary's own
	 * field is the same by §8.5.12). */
	fs->u.iso.names = SEEDFS_NAMES_PRIMARY;
	err = find_sp(fs, &prim);
	if (err)
		return err;
	struct iso_rec *use = &prim;
	if (fs->u.iso.names != SEEDFS_NAMES_ROCK && jol.size) {
		fs->u.iso.names = SEEDFS_NAMES_JOLIET;
		use = &jol;
	}
	fs->u.iso.root_lba = use->lba;
	fs->u.iso.root_size = use->size;
	fs->names = fs->u.iso.names == SEEDFS_NAMES_ROCK ? "Rock Ridge names"
		  : fs->u.iso.names == SEEDFS_NAMES_JOLIET ? "Joliet names"
		  : "8.3 names only (no Joliet or Rock Ridge)";
	return 0;
}

/* Appends NM content to name (at most SEEDFS_NAME_MAX bytes; past that
 * *n becomes SEEDFS_NAME_MAX + 1: matches nothing). */
static void nm_add(char *name, size_t *n, const uint8_t *p, size_t len)
{
	if (*n + len > SEEDFS_NAME_MAX) {
		*n = SEEDFS_NAME_MAX + 1;
		return;
	}
	memcpy(name + *n, p, len);
	*n += len;
}

/* Rock Ridge's name for record r (len bytes) into name (its length in
 * *n): 1 when it has an NM entry, 0 when not, or CORRUPT. Follows CE
 * continuation areas, at most ISO_CE_MAX of them (they may loop). */
static int rock_name(struct seedfs *fs, const uint8_t *r, unsigned len,
		     char *name, size_t *n)
{
	unsigned left;
	const uint8_t *a = sua(fs, r, len, &left);
	uint8_t *ce = 0;
	int found = 0, more = 0, err = 0;
	*n = 0;
	for (unsigned hops = 0;; hops++) {
		uint64_t ce_at = 0;
		uint32_t ce_len = 0;
		while (left >= 4 && (a[0] || a[1])) {
			unsigned el = a[2];
			if (el < 4 || el > left) {
				err = seedfs_bad(fs, SEEDFS_ERR_CORRUPT,
						 "a Rock Ridge (SUSP) entry "
						 "runs past its area");
				goto out;
			}
			if (a[0] == 'S' && a[1] == 'T')
				break;
			if (a[0] == 'N' && a[1] == 'M' && el >= 5 &&
			    !(a[4] & (NM_CURRENT | NM_PARENT))) {
				nm_add(name, n, a + 5, el - 5);
				found = 1;
				more = a[4] & NM_CONTINUE;
			} else if (a[0] == 'C' && a[1] == 'E' && el >= 28) {
				ce_at = (uint64_t)efs_ld32(a + 4) *
					fs->u.iso.block + efs_ld32(a + 12);
				ce_len = efs_ld32(a + 20);
				if (efs_ld32(a + 12) >= fs->u.iso.block ||
				    ce_len > fs->u.iso.block -
					     efs_ld32(a + 12)) {
					err = seedfs_bad(fs, SEEDFS_ERR_CORRUPT,
							 "a Rock Ridge "
							 "continuation area "
							 "crosses its block");
					goto out;
				}
			}
			a += el;
			left -= el;
		}
		if ((found && !more) || !ce_len)
			break;
		if (hops == ISO_CE_MAX) {
			err = seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "more than 16 "
					 "Rock Ridge continuation areas (a "
					 "loop?)");
			goto out;
		}
		if (!ce && !(ce = malloc(fs->u.iso.block))) {
			err = SEEDFS_ERR_NO_MEMORY;
			goto out;
		}
		err = seedfs_get(fs, ce_at, ce, ce_len,
				 "a Rock Ridge continuation area");
		if (err)
			goto out;
		a = ce;
		left = ce_len;
	}
out:
	free(ce);
	name[*n <= SEEDFS_NAME_MAX ? *n : 0] = 0;
	return err ? err : found;
}

/* ";1" (a version) and then a final '.' (a name without an extension)
 * cut, as readers do for primary and Joliet names. */
static size_t bare(const char *s, size_t n)
{
	size_t k = n;
	while (k && s[k - 1] >= '0' && s[k - 1] <= '9')
		k--;
	if (k && k < n && s[k - 1] == ';')
		n = k - 1;
	while (n > 1 && s[n - 1] == '.')
		n--;
	return n;
}

/* Does record r (len bytes, checked) carry the name want? 1, 0, or an
 * error. */
static int named(struct seedfs *fs, const uint8_t *r, unsigned len,
		 const char *want)
{
	char name[4 * 128 + 8];
	size_t n = r[DR_NAME_LEN];
	if (fs->u.iso.names == SEEDFS_NAMES_ROCK) {
		int found = rock_name(fs, r, len, name, &n);
		if (found < 0)
			return found;
		if (found)
			return n == strlen(want) && !memcmp(name, want, n);
		n = r[DR_NAME_LEN];	/* no NM: the primary name */
	}
	if (fs->u.iso.names == SEEDFS_NAMES_JOLIET) {
		int k = seedfs_ucs2(r + DR_NAME, n / 2, 1, name, sizeof(name));
		if (n & 1 || k < 0)
			return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a Joliet "
					  "name is not UCS-2");
		n = bare(name, (size_t)k);
		return n == strlen(want) && !memcmp(name, want, n);
	}
	n = bare((const char *)r + DR_NAME, n);
	return seedfs_same_nocase((const char *)r + DR_NAME, n, want);
}

/* Walks one directory block's records (end: the directory's bytes in
 * it): 1 and *out when want is there, 0 when not, or an error. */
static int scan_block(struct seedfs *fs, const uint8_t *b, unsigned end,
		      const char *want, struct iso_rec *out)
{
	for (unsigned off = 0; off < end;) {
		unsigned len = b[off + DR_LEN];
		if (!len)	/* the rest of the sector is zeros (§6.8.1.1) */
			return 0;
		if (len < DR_MIN || len > end - off)
			return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a directory "
					  "record shorter than 34 bytes or "
					  "past its sector");
		const uint8_t *r = b + off;
		if (DR_NAME + r[DR_NAME_LEN] > len)
			return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a file "
					  "identifier longer than its record");
		off += len;
		if ((r[DR_NAME_LEN] == 1 && r[DR_NAME] <= 1) ||
		    (r[DR_FLAGS] & FL_ASSOCIATED))
			continue;	/* "." and "..", associated files */
		int hit = named(fs, r, len, want);
		if (hit < 0)
			return hit;
		if (hit) {
			int err = take(fs, r, out);
			return err ? err : 1;
		}
	}
	return 0;
}

/* want in directory dir: 0 and *out, or an error (NOT_FOUND ...). */
static int find(struct seedfs *fs, const struct iso_rec *dir,
		const char *want, struct iso_rec *out)
{
	uint32_t bs = fs->u.iso.block;
	if (dir->size > ISO_DIR_MAX)
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a directory bigger "
				  "than 4 MiB");
	uint8_t *b = malloc(bs);
	if (!b)
		return SEEDFS_ERR_NO_MEMORY;
	int hit = 0;
	for (uint32_t done = 0; done < dir->size && !hit; done += bs) {
		uint32_t end = dir->size - done < bs ? dir->size - done : bs;
		hit = seedfs_get(fs, ((uint64_t)dir->lba + done / bs) * bs, b,
				 bs, "a directory");
		if (!hit)
			hit = scan_block(fs, b, end, want, out);
	}
	free(b);
	return hit == 1 ? 0 : hit ? hit : SEEDFS_ERR_NOT_FOUND;
}

int64_t iso_read(struct seedfs *fs, const char *path, void *buf, size_t max,
		 uint64_t *size)
{
	char comp[SEEDFS_NAME_MAX + 1];
	struct iso_rec cur = { fs->u.iso.root_lba, fs->u.iso.root_size,
			       FL_DIR };
	int n;
	while ((n = seedfs_next(&path, comp)) > 0) {
		struct iso_rec next;
		if (!(cur.flags & FL_DIR))
			return SEEDFS_ERR_NOT_DIR;
		int err = find(fs, &cur, comp, &next);
		if (err)
			return err;
		cur = next;
	}
	if (n < 0)
		return n;
	if (cur.flags & FL_DIR)
		return SEEDFS_ERR_IS_DIR;
	uint64_t at = (uint64_t)cur.lba * fs->u.iso.block;
	if (at > fs->io->size || cur.size > fs->io->size - at)
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a file's extent "
				  "runs past the end of the device");
	*size = cur.size;
	size_t want = cur.size < max ? cur.size : max;
	int err = want ? seedfs_get(fs, at, buf, want, "a file") : 0;
	return err ? err : (int64_t)want;
}
