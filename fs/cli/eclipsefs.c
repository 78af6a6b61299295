/* eclipsefs: the host tool for EclipseFS images, linking the same fs/
 * library the appliance runs. See `eclipsefs --help`. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../eclipsefs.h"
#include "../gpt.h"
#include "hostio.h"

static const char *prog = "eclipsefs";
static const char *cmd = "";

static const char usage_text[] =
	"usage: eclipsefs COMMAND [OPTIONS] IMAGE [ARGS]\n"
	"\n"
	"  mkfs IMAGE [--size SIZE] [--inodes N] [--from DIR] [--plain]\n"
	"  info IMAGE                      header, table, space\n"
	"  ls [-l] IMAGE [PATH]            list a directory\n"
	"  tree IMAGE [PATH]               list recursively\n"
	"  stat IMAGE PATH                 every field of one node\n"
	"  cat IMAGE PATH                  file content to stdout\n"
	"  put IMAGE HOSTFILE PATH         copy a host file in (mode, mtime)\n"
	"  get IMAGE PATH HOSTPATH         copy a file or a tree out\n"
	"  mkdir IMAGE PATH\n"
	"  rm IMAGE PATH                   a file, symlink or empty directory\n"
	"  mv IMAGE FROM TO\n"
	"  ln -s IMAGE TARGET PATH\n"
	"  fsck IMAGE [--repair]\n"
	"  compact IMAGE [--inodes N]      close the holes, in place\n"
	"\n"
	"IMAGE is a file holding just the filesystem, or a GPT disk image\n"
	"(the first EclipseFS partition, or --part N), or any file with the\n"
	"filesystem at --offset BYTES. Every command takes --help.\n";

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: %s%s", prog, cmd, *cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage_die(const char *msg)
{
	fprintf(stderr, "%s: %s: %s (see eclipsefs %s --help)\n", prog, cmd,
		msg, cmd);
	exit(2);
}

static void check(int err, const char *what)
{
	if (err < 0)
		die("%s: %s", what, efs_strerror(err));
}

static uint64_t parse_size(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	uint64_t mul = 1;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	case 't': case 'T': mul = 1ull << 40; end++; break;
	}
	if (errno || end == s || *end || v > UINT64_MAX / mul)
		usage_die("bad size (use e.g. 64M, 2G, 4096)");
	return v * mul;
}

/* --- options common to every command -------------------------------------- */

struct opts {
	struct host_target t;
	int part;		/* 0: auto */
	int64_t offset;		/* -1: none */
	const char *size, *from;
	uint32_t inodes;
	uint64_t journal;
	int plain, repair, longfmt, symbolic;
	int argc;
	char **argv;		/* the positional arguments */
};

static void cmd_help(const char *text)
{
	printf("%s", text);
	exit(0);
}

