/* The test block device; see memdev.h. */
#include "memdev.h"

#include <stdlib.h>
#include <string.h>

uint64_t memdev_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int m_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct memdev *m = ctx;
	if (m->fail_read_at >= 0 && m->reads++ == m->fail_read_at)
		return m->fail_code;
	if (off > m->size || len > m->size - off)
		abort();	/* the fs must never ask */
	memcpy(buf, m->data + off, len);
	return 0;
}

static void log_write(struct memdev *m, uint64_t off, uint64_t len)
{
	if (!m->lose_unsynced)
		return;
	if (m->nlog == m->caplog) {
		m->caplog = m->caplog ? m->caplog * 2 : 64;
		m->log = realloc(m->log, m->caplog * sizeof(*m->log));
	}
	struct memdev_write *w = &m->log[m->nlog++];
	w->off = off;
	w->len = len;
	w->old = malloc(len);
	memcpy(w->old, m->data + off, len);
}

static int m_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct memdev *m = ctx;
	if (off > m->size || len > m->size - off)
		abort();
	if (m->cut)
		return EFS_ERR_IO;
	if (m->fail_write_at >= 0 && m->writes == m->fail_write_at) {
		m->fail_write_at = -1;
		return m->fail_code;
	}
	if (m->cut_after >= 0 && m->writes == m->cut_after) {
		m->cut = 1;
		if (m->tear && len) {
			/* A prefix of whole sectors, and maybe part of the
			 * next: the medium's unit is the sector. */
			uint64_t first = off / m->sector * m->sector;
			uint64_t secs = (off + len - first + m->sector - 1) /
					m->sector;
			uint64_t keep = memdev_rand(&m->seed) % (secs + 1);
			uint64_t end = first + keep * m->sector;
			if (end > off) {
				uint64_t n = end - off < len ? end - off : len;
				log_write(m, off, n);
				memcpy(m->data + off, buf, n);
			}
		}
		return EFS_ERR_IO;
	}
	m->writes++;
	m->bytes_written += len;
	log_write(m, off, len);
	memcpy(m->data + off, buf, len);
	return 0;
}

static void drop_log(struct memdev *m)
{
	for (size_t i = 0; i < m->nlog; i++)
		free(m->log[i].old);
	m->nlog = 0;
}

static int m_sync(void *ctx)
{
	struct memdev *m = ctx;
	if (m->cut)
		return EFS_ERR_IO;
	if (m->fail_sync_at >= 0 && m->syncs == m->fail_sync_at) {
		m->fail_sync_at = -1;
		return m->fail_code;
	}
	m->syncs++;
	drop_log(m);
	return 0;
}

static uint64_t m_now(void *ctx)
{
	struct memdev *m = ctx;
	return m->now;
}

void memdev_settle(struct memdev *m)
{
	if (!m->cut || !m->lose_unsynced)
		return;
	/* Any subset of the unflushed writes may be missing, sector by
	 * sector: undo at random, newest first. */
	for (size_t i = m->nlog; i-- > 0;) {
		struct memdev_write *w = &m->log[i];
		for (uint64_t s = 0; s < w->len; s += m->sector) {
			uint64_t n = w->len - s < m->sector ? w->len - s
							    : m->sector;
			if (memdev_rand(&m->seed) & 1)
				memcpy(m->data + w->off + s, w->old + s, n);
		}
	}
	drop_log(m);
}

void memdev_power_on(struct memdev *m)
{
	drop_log(m);
	m->cut = 0;
	m->cut_after = -1;
	m->tear = m->lose_unsynced = 0;
	m->writes = m->syncs = m->reads = 0;
	m->bytes_written = 0;
}

void memdev_init(struct memdev *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->data = calloc(1, size);
	m->size = size;
	m->sector = 512;
	m->cut_after = -1;
	m->fail_read_at = -1;
	m->fail_write_at = -1;
	m->fail_sync_at = -1;
	m->fail_code = EFS_ERR_IO;
	m->seed = 0x9e3779b97f4a7c15ull;
	m->now = 1700000000;
	m->io = (struct efs_io){ .ctx = m, .read = m_read, .write = m_write,
				 .sync = m_sync, .size = size,
				 .block_size = 512, .now = m_now };
}

void memdev_clone(struct memdev *m, const struct memdev *src)
{
	memdev_init(m, src->size);
	memcpy(m->data, src->data, src->size);
	m->sector = src->sector;
	m->io.block_size = src->io.block_size;
}

void memdev_free(struct memdev *m)
{
	drop_log(m);
	free(m->log);
	free(m->data);
	m->data = 0;
}
