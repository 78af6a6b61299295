/* The US layout; see kbd.h. */
#include "kbd.h"

#include "console.h"

#define KEY_LEFTCTRL 29
#define KEY_LEFTSHIFT 42
#define KEY_RIGHTSHIFT 54
#define KEY_CAPSLOCK 58
#define KEY_KP7 71		/* the keypad, 71 .. 83, as digits */
#define KEY_KPDOT 83
#define KEY_KPENTER 96
#define KEY_RIGHTCTRL 97
#define KEY_KPSLASH 98
#define MAIN_KEYS 58		/* codes 0 .. 57 in the tables */

/* Codes 0 .. 57 (KEY_ESC = 1 ... KEY_SPACE = 57); 0: no character. */
#define PLAIN "\0\0331234567890-=\177\tqwertyuiop[]\r\0asdfghjkl;'`\0\\" \
	      "zxcvbnm,./\0*\0 "
#define SHIFTED "\0\033!@#$%^&*()_+\177\tQWERTYUIOP{}\r\0ASDFGHJKL:\"~\0|" \
		"ZXCVBNM<>?\0*\0 "
_Static_assert(sizeof(PLAIN) == MAIN_KEYS + 1 &&
	       sizeof(SHIFTED) == MAIN_KEYS + 1, "one byte per key");
static const char plain[MAIN_KEYS] = PLAIN;
static const char shifted[MAIN_KEYS] = SHIFTED;
static const char keypad[KEY_KPDOT - KEY_KP7 + 1] = "789-456+1230.";

static int modifier(struct kbd *k, unsigned code, int down)
{
	uint8_t bit;
	switch (code) {
	case KEY_LEFTSHIFT: case KEY_RIGHTSHIFT:
		bit = code == KEY_LEFTSHIFT ? 1 : 2;
		k->shift = (uint8_t)(down ? k->shift | bit : k->shift & ~bit);
		return 1;
	case KEY_LEFTCTRL: case KEY_RIGHTCTRL:
		bit = code == KEY_LEFTCTRL ? 1 : 2;
		k->ctrl = (uint8_t)(down ? k->ctrl | bit : k->ctrl & ~bit);
		return 1;
	case KEY_CAPSLOCK:
		if (down == 1)
			k->caps ^= 1;
		return 1;
	}
	return 0;
}

static char character(const struct kbd *k, unsigned code)
{
	if (code < MAIN_KEYS) {
		char c = plain[code];
		int letter = c >= 'a' && c <= 'z';
		int up = (k->shift != 0) ^ (letter && k->caps);
		return up ? shifted[code] : c;
	}
	if (code >= KEY_KP7 && code <= KEY_KPDOT)
		return keypad[code - KEY_KP7];
	if (code == KEY_KPENTER)
		return '\r';
	if (code == KEY_KPSLASH)
		return '/';
	return 0;
}

void kbd_key(struct kbd *k, unsigned code, int down)
{
	if (code > KBD_KEY_MAX || modifier(k, code, down) || !down)
		return;
	const char *seq = 0;
	switch (code) {
	case KBD_KEY_UP: seq = "\033[A"; break;
	case KBD_KEY_DOWN: seq = "\033[B"; break;
	case KBD_KEY_RIGHT: seq = "\033[C"; break;
	case KBD_KEY_LEFT: seq = "\033[D"; break;
	}
	if (seq) {
		con_input(seq, 3);
		k->keys++;
		return;
	}
	char c = character(k, code);
	if (!c)
		return;
	if (k->ctrl && c >= 0x40 && c < 0x7f)
		c = (char)(c & 0x1f);	/* Ctrl-C is 3, as on the serial line */
	con_input(&c, 1);
	k->keys++;
}
