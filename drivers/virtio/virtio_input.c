/* virtio-input; see virtio_input.h. §5.8.2: eventq 0 (device-writable
 * buffers of one struct virtio_input_event each), statusq 1 (LEDs; not
 * set up). §5.8.4: the configuration is a window chosen by writing
 * select and subsel, then reading size and the union at offset 8. */
#include "virtio_input.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/console.h"
#include "../../runtime/fmt.h"
#include "../../runtime/kbd.h"
#include "../../runtime/le.h"
#include "../../runtime/page.h"
#include "virtq.h"

#define CFG_SELECT 0		/* u8 */
#define CFG_SUBSEL 1		/* u8 */
#define CFG_SIZE 2		/* u8 */
#define CFG_UNION 8		/* string or bitmap, up to 128 bytes */
#define CFG_UNION_MAX 128
#define SEL_ID_NAME 0x01
#define SEL_EV_BITS 0x11
/* linux/input-event-codes.h, which §5.8.6.1 refers to */
#define EV_KEY 1
#define KEY_ENTER 28
#define KEY_A 30
#define KEY_Z 44

/* §5.8.6: struct virtio_input_event { le16 type; le16 code; le32 value } */
#define EVENT_LEN 8
#define EVENTS 64		/* buffers posted */
#define QUEUE_WANT 64

struct vinput {
	struct virtio_dev *dev;
	struct virtq q;
	uint8_t *events;	/* EVENTS * EVENT_LEN, one page */
	struct kbd kbd;
	struct con_source src;
	char describe[96];
};

static struct vinput *keyboards[VINPUT_MAX];
static unsigned nkeyboards;

/* §5.8.4: the window select/subsel; returns its size, copies it out. */
static unsigned config(struct virtio_dev *d, uint8_t select, uint8_t subsel,
		       uint8_t *out)
{
	uint8_t sel[2] = { select, subsel }, size = 0;
	d->ops->write_config(d, CFG_SELECT, sel, 2);
	d->ops->read_config(d, CFG_SIZE, &size, 1);
	if (size > CFG_UNION_MAX)
		size = CFG_UNION_MAX;
	memset(out, 0, CFG_UNION_MAX);
	d->ops->read_config(d, CFG_UNION, out, size);
	return size;
}

static int has_key(const uint8_t *bits, unsigned size, unsigned code)
{
	return code / 8 < size && (bits[code / 8] >> (code % 8)) & 1;
}

/* A keyboard has the letters and Enter among its EV_KEY codes (a
 * tablet or a mouse has buttons only). */
static int is_keyboard(struct virtio_dev *d)
{
	uint8_t bits[CFG_UNION_MAX];
	unsigned n = config(d, SEL_EV_BITS, EV_KEY, bits);
	return has_key(bits, n, KEY_A) && has_key(bits, n, KEY_Z) &&
	       has_key(bits, n, KEY_ENTER);
}

static int post(struct vinput *v, uint8_t *ev)
{
	struct virtq_buf b = { (uintptr_t)ev, EVENT_LEN, 1 };
	return virtq_add(&v->q, &b, 1, ev);
}

static int pending(void *ctx)
{
	return virtq_pending(&((struct vinput *)ctx)->q);
}

/* The events the device wrote, into key presses; every buffer goes
 * back. An event shorter than its struct, or a buffer never posted,
 * is dropped. */
static void drain(void *ctx)
{
	struct vinput *v = ctx;
	void *tok;
	uint32_t len;
	for (unsigned n = 0; n < EVENTS; n++) {
		int r = virtq_get(&v->q, &tok, &len);
		if (r <= 0)
			break;
		uint8_t *ev = tok;
		if (len >= EVENT_LEN && le16_get(ev) == EV_KEY)
			kbd_key(&v->kbd, le16_get(ev + 2), (int)le32_get(ev + 4));
		post(v, ev);
	}
	virtq_kick(&v->q);
}

static int queue_irq(void *ctx)
{
	return pending(ctx);
}

static int bring_up(struct vinput *v, const char **why)
{
	struct virtio_dev *d = v->dev;
	int err = virtio_negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	*why = virtio_strerror(err);
	if (err)
		return err;
	*why = "not a keyboard";
	if (!d->ops->write_config || !is_keyboard(d))
		return VIRTIO_ERR_NODEV;
	err = virtq_init(&v->q, d, 0, QUEUE_WANT);
	*why = "eventq: missing or unusable";
	if (err)
		return err;
	v->events = page_alloc_zero(1);
	*why = "out of memory";
	if (!v->events)
		return VIRTIO_ERR_NOMEM;
	for (unsigned i = 0; i < EVENTS && i < v->q.size; i++)
		if (post(v, v->events + i * EVENT_LEN))
			return VIRTIO_ERR_QUEUE;
	*why = "no interrupt (a keyboard must wake the idle loop)";
	if (!d->ops->irq || !d->ops->irq(d, 0, "keyboard", queue_irq, v))
		return VIRTIO_ERR_DEVICE;
	virtq_interrupts(&v->q, 1);
	return 0;
}

int vinput_attach(struct virtio_dev *d, const char **why)
{
	*why = "more keyboards than driven";
	if (nkeyboards >= VINPUT_MAX)
		return VIRTIO_ERR_NODEV;
	struct vinput *v = calloc(1, sizeof(*v));
	*why = "out of memory";
	if (!v)
		return VIRTIO_ERR_NOMEM;
	v->dev = d;
	int err = bring_up(v, why);
	if (err) {
		if (virtio_give_up(d, why))	/* it may still write: keep it */
			return VIRTIO_ERR_RESET;
		if (v->events)
			page_free((uintptr_t)v->events, 1);
		virtq_free(&v->q);
		free(v);
		return err;
	}
	uint8_t name[CFG_UNION_MAX + 1];
	unsigned n = config(d, SEL_ID_NAME, 0, name);
	name[n] = 0;
	n = (unsigned)strlen((char *)name);	/* some count the NUL */
	for (unsigned i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e)
			name[i] = '?';
	fmt_snprintf(v->describe, sizeof(v->describe), "virtio-input %s: %s",
		     d->transport_name, n ? (char *)name : "keyboard");
	v->src = (struct con_source){ "virtio keyboard", pending, drain, v, 0 };
	virtio_ready(d);
	virtq_kick(&v->q);	/* §3.1.1: only after DRIVER_OK */
	con_add_source(&v->src);
	keyboards[nkeyboards++] = v;
	return 0;
}

const char *vinput_describe(unsigned i)
{
	return i < nkeyboards ? keyboards[i]->describe : 0;
}
