/* The screen console: the console's output drawn as text on a linear
 * framebuffer (UEFI GOP's, or a virtio-gpu resource), in the bitmap font
 * of font.h. The text lives in a grid in RAM (the shadow): scrolling
 * moves the grid, never pixels, and the screen is never read. A second
 * grid remembers what the screen shows, so a draw touches only the cells
 * that changed, and the device is told the rectangle they cover (the
 * dirty rectangle). Drawing is lazy: at most once per interval (8 ms, or
 * four times what the last draw took, whichever is longer) while output
 * streams, and when the CPU is about to wait (idle.h's flusher), so that
 * printing costs little more than the serial line. */
#ifndef UMBRA_FBCON_H
#define UMBRA_FBCON_H

#include <stddef.h>
#include <stdint.h>

#include "fb.h"

#define FBCON_BUSY 1		/* show: not now, try again later */

/* What a device does besides holding the pixels. */
struct fbcon_ops {
	/* Makes the rectangle of the surface visible (virtio-gpu: transfer
	 * and flush). 0; FBCON_BUSY (the console asks again once busy says
	 * no); or a negative error: the device failed, the console stops
	 * drawing. NULL when the surface is the screen itself (GOP). */
	int (*show)(void *ctx, uint32_t x, uint32_t y, uint32_t w, uint32_t h);
	/* Nonzero while show would say FBCON_BUSY; runs with interrupts off
	 * and only looks. */
	int (*busy)(void *ctx);
};

/* Draws the console on fb from now on, on behalf of driver ("GOP",
 * "virtio-gpu"): fb->base is identity-mapped and writable, never read.
 * The first draw clears it. Output written before is not replayed. 0, or
 * -1 when the mode is unusable or the grids do not fit in memory (the
 * reason then in fbcon_state). A second attach replaces the first. */
int fbcon_attach(const struct fb_desc *fb, const char *driver,
		 const struct fbcon_ops *ops, void *ctx);

/* No screen, and why ("no GOP"), for `screen` (until an attach). */
void fbcon_none(const char *why);

/* The console's bytes (console.c calls it with everything it writes):
 * text, \n, \r, \b, \t; other control bytes are ignored. */
void fbcon_write(const char *s, size_t n);

/* Draws what is pending now, whatever the interval, and waits (at most
 * 100 ms) until the device has taken it (power-off, panic). */
void fbcon_flush(void);

/* What drives the screen, for `screen`. */
struct fbcon_info {
	const char *driver;	/* NULL: no screen */
	const char *state;	/* "drawing", or why it stopped */
	struct fb_desc fb;
	unsigned cols, rows;
	uint64_t draws, cells;	/* draws done, glyphs drawn */
	uint64_t draw_us;	/* time spent drawing */
};
void fbcon_info(struct fbcon_info *out);

#endif
