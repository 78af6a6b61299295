/* virtio-gpu 2D; see virtio_gpu.h. Only the control queue (§5.7.2:
 * controlq 0; the cursor queue is left alone) and the 2D commands of
 * §5.7.6.7. Every request is a device-readable command and a
 * device-writable response header (§5.7.6.7: struct virtio_gpu_ctrl_hdr,
 * whose type says OK or which error). Setup waits for each answer (at
 * most VGPU_WAIT_US); drawing never waits: one transfer + flush pair is in
 * flight at a time, and the console asks again once it is answered. */
#include "virtio_gpu.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fbcon.h"
#include "../../runtime/fmt.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "../../runtime/time.h"
#include "virtq.h"

/* §5.7.6.7 command and response types */
#define CMD_GET_DISPLAY_INFO 0x0100
#define CMD_RESOURCE_CREATE_2D 0x0101
#define CMD_SET_SCANOUT 0x0103
#define CMD_RESOURCE_FLUSH 0x0104
#define CMD_TRANSFER_TO_HOST_2D 0x0105
#define CMD_RESOURCE_ATTACH_BACKING 0x0106
#define RESP_OK_NODATA 0x1100
#define RESP_OK_DISPLAY_INFO 0x1101

/* struct virtio_gpu_ctrl_hdr: type le32, flags le32, fence_id le64,
 * ctx_id le32, ring_idx u8, padding u8[3] */
#define HDR_LEN 24
/* struct virtio_gpu_rect: x, y, width, height, le32 each */
#define RECT_LEN 16
/* struct virtio_gpu_resp_display_info: hdr, then 16 of
 * { rect r; le32 enabled; le32 flags; } */
#define MAX_SCANOUTS 16
#define PMODE_LEN 24
#define DISPLAY_INFO_LEN (HDR_LEN + MAX_SCANOUTS * PMODE_LEN)
/* §5.7.6.8 formats: B8G8R8X8 is bytes B, G, R, X: 0xXXRRGGBB */
#define FORMAT_B8G8R8X8 2

#define RESOURCE 1		/* our one resource's id */
#define QUEUE_WANT 16
/* The command page: up to SETUP_MAX setup commands and their answers
 * (the display info's, 408 bytes, is alone), then the draw pair
 * (transfer, flush), each with its answer. */
#define SETUP_MAX 3
#define SETUP_SLOT 128
#define SETUP_RESP 512
#define XFER_CMD 1024
#define FLUSH_CMD 1536
#define RESP_AT 256		/* a draw command's answer, past it */

_Static_assert(SETUP_RESP + DISPLAY_INFO_LEN <= XFER_CMD &&
	       SETUP_SLOT * SETUP_MAX <= SETUP_RESP, "page layout");

static struct vgpu {
	struct virtio_dev *dev;
	struct virtq q;
	uint8_t *page;
	uint8_t *px;
	uint64_t px_pages;
	struct fb_desc fb;
	uint32_t disp_w, disp_h;
	int vec;
	unsigned in_flight;
	char describe[128];
} gpu;

static void hdr(uint8_t *p, uint32_t type)
{
	memset(p, 0, HDR_LEN);
	le32_put(p, type);
}

static void rect(uint8_t *p, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	le32_put(p, x);
	le32_put(p + 4, y);
	le32_put(p + 8, w);
	le32_put(p + 12, h);
}

static const char *name(uint32_t type)
{
	switch (type) {
	case CMD_GET_DISPLAY_INFO: return "GET_DISPLAY_INFO";
	case CMD_RESOURCE_CREATE_2D: return "RESOURCE_CREATE_2D";
	case CMD_SET_SCANOUT: return "SET_SCANOUT";
	case CMD_RESOURCE_FLUSH: return "RESOURCE_FLUSH";
	case CMD_TRANSFER_TO_HOST_2D: return "TRANSFER_TO_HOST_2D";
	case CMD_RESOURCE_ATTACH_BACKING: return "RESOURCE_ATTACH_BACKING";
	default: return "a command";
	}
}

/* The answer resp (used bytes) to the command at cmd: 0 when its type is
 * want. */
