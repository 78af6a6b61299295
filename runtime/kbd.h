/* Keyboards to console bytes: key numbers as Linux's input layer numbers
 * them (linux/input-event-codes.h: KEY_A = 30 ..., equal to the PC's
 * scancode set 1 for the main block), a US layout, Shift, Ctrl and Caps
 * Lock, and the arrows as a VT100 sends them (ESC [ A ...), so that the
 * line editor sees a keyboard as it sees the serial line. Each keyboard
 * driver (drivers/ps2, virtio-input) keeps a struct kbd and hands it its
 * key events; the bytes go into the console's input queue. */
#ifndef UMBRA_KBD_H
#define UMBRA_KBD_H

#include <stdint.h>

#define KBD_KEY_UP 103
#define KBD_KEY_LEFT 105
#define KBD_KEY_RIGHT 106
#define KBD_KEY_DOWN 108
#define KBD_KEY_MAX 0x2ff	/* KEY_MAX: larger numbers are nobody's */

/* One keyboard's modifiers. Zeroed: none held, Caps Lock off. */
struct kbd {
	uint8_t shift, ctrl, caps;
	uint64_t keys;		/* presses that made bytes */
};

/* Key `code` went down (down = 1, or 2 for an autorepeat) or up (0):
 * modifiers change, a character or sequence goes to con_input. Unknown
 * keys are ignored. */
void kbd_key(struct kbd *k, unsigned code, int down);

#endif
