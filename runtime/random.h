/* Randomness: the one place unpredictable numbers come from (the stack
 * cookie, TCP initial sequence numbers, DHCP and DNS identifiers, a MAC
 * address when a device has none, TLS). A ChaCha20 generator (RFC 8439
 * §2.3, BearSSL's)
 * whose key is seeded from the best source the machine has: RDSEED, else
 * RDRAND, else the jitter of the TSC; a device (virtio-rng) may stir more
 * in. With RDRAND every output is also XORed with fresh RDRAND words. */
#ifndef UMBRA_RANDOM_H
#define UMBRA_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Random bits. The first call seeds the generator (from the CPU only), so
 * these work from the first instruction of efi_main on. */
uint64_t random_u64(void);
void random_bytes(void *buf, size_t n);

/* Stirs n bytes from a device into the key; `source` names it for
 * random_source ("virtio-rng"). */
void random_add(const void *buf, size_t n, const char *source);

/* Nonzero when the generator holds a seed worth the name: from RDSEED or
 * RDRAND, 32 bytes or more from a device, or TSC jitter that varied.
 * What must not run on guessable numbers (TLS) asks first. */
int random_seeded(void);

/* Whether n TSC timings (low 20 bits: the deltas) vary enough to count
 * as a seed (they change from one to the next 16 times or more); for
 * the tests. */
int random_jitter_varies(const uint64_t *t, size_t n);

/* Where the seed came from: "RDSEED", "RDRAND" or "TSC jitter", then
 * " + virtio-rng" once a device added some. */
const char *random_source(void);

/* A keyed function of 16 bytes under a secret drawn at boot: the same
 * input gives the same output for the whole run, and nobody outside can
 * predict it (RFC 6528's F() for TCP initial sequence numbers). */
uint32_t random_keyed(const uint32_t in[4]);

#endif
