/* The screen console's bitmap font, generated at build time by
 * runtime/psf2c from a PSF console font of a Debian package (configure
 * finds it; nothing of it is committed). */
#ifndef UMBRA_FONT_H
#define UMBRA_FONT_H

#include <stdint.h>

/* Glyphs of the characters first .. first + count - 1, then one glyph for
 * every other byte; each height rows of row_bytes bytes, the most
 * significant bit leftmost. */
struct font {
	const char *name;	/* the PSF file's name ("Lat15-Terminus16") */
	uint8_t width, height, row_bytes;
	uint8_t first, count;
	const uint8_t *bits;
};

extern const struct font font_console;

#endif
