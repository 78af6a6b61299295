/* A minimal test harness for host suites: CHECK records a failure with
 * file:line and goes on; RUN(case) runs a case, or only the cases whose
 * name holds the program's first argument (check_args); check_done()
 * prints "N passed, N failed" and returns the exit status. */
#ifndef UMBRA_CHECK_H
#define UMBRA_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_pass, check_fail;
static const char *check_only;	/* argv[1]: run the cases named so */
static int check_ran;

/* The program's arguments: a case name (or part of one) to run alone. */
static inline void check_args(int argc, char **argv)
{
	check_only = argc > 1 ? argv[1] : 0;
}

/* Runs a case, fn(...), unless a name was given that it does not hold. */
#define RUN(fn, ...)                                                       \
	do {                                                               \
		if (!check_only || strstr(#fn, check_only)) {              \
			check_ran++;                                       \
			fn(__VA_ARGS__);                                   \
		}                                                          \
	} while (0)

#define CHECK(cond)                                                        \
	do {                                                               \
		if (cond) {                                                \
			check_pass++;                                      \
		} else {                                                   \
			check_fail++;                                      \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,      \
				__LINE__, #cond);                          \
		}                                                          \
	} while (0)

#define CHECK_STR(got, want)                                               \
	do {                                                               \
		const char *g_ = (got), *w_ = (want);                      \
		if (!strcmp(g_, w_)) {                                     \
			check_pass++;                                      \
		} else {                                                   \
			check_fail++;                                      \
			fprintf(stderr, "FAIL %s:%d: got \"%s\", want \"%s\"\n", \
				__FILE__, __LINE__, g_, w_);               \
		}                                                          \
	} while (0)

#define CHECK_INT(got, want)                                               \
	do {                                                               \
		long long g_ = (long long)(got), w_ = (long long)(want);   \
		if (g_ == w_) {                                            \
			check_pass++;                                      \
		} else {                                                   \
			check_fail++;                                      \
			fprintf(stderr, "FAIL %s:%d: %s = %lld, want %lld\n", \
				__FILE__, __LINE__, #got, g_, w_);         \
		}                                                          \
	} while (0)

static inline int check_done(void)
{
	if (check_only && !check_ran) {
		fprintf(stderr, "no case is named like \"%s\"\n", check_only);
		check_fail++;
	}
	printf("%d passed, %d failed\n", check_pass, check_fail);
	return check_fail ? 1 : 0;
}

#endif
