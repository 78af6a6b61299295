/* The console: UEFI ConOut until ExitBootServices, then the 16550 UART on
 * COM1 (115200 8N1) and, when there is a screen, the screen console
 * (fbcon.h). Input: the UART and the keyboards (con_source), into one
 * queue that the line editor reads with con_getc. */
#ifndef UMBRA_CONSOLE_H
#define UMBRA_CONSOLE_H

#include <stddef.h>

#include "uefi.h"

/* Routes output to UEFI ConOut (non-NULL) or to the UART (NULL). */
void con_use_efi(efi_text_out *out);

/* Programs COM1 for 115200 8N1 with FIFOs. */
void con_uart_init(void);

void con_write(const char *s, size_t n);
void con_puts(const char *s);
int con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Draws what the screen console holds back (before power-off). */
void con_flush(void);

/* Returns the next byte received (UART or a keyboard), or -1 when none is
 * waiting. */
int con_getc(void);

/* A keyboard, as the console sees it: pending (interrupts off, only
 * looks) says its device has events; drain (interrupts off) turns them
 * into bytes with con_input. Registered once, never removed; the driver
 * owns the struct. */
struct con_source {
	const char *name;	/* "PS/2 keyboard", "virtio-keyboard" */
	int (*pending)(void *ctx);
	void (*drain)(void *ctx);
	void *ctx;
	struct con_source *next;
};
void con_add_source(struct con_source *src);

/* The i-th registered source, or NULL. */
const struct con_source *con_source_get(unsigned i);

/* Bytes typed, queued for con_getc (interrupts off; from a drain). */
void con_input(const char *s, size_t n);

/* Turns on the UART's receive interrupt (ISA IRQ 4): bytes are kept
 * until con_getc and wake the idle loop. After irq_init. */
void con_irq_init(void);

/* Nonzero when con_getc would return a byte. */
int con_has_input(void);

#endif