static int check(const uint8_t *cmd, const uint8_t *resp, uint32_t used,
		 uint32_t want, const char **why)
{
	static char buf[96];
	uint32_t type = used >= HDR_LEN ? le32_get(resp) : 0;
	if (used < HDR_LEN)
		fmt_snprintf(buf, sizeof(buf), "a short answer (%u bytes) to %s",
			     used, name(le32_get(cmd)));
	else if (type != want)
		fmt_snprintf(buf, sizeof(buf), "answered %s with type 0x%x, "
			     "not 0x%x", name(le32_get(cmd)), type, want);
	else
		return 0;
	*why = buf;
	return VIRTIO_ERR_DEVICE;
}

struct setup {
	uint32_t len, resp_len, want;	/* command, answer, answer's type */
};

/* Setup commands 0 .. n-1 (command i at SETUP_SLOT * i, its answer at
 * SETUP_RESP + SETUP_SLOT * i), posted together (the device takes them
 * in order) and waited for together, at most VGPU_WAIT_US; each answer
 * must have its type. The first that fails says why. */
static int commands(struct vgpu *g, const struct setup *c, unsigned n,
		    const char **why)
{
	uint32_t used[SETUP_MAX] = { 0 };
	int got[SETUP_MAX] = { 0 };
	for (unsigned i = 0; i < n; i++) {
		uint8_t *cmd = g->page + SETUP_SLOT * i;
		uint8_t *resp = g->page + SETUP_RESP + SETUP_SLOT * i;
		struct virtq_buf b[2] = { { (uintptr_t)cmd, c[i].len, 0 },
					  { (uintptr_t)resp, c[i].resp_len, 1 } };
		memset(resp, 0, c[i].resp_len);
		if (virtq_add(&g->q, b, 2, cmd))
			return VIRTIO_ERR_QUEUE;
	}
	virtq_kick(&g->q);
	uint64_t end = time_us() + VGPU_WAIT_US;
	for (unsigned seen = 0; seen < n && time_us() < end;) {
		void *tok;
		uint32_t len;
		int r = virtq_get(&g->q, &tok, &len);
		if (!r) {
			cpu_pause();
			continue;
		}
		uint64_t at = (uint64_t)((uint8_t *)tok - g->page);
		if (r < 0 || at % SETUP_SLOT || at / SETUP_SLOT >= n ||
		    got[at / SETUP_SLOT]) {
			*why = "a used buffer that was not posted";
			return VIRTIO_ERR_DEVICE;
		}
		got[at / SETUP_SLOT] = 1;
		used[at / SETUP_SLOT] = len;
		seen++;
	}
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *cmd = g->page + SETUP_SLOT * i;
		if (!got[i]) {
			static char buf[64];
			fmt_snprintf(buf, sizeof(buf), "no answer to %s within "
				     "1 s", name(le32_get(cmd)));
			*why = buf;
			return VIRTIO_ERR_DEVICE;
		}
		int err = check(cmd, g->page + SETUP_RESP + SETUP_SLOT * i,
				used[i], c[i].want, why);
		if (err)
			return err;
	}
	return 0;
}

/* §5.7.6.7 GET_DISPLAY_INFO: the first enabled scanout's size, which
 * must be believable (at least one glyph, at most 8192 either way). */
static int display_info(struct vgpu *g, const char **why)
{
	static const struct setup info = { HDR_LEN, DISPLAY_INFO_LEN,
					   RESP_OK_DISPLAY_INFO };
	hdr(g->page, CMD_GET_DISPLAY_INFO);
	int err = commands(g, &info, 1, why);
	if (err)
		return err;
	const uint8_t *m = g->page + SETUP_RESP + HDR_LEN;
	for (int i = 0; i < MAX_SCANOUTS; i++, m += PMODE_LEN) {
		if (!le32_get(m + RECT_LEN))
			continue;		/* not enabled */
		g->disp_w = le32_get(m + 8);
		g->disp_h = le32_get(m + 12);
		static char buf[80];
		if (g->disp_w < 8 || g->disp_h < 16 || g->disp_w > 8192 ||
		    g->disp_h > 8192) {
			fmt_snprintf(buf, sizeof(buf), "display %d is %ux%u: "
				     "not believed", i, g->disp_w, g->disp_h);
			*why = buf;
			return VIRTIO_ERR_DEVICE;
		}
		return 0;
	}
	*why = "no display enabled";
	return VIRTIO_ERR_DEVICE;
}

