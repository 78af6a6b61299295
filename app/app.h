/* The application's own shared pieces. */
#ifndef UMBRA_APP_H
#define UMBRA_APP_H

#define UMBRA_VERSION "0.1"

/* Brings everything to rest before power-off or reboot (later: sync and
 * unmount the volume). */
void app_shutdown(void);

#include <stdint.h>

struct efs;
struct efs_stat;

/* An argument as an absolute path (relative ones start at /). The result
 * lives until the next call. */
const char *app_path(const char *arg);

/* The mounted volume, or NULL after printing "cmd: no volume mounted". */
struct efs *app_fs(const char *cmd);

/* Prints "cmd: path: error" for an fs error; returns 1. */
int app_fs_err(const char *cmd, const char *path, int err);

/* Looks up a file to read (following links); prints the error itself and
 * returns nonzero on failure. */
int app_open_file(const char *cmd, const char *arg, uint32_t *ino,
		  struct efs_stat *st);

/* "1.5M"-style sizes. */
void app_size(uint64_t bytes, char *out, unsigned n);

#endif
