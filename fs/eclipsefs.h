/* EclipseFS v2.0 (docs/eclipsefs-format.md): mount, read, crash-safe
 * writes, fsck, build and compact. Portable C: the same sources build into
 * the UEFI image and on the host. Storage is reached only through the
 * callbacks of struct efs_io; see fs/README.md for the update scheme and
 * why it survives a power cut at any point.
 *
 * Every function returns 0 (or a count) on success and a negative EFS_ERR_*
 * on failure; efs_strerror names it. Nothing read from the device is
 * trusted: every offset, length, count and name is checked before use. */
#ifndef UMBRA_ECLIPSEFS_H
#define UMBRA_ECLIPSEFS_H

#include <stddef.h>
#include <stdint.h>

enum efs_err {
	EFS_OK = 0,
	EFS_ERR_IO = -1,		/* the device failed a request */
	EFS_ERR_CORRUPT = -2,		/* on-disk data breaks the format */
	EFS_ERR_NOT_FOUND = -3,
	EFS_ERR_NOT_DIR = -4,
	EFS_ERR_IS_DIR = -5,
	EFS_ERR_EXISTS = -6,
	EFS_ERR_NOT_EMPTY = -7,
	EFS_ERR_NO_SPACE = -8,		/* the node area is full */
	EFS_ERR_NO_INODES = -9,		/* no free inode-table slot */
	EFS_ERR_NAME = -10,		/* empty, not UTF-8, has '/', too long */
	EFS_ERR_TOO_BIG = -11,		/* past a format limit (u32 offsets) */
	EFS_ERR_NO_MEMORY = -12,
	EFS_ERR_READ_ONLY = -13,
	EFS_ERR_LOOP = -14,		/* too many symlinks */
	EFS_ERR_INVALID = -15,		/* bad argument */
	EFS_ERR_NOT_EFS = -16,		/* no EclipseFS header here */
	EFS_ERR_VERSION = -17,		/* EclipseFS, but not v2.0 */
	EFS_ERR_UNSUPPORTED = -18,	/* valid, but umbra cannot do this */
	EFS_ERR_TIMEOUT = -19,		/* the device did not answer in time */
	EFS_ERR_DEVICE = -20,		/* the device failed */
	EFS_ERR_FROZEN = -21,		/* the storage's gate refused a change */
};

const char *efs_strerror(int err);

/* The storage the filesystem lives on. Offsets are bytes from the first
 * byte of the EclipseFS header. read/write/sync return 0 or a negative
 * EFS_ERR_*: EFS_ERR_IO (the request failed), EFS_ERR_TIMEOUT,
 * EFS_ERR_DEVICE, EFS_ERR_READ_ONLY, EFS_ERR_NO_SPACE or EFS_ERR_NO_MEMORY
 * (no buffer for the request); any other nonzero value is taken as
 * EFS_ERR_IO. fs/ hands that code unchanged to the
 * caller of the function that needed the request (efs_mount, efs_read,
 * efs_write, efs_sync...). write and sync may be NULL for read-only use. */
struct efs_io {
	void *ctx;
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t off, const void *buf, size_t len);
	int (*sync)(void *ctx);
	uint64_t size;		/* bytes the filesystem may use */
	uint32_t block_size;	/* atomic write unit: 512 (default) or 4096 */
	uint64_t (*now)(void *ctx);	/* Unix seconds; NULL: timestamps 0 */
	int read_only;		/* never write (a pending journal is replayed
				 * in memory only) */
	/* Asked before a change begins and before a commit would write
	 * (NULL: always go on): 0 to go on (it may wait first), or an error
	 * (EFS_ERR_FROZEN) to refuse, which the change returns with nothing
	 * written and the volume as it was. The app freezes the volume
	 * here (the guest agent's fsfreeze). */
	int (*gate)(void *ctx);
};

enum efs_kind { EFS_FILE = 1, EFS_DIR = 2, EFS_SYMLINK = 3 };

#define EFS_ROOT 1
#define EFS_NAME_MAX 255	/* umbra's limit for names it writes */
#define EFS_NAME_READ_MAX 4095	/* names umbra reads (the format allows
				 * u32 lengths; a path holds 4096 bytes) */
#define EFS_PATH_MAX 4096
#define EFS_SYMLINK_DEPTH 32	/* as the late Eclipse kernel */