static void parse(int argc, char **argv, struct opts *o, const char *help)
{
	static const struct option longs[] = {
		{ "help", no_argument, 0, 'h' },
		{ "part", required_argument, 0, 'P' },
		{ "offset", required_argument, 0, 'O' },
		{ "size", required_argument, 0, 'S' },
		{ "inodes", required_argument, 0, 'I' },
		{ "from", required_argument, 0, 'F' },
		{ "plain", no_argument, 0, 'p' },
		{ "repair", no_argument, 0, 'r' },
		{ "journal", required_argument, 0, 'J' },
		{ 0, 0, 0, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->offset = -1;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hls", longs, 0)) != -1) {
		switch (c) {
		case 'h': cmd_help(help); break;
		case 'P': o->part = (int)parse_size(optarg);
			if (o->part < 1)
				usage_die("--part counts from 1");
			break;
		case 'O': o->offset = (int64_t)parse_size(optarg); break;
		case 'S': o->size = optarg; break;
		case 'I': o->inodes = (uint32_t)parse_size(optarg); break;
		case 'F': o->from = optarg; break;
		case 'p': o->plain = 1; break;
		case 'r': o->repair = 1; break;
		case 'J': o->journal = parse_size(optarg); break;
		case 'l': o->longfmt = 1; break;
		case 's': o->symbolic = 1; break;
		default: usage_die("unknown option");
		}
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
}

static void need_args(struct opts *o, int min, int max)
{
	if (o->argc < min)
		usage_die("missing arguments");
	if (o->argc > max)
		usage_die("too many arguments");
}

static struct efs *open_fs(struct opts *o, int writable)
{
	char msg[256];
	if (host_open(&o->t, o->argv[0], writable, o->part, o->offset, msg,
		      sizeof(msg)))
		die("%s", msg);
	struct efs *fs;
	int err = efs_mount(&o->t.io, &fs);
	if (err)
		die("%s: %s", o->argv[0], efs_strerror(err));
	if (*efs_notice(fs))
		fprintf(stderr, "%s: %s: %s\n", prog, o->argv[0],
			efs_notice(fs));
	return fs;
}

static void close_fs(struct opts *o, struct efs *fs)
{
	int err = efs_unmount(fs);
	host_close(&o->t);
	check(err, "sync");
}

static uint32_t lookup(struct efs *fs, const char *path, int follow)
{
	uint32_t ino;
	int err = efs_lookup(fs, path, follow, &ino);
	if (err)
		die("%s: %s", path, efs_strerror(err));
	return ino;
}

/* --- read-only commands --------------------------------------------------- */

static void print_entry(struct efs *fs, uint32_t ino, const char *name,
			int longfmt)
{
	struct efs_stat st;
	if (!longfmt) {
		printf("%s\n", name);
		return;
	}
	check(efs_stat(fs, ino, &st), name);
	char m[11], when[32] = "-", target[EFS_PATH_MAX + 1];
	efs_mode_string(st.mode, st.kind, m);
	time_t t = (time_t)st.mtime;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	printf("%s %3u %5u %5u %10llu %s %s", m, st.nlink, st.uid, st.gid,
	       (unsigned long long)st.size, when, name);
	if (st.kind == EFS_SYMLINK && efs_readlink(fs, ino, target,
						   sizeof(target)) >= 0)
		printf(" -> %s", target);
	printf("\n");
}

static int do_ls(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs ls [-l] IMAGE [PATH]\n"
	      "Lists a directory (or names one file); -l adds mode, links, "
	      "owner, size, mtime.\n");
	need_args(&o, 1, 2);
	struct efs *fs = open_fs(&o, 0);
	const char *path = o.argc > 1 ? o.argv[1] : "/";
	uint32_t ino = lookup(fs, path, 0);	/* a link is shown, as ls does */
	struct efs_stat st;
	check(efs_stat(fs, ino, &st), path);
	if (st.kind != EFS_DIR) {
		print_entry(fs, ino, path, o.longfmt);
	} else {
		struct efs_dir *d;
		struct efs_dirent e;
		int r;
		check(efs_opendir(fs, ino, &d), path);
		while ((r = efs_readdir(d, &e)) > 0)
			print_entry(fs, e.ino, e.name, o.longfmt);
		efs_closedir(d);
		check(r, path);
	}
	close_fs(&o, fs);
	return 0;
}

static void tree(struct efs *fs, uint32_t ino, int depth, uint8_t *seen,
		 const char *name)
{
	struct efs_stat st;
	check(efs_stat(fs, ino, &st), name);
	printf("%*s%s%s\n", depth * 2, "", name,
	       st.kind == EFS_DIR && depth ? "/" : "");
	if (st.kind != EFS_DIR)
		return;
	if (seen[ino >> 3] & (1 << (ino & 7)))
		die("%s: directory cycle at inode %u", name, ino);
	seen[ino >> 3] |= (uint8_t)(1 << (ino & 7));
	struct efs_dir *d;
	struct efs_dirent e;
	int r;
	check(efs_opendir(fs, ino, &d), name);
	while ((r = efs_readdir(d, &e)) > 0)
		tree(fs, e.ino, depth + 1, seen, e.name);
	efs_closedir(d);
	check(r, name);
}

static int do_tree(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs tree IMAGE [PATH]\n");
	need_args(&o, 1, 2);
	struct efs *fs = open_fs(&o, 0);
	const char *path = o.argc > 1 ? o.argv[1] : "/";
	uint8_t *seen = calloc(1, (1u << 29));
	if (!seen)
		die("out of memory");
	tree(fs, lookup(fs, path, 1), 0, seen, path);
	free(seen);
	close_fs(&o, fs);
	return 0;
}

static int do_stat(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs stat IMAGE PATH\n");
	need_args(&o, 2, 2);
	struct efs *fs = open_fs(&o, 0);
	struct efs_stat st;
	uint32_t ino = lookup(fs, o.argv[1], 0);
	check(efs_stat(fs, ino, &st), o.argv[1]);
	static char text[EFS_PATH_MAX + 512];
	efs_stat_text(o.argv[1], &st, text, sizeof(text));
	fputs(text, stdout);
	close_fs(&o, fs);
	return 0;
}

static int do_cat(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs cat IMAGE PATH\n");
	need_args(&o, 2, 2);
	struct efs *fs = open_fs(&o, 0);
	uint32_t ino = lookup(fs, o.argv[1], 1);
	static char buf[1 << 20];
	int64_t n;
	for (uint64_t off = 0; (n = efs_read(fs, ino, off, buf, sizeof(buf))) > 0;
	     off += (uint64_t)n)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			die("stdout: %s", strerror(errno));
	check((int)n, o.argv[1]);
	close_fs(&o, fs);
	return 0;
}

static int do_info(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs info IMAGE\n");
	need_args(&o, 1, 1);
	struct efs *fs = open_fs(&o, 0);
	struct efs_space sp;
	check(efs_space(fs, &sp), "space");
	printf("filesystem: EclipseFS v2.0 at offset %llu (%llu bytes)\n",
	       (unsigned long long)o.t.base, (unsigned long long)sp.size);
	printf("inode table: %u slots of %u bytes, %u free\n", sp.slots,
	       sp.entry_width, sp.free_slots);
	printf("updates: %s\n", sp.journaled
	       ? "umbra journal (crash-safe writes)"
	       : "plain v2.0 image (a journal is added on the first change)");
	printf("space: %llu used, %llu free (largest piece %llu, %llu kept for "
	       "deletes), %llu not yet reusable\n",
	       (unsigned long long)sp.used, (unsigned long long)sp.free,
	       (unsigned long long)sp.largest, (unsigned long long)sp.reserved,
	       (unsigned long long)sp.pending);
	close_fs(&o, fs);
	return 0;
}

static void report_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

static int do_fsck(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs fsck IMAGE [--repair]\n"
	      "Checks every record and directory; --repair fixes what is "
	      "safe.\nExit 0 when clean (after repairs), 1 otherwise.\n");
	need_args(&o, 1, 1);
	char msg[256];
	if (host_open(&o.t, o.argv[0], o.repair, o.part, o.offset, msg,
		      sizeof(msg)))
		die("%s", msg);
	struct efs_fsck_result r;
	int err = efs_fsck(&o.t.io, o.repair, report_line, 0, &r);
	host_close(&o.t);
	if (err && !r.errors)
		die("%s", efs_strerror(err));
	printf("%u inodes: %u directories, %u files, %u symlinks, %u free; "
	       "%u errors, %u repaired\n", r.nodes, r.dirs, r.files,
	       r.symlinks, r.free_slots, r.errors, r.repaired);
	return r.errors ? 1 : 0;
}

