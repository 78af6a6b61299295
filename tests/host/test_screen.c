/* The screen and keyboards on the host: drivers/virtio/virtio_gpu.c and
 * runtime/fbcon.c against a virtio-gpu played by this test on a fake
 * transport (display info, the 2D commands, the transfers and flushes
 * it is sent), then a hostile one: a display of 0x0 or 100000x100000,
 * wrong response types at setup and while drawing, short answers, no
 * answer; each is refused with a clear reason and nothing more is sent.
 * virtio-input keyboards (found by their EV_BITS; a tablet is not one)
 * and runtime/kbd.c's layout: Shift, Caps Lock, Ctrl-C, the arrows. */
#include <stdint.h>
#include <string.h>

#include "../../drivers/virtio/virtio_gpu.h"
#include "../../drivers/virtio/virtio_input.h"
#include "../../runtime/console.h"
#include "../../runtime/fbcon.h"
#include "../../runtime/font.h"
#include "../../runtime/kbd.h"
#include "check.h"
#include "dmamem.h"
#include "fakevirtio.h"
#include "hostcon.h"

#define QSIZE 16
#define F_V1 (1ull << 32)


/* --- a virtio-gpu -------------------------------------------------------- */

struct gpu {
	struct fakevirtio v;	/* first */
	uint16_t seen;
	uint32_t w, h, enabled;	/* what display info says */
	uint32_t bad_cmd, bad_type;	/* answer bad_cmd with bad_type */
	int silent;		/* answer nothing */
	uint32_t short_len;	/* answer with this used length */
	unsigned transfers, flushes, creates;
	uint32_t rect[4];	/* the last transfer's */
	uint64_t offset;
	uint64_t backing;
	uint32_t res_w, res_h;
};

static uint32_t answer_type(struct gpu *g, uint32_t cmd)
{
	if (cmd == g->bad_cmd)
		return g->bad_type;
	return cmd == 0x0100 ? 0x1101 : 0x1100;
}

/* The device: every available chain is a command and its answer. */
static void gpu_notify(struct fakevirtio *f, uint16_t q)
{
	struct gpu *g = (struct gpu *)f;
	if (q != 0 || g->silent)
		return;
	while (r16(f->driver[0] + 2) != g->seen) {
		uint16_t head = r16(f->driver[0] + 4 + 2 * (g->seen % QSIZE));
		g->seen++;
		uint64_t d0 = f->desc[0] + 16 * head;
		uint64_t cmd = r64(d0);
		uint64_t d1 = f->desc[0] + 16 * r16(d0 + 14);
		uint64_t resp = r64(d1);
		uint32_t resp_len = r32(d1 + 8);
		uint32_t type = r32(cmd);
		memset(P(resp), 0, resp_len);
		w32(resp, answer_type(g, type));
		if (type == 0x0100) {	/* display info: scanout 0 */
			w32(resp + 24 + 8, g->w);
			w32(resp + 24 + 12, g->h);
			w32(resp + 24 + 16, g->enabled);
		} else if (type == 0x0101) {
			g->creates++;
			g->res_w = r32(cmd + 32);
			g->res_h = r32(cmd + 36);
		} else if (type == 0x0106) {
			g->backing = r64(cmd + 32);
		} else if (type == 0x0105) {
			g->transfers++;
			for (int i = 0; i < 4; i++)
				g->rect[i] = r32(cmd + 24 + 4 * i);
			g->offset = r64(cmd + 40);
		} else if (type == 0x0104) {
			g->flushes++;
		}
		uint16_t idx = r16(f->device[0] + 2);
		uint64_t e = f->device[0] + 4 + 8 * (idx % QSIZE);
		w32(e, head);
		w32(e + 4, g->short_len ? g->short_len : resp_len);
		w16(f->device[0] + 2, (uint16_t)(idx + 1));
	}
}

static void gpu_init(struct gpu *g, uint32_t w, uint32_t h)
{
	memset(g, 0, sizeof(*g));
	fakevirtio_init(&g->v, F_V1, 0);
	g->v.qmax[0] = QSIZE;
	g->v.on_notify = gpu_notify;
	g->w = w;
	g->h = h;
	g->enabled = 1;
}

