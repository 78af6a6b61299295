/* Base64 (RFC 4648 §4, the standard alphabet with '=' padding) decoded,
 * as Azure's IMDS and Oracle's metadata carry user data. Portable C:
 * the same file builds into the image and a host test. */
#ifndef UMBRA_B64_H
#define UMBRA_B64_H

#include <stddef.h>

#define B64_ERR_CHAR (-711)	/* a character outside the alphabet */
#define B64_ERR_PAD (-712)	/* padding or length that cannot be */

/* Decodes in[0..n) into out (room for n * 3 / 4 bytes: the decoding is
 * never longer; out may be in itself). Line breaks and blanks between
 * groups are skipped (RFC 4648 §3.3 lets a reader refuse them; MIME and
 * people put them in). Returns the decoded length, or B64_ERR_*. */
long b64_decode(const char *in, size_t n, unsigned char *out);

#endif