/* --- writing commands ----------------------------------------------------- */

static int do_mkdir(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs mkdir IMAGE PATH\n");
	need_args(&o, 2, 2);
	struct efs *fs = open_fs(&o, 1);
	check(efs_mkdir(fs, o.argv[1], 0755), o.argv[1]);
	close_fs(&o, fs);
	return 0;
}

static int do_rm(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs rm IMAGE PATH\n"
	      "Removes a file, a symlink or an empty directory.\n");
	need_args(&o, 2, 2);
	struct efs *fs = open_fs(&o, 1);
	struct efs_stat st;
	check(efs_stat(fs, lookup(fs, o.argv[1], 0), &st), o.argv[1]);
	check(st.kind == EFS_DIR ? efs_rmdir(fs, o.argv[1])
				 : efs_unlink(fs, o.argv[1]), o.argv[1]);
	close_fs(&o, fs);
	return 0;
}

static int do_mv(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs mv IMAGE FROM TO\n");
	need_args(&o, 3, 3);
	struct efs *fs = open_fs(&o, 1);
	check(efs_rename(fs, o.argv[1], o.argv[2]), o.argv[1]);
	close_fs(&o, fs);
	return 0;
}

static int do_ln(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs ln -s IMAGE TARGET PATH\n"
	      "Only symbolic links: the format has no hard links.\n");
	need_args(&o, 3, 3);
	if (!o.symbolic)
		usage_die("only symbolic links (-s): EclipseFS has no hard "
			  "links");
	struct efs *fs = open_fs(&o, 1);
	check(efs_symlink(fs, o.argv[1], o.argv[2]), o.argv[2]);
	close_fs(&o, fs);
	return 0;
}