struct efs_stat {
	uint32_t ino;
	uint8_t kind;
	uint32_t mode, uid, gid, nlink;
	uint64_t size, atime, mtime, ctime;
};

struct efs;

/* Mounts the filesystem on io (copied). Checks the header and the inode
 * table, replays a committed journal entry left by a power cut; records
 * are validated when first read. */
int efs_mount(const struct efs_io *io, struct efs **out);

/* What mount found wrong and worked around, "" when nothing: an umbra
 * sector that cannot be trusted, a committed journal entry with invalid
 * block addresses, a device shorter than the volume. The volume is then
 * mounted read-only, as it is on disk; fsck says more and --repair fixes
 * what it can. */
const char *efs_notice(struct efs *fs);

/* Commits pending changes, then frees everything. Returns the commit's
 * result; fs is freed either way. */
int efs_unmount(struct efs *fs);

/* Looks up an absolute path ("/", "/a/b"). follow: resolve a symlink in
 * the last component too (those in the middle always are). */
int efs_lookup(struct efs *fs, const char *path, int follow, uint32_t *ino);

int efs_stat(struct efs *fs, uint32_t ino, struct efs_stat *st);

/* Reads up to len bytes of a file from off straight into buf; returns the
 * count (0 at or past the end) or an error. */
int64_t efs_read(struct efs *fs, uint32_t ino, uint64_t off, void *buf,
		 size_t len);

/* The target of a symlink, NUL-terminated; returns its length, or
 * EFS_ERR_TOO_BIG if it does not fit in size-1 bytes. */
int efs_readlink(struct efs *fs, uint32_t ino, char *buf, size_t size);

/* Directory iteration: entries in on-disk order. */
struct efs_dirent {
	uint32_t ino;
	char name[EFS_NAME_READ_MAX + 1];
};
struct efs_dir;
int efs_opendir(struct efs *fs, uint32_t ino, struct efs_dir **out);
/* 1 and an entry, 0 at the end, or an error. */
int efs_readdir(struct efs_dir *d, struct efs_dirent *e);
void efs_closedir(struct efs_dir *d);

/* Changes. Each is all-or-nothing across a power cut; efs_sync makes all
 * earlier ones durable. Paths are absolute; the parent must exist. Those
 * that take an inode number refuse a free slot (the node was removed, by
 * another operation too) with EFS_ERR_NOT_FOUND, and a number outside the
 * table with EFS_ERR_INVALID: they never write into a freed slot. (A slot
 * removed and given to a new node meanwhile is that node's: callers that
 * let others remove a file they are writing must prevent that.) */
int efs_create(struct efs *fs, const char *path, uint32_t mode,
	       uint32_t *ino);
int efs_mkdir(struct efs *fs, const char *path, uint32_t mode);
int efs_symlink(struct efs *fs, const char *target, const char *path);
int64_t efs_write(struct efs *fs, uint32_t ino, uint64_t off,
		  const void *buf, size_t len);
int64_t efs_append(struct efs *fs, uint32_t ino, const void *buf,
		   size_t len);
int efs_truncate(struct efs *fs, uint32_t ino, uint64_t size);
int efs_unlink(struct efs *fs, const char *path);
int efs_rmdir(struct efs *fs, const char *path);
/* Replaces an existing file or empty directory at `to` of the same kind. */
int efs_rename(struct efs *fs, const char *from, const char *to);
int efs_chmod(struct efs *fs, uint32_t ino, uint32_t mode);
int efs_chown(struct efs *fs, uint32_t ino, uint32_t uid, uint32_t gid);
int efs_set_times(struct efs *fs, uint32_t ino, uint64_t atime,
		  uint64_t mtime);
int efs_sync(struct efs *fs);

/* efs_sync, then what unmount does for a clean volume: the journal entry
 * made durable in place and cleared, so that the device needs no replay
 * (a snapshot of it mounts as it is). The volume stays mounted. */
int efs_quiesce(struct efs *fs);

/* Space of the node area (the header, the table and anything past the
 * format's 4 GiB node-area limit count as used). */
struct efs_space {
	uint64_t size;		/* bytes of the device */
	uint64_t used;		/* records, their slack, the journal */
	uint64_t free;		/* reusable now */
	uint64_t pending;	/* freed by changes not yet committed:
				 * reusable after the next sync */
	uint64_t largest;	/* the largest free piece: the biggest record
				 * that fits without compaction */
	uint64_t reserved;	/* of free: kept for deletes and compaction */
	uint32_t slots, free_slots;
	uint32_t entry_width;	/* 8, or 16 for late-kernel images */
	int journaled;		/* umbra's update scheme is on this image */
};
int efs_space(struct efs *fs, struct efs_space *sp);