/* §5.7.6.7 RESOURCE_CREATE_2D, RESOURCE_ATTACH_BACKING (one entry: the
 * pages are contiguous), SET_SCANOUT: one round trip for the three. */
static int resource(struct vgpu *g, const char **why)
{
	uint32_t w = g->disp_w < VGPU_MAX_WIDTH ? g->disp_w : VGPU_MAX_WIDTH;
	uint32_t h = g->disp_h < VGPU_MAX_HEIGHT ? g->disp_h : VGPU_MAX_HEIGHT;
	uint64_t bytes = (uint64_t)w * h * 4;
	g->px_pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t px = page_alloc(g->px_pages);
	*why = "out of memory for the framebuffer";
	if (!px)
		return VIRTIO_ERR_NOMEM;
	g->px = (uint8_t *)(uintptr_t)px;
	g->fb = (struct fb_desc){ px, bytes, w, h, w * 4, 0xff0000, 0xff00,
				  0xff, 0 };
	static const struct setup trio[3] = {
		{ HDR_LEN + 16, HDR_LEN, RESP_OK_NODATA },
		{ HDR_LEN + 24, HDR_LEN, RESP_OK_NODATA },
		{ HDR_LEN + RECT_LEN + 8, HDR_LEN, RESP_OK_NODATA },
	};
	uint8_t *c = g->page;
	hdr(c, CMD_RESOURCE_CREATE_2D);
	le32_put(c + HDR_LEN, RESOURCE);
	le32_put(c + HDR_LEN + 4, FORMAT_B8G8R8X8);
	le32_put(c + HDR_LEN + 8, w);
	le32_put(c + HDR_LEN + 12, h);
	c += SETUP_SLOT;
	hdr(c, CMD_RESOURCE_ATTACH_BACKING);
	le32_put(c + HDR_LEN, RESOURCE);
	le32_put(c + HDR_LEN + 4, 1);		/* nr_entries */
	le64_put(c + HDR_LEN + 8, px);		/* virtio_gpu_mem_entry */
	le32_put(c + HDR_LEN + 16, (uint32_t)bytes);
	le32_put(c + HDR_LEN + 20, 0);
	c += SETUP_SLOT;
	hdr(c, CMD_SET_SCANOUT);
	rect(c + HDR_LEN, 0, 0, w, h);
	le32_put(c + HDR_LEN + RECT_LEN, 0);		/* scanout_id */
	le32_put(c + HDR_LEN + RECT_LEN + 4, RESOURCE);
	return commands(g, trio, 3, why);
}

/* The answers to the draw pair: each must be OK_NODATA. */
static int reap(struct vgpu *g)
{
	void *tok;
	uint32_t used;
	int r;
	const char *why;
	while ((r = virtq_get(&g->q, &tok, &used)) == 1) {
		uint8_t *cmd = tok;
		if (!g->in_flight || (cmd != g->page + XFER_CMD &&
				      cmd != g->page + FLUSH_CMD)) {
			r = -1;
			break;
		}
		g->in_flight--;
		if (check(cmd, cmd + RESP_AT, used, RESP_OK_NODATA, &why)) {
			fmt_snprintf(g->describe, sizeof(g->describe),
				     "virtio-gpu %s: stopped: %s",
				     g->dev->transport_name, why);
			return -1;
		}
	}
	if (r < 0)
		fmt_snprintf(g->describe, sizeof(g->describe), "virtio-gpu %s: "
			     "stopped: a used buffer that was not posted",
			     g->dev->transport_name);
	return r < 0 ? -1 : 0;
}

/* fbcon's show: §5.7.6.7 TRANSFER_TO_HOST_2D of the rectangle (offset:
 * where its first pixel is in the backing), then RESOURCE_FLUSH of it. */
