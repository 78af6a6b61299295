/* FAT12/16/32, read-only, with long names (Microsoft's "FAT: General
 * Overview of On-Disk Format" 1.03, cited as FAT §N: §3 the boot sector
 * and BPB, §3.5 type determination, §4 the FAT, §6 directory entries,
 * §7 long directory entries). Fields are read through byte accessors;
 * every cluster number, chain and directory is bounded. */
#include <stdlib.h>
#include <string.h>

#include "eclipsefs.h"
#include "efs_int.h"
#include "seedfs_int.h"

/* Boot sector and BPB (FAT §3.1-§3.3): byte offsets. */
#define BS_JMP 0
#define BPB_BYTES_PER_SEC 11
#define BPB_SEC_PER_CLUS 13
#define BPB_RSVD_SECS 14
#define BPB_NUM_FATS 16
#define BPB_ROOT_ENTS 17
#define BPB_TOT_SEC16 19
#define BPB_FAT_SZ16 22
#define BPB_TOT_SEC32 32
#define BS16_BOOT_SIG 38	/* FAT12/16: 0x29 when the label follows */
#define BS16_VOL_LAB 43
#define BPB_FAT_SZ32 36
#define BPB_EXT_FLAGS 40	/* bit 7: only FAT (bits 0-3) is active */
#define BPB_ROOT_CLUS 44
#define BS32_BOOT_SIG 66
#define BS32_VOL_LAB 71
#define BS_SIGNATURE 510	/* 0x55 0xAA */
#define BOOT_SIG 0x29

/* Directory entries (FAT §6, §7). */
#define DIR_ENTRY 32
#define DIR_ATTR 11
#define DIR_CLUS_HI 20
#define DIR_CLUS_LO 26
#define DIR_SIZE 28
#define ATTR_VOLUME_ID 0x08
#define ATTR_DIRECTORY 0x10
#define ATTR_LONG_NAME 0x0f
#define ATTR_LONG_MASK 0x3f
#define LDIR_ORD 0
#define LDIR_CHKSUM 13
#define LAST_LONG 0x40
#define LONG_PARTS 20		/* 20 x 13 = 260 units: 255 and a NUL */
#define DELETED 0xe5
#define FAT_DIR_MAX 65536	/* entries in a directory at most (FAT §6) */
#define WIN 512			/* the FAT window's size */

struct fat_ent {
	uint32_t cluster;
	uint32_t size;
	uint8_t attr;
};

/* Walking one directory, 16 entries read at a time. */
struct fat_dir {
	uint32_t cluster;	/* the one being read; 0: the fixed root */
	uint32_t index;		/* entries read so far */
	uint8_t buf[WIN];
	/* A long name being gathered (FAT §7): parts 1..parts. */
	uint8_t units[LONG_PARTS * 26];
	int parts, next;	/* next: the part expected; -1: none */
	uint8_t sum;
	char name[LONG_PARTS * 13 * 3 + 8];
};

static int fat_bits(const struct seedfs *fs)
{
	return fs->type == SEEDFS_FAT12 ? 12 : fs->type == SEEDFS_FAT16 ? 16
								     : 32;
}

static int valid(const struct seedfs *fs, uint32_t c)
{
	return c >= 2 && c - 2 < fs->u.fat.clusters;
}

/* n bytes of the FAT at byte off into b, through a 512-byte window: a
 * chain mostly stays within one. */
static int fat_bytes(struct seedfs *fs, uint64_t off, uint8_t *b, unsigned n)
{
	struct seedfs_fat *f = &fs->u.fat;
	off += f->fat_off;
	if (off % WIN + n > WIN)	/* a FAT12 entry across two */
		return seedfs_get(fs, off, b, n, "the FAT");
	if (off < f->win_off || off + n > f->win_off + WIN) {
		f->win_off = UINT64_MAX;
		int err = seedfs_get(fs, off - off % WIN, f->win, WIN,
				     "the FAT");
		if (err)
			return err;
		f->win_off = off - off % WIN;
	}
	memcpy(b, f->win + (off - f->win_off), n);
	return 0;
}

