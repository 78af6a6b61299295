/* runtime/irq.h and idle.h for host tests: no interrupt controller (no
 * vectors to hand out), so code under test takes its polling paths;
 * idle_wait polls its check until the deadline. */
#include <stdint.h>

#include "../../runtime/idle.h"
#include "../../runtime/irq.h"
#include "../../runtime/time.h"

int irq_ready(void)
{
	return 0;
}

uint64_t irq_count(int vec)
{
	(void)vec;
	return 0;
}

int idle_wait(int (*ready)(void *ctx), void *ctx, uint64_t deadline_us)
{
	for (;;) {
		if (ready && ready(ctx))
			return 1;
		if (time_us() >= deadline_us)
			return 0;
	}
}

void idle_sleep_until(uint64_t deadline_us)
{
	idle_wait(0, 0, deadline_us);
}

uint64_t idle_halted_tsc(void)
{
	return 0;
}

int irq_save(void)
{
	return 0;
}

void irq_restore(int on)
{
	(void)on;
}

int irq_alloc(const char *name, irq_fn *fn, void *ctx)
{
	(void)name;
	(void)fn;
	(void)ctx;
	return 0;
}

void irq_set_mask_fn(int vec, void (*mask)(void *ctx), void *ctx)
{
	(void)vec;
	(void)mask;
	(void)ctx;
}

int irq_route_gsi(int vec, uint32_t gsi, int level, int active_low)
{
	(void)vec;
	(void)gsi;
	(void)level;
	(void)active_low;
	return -1;
}

int irq_route_isa(int vec, unsigned irq)
{
	(void)vec;
	(void)irq;
	return -1;
}

int irq_in_handler(void)
{
	return 0;
}

void idle_set_flusher(int (*due)(uint64_t *when_us), void (*run)(void))
{
	(void)due;
	(void)run;
}

void irq_replace(int vec, irq_fn *fn, void *ctx)
{
	(void)vec;
	(void)fn;
	(void)ctx;
}
