/* CMOS RTC; see rtc.h. Register map from the MC146818A data sheet. */
#include "rtc.h"

#include "cpu.h"
#include "time.h"

#define CMOS_ADDR 0x70
#define CMOS_DATA 0x71
#define R_SEC 0x00
#define R_MIN 0x02
#define R_HOUR 0x04
#define R_DAY 0x07
#define R_MONTH 0x08
#define R_YEAR 0x09
#define R_A 0x0a		/* bit 7: update in progress */
#define R_B 0x0b		/* bit 2: binary; bit 1: 24-hour */
#define R_CENTURY 0x32		/* by convention (ACPI FADT may say) */
#define UIP_SPINS 100000

static uint64_t base_unix, base_us;

static uint8_t cmos(uint8_t reg)
{
	outb(CMOS_ADDR, reg);
	return inb(CMOS_DATA);
}

static unsigned bcd(uint8_t v, int binary)
{
	return binary ? v : (unsigned)(v & 15) + (unsigned)(v >> 4) * 10;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void rtc_init(void)
{
	for (int i = 0; i < UIP_SPINS && (cmos(R_A) & 0x80); i++)
		cpu_pause();
	uint8_t b = cmos(R_B);
	int bin = b & 4;
	unsigned sec = bcd(cmos(R_SEC), bin), min = bcd(cmos(R_MIN), bin);
	uint8_t hraw = cmos(R_HOUR);
	unsigned hour = bcd(hraw & 0x7f, bin);
	if (!(b & 2) && (hraw & 0x80))
		hour = (hour % 12) + 12;	/* 12-hour clock, PM */
	unsigned day = bcd(cmos(R_DAY), bin), mon = bcd(cmos(R_MONTH), bin);
	unsigned year = bcd(cmos(R_YEAR), bin);
	unsigned cent = bcd(cmos(R_CENTURY), bin);
	year += (cent >= 19 && cent <= 99 ? cent : 20) * 100;
	if (sec > 59 || min > 59 || hour > 23 || !day || day > 31 || !mon ||
	    mon > 12)
		return;
	base_unix = (uint64_t)(days_from_civil(year, mon, day) * 86400 +
			       hour * 3600 + min * 60 + sec);
	base_us = time_us();
}

uint64_t rtc_now(void)
{
	if (!base_unix)
		return 0;
	return base_unix + (time_us() - base_us) / 1000000;
}
