/* virtio-gpu (virtio 1.2 §5.7) as the screen: a 2D resource with backing
 * pages in RAM, set as scanout 0, that the screen console (fbcon.h) draws
 * in; what changed goes to the host by transfer and flush of the dirty
 * rectangle only. */
#ifndef UMBRA_VIRTIO_GPU_H
#define UMBRA_VIRTIO_GPU_H

#include "virtio.h"

#define VGPU_MAX_WIDTH 1280	/* a bigger display gets this much of it */
#define VGPU_MAX_HEIGHT 800
#define VGPU_WAIT_US 1000000	/* a setup command is answered within */

/* Drives d (a virtio device of type 16 on any transport; d must outlive
 * it) and makes it the screen console's. On failure returns a negative
 * VIRTIO_ERR_* and says why in *why (a wrong response type, a display of
 * 0x0 or larger than 8192 either way, no answer); the device is then
 * reset and FAILED and nothing is drawn on it. */
int vgpu_attach(struct virtio_dev *d, const char **why);

/* "virtio-gpu modern: display 1280x800, resource 1280x800" or why it
 * stopped, for `screen`; NULL when none was attached. */
const char *vgpu_describe(void);

#endif
