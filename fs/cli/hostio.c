/* Host files as EclipseFS storage; see hostio.h. */
#define _GNU_SOURCE
#include "hostio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../gpt.h"

/* errno of a failed request as the efs_io contract's code. */
static int io_code(int e)
{
	switch (e) {
	case EROFS:
	case EBADF:	/* opened read-only */
	case EPERM:
	case EACCES:
		return EFS_ERR_READ_ONLY;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return EFS_ERR_NO_SPACE;
	case ETIMEDOUT:
		return EFS_ERR_TIMEOUT;
	case ENXIO:
	case ENODEV:
	case ENOMEDIUM:
		return EFS_ERR_DEVICE;
	default:
		return EFS_ERR_IO;
	}
}

static int h_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct host_target *t = ctx;
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(t->fd, p, len, (off_t)(t->base + off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)	/* 0: the file ends before the filesystem */
			return n ? io_code(errno) : EFS_ERR_IO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int h_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct host_target *t = ctx;
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(t->fd, p, len, (off_t)(t->base + off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? io_code(errno) : EFS_ERR_NO_SPACE;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int h_sync(void *ctx)
{
	struct host_target *t = ctx;
	return fdatasync(t->fd) ? io_code(errno) : 0;
}

static uint64_t h_now(void *ctx)
{
	(void)ctx;
	return (uint64_t)time(0);
}

static int gpt_sector_read(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	struct host_target *t = ctx;
	uint32_t ss = t->io.block_size;
	ssize_t want = (ssize_t)count * ss;
	return pread(t->fd, buf, (size_t)want, (off_t)(lba * ss)) == want
		       ? 0 : -1;
}

static void setup(struct host_target *t, uint64_t base, uint64_t size)
{
	t->base = base;
	t->io = (struct efs_io){ .ctx = t, .read = h_read, .write = h_write,
				 .sync = h_sync, .size = size,
				 .block_size = 512, .now = h_now };
}

static int has_header(struct host_target *t, uint64_t at)
{
	uint8_t h[64];
	return pread(t->fd, h, sizeof(h), (off_t)at) == sizeof(h) &&
	       efs_probe(h, sizeof(h));
}

/* Reads the GPT with 512- then 4096-byte sectors; picks partition `part`
 * or, when 0, the first whose start holds an EclipseFS header. */
static int find_partition(struct host_target *t, uint64_t fsize, int part,
			  const char *path, char *msg, size_t msglen)
{
	static const uint32_t sizes[] = { 512, 4096 };
	struct gpt g;
	int err = GPT_ERR_NO_GPT;
	uint32_t ss = 512;
	for (int i = 0; i < 2 && err; i++) {
		ss = sizes[i];
		t->io.block_size = ss;
		struct gpt_io gio = { t, gpt_sector_read, fsize / ss, ss };
		err = gpt_read(&gio, &g);
	}
	if (err) {
		snprintf(msg, msglen, "%s: no EclipseFS header at the start "
			 "and no usable GPT (%s)", path, gpt_strerror(err));
		return HOST_NO_EFS;
	}
	for (uint32_t i = 0; i < g.count; i++) {
		struct gpt_part *p = &g.parts[i];
		uint64_t base = p->first * ss;
		if (part ? (int)p->index != part : !has_header(t, base))
			continue;
		setup(t, base, (p->last - p->first + 1) * ss);
		t->io.block_size = ss;
		t->is_partition = 1;
		return 0;
	}
	if (part)
		snprintf(msg, msglen, "%s: no GPT partition %d", path, part);
	else
		snprintf(msg, msglen, "%s: no GPT partition holds EclipseFS "
			 "(%u partitions)", path, g.count);
	return part ? 1 : HOST_NO_EFS;
}

/* With --offset into a GPT disk: when a partition starts exactly there,
 * the filesystem ends where it does (not at the end of the file, where
 * the backup GPT lives). */
static void clip_to_partition(struct host_target *t, uint64_t fsize)
{
	static const uint32_t sizes[] = { 512, 4096 };
	for (int i = 0; i < 2; i++) {
		struct gpt g;
		uint32_t ss = sizes[i];
		struct gpt_io gio = { t, gpt_sector_read, fsize / ss, ss };
		t->io.block_size = ss;
		if (gpt_read(&gio, &g))
			continue;
		for (uint32_t k = 0; k < g.count; k++)
			if (g.parts[k].first * ss == t->base) {
				t->io.size = (g.parts[k].last - g.parts[k].first
					      + 1) * ss;
				return;
			}
	}
	t->io.block_size = 512;
}

static int open_common(struct host_target *t, const char *path, int writable,
		       int part, int64_t offset, int want_header, char *msg,
		       size_t msglen)
{
	struct stat st;
	memset(t, 0, sizeof(*t));
	t->fd = open(path, writable ? O_RDWR : O_RDONLY);
	if (t->fd < 0 || fstat(t->fd, &st)) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return 1;
	}
	uint64_t fsize = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(t->fd, 0, SEEK_END);
		fsize = end > 0 ? (uint64_t)end : 0;
	}
	int err = 0;
	if (offset >= 0) {
		if ((uint64_t)offset >= fsize) {
			snprintf(msg, msglen, "%s: --offset %lld is past the "
				 "end (%llu bytes)", path, (long long)offset,
				 (unsigned long long)fsize);
			err = 1;
		} else {
			setup(t, (uint64_t)offset, fsize - (uint64_t)offset);
			clip_to_partition(t, fsize);
		}
	} else if (part) {
		setup(t, 0, fsize);
		err = find_partition(t, fsize, part, path, msg, msglen);
	} else {
		setup(t, 0, fsize);
		if (!has_header(t, 0))
			err = find_partition(t, fsize, 0, path, msg, msglen);
	}
	if (!err && want_header && !has_header(t, t->base)) {
		snprintf(msg, msglen, "%s: no EclipseFS header at offset %llu",
			 path, (unsigned long long)t->base);
		err = HOST_NO_EFS;
	}
	t->io.read_only = !writable;
	if (err) {
		close(t->fd);
		t->fd = -1;
	}
	return err;
}

int host_open(struct host_target *t, const char *path, int writable,
	      int part, int64_t offset, char *msg, size_t msglen)
{
	return open_common(t, path, writable, part, offset, 1, msg, msglen);
}

int host_open_raw(struct host_target *t, const char *path, int part,
		  int64_t offset, char *msg, size_t msglen)
{
	if (!part && offset < 0) {
		/* A whole file: no search for a partition. */
		int err = open_common(t, path, 1, 0, 0, 0, msg, msglen);
		return err;
	}
	return open_common(t, path, 1, part, offset, 0, msg, msglen);
}

int host_create(struct host_target *t, const char *path, uint64_t size,
		char *msg, size_t msglen)
{
	memset(t, 0, sizeof(*t));
	t->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (t->fd < 0 || ftruncate(t->fd, (off_t)size)) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		if (t->fd >= 0)
			close(t->fd);
		return 1;
	}
	setup(t, 0, size);
	return 0;
}

void host_close(struct host_target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
