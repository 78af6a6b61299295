/* runtime/console.h for host tests: what the code under test prints is
 * kept in hostcon_log (so tests can check what was said) and echoed to
 * stdout. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/console.h"
#include "../../runtime/fmt.h"
#include "hostcon.h"

char hostcon_log[HOSTCON_MAX];
static size_t used;

void hostcon_clear(void)
{
	used = 0;
	hostcon_log[0] = 0;
}

void con_use_efi(efi_text_out *out)
{
	(void)out;
}

void con_uart_init(void)
{
}

void con_write(const char *s, size_t n)
{
	fwrite(s, 1, n, stdout);
	if (n > HOSTCON_MAX - 1 - used)
		n = HOSTCON_MAX - 1 - used;
	memcpy(hostcon_log + used, s, n);
	used += n;
	hostcon_log[used] = 0;
}

void con_puts(const char *s)
{
	con_write(s, strlen(s));
}

static void sink(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	con_write(s, n);
}

int con_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vformat(sink, 0, fmt, ap);
	va_end(ap);
	return n;
}

int con_getc(void)
{
	return -1;
}

void con_irq_init(void)
{
}

int con_has_input(void)
{
	return 0;
}
