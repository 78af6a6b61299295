/* The screen console; see fbcon.h. */
#include "fbcon.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "font.h"
#include "idle.h"
#include "irq.h"
#include "time.h"

#define FG 0xc0			/* light grey on black */
#define BG 0x00
#define CURSOR 0x100		/* a front cell drawn inverted */
#define UNKNOWN 0xffff		/* a front cell not drawn yet */
#define INTERVAL_MIN_US 8000	/* draws at most this often while busy */
#define INTERVAL_FACTOR 4	/* ... or this many times their cost */
#define MAX_DIM 8192		/* pixels either way */
#define FLUSH_WAIT_US 100000	/* fbcon_flush waits this for the device */

static struct {
	struct fb_desc fb;
	const char *driver, *state;
	const struct fbcon_ops *ops;
	void *ctx;
	uint8_t *px;			/* the surface */
	unsigned cols, rows, left, top_px;	/* the grid, centred */
	uint8_t *back;			/* rows * cols: the text, a ring ... */
	unsigned top;			/* ... whose screen row 0 is this */
	uint16_t *front;		/* rows * cols: what the surface shows */
	uint8_t *dirty;			/* rows: screen rows to compare */
	unsigned cx, cy;		/* the cursor (cx == cols: wrap due) */
	unsigned drawn_cx, drawn_cy;	/* where the cursor was drawn */
	uint32_t lut[2][16][4];		/* 4 pixels per nibble: normal, cursor */
	int pending;			/* text changed since the last draw */
	int stopped, drawing;
	int unknown;			/* nothing drawn yet */
	uint32_t rx0, ry0, rx1, ry1;	/* drawn and not yet shown (pixels) */
	uint64_t last_end_us, interval_us;
	uint64_t draws, cells, draw_us;
} con;

/* One 8-bit colour level in a mask's bits. */
static uint32_t level(uint32_t mask, uint32_t v)
{
	if (!mask)
		return 0;
	unsigned shift = (unsigned)__builtin_ctz(mask);
	unsigned width = (unsigned)__builtin_popcount(mask);
	uint32_t x = width >= 8 ? v << (width - 8) : v >> (8 - width);
	return (x << shift) & mask;
}

static uint32_t grey(const struct fb_desc *fb, uint32_t v)
{
	return level(fb->red, v) | level(fb->green, v) | level(fb->blue, v);
}

static void make_luts(void)
{
	uint32_t fg = grey(&con.fb, FG), bg = grey(&con.fb, BG);
	for (unsigned n = 0; n < 16; n++)
		for (unsigned b = 0; b < 4; b++) {
			int on = (n >> (3 - b)) & 1;
			con.lut[0][n][b] = on ? fg : bg;
			con.lut[1][n][b] = on ? bg : fg;
		}
}

/* A mode the console can draw on: 32-bit pixels, masks that do not
 * overlap, rows inside the size, room for one glyph. */
static const char *mode_ok(const struct fb_desc *fb)
{
	const struct font *f = &font_console;
	if (!fb->base || fb->width < f->width || fb->height < f->height ||
	    fb->width > MAX_DIM || fb->height > MAX_DIM)
		return "no usable mode";
	if (fb->stride < fb->width * 4ull ||
	    (uint64_t)fb->stride * fb->height > fb->size)
		return "the mode's rows do not fit its framebuffer";
	if (!fb->red || !fb->green || !fb->blue || (fb->red & fb->green) ||
	    (fb->red & fb->blue) || (fb->green & fb->blue))
		return "pixel format not supported (not 32-bit RGB)";
	return 0;
}

/* The first draw: what the surface holds is unknown (the firmware's
 * picture, or memory never written), so every cell is drawn, and the
 * margins around the grid are filled; all of it is shown. Done at the
 * first draw, not at attach, so that it costs the boot nothing. */
static void margins(void)
{
	const struct font *f = &font_console;
	uint32_t bg = grey(&con.fb, BG);
	uint32_t gx1 = con.left + con.cols * f->width;
	uint32_t gy1 = con.top_px + con.rows * f->height;
	for (uint32_t y = 0; y < con.fb.height; y++) {
		uint32_t *row = (uint32_t *)(con.px + (size_t)y * con.fb.stride);
		int inside = y >= con.top_px && y < gy1;
		for (uint32_t x = 0; x < con.fb.width; x++) {
			if (inside && x == con.left)
				x = gx1;	/* the grid draws itself */
			if (x < con.fb.width)
				row[x] = bg;
		}
	}
	con.rx0 = con.ry0 = 0;
	con.rx1 = con.fb.width;
	con.ry1 = con.fb.height;
	con.unknown = 0;
}