static int refused(struct gpu *g, const char *want)
{
	const char *why = "";
	int err = vgpu_attach(&g->v.dev, &why);
	CHECK(err < 0);
	CHECK_STR(why, want);
	CHECK_INT(g->v.status, 0);	/* reset: no more DMA */
	CHECK(vgpu_describe() == 0);
	struct fbcon_info fi;
	fbcon_info(&fi);
	CHECK(fi.driver == 0);
	return err;
}

static void test_hostile_setup(void)
{
	static struct gpu g;
	gpu_init(&g, 0, 0);
	refused(&g, "display 0 is 0x0: not believed");
	gpu_init(&g, 100000, 100000);
	refused(&g, "display 0 is 100000x100000: not believed");
	gpu_init(&g, 1024, 768);
	g.enabled = 0;
	refused(&g, "no display enabled");
	gpu_init(&g, 1024, 768);
	g.bad_cmd = 0x0100;
	g.bad_type = 0x1100;
	refused(&g, "answered GET_DISPLAY_INFO with type 0x1100, not 0x1101");
	gpu_init(&g, 1024, 768);
	g.bad_cmd = 0x0101;
	g.bad_type = 0x1200;	/* ERR_UNSPEC */
	refused(&g, "answered RESOURCE_CREATE_2D with type 0x1200, not "
		    "0x1100");
	gpu_init(&g, 1024, 768);
	g.bad_cmd = 0x0103;
	g.bad_type = 0x1101;	/* display info, to SET_SCANOUT */
	refused(&g, "answered SET_SCANOUT with type 0x1101, not 0x1100");
	gpu_init(&g, 1024, 768);
	g.short_len = 4;
	refused(&g, "a short answer (4 bytes) to GET_DISPLAY_INFO");
	gpu_init(&g, 1024, 768);
	g.silent = 1;
	refused(&g, "no answer to GET_DISPLAY_INFO within 1 s");
}

/* The pixel at (x, y) of the resource: lit (the foreground) or not. */
static int lit(struct gpu *g, uint32_t x, uint32_t y)
{
	return (r32(g->backing + ((uint64_t)y * g->res_w + x) * 4) & 0xff) > 0x60;
}

/* The glyph of c at text cell (col, row) is what the backing holds. */
static int cell_is(struct gpu *g, unsigned col, unsigned row, char c)
{
	const struct font *f = &font_console;
	unsigned cols = g->res_w / f->width, rows = g->res_h / f->height;
	uint32_t x0 = (g->res_w - cols * f->width) / 2 + col * f->width;
	uint32_t y0 = (g->res_h - rows * f->height) / 2 + row * f->height;
	const uint8_t *gl = f->bits + (size_t)(c - f->first) * f->height *
			    f->row_bytes;
	for (unsigned y = 0; y < f->height; y++)
		for (unsigned x = 0; x < f->width; x++) {
			int on = (gl[y * f->row_bytes + x / 8] >> (7 - x % 8)) & 1;
			if (on != lit(g, x0 + x, y0 + y))
				return 0;
		}
	return 1;
}

