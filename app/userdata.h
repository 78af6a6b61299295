/* User data (a cloud's metadata, a seed drive) may be an umbra script or
 * one of cloud-init's formats, which umbra does not run: this says which
 * it is, from its first bytes. Portable C: the same file builds into the
 * image and a host test. */
#ifndef UMBRA_USERDATA_H
#define UMBRA_USERDATA_H

#include <stddef.h>

/* What s[0..n) is when it is not an umbra script ("cloud-config",
 * "a #! script", "MIME multipart", ...), or NULL when it may be one. */
const char *userdata_kind(const char *s, size_t n);

#endif