/* Building a whole image at once, dense, in inode order (mkfs, mkfs
 * --from, compact). nodes[i] is inode i+1; node 1 is the root directory.
 * Content comes from the callback. plain: exactly the original writer's
 * bytes (no umbra extension, no spare slots, no journal). */
struct efs_build_child {
	const char *name;
	uint32_t ino;
};
struct efs_build_node {
	uint8_t kind;
	uint32_t mode, uid, gid, nlink;
	uint64_t atime, mtime, ctime;
	uint64_t size;		/* content bytes (file data, link target) */
	uint32_t nchildren;
	const struct efs_build_child *children;
};
typedef int efs_content_fn(void *ctx, uint32_t ino, uint64_t off, void *buf,
			   size_t len);
struct efs_build_opts {
	int plain;
	uint32_t slots;		/* table capacity; 0: nodes + default spare */
	uint64_t journal_size;	/* 0: default */
};
int efs_build(const struct efs_io *io, const struct efs_build_opts *opts,
	      uint32_t nnodes, const struct efs_build_node *nodes,
	      efs_content_fn *content, void *ctx);

/* An empty filesystem (a root directory) on io. */
int efs_format(const struct efs_io *io, const struct efs_build_opts *opts,
	       uint64_t time);

/* Copies the mounted fs, densely, onto dst (which is formatted; a
 * 16-byte table is written with 8-byte entries). */
int efs_copy(struct efs *fs, const struct efs_io *dst,
	     const struct efs_build_opts *opts);

/* Online compaction: moves records down into the holes below them, in
 * bounded transactions (each one crash-safe: the copies go to free space,
 * the table entries change through the journal), while the volume stays
 * mounted. Commits pending changes first. EFS_ERR_CORRUPT when the volume
 * is damaged (fsck says how): nothing is moved then. */
struct efs_compact_result {
	uint32_t moved;			/* records moved */
	uint64_t bytes;			/* bytes copied */
	uint32_t transactions;
	uint64_t largest_before, largest_after;	/* largest free piece */
	uint64_t free;			/* free bytes after */
};
int efs_compact(struct efs *fs, struct efs_compact_result *res);
/* The line `compact` prints: "compact: N records moved (B bytes) in T
 * transactions; largest free piece B -> B bytes, B free" (no newline;
 * NUL-terminated, cut to size-1 bytes; returns the full length). */
size_t efs_compact_text(const struct efs_compact_result *r, char *out,
			size_t size);

/* Grows the inode table to at least `slots` entries, online and
 * crash-safe (fs/README.md, "Table growth"); a change that finds no free
 * slot does the same by itself. */
int efs_grow_slots(struct efs *fs, uint32_t slots);

/* fsck: checks everything; each finding goes to report() as one line.
 * repair: fix what can be fixed without guessing (unreachable inodes are
 * linked into /lost+found, entries naming bad records are dropped). */
struct efs_fsck_result {
	uint32_t errors;	/* found; after a repair, those left (what
				 * the next fsck finds) */
	uint32_t repaired;
	uint32_t nodes, dirs, files, symlinks, free_slots;
};
typedef void efs_report_fn(void *ctx, const char *line);
int efs_fsck(const struct efs_io *io, int repair, efs_report_fn *report,
	     void *ctx, struct efs_fsck_result *res);

/* The text `stat` shows for a node (the host tool and the shell print
 * it): "path: P", "inode: N", "kind: file|directory|symlink", "mode: %06o",
 * uid, gid, nlink, size, atime, mtime, ctime, one "field: value" line
 * each. Written into out (NUL-terminated, cut to size-1 bytes); returns
 * the full length, as snprintf does. */
size_t efs_stat_text(const char *path, const struct efs_stat *st, char *out,
		     size_t size);

/* "drwxr-xr-x"-style text of a mode and kind (11 bytes with the NUL). */
void efs_mode_string(uint32_t mode, uint8_t kind, char out[11]);

/* Nonzero when buf (at least 33 bytes) starts with an EclipseFS header. */
int efs_probe(const void *buf, size_t len);

#endif