/* The cluster after c (valid) in its chain (FAT §4): 0 and *next, or 0
 * and *next = 0 at the chain's end; CORRUPT when the entry is free,
 * reserved, bad or out of range. */
static int follow(struct seedfs *fs, uint32_t c, uint32_t *next)
{
	int bits = fat_bits(fs);
	uint64_t off = bits == 12 ? c + c / 2 : (uint64_t)c * (bits / 8);
	unsigned n = bits == 32 ? 4 : 2;
	uint8_t b[4];
	if (off + n > fs->u.fat.fat_size)
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "the FAT is too "
				  "small for the clusters");
	int err = fat_bytes(fs, off, b, n);
	if (err)
		return err;
	uint32_t v = n == 4 ? efs_ld32(b) & 0x0fffffff : efs_ld16(b);
	uint32_t eoc = 0x0ffffff8;
	if (bits == 12) {
		v = c & 1 ? v >> 4 : v & 0xfff;
		eoc = 0xff8;
	} else if (bits == 16) {
		eoc = 0xfff8;
	}
	*next = v >= eoc ? 0 : v;
	if (v < eoc && !valid(fs, v))
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a cluster chain "
				  "leads to a free, bad or out-of-range "
				  "cluster");
	return 0;
}

static uint64_t cluster_off(const struct seedfs *fs, uint32_t c)
{
	return fs->u.fat.data_off + (uint64_t)(c - 2) * fs->u.fat.cluster;
}

/* The next entry of d into *e: 1, 0 at the directory's end (the last
 * cluster or the fixed root's last entry), or an error. */
static int dir_entry(struct seedfs *fs, struct fat_dir *d, const uint8_t **e)
{
	struct seedfs_fat *f = &fs->u.fat;
	uint32_t per = f->cluster / DIR_ENTRY, in = d->index % per;
	uint64_t at;
	if (d->index == FAT_DIR_MAX)
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a directory of more "
				  "than 65536 entries (a loop in its chain?)");
	if (!d->cluster) {
		if (d->index >= f->root_entries)
			return 0;
		at = f->root_off + (uint64_t)d->index * DIR_ENTRY;
	} else {
		if (d->index && !in) {
			int err = follow(fs, d->cluster, &d->cluster);
			if (err || !d->cluster)
				return err;
		}
		at = cluster_off(fs, d->cluster) + (uint64_t)in * DIR_ENTRY;
	}
	/* 16 entries at a time: sectors and clusters are multiples of 512,
	 * so a read never leaves the root or the cluster. */
	if (d->index % (WIN / DIR_ENTRY) == 0) {
		int err = seedfs_get(fs, at, d->buf, WIN, "a directory");
		if (err)
			return err;
	}
	*e = d->buf + d->index % (WIN / DIR_ENTRY) * DIR_ENTRY;
	d->index++;
	return 1;
}

static uint8_t short_sum(const uint8_t *name)
{
	uint8_t sum = 0;
	for (int i = 0; i < 11; i++)	/* FAT §7: the checksum */
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name[i]);
	return sum;
}

/* One long-name entry (FAT §7) into d: parts come last first, each with
 * its ordinal and the short name's checksum; anything out of order drops
 * the name. */
static void long_part(struct fat_dir *d, const uint8_t *e)
{
	int ord = e[LDIR_ORD] & 0x1f;
	if (e[LDIR_ORD] & LAST_LONG) {
		d->parts = ord;
		d->sum = e[LDIR_CHKSUM];
		memset(d->units, 0, sizeof(d->units));
	} else if (ord != d->next || e[LDIR_CHKSUM] != d->sum) {
		ord = 0;
	}
	if (ord < 1 || ord > LONG_PARTS) {
		d->next = -1;
		return;
	}
	uint8_t *u = d->units + (ord - 1) * 26;
	memcpy(u, e + 1, 10);		/* units 1-5 */
	memcpy(u + 10, e + 14, 12);	/* units 6-11 */
	memcpy(u + 22, e + 28, 4);	/* units 12-13 */
	d->next = ord - 1;
}

