/* Line editing on the serial console: backspace, Ctrl-U (erase line),
 * Ctrl-C (drop the line), and history on the up/down arrow keys. */
#ifndef UMBRA_LINE_H
#define UMBRA_LINE_H

#include <stddef.h>

/* Prints prompt and reads one line into buf (NUL-terminated, at most
 * size-1 bytes). Returns its length, or -1 when Ctrl-C dropped it. Non-empty
 * lines go into the history. */
int line_read(const char *prompt, char *buf, size_t size);

#endif
