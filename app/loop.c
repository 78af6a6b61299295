/* The event loop; see loop.h. */
#include "loop.h"

#include "../runtime/idle.h"
#include "../runtime/irq.h"
#include "../runtime/power.h"
#include "../runtime/time.h"

static struct loop_source *sources;
static int inside;		/* sources running now (nested waits) */

void loop_add(struct loop_source *s)
{
	for (struct loop_source *p = sources; p; p = p->next)
		if (p == s)
			return;
	s->next = sources;
	s->running = 0;
	sources = s;
}

void loop_remove(struct loop_source *s)
{
	for (struct loop_source **p = &sources; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			return;
		}
}

int loop_inside(void)
{
	return inside;
}

/* Interrupts off. */
static int has_work(struct loop_source *s)
{
	return !s->running && s->pending(s->ctx);
}

void loop_run(void)
{
	struct loop_source *next;
	for (struct loop_source *s = sources; s; s = next) {
		next = s->next;	/* s may take itself out */
		int on = irq_save();
		int work = has_work(s);
		irq_restore(on);
		if (!work)
			continue;
		s->running = 1;
		inside++;
		s->run(s->ctx);
		inside--;
		s->running = 0;
	}
}

struct wake {
	int (*ready)(void *ctx);
	void *ctx;
};

/* idle_wait's check, interrupts off. */
static int woken(void *ctx)
{
	struct wake *w = ctx;
	if (power_button_pressed() || (w->ready && w->ready(w->ctx)))
		return 1;
	for (struct loop_source *s = sources; s; s = s->next)
		if (has_work(s))
			return 1;
	return 0;
}

/* One halted wait, until an interrupt, a source's tick or the deadline;
 * then each watching source hears whether its interrupt came meanwhile
 * (one pending at the wake was taken when idle_wait turned interrupts
 * back on, before the counts are read). */
static void halt_once(struct wake *w, uint64_t deadline_us)
{
	uint64_t now = time_us(), until = deadline_us;
	for (struct loop_source *s = sources; s; s = s->next) {
		uint64_t tick = s->watch ? s->watch(s->ctx, &s->irqs) : 0;
		if (tick && now + tick < until)
			until = now + tick;
	}
	uint64_t slept = idle_halted_tsc();
	idle_wait(woken, w, until);
	if (idle_halted_tsc() == slept)
		return;
	for (struct loop_source *s = sources; s; s = s->next) {
		uint64_t irqs = 0;
		if (!s->watch || !s->woke || s->running)
			continue;
		s->watch(s->ctx, &irqs);
		s->woke(s->ctx, irqs != s->irqs);
	}
}

int loop_wait(int (*ready)(void *ctx), void *ctx, uint64_t deadline_us)
{
	struct wake w = { ready, ctx };
	for (;;) {
		loop_run();
		int on = irq_save();
		int done = ready && ready(ctx);
		irq_restore(on);
		if (done)
			return 1;
		if (power_button_pressed() || time_us() >= deadline_us)
			return 0;
		halt_once(&w, deadline_us);
	}
}