/* The short name "BASE.EXT" of entry e into out (13 bytes). */
static void short_name(const uint8_t *e, char *out)
{
	int k = 0, b = 8, x = 11;
	while (b > 0 && e[b - 1] == ' ')
		b--;
	while (x > 8 && e[x - 1] == ' ')
		x--;
	for (int i = 0; i < b; i++)
		out[k++] = (char)(i == 0 && e[0] == 0x05 ? DELETED : e[i]);
	if (x > 8)
		out[k++] = '.';
	for (int i = 8; i < x; i++)
		out[k++] = (char)e[i];
	out[k] = 0;
}

/* Does short entry e carry want, by its long name (when the parts before
 * it are complete and match its checksum) or its short name? */
static int named(struct fat_dir *d, const uint8_t *e, const char *want)
{
	char s[13];
	int has_long = d->next == 0 && d->parts && d->sum == short_sum(e);
	d->next = -1;
	d->parts = 0;
	if (has_long) {
		int n = seedfs_ucs2(d->units, sizeof(d->units) / 2, 0, d->name,
				    sizeof(d->name));
		if (n > 0 && seedfs_same_nocase(d->name, (size_t)n, want))
			return 1;
	}
	short_name(e, s);
	return seedfs_same_nocase(s, strlen(s), want);
}

/* want in the directory starting at cluster dir (0: the fixed root):
 * 0 and *out, or an error. A volume label entry when want is NULL. */
static int find(struct seedfs *fs, struct fat_dir *d, uint32_t dir,
		const char *want, struct fat_ent *out)
{
	const uint8_t *e;
	int r;
	memset(d, 0, sizeof(*d));
	d->cluster = dir;
	d->next = -1;
	while ((r = dir_entry(fs, d, &e)) > 0) {
		uint8_t attr = e[DIR_ATTR];
		if (!e[0])	/* the end marker (FAT §6) */
			break;
		if (e[0] == DELETED) {
			d->next = -1;
		} else if ((attr & ATTR_LONG_MASK) == ATTR_LONG_NAME) {
			long_part(d, e);
		} else if (attr & ATTR_VOLUME_ID) {
			d->next = -1;
			if (!want) {
				seedfs_label(d->name, e, 11);
				return 0;
			}
		} else if (want && e[0] != '.' && named(d, e, want)) {
			out->cluster = (fs->type == SEEDFS_FAT32 ?
					(uint32_t)efs_ld16(e + DIR_CLUS_HI) << 16
					: 0) | efs_ld16(e + DIR_CLUS_LO);
			out->size = efs_ld32(e + DIR_SIZE);
			out->attr = attr;
			return 0;
		}
	}
	return r < 0 ? r : SEEDFS_ERR_NOT_FOUND;
}

/* The file's first min(size, max) bytes: runs of consecutive clusters
 * are read in one request; the chain is followed only that far. */
static int64_t read_chain(struct seedfs *fs, const struct fat_ent *f,
			  uint8_t *buf, size_t max)
{
	uint32_t cb = fs->u.fat.cluster, c = f->cluster;
	size_t want = f->size < max ? f->size : max, got = 0;
	if (want && !valid(fs, c))
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a file's first "
				  "cluster is out of range");
	while (got < want) {
		uint64_t at = cluster_off(fs, c);
		size_t run = 0;
		uint32_t next = 0;
		for (;;) {
			run += want - got - run < cb ? want - got - run : cb;
			if (got + run == want)
				break;
			int err = follow(fs, c, &next);
			if (err)
				return err;
			if (!next)
				return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a "
						  "file's cluster chain is "
						  "shorter than its size");
			if (next != c + 1)
				break;
			c = next;
		}
		int err = seedfs_get(fs, at, buf + got, run, "a file");
		if (err)
			return err;
		got += run;
		c = next;
	}
	return (int64_t)want;
}