/* Copies host file `src` to `path`, replacing a file there. */
static void put_file(struct efs *fs, const char *src, const char *path)
{
	int fd = open(src, O_RDONLY);
	struct stat hs;
	if (fd < 0 || fstat(fd, &hs))
		die("%s: %s", src, strerror(errno));
	if (!S_ISREG(hs.st_mode))
		die("%s: not a regular file", src);
	uint32_t ino;
	int err = efs_lookup(fs, path, 1, &ino);
	if (err == EFS_ERR_NOT_FOUND)
		err = efs_create(fs, path, hs.st_mode & 07777, &ino);
	else if (!err)
		err = efs_truncate(fs, ino, 0);
	check(err, path);
	static char buf[1 << 20];
	ssize_t n;
	uint64_t off = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		int64_t w = efs_write(fs, ino, off, buf, (size_t)n);
		check((int)(w < 0 ? w : 0), path);
		off += (uint64_t)n;
	}
	if (n < 0)
		die("%s: %s", src, strerror(errno));
	close(fd);
	check(efs_chmod(fs, ino, hs.st_mode & 07777), path);
	check(efs_set_times(fs, ino, (uint64_t)hs.st_atime,
			    (uint64_t)hs.st_mtime), path);
}

static int do_put(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs put IMAGE HOSTFILE PATH\n"
	      "Copies a host file in, replacing PATH if it is a file; keeps "
	      "the permission bits and times.\n");
	need_args(&o, 3, 3);
	struct efs *fs = open_fs(&o, 1);
	put_file(fs, o.argv[1], o.argv[2]);
	close_fs(&o, fs);
	return 0;
}

static void get_node(struct efs *fs, uint32_t ino, const char *path,
		     const char *dst, int depth)
{
	struct efs_stat st;
	check(efs_stat(fs, ino, &st), path);
	if (depth > 256)
		die("%s: too deep (a directory cycle?)", path);
	if (st.kind == EFS_SYMLINK) {
		char t[EFS_PATH_MAX + 1];
		check(efs_readlink(fs, ino, t, sizeof(t)), path);
		if (symlink(t, dst))
			die("%s: %s", dst, strerror(errno));
		return;
	}
	if (st.kind == EFS_DIR) {
		if (mkdir(dst, 0700) && errno != EEXIST)
			die("%s: %s", dst, strerror(errno));
		struct efs_dir *d;
		struct efs_dirent e;
		int r;
		check(efs_opendir(fs, ino, &d), path);
		while ((r = efs_readdir(d, &e)) > 0) {
			char *cp, *cd;
			if (asprintf(&cp, "%s/%s", strcmp(path, "/") ? path : "",
				     e.name) < 0 ||
			    asprintf(&cd, "%s/%s", dst, e.name) < 0)
				die("out of memory");
			get_node(fs, e.ino, cp, cd, depth + 1);
			free(cp);
			free(cd);
		}
		efs_closedir(d);
		check(r, path);
	} else {
		int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			die("%s: %s", dst, strerror(errno));
		static char buf[1 << 20];
		int64_t n;
		for (uint64_t off = 0;
		     (n = efs_read(fs, ino, off, buf, sizeof(buf))) > 0;
		     off += (uint64_t)n)
			if (write(fd, buf, (size_t)n) != n)
				die("%s: %s", dst, strerror(errno));
		check((int)n, path);
		close(fd);
	}
	struct timespec ts[2] = { { (time_t)st.atime, 0 },
				  { (time_t)st.mtime, 0 } };
	if (chmod(dst, st.mode & 07777) || utimensat(AT_FDCWD, dst, ts, 0))
		die("%s: %s", dst, strerror(errno));
}

