/* Console output and input; see console.h. */
#include "console.h"

#include <stdarg.h>

#include "cpu.h"
#include "fbcon.h"
#include "irq.h"
#include "fmt.h"

#define COM1      0x3f8
/* 16550 registers (offsets from the base), per the PC16550D data sheet. */
#define UART_DATA 0	/* r: RBR, w: THR; DLL when DLAB=1 */
#define UART_IER  1	/* interrupt enable; DLM when DLAB=1 */
#define UART_FCR  2	/* w: FIFO control */
#define UART_LCR  3	/* line control; bit 7 = DLAB */
#define UART_MCR  4	/* modem control */
#define UART_LSR  5	/* line status */
#define LSR_DR    0x01	/* data ready */
#define LSR_THRE  0x20	/* transmit holding register empty */
#define UART_SPIN 100000 /* bounded wait for THRE (~1 char time at worst) */
#define IER_RX    0x01	/* interrupt when a byte has arrived */
#define MCR_DTR_RTS 0x03
#define MCR_OUT2  0x08
#define COM1_IRQ  4
#define RING      256

static efi_text_out *efi_out;

void con_use_efi(efi_text_out *out)
{
	efi_out = out;
}

void con_uart_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80);	/* DLAB: divisor follows */
	outb(COM1 + UART_DATA, 1);	/* 115200 = 1.8432 MHz / 16 / 1 */
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, 0x03);	/* 8 data bits, no parity, 1 stop */
	outb(COM1 + UART_FCR, 0x07);	/* enable and clear FIFOs */
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

static void uart_putc(char c)
{
	/* No hang if the UART is absent (reads as 0xff: THRE set) or stuck. */
	for (int i = 0; i < UART_SPIN; i++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1 + UART_DATA, (uint8_t)c);
}

static void efi_write(const char *s, size_t n)
{
	efi_char16 buf[64];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			buf[k++] = '\r';
		buf[k++] = (uint8_t)s[i];
		if (k >= 62 || i + 1 == n) {
			buf[k] = 0;
			efi_out->output_string(efi_out, buf);
			k = 0;
		}
	}
}

void con_write(const char *s, size_t n)
{
	if (efi_out) {
		efi_write(s, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
	fbcon_write(s, n);
}

void con_flush(void)
{
	fbcon_flush();
}

void con_puts(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	con_write(s, n);
}

static void con_sink(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	con_write(s, n);
}

int con_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vformat(con_sink, 0, fmt, ap);
	va_end(ap);
	return n;
}

/* Bytes the receive interrupt took from the UART and the keyboards'
 * bytes, for con_getc. */
static uint8_t ring[RING];
static volatile unsigned ring_head, ring_tail;
static int uart_irq_on;		/* its handler fills the ring */
static uint64_t uart_polled;	/* TSC at the last look at LSR */

static int uart_byte(void)
{
	uint8_t lsr = inb(COM1 + UART_LSR);
	if (lsr == 0xff || !(lsr & LSR_DR))
		return -1;
	return inb(COM1 + UART_DATA);
}

/* IRQ 4: drain the receiver (reading RBR clears the interrupt). */
static int uart_irq(void *ctx)
{
	(void)ctx;
	int c, got = 0;
	while ((c = uart_byte()) >= 0) {
		got = 1;
		if (ring_head - ring_tail < RING)
			ring[ring_head++ % RING] = (uint8_t)c;
	}
	return got;
}

/* Interrupts off (a handler or con_getc). A full queue drops the rest. */
void con_input(const char *s, size_t n)
{
	for (size_t i = 0; i < n && ring_head - ring_tail < RING; i++)
		ring[ring_head++ % RING] = (uint8_t)s[i];
}

static struct con_source *sources;

void con_add_source(struct con_source *src)
{
	struct con_source **p = &sources;
	while (*p)
		p = &(*p)->next;
	src->next = 0;
	*p = src;
}

const struct con_source *con_source_get(unsigned i)
{
	const struct con_source *s = sources;
	while (s && i--)
		s = s->next;
	return s;
}

/* Interrupts off: the keyboards' events into the queue. */
static void drain_sources(void)
{
	for (struct con_source *s = sources; s; s = s->next)
		if (s->pending(s->ctx))
			s->drain(s->ctx);
}

void con_irq_init(void)
{
	int vec = irq_alloc("com1", uart_irq, 0);
	if (!vec || irq_route_isa(vec, COM1_IRQ))
		return;
	/* OUT2 gates the UART's interrupt line on PC hardware. */
	outb(COM1 + UART_MCR, MCR_DTR_RTS | MCR_OUT2);
	outb(COM1 + UART_IER, IER_RX);
	uart_irq_on = 1;
}

/* Every wait asks this before it halts, and a port read is a trip out
 * of the guest (under TCG, one that waits for QEMU's lock): with the
 * UART's interrupt filling the ring, the port itself is looked at only
 * every UART_POLL_TSC (in case the interrupt got lost). */
#define UART_POLL_TSC (1ull << 24)	/* ~8 ms at 2 GHz */

int con_has_input(void)
{
	if (ring_head != ring_tail)
		return 1;
	for (struct con_source *s = sources; s; s = s->next)
		if (s->pending(s->ctx))
			return 1;
	uint64_t now = cpu_rdtsc();
	if (uart_irq_on && now - uart_polled < UART_POLL_TSC)
		return 0;
	uart_polled = now;
	uint8_t lsr = inb(COM1 + UART_LSR);
	return lsr != 0xff && (lsr & LSR_DR);
}

int con_getc(void)
{
	int on = irq_save();
	if (ring_head == ring_tail)
		drain_sources();
	int c = ring_head != ring_tail ? ring[ring_tail++ % RING]
				       : uart_byte();
	irq_restore(on);
	return c;
}
