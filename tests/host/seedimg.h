/* Helpers for the seed-drive reader tests: images made by the real tools
 * (genisoimage, xorriso, mkfs.vfat and mtools) in a scratch directory,
 * loaded onto a RAM device (memdev: a read outside the image aborts). */
#ifndef UMBRA_SEEDIMG_H
#define UMBRA_SEEDIMG_H

#include <stddef.h>
#include <stdint.h>

#include "memdev.h"

/* A fresh scratch directory (removed by seedimg_done); its path. */
const char *seedimg_dir(void);
void seedimg_done(void);

/* 1 when the tool is on PATH (the tests that need it skip otherwise,
 * saying so). */
int seedimg_have(const char *tool);

/* Writes len bytes to DIR/rel (parents made). */
void seedimg_file(const char *rel, const void *data, size_t len);

/* Runs a shell command (printf-style) in the scratch directory; its
 * exit status (0 = success). Output goes to DIR/log. */
int seedimg_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads DIR/rel onto m (memdev_init'd; free with memdev_free). */
int seedimg_load(const char *rel, struct memdev *m);

/* n bytes of a repeatable pattern for seed. */
void seedimg_pattern(uint8_t *p, size_t n, uint32_t seed);

#endif
