/* The application's own shared pieces. */
#ifndef UMBRA_APP_H
#define UMBRA_APP_H

#define UMBRA_VERSION "0.1"

#include <stdint.h>

/* Brings everything to rest before power-off or reboot: syncs the root
 * volume, printing why when it cannot. */
void app_shutdown(void);

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

/* Where the boot's script came from ("fw_cfg opt/umbra/cmdline", "NoCloud
 * seed vdb user-data", ... as `script: from` says), or NULL when none
 * ran (the interactive shell). For the `cloud` command: the seed drive
 * itself is app/seed.h's seed_find(). */
const char *app_script_from(void);

/* "1.5M"-style sizes. */
void app_size(uint64_t bytes, char *out, unsigned n);

#endif