int64_t fat_read(struct seedfs *fs, const char *path, void *buf, size_t max,
		 uint64_t *size)
{
	char comp[SEEDFS_NAME_MAX + 1];
	struct fat_ent cur = { fs->u.fat.root_cluster, 0, ATTR_DIRECTORY };
	struct fat_dir *d = malloc(sizeof(*d));
	int n, err = 0;
	if (!d)
		return SEEDFS_ERR_NO_MEMORY;
	int root = 1;
	while (!err && (n = seedfs_next(&path, comp)) > 0) {
		if (!(cur.attr & ATTR_DIRECTORY))
			err = SEEDFS_ERR_NOT_DIR;
		else if (!root && !valid(fs, cur.cluster))
			err = seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a "
					 "directory's first cluster is out "
					 "of range");
		else
			err = find(fs, d, cur.cluster, comp, &cur);
		root = 0;
	}
	free(d);
	if (err || n < 0)
		return err ? err : n;
	if (cur.attr & ATTR_DIRECTORY)
		return SEEDFS_ERR_IS_DIR;
	if ((uint64_t)cur.size > (uint64_t)fs->u.fat.clusters *
				 fs->u.fat.cluster)
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "a file bigger than "
				  "the volume");
	*size = cur.size;
	return read_chain(fs, &cur, buf, max);
}

/* The BPB's geometry (FAT §3), checked against itself and the device. */
static int geometry(struct seedfs *fs, const uint8_t *bs)
{
	struct seedfs_fat *f = &fs->u.fat;
	uint32_t bps = efs_ld16(bs + BPB_BYTES_PER_SEC);
	uint32_t spc = bs[BPB_SEC_PER_CLUS], rsvd = efs_ld16(bs + BPB_RSVD_SECS);
	uint32_t nfats = bs[BPB_NUM_FATS], ents = efs_ld16(bs + BPB_ROOT_ENTS);
	uint64_t tot = efs_ld16(bs + BPB_TOT_SEC16);
	uint64_t fatsz = efs_ld16(bs + BPB_FAT_SZ16);
	if (!tot)
		tot = efs_ld32(bs + BPB_TOT_SEC32);
	if (!fatsz)
		fatsz = efs_ld32(bs + BPB_FAT_SZ32);
	if (!spc || (spc & (spc - 1)) || !rsvd || !nfats || !fatsz || !tot)
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "the BPB has a zero "
				  "count or sectors per cluster not a power "
				  "of two");
	uint64_t root_secs = ((uint64_t)ents * DIR_ENTRY + bps - 1) / bps;
	uint64_t first = rsvd + nfats * fatsz + root_secs;
	if (first >= tot)
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "the FATs and the root "
				  "directory fill the volume");
	if (tot * bps > fs->io->size)
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "the volume is "
				  "larger than its device");
	uint64_t clusters = (tot - first) / spc;
	fs->type = clusters < 4085 ? SEEDFS_FAT12 : clusters < 65525
		   ? SEEDFS_FAT16 : SEEDFS_FAT32;	/* FAT §3.5 */
	uint32_t active = 0;
	if (fs->type == SEEDFS_FAT32) {
		if (ents || efs_ld16(bs + BPB_FAT_SZ16) || clusters > 0x0ffffff5)
			return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "FAT32 with "
					  "a fixed root or too many clusters");
		if (efs_ld16(bs + BPB_EXT_FLAGS) & 0x80)
			active = efs_ld16(bs + BPB_EXT_FLAGS) & 0x0f;
		if (active >= nfats)
			return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "the active "
					  "FAT does not exist");
	} else if (!ents) {
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "FAT12/16 without a "
				  "root directory");
	}
	if (fatsz * bps * 8 < (clusters + 2) * (uint64_t)fat_bits(fs))
		return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "the FAT is too "
				  "small for the clusters");
	f->sector = bps;
	f->cluster = spc * bps;
	f->clusters = (uint32_t)clusters;
	f->root_entries = fs->type == SEEDFS_FAT32 ? 0 : ents;
	f->fat_off = (rsvd + active * fatsz) * bps;
	f->fat_size = fatsz * bps;
	f->root_off = (rsvd + nfats * fatsz) * bps;
	f->data_off = first * bps;
	f->win_off = UINT64_MAX;
	if (fs->type == SEEDFS_FAT32) {
		f->root_cluster = efs_ld32(bs + BPB_ROOT_CLUS);
		if (!valid(fs, f->root_cluster))
			return seedfs_bad(fs, SEEDFS_ERR_CORRUPT, "the root "
					  "directory's cluster is out of "
					  "range");
	}
	return 0;
}