static int due(uint64_t *when);

int fbcon_attach(const struct fb_desc *fb, const char *driver,
		 const struct fbcon_ops *ops, void *ctx)
{
	const struct font *f = &font_console;
	const char *why = mode_ok(fb);
	if (why) {
		con.state = why;
		return -1;
	}
	unsigned cols = fb->width / f->width, rows = fb->height / f->height;
	uint8_t *back = calloc(rows, cols);
	uint16_t *front = calloc((size_t)rows * cols, sizeof(*front));
	uint8_t *dirty = calloc(rows, 1);
	if (!back || !front || !dirty) {
		free(back);
		free(front);
		free(dirty);
		con.state = "out of memory for the text grids";
		return -1;
	}
	int on = irq_save();
	free(con.back);
	free(con.front);
	free(con.dirty);
	memset(&con, 0, sizeof(con));
	con.fb = *fb;
	con.driver = driver;
	con.state = "drawing";
	con.ops = ops;
	con.ctx = ctx;
	con.px = (uint8_t *)(uintptr_t)fb->base;
	con.cols = cols;
	con.rows = rows;
	con.left = (fb->width - cols * f->width) / 2;
	con.top_px = (fb->height - rows * f->height) / 2;
	con.back = back;
	con.front = front;
	con.dirty = dirty;
	memset(back, ' ', (size_t)rows * cols);
	con.interval_us = INTERVAL_MIN_US;
	make_luts();
	for (size_t i = 0; i < (size_t)rows * cols; i++)
		front[i] = UNKNOWN;
	memset(dirty, 1, rows);
	con.unknown = 1;
	con.pending = 1;
	irq_restore(on);
	idle_set_flusher(due, fbcon_flush);
	return 0;
}

static uint8_t *cell_at(unsigned row, unsigned col)
{
	return con.back + (size_t)((con.top + row) % con.rows) * con.cols + col;
}

static void newline(void)
{
	con.cx = 0;
	if (con.cy + 1 < con.rows) {
		con.cy++;
		return;
	}
	/* Scroll: the ring's top row becomes the new bottom row. */
	memset(cell_at(0, 0), ' ', con.cols);
	con.top = (con.top + 1) % con.rows;
	memset(con.dirty, 1, con.rows);
}

static void put(uint8_t c)
{
	switch (c) {
	case '\n':
		newline();
		return;
	case '\r':
		con.cx = 0;
		return;
	case '\b':
		if (con.cx)
			con.cx--;
		return;
	case '\t':
		con.cx = (con.cx + 8) & ~7u;
		if (con.cx > con.cols)
			con.cx = con.cols;
		return;
	}
	if (c < 0x20 || c == 0x7f)
		return;
	if (con.cx >= con.cols)
		newline();
	*cell_at(con.cy, con.cx) = c;
	con.dirty[con.cy] = 1;
	con.cx++;
}

/* The glyph of cell into the surface at (row, col). */
static void glyph(unsigned row, unsigned col, uint16_t cell)
{
	const struct font *f = &font_console;
	unsigned ch = (cell & 0xff) - f->first;
	if (ch >= f->count)
		ch = f->count;		/* the fallback glyph */
	const uint8_t *g = f->bits + (size_t)ch * f->height * f->row_bytes;
	uint32_t (*lut)[4] = con.lut[(cell & CURSOR) ? 1 : 0];
	uint8_t *p = con.px + (size_t)(con.top_px + row * f->height) *
		     con.fb.stride + (size_t)(con.left + col * f->width) * 4;
	unsigned rowbits = f->row_bytes * 8u;
	for (unsigned y = 0; y < f->height; y++, g += f->row_bytes) {
		uint32_t bits = g[0];
		if (f->row_bytes > 1)
			bits = bits << 8 | g[1];
		for (unsigned x = 0; x < f->width; x += 4) {
			const uint32_t *px4 = lut[(bits >> (rowbits - 4 - x)) & 15];
			if (f->width - x >= 4)	/* inlined: 4 pixels at once */
				__builtin_memcpy(p + 4 * x, px4, 16);
			else
				memcpy(p + 4 * x, px4, 4 * (f->width - x));
		}
		p += con.fb.stride;
	}
	con.cells++;
}

