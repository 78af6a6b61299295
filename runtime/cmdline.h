/* The loader's command line (PVH: QEMU -append, Firecracker boot_args):
 * words separated by blanks, KEY=VALUE words read by key. A value may be
 * "double quoted" to hold blanks; the quotes are dropped and there are no
 * escapes (the Linux convention). Portable (host-tested). */
#ifndef UMBRA_CMDLINE_H
#define UMBRA_CMDLINE_H

#include <stddef.h>

/* Keeps the command line (0: none). The string must outlive umbra. */
void cmdline_set(const char *line);

/* The command line, "" when there is none. */
const char *cmdline_get(void);

/* Finds the next word KEY=VALUE at or after *pos (start with *pos =
 * cmdline_get()). Copies VALUE into buf, NUL-terminated and cut to
 * size - 1 bytes, moves *pos past the word and returns VALUE's whole
 * length; returns -1 when no further word has that key. */
long cmdline_next(const char **pos, const char *key, char *buf, size_t size);

#endif
