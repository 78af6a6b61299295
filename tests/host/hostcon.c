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

/* Keyboards: the bytes their drains queue, kept for the test. */
char hostcon_input[HOSTCON_INPUT_MAX];
size_t hostcon_input_len;
struct con_source *hostcon_sources;

void con_input(const char *s, size_t n)
{
	if (n > HOSTCON_INPUT_MAX - 1 - hostcon_input_len)
		n = HOSTCON_INPUT_MAX - 1 - hostcon_input_len;
	memcpy(hostcon_input + hostcon_input_len, s, n);
	hostcon_input_len += n;
	hostcon_input[hostcon_input_len] = 0;
}

void con_add_source(struct con_source *src)
{
	src->next = hostcon_sources;
	hostcon_sources = src;
}

void con_flush(void)
{
}
