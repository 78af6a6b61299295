/* The host tests' console (hostcon.c): everything printed, kept. */
#ifndef UMBRA_HOSTCON_H
#define UMBRA_HOSTCON_H

#include <stddef.h>

struct con_source;

#define HOSTCON_MAX 65536

/* What was printed since the last hostcon_clear, NUL-terminated. */
extern char hostcon_log[HOSTCON_MAX];
void hostcon_clear(void);

/* What keyboards queued with con_input, and the sources registered
 * (newest first). */
#define HOSTCON_INPUT_MAX 4096
extern char hostcon_input[HOSTCON_INPUT_MAX];
extern size_t hostcon_input_len;
extern struct con_source *hostcon_sources;

#endif