static void test_draw_and_fail(void)
{
	static struct gpu g;
	const char *why = "";
	gpu_init(&g, 1920, 1200);
	CHECK_INT(vgpu_attach(&g.v.dev, &why), 0);
	CHECK_STR(vgpu_describe(), "virtio-gpu fake: display 1920x1200, "
		  "resource 1280x800 B8G8R8X8, polled");
	CHECK(g.v.status & 4);	/* DRIVER_OK */
	CHECK_INT(g.res_w, 1280);
	CHECK_INT(g.res_h, 800);
	struct fbcon_info fi;
	fbcon_info(&fi);
	CHECK_STR(fi.driver, "virtio-gpu");
	CHECK_INT(fi.cols, 1280 / font_console.width);
	/* the first draw shows the whole screen (cleared) */
	fbcon_write("hi\n", 3);
	fbcon_flush();
	CHECK_INT(g.transfers, 1);
	CHECK_INT(g.flushes, 1);
	CHECK_INT(g.rect[2], 1280);
	CHECK_INT(g.rect[3], 800);
	CHECK(cell_is(&g, 0, 0, 'h') && cell_is(&g, 1, 0, 'i'));
	CHECK(cell_is(&g, 2, 0, ' '));
	/* then only the dirty rectangle: one character and the cursor */
	fbcon_write("x", 1);
	fbcon_flush();
	CHECK_INT(g.transfers, 2);
	CHECK_INT(g.rect[0], 0);
	CHECK_INT(g.rect[1], font_console.height);
	CHECK_INT(g.rect[2], 2 * font_console.width);
	CHECK_INT(g.rect[3], font_console.height);
	CHECK_INT(g.offset, (uint64_t)font_console.height * 1280 * 4);
	CHECK(cell_is(&g, 0, 1, 'x'));
	/* nothing new: nothing sent */
	fbcon_flush();
	CHECK_INT(g.transfers, 2);
	/* a screenful and more scrolls: "hi", "xa" and "b" are gone, "c"
	 * is at the top, the last letter above the cursor's line */
	unsigned rows = 800 / font_console.height;
	char line[8];
	for (unsigned i = 0; i < rows + 1; i++) {
		line[0] = (char)('a' + i % 26);
		line[1] = '\n';
		fbcon_write(line, 2);
	}
	fbcon_flush();
	CHECK(cell_is(&g, 0, 0, 'c') && cell_is(&g, 1, 0, ' '));
	CHECK(cell_is(&g, 0, rows - 2, (char)('a' + rows % 26)));
	/* the device turns hostile: a wrong type to a transfer stops it */
	g.bad_cmd = 0x0105;
	g.bad_type = 0x1200;
	fbcon_write("y", 1);
	fbcon_flush();		/* sends; the answer is read at the next */
	unsigned sent = g.transfers;
	fbcon_write("z", 1);
	fbcon_flush();
	fbcon_info(&fi);
	CHECK_STR(fi.state, "stopped: the device failed");
	CHECK_STR(vgpu_describe(), "virtio-gpu fake: stopped: answered "
		  "TRANSFER_TO_HOST_2D with type 0x1200, not 0x1100");
	fbcon_write("more", 4);
	fbcon_flush();
	CHECK_INT(g.transfers, sent);	/* nothing more sent */
	/* a second one is not taken */
	static struct gpu g2;
	gpu_init(&g2, 800, 600);
	CHECK(vgpu_attach(&g2.v.dev, &why) == VIRTIO_ERR_NODEV);
}

/* --- virtio-input -------------------------------------------------------- */

struct input {
	struct fakevirtio v;
	int keyboard;
	uint16_t seen;
};

/* §5.8.4: the window for select/subsel. */
static void input_config(struct fakevirtio *f)
{
	struct input *in = (struct input *)f;
	uint8_t sel = f->config[0], sub = f->config[1];
	memset(f->config + 2, 0, sizeof(f->config) - 2);
	if (sel == 0x01) {
		const char *name = in->keyboard ? "QEMU Virtio Keyboard"
						: "QEMU Virtio Tablet";
		f->config[2] = (uint8_t)strlen(name);
		memcpy(f->config + 8, name, strlen(name));
	} else if (sel == 0x11 && sub == 1) {	/* EV_BITS, EV_KEY */
		f->config[2] = 32;
		if (in->keyboard)
			memset(f->config + 8, 0xff, 16);	/* keys 0-127 */
		else
			f->config[8 + 0x110 / 8] = 1;	/* BTN_LEFT */
	}
}

static void input_init(struct input *in, int keyboard)
{
	memset(in, 0, sizeof(*in));
	fakevirtio_init(&in->v, F_V1, 0);
	in->v.qmax[0] = QSIZE;
	in->v.on_config = input_config;
	in->keyboard = keyboard;
}

/* One event into the next posted buffer (used length len). */
static void event(struct input *in, uint16_t type, uint16_t code,
		  uint32_t value, uint32_t len)
{
	struct fakevirtio *f = &in->v;
	uint16_t head = r16(f->driver[0] + 4 + 2 * (in->seen % QSIZE));
	in->seen++;
	uint64_t buf = r64(f->desc[0] + 16 * head);
	w16(buf, type);
	w16(buf + 2, code);
	w32(buf + 4, value);
	uint16_t idx = r16(f->device[0] + 2);
	w32(f->device[0] + 4 + 8 * (idx % QSIZE), head);
	w32(f->device[0] + 4 + 8 * (idx % QSIZE) + 4, len);
	w16(f->device[0] + 2, (uint16_t)(idx + 1));
}