static int show(void *ctx, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	struct vgpu *g = ctx;
	if (reap(g))
		return VIRTIO_ERR_DEVICE;
	if (g->in_flight || !virtq_room(&g->q, 4))
		return FBCON_BUSY;
	uint8_t *t = g->page + XFER_CMD, *f = g->page + FLUSH_CMD;
	hdr(t, CMD_TRANSFER_TO_HOST_2D);
	rect(t + HDR_LEN, x, y, w, h);
	le64_put(t + HDR_LEN + RECT_LEN, (uint64_t)y * g->fb.stride + x * 4ull);
	le32_put(t + HDR_LEN + RECT_LEN + 8, RESOURCE);
	le32_put(t + HDR_LEN + RECT_LEN + 12, 0);
	hdr(f, CMD_RESOURCE_FLUSH);
	rect(f + HDR_LEN, x, y, w, h);
	le32_put(f + HDR_LEN + RECT_LEN, RESOURCE);
	le32_put(f + HDR_LEN + RECT_LEN + 4, 0);
	struct virtq_buf bt[2] = { { (uintptr_t)t, HDR_LEN + RECT_LEN + 16, 0 },
				   { (uintptr_t)(t + RESP_AT), HDR_LEN, 1 } };
	struct virtq_buf bf[2] = { { (uintptr_t)f, HDR_LEN + RECT_LEN + 8, 0 },
				   { (uintptr_t)(f + RESP_AT), HDR_LEN, 1 } };
	memset(t + RESP_AT, 0, HDR_LEN);
	memset(f + RESP_AT, 0, HDR_LEN);
	if (virtq_add(&g->q, bt, 2, t) || virtq_add(&g->q, bf, 2, f))
		return VIRTIO_ERR_DEVICE;	/* room was checked */
	g->in_flight = 2;
	virtq_kick(&g->q);
	return 0;
}

/* Busy while the pair is out and unanswered; polled (no vector), never:
 * show then finds out itself. */
static int busy(void *ctx)
{
	struct vgpu *g = ctx;
	return g->vec && g->in_flight && !virtq_pending(&g->q);
}

static const struct fbcon_ops vgpu_ops = { show, busy };

static int queue_irq(void *ctx)
{
	struct vgpu *g = ctx;
	return g->dev && virtq_pending(&g->q);	/* dev 0: attach gave up */
}

static int bring_up(struct vgpu *g, const char **why)
{
	int err = virtio_negotiate(g->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	*why = virtio_strerror(err);
	if (err)
		return err;
	err = virtq_init(&g->q, g->dev, 0, QUEUE_WANT);
	*why = "controlq: missing or unusable";
	if (err)
		return err;
	g->page = page_alloc_zero(1);
	*why = "out of memory";
	if (!g->page)
		return VIRTIO_ERR_NOMEM;
	if (g->dev->ops->irq)
		g->vec = g->dev->ops->irq(g->dev, 0, "gpu", queue_irq, g);
	virtio_ready(g->dev);	/* §3.1.1: commands only after DRIVER_OK */
	err = display_info(g, why);
	if (!err)
		err = resource(g, why);
	return err;
}

int vgpu_attach(struct virtio_dev *d, const char **why)
{
	struct vgpu *g = &gpu;
	if (g->dev) {
		*why = "a second virtio-gpu (one screen is driven)";
		return VIRTIO_ERR_NODEV;
	}
	memset(g, 0, sizeof(*g));
	g->dev = d;
	int err = bring_up(g, why);
	if (!err && fbcon_attach(&g->fb, "virtio-gpu", &vgpu_ops, g)) {
		err = VIRTIO_ERR_DEVICE;
		*why = "the screen console cannot use its mode";
	}
	if (err) {
		if (!virtio_give_up(d, why)) {	/* else keep its memory */
			if (g->px)
				page_free((uintptr_t)g->px, g->px_pages);
			if (g->page)
				page_free((uintptr_t)g->page, 1);
			virtq_free(&g->q);
		}
		memset(g, 0, sizeof(*g));
		return err;
	}
	if (g->vec)
		virtq_interrupts(&g->q, 1);
	fmt_snprintf(g->describe, sizeof(g->describe), "virtio-gpu %s: display "
		     "%ux%u, resource %ux%u B8G8R8X8%s", d->transport_name,
		     g->disp_w, g->disp_h, g->fb.width, g->fb.height,
		     g->vec ? "" : ", polled");
	return 0;
}

const char *vgpu_describe(void)
{
	return gpu.dev ? gpu.describe : 0;
}
