/* The one wait, and the deadlines that wake it. Every wait in umbra
 * (console input, a block request in interrupt mode, `sleep`, a network
 * poll) is idle_wait: it checks its condition with interrupts off, and
 * when it is not met arms the local APIC timer for the earliest deadline
 * and halts (`sti; hlt`, which cannot miss an interrupt that arrives
 * between the check and the halt). When nothing is pending the CPU
 * sleeps. Without a local APIC it polls instead. */
#ifndef UMBRA_IDLE_H
#define UMBRA_IDLE_H

#include <stdint.h>

#define IDLE_NEVER UINT64_MAX

/* Returns 1 as soon as ready(ctx) is true (ready runs with interrupts
 * disabled and must not wait), 0 once time_us() passes deadline_us.
 * Expired timers run in between. */
int idle_wait(int (*ready)(void *ctx), void *ctx, uint64_t deadline_us);

/* Halts until deadline_us. */
void idle_sleep_until(uint64_t deadline_us);

/* A deadline that runs fn(ctx) from the waiting loop (never from an
 * interrupt handler) once time_us() reaches when_us. The caller owns the
 * struct; add it again to repeat. */
struct idle_timer {
	uint64_t when_us;
	void (*fn)(void *ctx);
	void *ctx;
	struct idle_timer *next;
	int armed;
};
void idle_timer_add(struct idle_timer *t, uint64_t when_us,
		    void (*fn)(void *ctx), void *ctx);
void idle_timer_cancel(struct idle_timer *t);

/* Work the wait does before it halts (the screen console's drawing):
 * due(&when) runs with interrupts off and only looks; it returns nonzero
 * when run() should be called now, else may lower *when (time_us) to
 * when it will be due, which then wakes the wait. One flusher. */
void idle_set_flusher(int (*due)(uint64_t *when_us), void (*run)(void));

/* TSC ticks spent halted since boot (the busy share is the rest). */
uint64_t idle_halted_tsc(void);

#endif