static void key(struct input *in, uint16_t code)
{
	event(in, 1, code, 1, 8);
	event(in, 0, 0, 0, 8);		/* EV_SYN */
	event(in, 1, code, 0, 8);
}

static int fake_irq(struct virtio_dev *d, uint16_t q, const char *name,
		    irq_fn *fn, void *ctx)
{
	(void)d, (void)q, (void)name, (void)fn, (void)ctx;
	return 0x40;
}

static void test_input(void)
{
	static struct input tablet, kb;
	const char *why = "";
	input_init(&tablet, 0);
	CHECK_INT(vinput_attach(&tablet.v.dev, &why), VIRTIO_ERR_NODEV);
	CHECK_STR(why, "not a keyboard");
	input_init(&kb, 1);
	/* no interrupt on the fake transport: a keyboard must have one */
	CHECK_INT(vinput_attach(&kb.v.dev, &why), VIRTIO_ERR_DEVICE);
	CHECK_STR(why, "no interrupt (a keyboard must wake the idle loop)");
	CHECK_INT(kb.v.status, 0);
	/* with an interrupt: typed keys become bytes */
	static struct virtio_ops ops;
	input_init(&kb, 1);
	ops = *kb.v.dev.ops;
	ops.irq = fake_irq;
	kb.v.dev.ops = &ops;
	CHECK_INT(vinput_attach(&kb.v.dev, &why), 0);
	CHECK_STR(vinput_describe(0), "virtio-input fake: QEMU Virtio Keyboard");
	CHECK(kb.v.status & 4);
	struct con_source *src = hostcon_sources;
	CHECK(src && !strcmp(src->name, "virtio keyboard"));
	hostcon_input_len = 0;
	CHECK(!src->pending(src->ctx));
	key(&kb, 20);			/* t */
	event(&kb, 1, 18, 1, 4);	/* e, but a short event: dropped */
	event(&kb, 2, 0, 5, 8);		/* EV_REL: not a key */
	key(&kb, 31);			/* s */
	key(&kb, 28);			/* Enter */
	CHECK(src->pending(src->ctx));
	src->drain(src->ctx);
	CHECK_INT(hostcon_input_len, 3);
	CHECK(!memcmp(hostcon_input, "ts\r", 3));
	CHECK(!src->pending(src->ctx));
	/* every buffer went back: the ring takes a full round again */
	for (int i = 0; i < 5; i++)
		key(&kb, 30);
	src->drain(src->ctx);
	CHECK_INT(hostcon_input_len, 8);
}

/* The layout, as both keyboards use it. */
static void test_kbd(void)
{
	struct kbd k = { 0 };
	hostcon_input_len = 0;
	kbd_key(&k, 42, 1);		/* Shift */
	kbd_key(&k, 35, 1);		/* H */
	kbd_key(&k, 35, 0);
	kbd_key(&k, 42, 0);
	kbd_key(&k, 18, 1);		/* e */
	kbd_key(&k, 2, 1);		/* 1 */
	kbd_key(&k, 58, 1);		/* Caps Lock */
	kbd_key(&k, 58, 0);
	kbd_key(&k, 30, 1);		/* A */
	kbd_key(&k, 2, 1);		/* 1: Caps leaves digits */
	kbd_key(&k, 42, 1);
	kbd_key(&k, 30, 2);		/* a: Shift undoes Caps; autorepeat */
	kbd_key(&k, 2, 1);		/* ! */
	kbd_key(&k, 42, 0);
	kbd_key(&k, 29, 1);		/* Ctrl */
	kbd_key(&k, 46, 1);		/* Ctrl-C */
	kbd_key(&k, 29, 0);
	kbd_key(&k, 103, 1);		/* up */
	kbd_key(&k, 28, 1);		/* Enter */
	kbd_key(&k, 14, 1);		/* Backspace */
	kbd_key(&k, 0x2ff + 1, 1);	/* past KEY_MAX: ignored */
	kbd_key(&k, 88, 1);		/* F12: no character */
	CHECK_INT(hostcon_input_len, 13);
	CHECK(!memcmp(hostcon_input, "He1A1a!\003\033[A\r\177", 13));
	CHECK_INT(k.keys, 11);
}

int main(void)
{
	dmamem_init(16 << 20);
	test_kbd();
	test_input();
	test_hostile_setup();
	test_draw_and_fail();
	return check_done();
}
