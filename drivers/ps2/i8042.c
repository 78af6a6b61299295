/* The i8042 keyboard controller and a PS/2 keyboard; see i8042.h. Ports
 * and bits from the IBM PC/AT Technical Reference (8042 interface) as
 * every PC keeps them; scancodes: set 1, which the controller produces
 * from the keyboard's set 2 when translation (configuration bit 6) is on,
 * as firmware leaves it. Set 1's codes for the main block are the key
 * numbers runtime/kbd.h takes; E0-prefixed keys are mapped below. */
#include "i8042.h"

#include "../../runtime/console.h"
#include "../../runtime/cpu.h"
#include "../../runtime/irq.h"
#include "../../runtime/kbd.h"
#include "../../runtime/time.h"

#define DATA 0x60		/* r: output buffer; w: to the keyboard */
#define STATUS 0x64		/* r: status */
#define COMMAND 0x64		/* w: controller command */
#define ST_OBF 0x01		/* a byte waits in the output buffer */
#define ST_IBF 0x02		/* the controller has not taken our byte */
#define ST_AUX 0x20		/* the waiting byte is the mouse's */
#define C_READ_CFG 0x20
#define C_WRITE_CFG 0x60
#define CFG_KBD_IRQ 0x01	/* IRQ 1 when a keyboard byte arrives */
#define CFG_AUX_IRQ 0x02	/* IRQ 12 for the mouse */
#define CFG_KBD_OFF 0x10	/* keyboard clock disabled */
#define CFG_XLATE 0x40		/* set 2 -> set 1 translation */
#define K_ENABLE 0xf4		/* keyboard: start scanning */
#define K_ACK 0xfa
#define K_RESEND 0xfe
#define PREFIX_E0 0xe0
#define PREFIX_E1 0xe1		/* Pause: E1 1D 45 E1 9D C5 */
#define BREAK 0x80
#define IRQ_KBD 1
#define WAIT_US 20000		/* the controller answers within this */
#define FLUSH_MAX 32		/* stale bytes dropped at the probe */

static struct {
	struct kbd kbd;
	struct con_source src;
	uint8_t e0, skip;
	const char *desc;
} ps2;

/* E0-prefixed set-1 codes to key numbers (linux/input-event-codes.h). */
static unsigned extended(uint8_t code)
{
	switch (code) {
	case 0x1c: return 96;	/* KP Enter */
	case 0x1d: return 97;	/* right Ctrl */
	case 0x35: return 98;	/* KP / */
	case 0x38: return 100;	/* right Alt */
	case 0x47: return 102;	/* Home */
	case 0x48: return KBD_KEY_UP;
	case 0x49: return 104;	/* Page Up */
	case 0x4b: return KBD_KEY_LEFT;
	case 0x4d: return KBD_KEY_RIGHT;
	case 0x4f: return 107;	/* End */
	case 0x50: return KBD_KEY_DOWN;
	case 0x51: return 109;	/* Page Down */
	case 0x52: return 110;	/* Insert */
	case 0x53: return 111;	/* Delete */
	default: return 0;	/* E0 2A and the like: fake shifts */
	}
}

static void scancode(uint8_t b)
{
	if (ps2.skip) {
		ps2.skip--;
		return;
	}
	if (b == PREFIX_E0) {
		ps2.e0 = 1;
		return;
	}
	if (b == PREFIX_E1) {
		ps2.skip = 5;
		return;
	}
	if (b == K_ACK || b == K_RESEND || b == 0x00 || b == 0xff)
		return;		/* answers and error codes, not keys */
	unsigned code = b & ~BREAK;
	if (ps2.e0) {
		ps2.e0 = 0;
		code = extended((uint8_t)code);
		if (!code)
			return;
	}
	kbd_key(&ps2.kbd, code, !(b & BREAK));
}

static int pending(void *ctx)
{
	(void)ctx;
	return (inb(STATUS) & (ST_OBF | ST_AUX)) == ST_OBF;
}

/* Everything waiting; the mouse's bytes (if any come) are dropped. */
static void drain(void *ctx)
{
	(void)ctx;
	for (int i = 0; i < FLUSH_MAX; i++) {
		uint8_t st = inb(STATUS);
		if (!(st & ST_OBF))
			return;
		uint8_t b = inb(DATA);
		if (!(st & ST_AUX))
			scancode(b);
	}
}

/* IRQ 1: the byte stays in the controller until drain (con_getc). */
static int kbd_irq(void *ctx)
{
	return pending(ctx);
}

static int wait_status(uint8_t mask, uint8_t want)
{
	uint64_t end = time_us() + WAIT_US;
	while ((inb(STATUS) & mask) != want)
		if (time_us() > end)
			return -1;
	return 0;
}

static int write_port(uint16_t port, uint8_t v)
{
	if (wait_status(ST_IBF, 0))
		return -1;
	outb(port, v);
	return 0;
}

static int read_data(void)
{
	return wait_status(ST_OBF, ST_OBF) ? -1 : inb(DATA);
}

int i8042_probe(const char **why)
{
	*why = "no i8042 (nothing at port 0x64)";
	if (inb(STATUS) == 0xff)
		return -1;
	for (int i = 0; i < FLUSH_MAX && (inb(STATUS) & ST_OBF); i++)
		(void)inb(DATA);
	*why = "the i8042 does not answer";
	int cfg = write_port(COMMAND, C_READ_CFG) ? -1 : read_data();
	if (cfg < 0)
		return -1;
	ps2.desc = cfg & CFG_XLATE ? "set 2 translated to set 1"
		   : "set 2 translated to set 1 (translation turned on)";
	cfg = (cfg | CFG_KBD_IRQ | CFG_XLATE) & ~(CFG_KBD_OFF | CFG_AUX_IRQ);
	if (write_port(COMMAND, C_WRITE_CFG) || write_port(DATA, (uint8_t)cfg))
		return -1;
	/* Firmware may have stopped the keyboard; no answer: none there.
	 * A key pressed just then may come before the answer. */
	*why = "no keyboard on the i8042";
	if (write_port(DATA, K_ENABLE))
		return -1;
	int b = -1;
	for (int i = 0; i < 4 && b != K_ACK; i++)
		if ((b = read_data()) < 0)
			return -1;
	if (b != K_ACK)
		return -1;
	*why = "no interrupt vector for IRQ 1";
	int vec = irq_alloc("ps2-kbd", kbd_irq, 0);
	if (!vec || irq_route_isa(vec, IRQ_KBD))
		return -1;
	ps2.src = (struct con_source){ "PS/2 keyboard", pending, drain, 0, 0 };
	con_add_source(&ps2.src);
	*why = 0;
	return 0;
}

const char *i8042_describe(void)
{
	return ps2.desc;
}
