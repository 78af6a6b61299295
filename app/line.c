/* The line editor; see line.h. Input is the raw byte stream of a VT100-ish
 * terminal: arrows arrive as ESC [ A / ESC [ B. */
#include "line.h"

#include <string.h>

#include "../runtime/console.h"
#include "../runtime/idle.h"
#include "../runtime/power.h"
#include "loop.h"

#define HISTORY 16
#define LINE_CAP 256

#define KEY_CTRL_C 0x03
#define KEY_BS     0x08
#define KEY_CTRL_U 0x15
#define KEY_ESC    0x1b
#define KEY_DEL    0x7f

static char history[HISTORY][LINE_CAP];
static unsigned hist_count;	/* lines ever added */
static int last_was_cr;

static int input(void *ctx)
{
	(void)ctx;
	return con_has_input();
}

/* The next byte; the CPU sleeps until it comes, and the loop's sources
 * (the network, the guest agent) run in between. LINE_POWER when the
 * power button is pressed first. */
static int getc_wait(void)
{
	int c;
	while ((c = con_getc()) < 0) {
		loop_wait(input, 0, IDLE_NEVER);
		if (power_button_pressed())
			return LINE_POWER;
	}
	return c;
}

static void erase(size_t n)
{
	for (size_t i = 0; i < n; i++)
		con_puts("\b \b");
}

/* Replaces the visible line with history entry `back` (1 = newest). */
static size_t recall(char *buf, size_t size, size_t len, unsigned back)
{
	erase(len);
	if (!back) {
		buf[0] = 0;
		return 0;
	}
	const char *h = history[(hist_count - back) % HISTORY];
	size_t n = strnlen(h, size - 1);
	memcpy(buf, h, n);
	buf[n] = 0;
	con_write(buf, n);
	return n;
}

static void remember(const char *buf, size_t len)
{
	if (!len)
		return;
	if (hist_count && !strcmp(history[(hist_count - 1) % HISTORY], buf))
		return;
	size_t n = len < LINE_CAP - 1 ? len : LINE_CAP - 1;
	memcpy(history[hist_count % HISTORY], buf, n);
	history[hist_count % HISTORY][n] = 0;
	hist_count++;
}

int line_read(const char *prompt, char *buf, size_t size)
{
	size_t len = 0;
	unsigned back = 0;	/* how far up the history we are */
	con_puts(prompt);
	for (;;) {
		int c = getc_wait();
		if (c == LINE_POWER) {
			con_puts("\n");
			return LINE_POWER;
		}
		if (c == '\n' && last_was_cr) {	/* the LF of a CR LF */
			last_was_cr = 0;
			continue;
		}
		last_was_cr = c == '\r';
		if (c == '\r' || c == '\n') {
			con_puts("\n");
			buf[len] = 0;
			remember(buf, len);
			return (int)len;
		}
		if (c == KEY_CTRL_C) {
			con_puts("^C\n");
			buf[0] = 0;
			return -1;
		}
		if (c == KEY_CTRL_U) {
			erase(len);
			len = 0;
		} else if (c == KEY_BS || c == KEY_DEL) {
			if (len) {
				erase(1);
				len--;
			}
		} else if (c == KEY_ESC) {
			if (getc_wait() != '[')
				continue;
			int k = getc_wait();
			unsigned max = hist_count < HISTORY ? hist_count : HISTORY;
			if (k == 'A' && back < max)
				len = recall(buf, size, len, ++back);
			else if (k == 'B' && back > 0)
				len = recall(buf, size, len, --back);
		} else if (c >= 0x20 && len + 1 < size) {
			buf[len++] = (char)c;
			con_write(buf + len - 1, 1);
		}
	}
}