/* The signature (FAT §3.1: a jump, 0x55 0xAA at 510) and a sector size
 * FAT allows: anything else is not FAT at all. */
static int fat_signature(const uint8_t *bs)
{
	uint32_t bps = efs_ld16(bs + BPB_BYTES_PER_SEC);
	return (bs[BS_JMP] == 0xeb || bs[BS_JMP] == 0xe9) &&
	       bs[BS_SIGNATURE] == 0x55 && bs[BS_SIGNATURE + 1] == 0xaa &&
	       (bps == 512 || bps == 1024 || bps == 2048 || bps == 4096);
}

/* The boot sector's label, when its extended signature says it has one
 * and it is not "NO NAME"; FAT32's BPB is the one without BPB_FATSz16. */
static void boot_label(const uint8_t *bs, char *out)
{
	int fat32 = !efs_ld16(bs + BPB_FAT_SZ16);
	out[0] = 0;
	if (bs[fat32 ? BS32_BOOT_SIG : BS16_BOOT_SIG] == BOOT_SIG)
		seedfs_label(out, bs + (fat32 ? BS32_VOL_LAB : BS16_VOL_LAB),
			     11);
	if (!strcmp(out, "NO NAME"))
		out[0] = 0;
}

int fat_boot_label(const uint8_t *first, char label[SEEDFS_LABEL_MAX + 1])
{
	label[0] = 0;
	if (!fat_signature(first))
		return 0;
	boot_label(first, label);
	return 1;
}

/* The label: the root directory's label entry, else the boot sector's,
 * as blkid reads it. */
static int label(struct seedfs *fs, const uint8_t *bs)
{
	boot_label(bs, fs->label);
	struct fat_dir *d = malloc(sizeof(*d));
	if (!d)
		return SEEDFS_ERR_NO_MEMORY;
	int err = find(fs, d, fs->u.fat.root_cluster, 0, 0);
	if (!err && d->name[0])
		memcpy(fs->label, d->name, 12);
	free(d);
	return err == SEEDFS_ERR_NOT_FOUND ? 0 : err;
}

int fat_open(const struct efs_io *io, struct seedfs *fs)
{
	uint8_t bs[512];
	memset(fs, 0, sizeof(*fs));
	fs->io = io;
	fs->why = "";
	if (io->size < sizeof(bs))
		return SEEDFS_ERR_NOT_FS;
	int err = seedfs_get(fs, 0, bs, sizeof(bs), "the boot sector");
	if (err)
		return err;
	if (!fat_signature(bs))
		return SEEDFS_ERR_NOT_FS;
	fs->type = SEEDFS_FAT;
	err = geometry(fs, bs);
	if (!err)
		err = label(fs, bs);
	fs->names = "long names (VFAT)";
	return err;
}
