/* The one wait and its deadlines; see idle.h. */
#include "idle.h"

#include "cpu.h"
#include "irq.h"
#include "time.h"

static struct idle_timer *timers;	/* sorted by when_us */
static uint64_t halted;
static int (*flush_due)(uint64_t *when_us);
static void (*flush_run)(void);

void idle_set_flusher(int (*due)(uint64_t *when_us), void (*run)(void))
{
	flush_due = due;
	flush_run = run;
}

void idle_timer_add(struct idle_timer *t, uint64_t when_us,
		    void (*fn)(void *ctx), void *ctx)
{
	if (t->armed)
		idle_timer_cancel(t);
	t->when_us = when_us;
	t->fn = fn;
	t->ctx = ctx;
	t->armed = 1;
	struct idle_timer **p = &timers;
	while (*p && (*p)->when_us <= when_us)
		p = &(*p)->next;
	t->next = *p;
	*p = t;
}

void idle_timer_cancel(struct idle_timer *t)
{
	for (struct idle_timer **p = &timers; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	t->armed = 0;
}

/* Runs the timers that are due (each may add itself again). */
static void run_timers(void)
{
	uint64_t now = time_us();
	while (timers && timers->when_us <= now) {
		struct idle_timer *t = timers;
		timers = t->next;
		t->armed = 0;
		t->fn(t->ctx);
	}
}

/* Halts until an interrupt; the timer is armed for `until` (time_us).
 * Entered with interrupts off; `sti; hlt` opens the window only once
 * the CPU is halted (SDM vol. 2 STI: interrupts are recognised after the
 * next instruction). Leaves with interrupts off again. */
static void halt(uint64_t until)
{
	uint64_t t0 = cpu_rdtsc();
	irq_timer_at(until == IDLE_NEVER ? 0 : time_us_to_tsc(until));
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	halted += cpu_rdtsc() - t0;
}

int idle_wait(int (*ready)(void *ctx), void *ctx, uint64_t deadline_us)
{
	int on = irq_save();
	int result = 0;
	for (;;) {
		if (ready && ready(ctx)) {
			result = 1;
			break;
		}
		if (timers && timers->when_us <= time_us()) {
			irq_restore(on);	/* timers run like the app */
			run_timers();
			on = irq_save();
			continue;
		}
		uint64_t now = time_us();
		if (now >= deadline_us)
			break;
		uint64_t until = deadline_us;
		if (timers && timers->when_us < until)
			until = timers->when_us;
		if (flush_due && flush_due(&until)) {
			irq_restore(on);	/* drawing runs like the app */
			flush_run();
			on = irq_save();
			continue;
		}
		if (irq_ready() && on) {
			halt(until);
		} else {	/* no interrupts to wake us: poll */
			irq_restore(on);
			cpu_pause();
			on = irq_save();
		}
	}
	irq_timer_at(0);
	irq_restore(on);
	return result;
}

void idle_sleep_until(uint64_t deadline_us)
{
	idle_wait(0, 0, deadline_us);
}

uint64_t idle_halted_tsc(void)
{
	return halted;
}
