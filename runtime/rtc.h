/* The CMOS real-time clock (MC146818, ports 0x70/0x71): wall-clock time
 * for file timestamps. */
#ifndef UMBRA_RTC_H
#define UMBRA_RTC_H

#include <stdint.h>

/* Reads the clock once (at most ~2 ms spent waiting for an update to
 * pass); 0 when there is no sane clock. */
void rtc_init(void);

/* Unix seconds: the clock at rtc_init plus the time since. */
uint64_t rtc_now(void);

#endif
