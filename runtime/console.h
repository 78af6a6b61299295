/* The console: UEFI ConOut until ExitBootServices, then the 16550 UART on
 * COM1 (115200 8N1). Output only goes one place at a time. */
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

/* Returns the next byte received on the UART, or -1 when none is waiting. */
int con_getc(void);

/* Turns on the UART's receive interrupt (ISA IRQ 4): bytes are kept
 * until con_getc and wake the idle loop. After irq_init. */
void con_irq_init(void);

/* Nonzero when con_getc would return a byte. */
int con_has_input(void);

#endif
