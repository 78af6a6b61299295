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
/* The same in microseconds (0 when there is no sane clock). */
uint64_t rtc_now_us(void);

/* Sets the clock (the guest agent's guest-set-time): rtc_now counts from
 * unix_us on, and the CMOS clock is written (UTC, whole seconds) so that
 * the next boot reads it too. rtc_init reads the CMOS clock again. */
void rtc_set_us(uint64_t unix_us);

/* "YYYY-MM-DDTHH:MM:SSZ" (ISO 8601, UTC) of Unix seconds into out. */
void rtc_iso(uint64_t unix_s, char out[24]);

#endif
