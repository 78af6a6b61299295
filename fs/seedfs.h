/* Read-only readers for the filesystems of cloud seed drives (a NoCloud
 * seed, an OpenStack config drive): ISO 9660 (ECMA-119, with Joliet and
 * Rock Ridge names) and FAT12/16/32 (with long names). Portable C like
 * the rest of fs/: storage only through the read callback and the size of
 * a struct efs_io; nothing is ever written.
 *
 * Nothing read from the device is trusted: every length, offset, cluster
 * number, chain and loop is bounded, and a hostile image gets
 * SEEDFS_ERR_CORRUPT with fs->why saying what was wrong. */
#ifndef UMBRA_SEEDFS_H
#define UMBRA_SEEDFS_H

#include <stddef.h>
#include <stdint.h>

struct efs_io;

enum seedfs_err {
	SEEDFS_OK = 0,
	SEEDFS_ERR_IO = -601,		/* the read callback failed */
	SEEDFS_ERR_NOT_FS = -602,		/* neither ISO 9660 nor FAT here */
	SEEDFS_ERR_CORRUPT = -603,	/* breaks its format: fs->why */
	SEEDFS_ERR_NOT_FOUND = -604,
	SEEDFS_ERR_NOT_DIR = -605,	/* a path component is a file */
	SEEDFS_ERR_IS_DIR = -606,		/* the path names a directory */
	SEEDFS_ERR_UNSUPPORTED = -607,	/* valid, but not read here: fs->why */
	SEEDFS_ERR_INVALID = -608,	/* a bad path */
	SEEDFS_ERR_NO_MEMORY = -609,
};

/* SEEDFS_FAT: a FAT volume refused before its width was known. */
enum seedfs_type { SEEDFS_ISO9660 = 1, SEEDFS_FAT, SEEDFS_FAT12,
		   SEEDFS_FAT16, SEEDFS_FAT32 };

#define SEEDFS_LABEL_MAX 48	/* UTF-8 bytes of a label (16 UCS-2) */
#define SEEDFS_NAME_MAX 255	/* bytes of one path component */
#define SEEDFS_PATH_MAX 1024

/* ISO 9660: the tree looked up and how its names are read. */
struct seedfs_iso {
	uint32_t block;		/* logical block size: 512, 1024 or 2048 */
	uint32_t root_lba, root_size;	/* the tree in use */
	uint8_t names;		/* SEEDFS_NAMES_* */
	uint8_t susp_skip;	/* SUSP's LEN_SKP (the SP entry) */
};

enum { SEEDFS_NAMES_PRIMARY = 1, SEEDFS_NAMES_JOLIET, SEEDFS_NAMES_ROCK };

/* FAT: the geometry from the BPB, checked against the device. */
struct seedfs_fat {
	uint32_t sector;	/* bytes per sector: 512 .. 4096 */
	uint32_t cluster;	/* bytes per cluster */
	uint32_t clusters;	/* data clusters: numbers 2 .. clusters + 1 */
	uint32_t root_cluster;	/* FAT32's root; 0 on FAT12/16 */
	uint32_t root_entries;	/* FAT12/16's fixed root directory */
	uint64_t fat_off, fat_size;	/* the FAT in use, bytes */
	uint64_t root_off;	/* FAT12/16's root directory */
	uint64_t data_off;	/* cluster 2 */
	uint64_t win_off;	/* a 512-byte window of the FAT, cached */
	uint8_t win[512];
};

struct seedfs {
	const struct efs_io *io;	/* the caller's, kept by reference */
	uint8_t type;			/* enum seedfs_type */
	char label[SEEDFS_LABEL_MAX + 1];	/* UTF-8, trailing blanks cut */
	const char *names;	/* how names are read, in words */
	const char *why;	/* what a CORRUPT/UNSUPPORTED error found */
	union {
		struct seedfs_iso iso;
		struct seedfs_fat fat;
	} u;
};

/* Recognises the volume on io (FAT's boot sector first, then ISO 9660's
 * volume descriptors at 32 KiB) and reads its label. 0, NOT_FS when it is
 * neither, IO, or CORRUPT (fs->why) for a volume that claims to be one and
 * breaks its format. fs keeps a pointer to io. */
int seedfs_open(const struct efs_io *io, struct seedfs *fs);
int iso_open(const struct efs_io *io, struct seedfs *fs);
int fat_open(const struct efs_io *io, struct seedfs *fs);

/* From a device's first 512 bytes alone: 1 when they are a FAT boot
 * sector (the signature fat_open wants), with the label it names in
 * label ("" when it names none, or "NO NAME"); 0 when they are not. The
 * root directory's label entry, which fat_open prefers, holds the same
 * label (FAT §3.1: BS_VolLab "matches the volume label recorded in the
 * root directory"), so a caller may pass over a FAT volume named
 * otherwise without reading more. */
int fat_boot_label(const uint8_t *first, char label[SEEDFS_LABEL_MAX + 1]);

/* Reads the file at path ("openstack/latest/user_data"; '/'-separated,
 * leading and repeated '/' ignored) into buf: min(its size, max) bytes.
 * Returns that count and the file's whole size in *size, or an error
 * (NOT_FOUND, NOT_DIR, IS_DIR, INVALID, IO, CORRUPT, UNSUPPORTED,
 * NO_MEMORY). Names
 * are matched as the volume gives them: Rock Ridge and Joliet names
 * exactly, FAT's long and short names and ISO 9660's primary names
 * without regard to ASCII case. */
int64_t seedfs_read(struct seedfs *fs, const char *path, void *buf,
		    size_t max, uint64_t *size);

/* "ISO 9660", "FAT12", "FAT16", "FAT32" ("FAT" for a FAT volume refused
 * before its width was known). */
const char *seedfs_type_name(const struct seedfs *fs);

const char *seedfs_strerror(int err);

#endif