static int do_get(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs get IMAGE PATH HOSTPATH\n"
	      "Copies a file, symlink or whole directory out, with modes and "
	      "times.\n");
	need_args(&o, 3, 3);
	struct efs *fs = open_fs(&o, 0);
	get_node(fs, lookup(fs, o.argv[1], 1), o.argv[1], o.argv[2], 0);
	close_fs(&o, fs);
	return 0;
}

static void report_stderr(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "fsck: %s\n", line);
}

static int do_compact(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o, "usage: eclipsefs compact IMAGE [--inodes N]\n"
	      "Moves records down into the holes between them, in place (in "
	      "a disk image too), in\ncrash-safe steps: a power cut leaves "
	      "the layout before or after a step.\n--inodes grows the inode "
	      "table to at least N slots first.\n");
	need_args(&o, 1, 1);
	struct efs *fs = open_fs(&o, 1);
	struct efs_compact_result r;
	int err = o.inodes ? efs_grow_slots(fs, o.inodes) : 0;
	if (!err)
		err = efs_compact(fs, &r);
	if (err == EFS_ERR_CORRUPT) {
		struct efs_io ro = o.t.io;
		efs_unmount(fs);
		ro.read_only = 1;
		efs_fsck(&ro, 0, report_stderr, 0, 0);
		die("%s: refused: the volume is damaged (fsck says how, above); "
		    "run eclipsefs fsck --repair first", o.argv[0]);
	}
	check(err, o.argv[0]);
	char line[256];
	efs_compact_text(&r, line, sizeof(line));
	printf("%s\n", line);
	close_fs(&o, fs);
	return 0;
}

static int do_mkfs(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o,
	      "usage: eclipsefs mkfs IMAGE [--size SIZE] [--inodes N] "
	      "[--from DIR] [--plain] [--journal SIZE]\n"
	      "Makes a filesystem. --size makes or grows a plain file;\n"
	      "--inodes sets the inode-table capacity (default: the nodes "
	      "plus one spare per 16 KiB);\n"
	      "--from DIR copies a host tree in (modes and mtimes kept);\n"
	      "--plain writes exactly the original v2.0 layout: no journal, "
	      "no spare slots;\n"
	      "--journal sets the journal's size (default 512 blocks).\n");
	need_args(&o, 1, 1);
	char msg[512];
	int err;
	if (o.size) {
		if (o.part || o.offset >= 0)
			usage_die("--size is for a plain file, not --part or "
				  "--offset");
		err = host_create(&o.t, o.argv[0], parse_size(o.size), msg,
				  sizeof(msg));
	} else {
		err = host_open(&o.t, o.argv[0], 1, o.part, o.offset, msg,
				sizeof(msg));
		if (err == HOST_NO_EFS)	/* formatting: nothing there yet */
			err = host_open_raw(&o.t, o.argv[0], o.part, o.offset,
					    msg, sizeof(msg));
	}
	if (err)
		die("%s", msg);
	struct efs_build_opts bo = { .plain = o.plain, .slots = o.inodes,
				     .journal_size = o.journal };
	if (o.from)
		err = fromdir_build(o.from, &o.t.io, &bo, msg, sizeof(msg));
	else
		err = efs_format(&o.t.io, &bo, (uint64_t)time(0));
	host_close(&o.t);
	if (err)
		die("%s: %s", o.from && *msg ? msg : o.argv[0],
		    efs_strerror(err));
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} cmds[] = {
	{ "mkfs", do_mkfs }, { "info", do_info }, { "ls", do_ls },
	{ "tree", do_tree }, { "stat", do_stat }, { "cat", do_cat },
	{ "put", do_put }, { "get", do_get }, { "mkdir", do_mkdir },
	{ "rm", do_rm }, { "mv", do_mv }, { "ln", do_ln },
	{ "fsck", do_fsck }, { "compact", do_compact },
};

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			cmd = argv[1];
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "%s: unknown command '%s'\n%s", prog, argv[1],
		usage_text);
	return 2;
}
