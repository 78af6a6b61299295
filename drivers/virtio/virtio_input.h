/* virtio-input (virtio 1.2 §5.8) keyboards as console input: EV_KEY
 * events into runtime/kbd.h, through a console source. */
#ifndef UMBRA_VIRTIO_INPUT_H
#define UMBRA_VIRTIO_INPUT_H

#include "virtio.h"

#define VINPUT_MAX 4		/* keyboards driven */

/* Drives d (a virtio device of type 18 on any transport; d must outlive
 * it) when its configuration says it is a keyboard (EV_BITS for EV_KEY
 * has letter keys): registers it as a console source. VIRTIO_ERR_NODEV
 * with *why for another input device (a tablet, a mouse), left reset;
 * another negative VIRTIO_ERR_* with *why when it cannot be used. */
int vinput_attach(struct virtio_dev *d, const char **why);

/* The i-th keyboard attached: its name from the device
 * ("QEMU Virtio Keyboard") and transport; NULL past the last. */
const char *vinput_describe(unsigned i);

#endif