static void grow_rect(unsigned row, unsigned col)
{
	const struct font *f = &font_console;
	uint32_t x = con.left + col * f->width, y = con.top_px + row * f->height;
	if (con.rx1 == 0) {	/* a new rectangle */
		con.rx0 = x;
		con.ry0 = y;
		con.rx1 = x + f->width;
		con.ry1 = y + f->height;
		return;
	}
	if (x < con.rx0)
		con.rx0 = x;
	if (y < con.ry0)
		con.ry0 = y;
	if (x + f->width > con.rx1)
		con.rx1 = x + f->width;
	if (y + f->height > con.ry1)
		con.ry1 = y + f->height;
}

/* Compares the dirty rows with what the surface shows and draws the
 * cells that differ. Interrupts may come: a row is marked clean before
 * it is read, so a change in between marks it again. */
static void render(void)
{
	if (con.unknown)
		margins();
	unsigned ccol = con.cx < con.cols ? con.cx : con.cols - 1;
	con.dirty[con.drawn_cy] = 1;
	con.dirty[con.cy] = 1;
	con.drawn_cx = ccol;
	con.drawn_cy = con.cy;
	for (unsigned r = 0; r < con.rows; r++) {
		if (!con.dirty[r])
			continue;
		con.dirty[r] = 0;
		const uint8_t *text = cell_at(r, 0);
		uint16_t *shown = con.front + (size_t)r * con.cols;
		for (unsigned c = 0; c < con.cols; c++) {
			uint16_t want = text[c];
			if (r == con.drawn_cy && c == con.drawn_cx)
				want |= CURSOR;
			if (shown[c] == want)
				continue;
			glyph(r, c, want);
			shown[c] = want;
			grow_rect(r, c);
		}
	}
}

/* Tells the device what changed. */
static void show(void)
{
	if (!con.rx1 || !con.ops || !con.ops->show) {
		con.rx1 = 0;
		return;
	}
	int r = con.ops->show(con.ctx, con.rx0, con.ry0, con.rx1 - con.rx0,
			      con.ry1 - con.ry0);
	if (r == FBCON_BUSY)
		return;			/* kept: shown with the next draw */
	con.rx1 = 0;
	if (r < 0) {
		con.stopped = 1;
		con.state = "stopped: the device failed";
	}
}

static int device_busy(void)
{
	return con.ops && con.ops->busy && con.ops->busy(con.ctx);
}

/* A draw now, from the app's side (never from an interrupt handler). */
static void draw(void)
{
	if (!con.driver || con.stopped || con.drawing || irq_in_handler())
		return;
	con.drawing = 1;
	uint64_t t0 = time_us();
	if (con.pending) {
		con.pending = 0;
		render();
	}
	if (!device_busy())
		show();
	uint64_t t1 = time_us();
	con.draws++;
	con.draw_us += t1 - t0;
	con.interval_us = (t1 - t0) * INTERVAL_FACTOR;
	if (con.interval_us < INTERVAL_MIN_US)
		con.interval_us = INTERVAL_MIN_US;
	con.last_end_us = t1;
	con.drawing = 0;
}

void fbcon_write(const char *s, size_t n)
{
	if (!con.driver || con.stopped)
		return;
	int on = irq_save();
	for (size_t i = 0; i < n; i++)
		put((uint8_t)s[i]);
	con.pending = 1;
	irq_restore(on);
	if (time_us() - con.last_end_us >= con.interval_us)
		draw();
}

void fbcon_flush(void)
{
	uint64_t end = time_us() + FLUSH_WAIT_US;
	while ((con.pending || con.rx1) && !con.stopped && con.driver &&
	       !irq_in_handler() && time_us() < end) {
		draw();
		if (con.rx1)		/* the device is busy: ask again */
			cpu_pause();
	}
}

/* idle.h's flusher: due when there is something to draw or show and the
 * interval has passed (else *when says when it will be); never while
 * the device is busy (its interrupt wakes the wait). */
static int due(uint64_t *when)
{
	if (!con.driver || con.stopped || (!con.pending && !con.rx1) ||
	    device_busy())
		return 0;
	uint64_t at = con.last_end_us + con.interval_us;
	if (time_us() >= at)
		return 1;
	if (at < *when)
		*when = at;
	return 0;
}

void fbcon_none(const char *why)
{
	if (!con.driver)
		con.state = why;
}

void fbcon_info(struct fbcon_info *out)
{
	*out = (struct fbcon_info){ con.driver, con.state, con.fb, con.cols,
				    con.rows, con.draws, con.cells,
				    con.draw_us };
}
