/* Fatal errors: print where, then leave with an error status. */
#ifndef UMBRA_PANIC_H
#define UMBRA_PANIC_H

/* Prints "panic: file:line: message" and exits with POWER_EXIT_PANIC. */
void panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)

/* Always on. For invariants only: never put a side effect inside. */
#define ASSERT(x)                                                   \
	do {                                                        \
		if (!(x))                                           \
			panic_at(__FILE__, __LINE__,                \
				 "assertion failed: %s", #x);       \
	} while (0)

#endif
