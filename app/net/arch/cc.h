/* lwIP's compiler and platform port (lwIP doc/sys_arch.txt, "cc.h"):
 * freestanding types, no inttypes.h or ctype.h, diagnostics on umbra's
 * console, assertions as panics, randomness from runtime/random.h. */
#ifndef UMBRA_LWIP_ARCH_CC_H
#define UMBRA_LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

#include "../../../runtime/console.h"
#include "../../../runtime/panic.h"
#include "../../../runtime/random.h"

/* printf formats for lwIP's own diagnostics (umbra's fmt.c). */
#define LWIP_NO_INTTYPES_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#define LWIP_NO_CTYPE_H 1

#define LWIP_PLATFORM_DIAG(x) do { con_printf x; } while (0)
/* A failed LWIP_ASSERT: panic expands where lwIP asserts, so the
 * message names lwIP's file and line. */
#define LWIP_PLATFORM_ASSERT(x) panic("lwIP: assertion failed: %s", x)

#define LWIP_RAND() ((u32_t)random_u64())

/* x86-64 is little-endian: the byte swaps as single instructions. */
#define lwip_htons(x) __builtin_bswap16(x)
#define lwip_htonl(x) __builtin_bswap32(x)

#endif
