/* Byte-granular reads and writes over the request engine: whole sectors
 * go straight through; partial sectors at the edges are read, patched and
 * written back (read-modify-write). See blk.h. */
#include <stdlib.h>
#include <string.h>

#include "blk.h"
#include "blk_int.h"

#define SMALL_READ (128u << 10)	/* unaligned reads this small: one request */

/* One sector's worth of bytes at an edge of a byte range: read it, and
 * for a write patch it and write it back. */
static int edge(struct blk_dev *d, uint64_t lba, uint32_t in, uint8_t *buf,
		size_t n, const uint8_t *src)
{
	uint8_t *sec = malloc(d->sector_size);
	if (!sec)
		return BLK_ERR_NOMEM;
	int err = blk_io(d, BLK_READ, lba, 1, sec);
	if (!err && src) {
		memcpy(sec + in, src, n);
		err = blk_write(d, lba, 1, sec);
	} else if (!err) {
		memcpy(buf, sec + in, n);
	}
	free(sec);
	return err;
}

/* A small unaligned read: one request for the sectors around it. */
static int small_read(struct blk_dev *d, uint64_t off, uint8_t *buf,
		      size_t len)
{
	uint32_t ss = d->sector_size;
	uint64_t lba = off / ss, n = (off + len + ss - 1) / ss - lba;
	uint8_t *tmp = malloc(n * ss);
	if (!tmp)
		return BLK_ERR_NOMEM;
	int err = blk_io(d, BLK_READ, lba, n, tmp);
	if (!err)
		memcpy(buf, tmp + off % ss, len);
	free(tmp);
	return err;
}

/* A large unaligned read (more than SMALL_READ, so the two ends are in
 * different sectors): the partial sectors at both ends into a bounce
 * buffer, the middle straight into buf, all in flight together. Returns
 * BLK_ERR_INVALID, having done nothing, when the device cannot address
 * the middle. */
static int big_read(struct blk_dev *d, uint64_t off, uint8_t *buf,
		    size_t len)
{
	uint32_t ss = d->sector_size;
	uint64_t lba = off / ss, end = (off + len + ss - 1) / ss;
	uint64_t mid0 = (off + ss - 1) / ss, mid1 = (off + len) / ss;
	uint8_t *mid = buf + (mid0 * ss - off);
	if (!blk_dma_ok(d, (uintptr_t)mid, (mid1 - mid0) * ss))
		return BLK_ERR_INVALID;	/* caller falls back */
	uint8_t *ends = malloc(2 * ss);
	if (!ends)
		return BLK_ERR_NOMEM;
	if (!blk_dma_ok(d, (uintptr_t)ends, 2 * ss)) {
		free(ends);
		return BLK_ERR_INVALID;
	}
	struct blk_seg g[3];
	int n = 0;
	if (mid0 > lba)
		g[n++] = (struct blk_seg){ lba, 1, (uintptr_t)ends };
	if (mid1 > mid0)
		g[n++] = (struct blk_seg){ mid0, mid1 - mid0, (uintptr_t)mid };
	if (end > mid1)
		g[n++] = (struct blk_seg){ end - 1, 1, (uintptr_t)(ends + ss) };
	int err = blk_run(d, BLK_READ, g, n);
	if (!err && mid0 > lba) {
		uint64_t k = mid0 * ss - off < len ? mid0 * ss - off : len;
		memcpy(buf, ends + off % ss, k);
	}
	if (!err && end > mid1)
		memcpy(buf + (mid1 * ss - off), ends + ss, off + len - mid1 * ss);
	free(ends);
	return err;
}

static int bytes(struct blk_dev *d, uint64_t off, uint8_t *rbuf,
		 const uint8_t *wbuf, size_t len)
{
	uint32_t ss = d->sector_size;
	/* capacity <= BLK_MAX_BYTES (blk_register): no overflow here */
	uint64_t size = d->sectors * ss;
	if (off > size || len > size - off)
		return BLK_ERR_RANGE;
	if (!wbuf && len <= SMALL_READ && (off % ss || len % ss))
		return small_read(d, off, rbuf, len);
	if (!wbuf && (off % ss || len % ss)) {
		int err = big_read(d, off, rbuf, len);
		if (err != BLK_ERR_INVALID)
			return err;
	}
	while (len) {
		uint64_t lba = off / ss;
		uint32_t in = (uint32_t)(off % ss);
		size_t n;
		int err;
		if (in || len < ss) {
			n = ss - in < len ? ss - in : len;
			err = edge(d, lba, in, rbuf, n, wbuf);
		} else {
			n = len / ss * ss;
			err = wbuf ? blk_write(d, lba, n / ss, wbuf)
				   : blk_io(d, BLK_READ, lba, n / ss, rbuf);
		}
		if (err)
			return err;
		off += n;
		len -= n;
		if (rbuf)
			rbuf += n;
		if (wbuf)
			wbuf += n;
	}
	return 0;
}

int blk_read_bytes(struct blk_dev *d, uint64_t off, void *buf, size_t len)
{
	return bytes(d, off, buf, 0, len);
}

int blk_write_bytes(struct blk_dev *d, uint64_t off, const void *buf,
		    size_t len)
{
	return bytes(d, off, 0, buf, len);
}
