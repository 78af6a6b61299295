/* A linear framebuffer as the firmware (UEFI GOP) or a driver (virtio-gpu)
 * describes it: what boot/ hands to runtime/ in struct boot_info, and
 * what the screen console draws on. */
#ifndef UMBRA_FB_H
#define UMBRA_FB_H

#include <stdint.h>

/* 32-bit pixels; a colour is the masks' bits set in proportion. */
struct fb_desc {
	uint64_t base;		/* physical address of pixel (0, 0); 0: none */
	uint64_t size;		/* bytes from base */
	uint32_t width, height;	/* pixels */
	uint32_t stride;	/* bytes from one row to the next */
	uint32_t red, green, blue;	/* where each colour is in a pixel */
	uint32_t mode;		/* the firmware's mode number (GOP) */
};

#endif
