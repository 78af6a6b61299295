/* The application's event loop. umbra has one thread: every wait of the
 * app (the prompt's line reader, serve, net up, ping, sleep, a change
 * held while the volume is frozen) is loop_wait, and while it waits the
 * loop runs its sources: the network (lwIP), the guest agent, serve's
 * held uploads. A source says whether it has work (pending, interrupts
 * off: it only looks) and does it (run, which waits for nothing but the
 * disk and is never reentered); between rounds the CPU halts until an
 * interrupt or the earliest tick a source asks for. A source with an
 * interrupt of its own says how it waits (watch) and hears when its work
 * came without its interrupt (woke), so a lost interrupt turns it to
 * polling, as the block engine and net_wait do it. */
#ifndef UMBRA_LOOP_H
#define UMBRA_LOOP_H

#include <stdint.h>

struct loop_source {
	const char *name;
	int (*pending)(void *ctx);
	void (*run)(void *ctx);
	/* Optional, for a source with an interrupt of its own. watch: how
	 * soon (us from now) to look at it without an interrupt (0: no
	 * need), and in *irqs the count of interrupts it has taken. woke:
	 * after a wait that halted, whether that count moved (work found
	 * without it means a lost interrupt: the source says so and
	 * polls). */
	uint64_t (*watch)(void *ctx, uint64_t *irqs);
	void (*woke)(void *ctx, int irq_came);
	void *ctx;
	/* the loop's */
	struct loop_source *next;
	uint64_t irqs;
	int running;
};

/* Adds s (the caller keeps it; adding it twice is harmless), or takes
 * it out. */
void loop_add(struct loop_source *s);
void loop_remove(struct loop_source *s);

/* Runs, once each, the sources that have work (not one that is running
 * now: a source's run may reach a wait that runs the loop). */
void loop_run(void);

/* Runs the sources until ready(ctx) (interrupts off, only looks; may be
 * NULL) says so: 1; or 0 at deadline_us, or at once when the power
 * button was pressed (or the agent asked for a shutdown): every wait
 * ends there. */
int loop_wait(int (*ready)(void *ctx), void *ctx, uint64_t deadline_us);

/* Nonzero while a source runs: a wait there cannot run the loop (the
 * storage's gate refuses rather than waits). */
int loop_inside(void);

#endif
