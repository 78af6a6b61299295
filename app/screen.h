/* The screen and the keyboards: found at boot (virtio-gpu when the
 * firmware left no framebuffer, virtio-input keyboards, the PS/2
 * keyboard), listed by `screen`. */
#ifndef UMBRA_SCREEN_H
#define UMBRA_SCREEN_H

/* Drives what it finds, on PCI, on the virtio-mmio transports storage
 * found, and at the i8042's ports; says on the console what it could not
 * use. A machine with none of them costs a port read. */
void screen_probe(void);

#endif
