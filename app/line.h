/* Line editing on the serial console: backspace, Ctrl-U (erase line),
 * Ctrl-C (drop the line), and history on the up/down arrow keys. */
#ifndef UMBRA_LINE_H
#define UMBRA_LINE_H

#include <stddef.h>

#define LINE_POWER (-2)

/* Prints prompt and reads one line into buf (NUL-terminated, at most
 * size-1 bytes); the CPU sleeps between keys, and the app's loop runs
 * its sources (app/loop.h). Returns its length, -1 when
 * Ctrl-C dropped it, or LINE_POWER when the power button was pressed.
 * Non-empty lines go into the history. */
int line_read(const char *prompt, char *buf, size_t size);

#endif
