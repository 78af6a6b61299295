/* The host tests' console (hostcon.c): everything printed, kept. */
#ifndef UMBRA_HOSTCON_H
#define UMBRA_HOSTCON_H

#define HOSTCON_MAX 65536

/* What was printed since the last hostcon_clear, NUL-terminated. */
extern char hostcon_log[HOSTCON_MAX];
void hostcon_clear(void);

#endif
