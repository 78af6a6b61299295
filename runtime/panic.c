/* panic, and the stack protector's hooks (MSVC /GS flavour on this PE
 * target: clang's -fstack-protector-strong for x86_64-windows calls
 * __security_check_cookie and reads __security_cookie, not GCC's
 * __stack_chk_fail/__stack_chk_guard). */
#include "panic.h"

#include <stdarg.h>
#include <stdint.h>

#include "console.h"
#include "cpu.h"
#include "fmt.h"
#include "power.h"
#include "random.h"

/* Overwritten by ssp_seed before any protected frame is entered. */
uintptr_t __security_cookie = 0x2b992ddfa232ull;

void __security_check_cookie(uintptr_t cookie);

static void con_sink(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	con_write(s, n);
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	con_printf("\npanic: %s:%d: ", file, line);
	va_start(ap, fmt);
	fmt_vformat(con_sink, 0, fmt, ap);
	va_end(ap);
	con_puts("\n");
	power_exit(POWER_EXIT_PANIC);
}

__attribute__((no_stack_protector)) void ssp_seed(void)
{
	/* The MSVC convention keeps the top 16 bits clear. */
	__security_cookie = random_u64() & 0x0000ffffffffffffull;
}

__attribute__((no_stack_protector)) void
__security_check_cookie(uintptr_t cookie)
{
	if (cookie != __security_cookie)
		panic("stack smashing detected (stack cookie overwritten)");
}
