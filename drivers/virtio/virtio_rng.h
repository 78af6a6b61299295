/* virtio-rng: the host's entropy, stirred into runtime/random.h. */
#ifndef UMBRA_VIRTIO_RNG_H
#define UMBRA_VIRTIO_RNG_H

#include "virtio.h"

/* Asks d (a virtio device of type 4 on any transport) for VRNG_BYTES of
 * entropy, waiting at most VRNG_WAIT_US, adds what came to the generator
 * and resets the device: umbra needs it only once. Returns the bytes
 * added, or a negative VIRTIO_ERR_* with *why. */
#define VRNG_BYTES 64
#define VRNG_WAIT_US 1000000ull
int vrng_seed(struct virtio_dev *d, const char **why);

#endif
