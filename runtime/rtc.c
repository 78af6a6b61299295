/* CMOS RTC; see rtc.h. Register map from the MC146818A data sheet. */
#include "rtc.h"

#include "cpu.h"
#include "fmt.h"
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

static uint64_t base_unix_us, base_us;

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

/* The inverse: the civil date of a day count (the same algorithm). */
static void civil_from_days(int64_t z, unsigned *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned)(yoe + era * 400) + (*m <= 2);
}

static void wait_update(void)
{
	for (int i = 0; i < UIP_SPINS && (cmos(R_A) & 0x80); i++)
		cpu_pause();
}

void rtc_init(void)
{
	wait_update();
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
	base_unix_us = (uint64_t)(days_from_civil(year, mon, day) * 86400 +
				  hour * 3600 + min * 60 + sec) * 1000000;
	base_us = time_us();
}

uint64_t rtc_now_us(void)
{
	if (!base_unix_us)
		return 0;
	return base_unix_us + (time_us() - base_us);
}

uint64_t rtc_now(void)
{
	return rtc_now_us() / 1000000;
}

static void put(uint8_t reg, unsigned v, int binary)
{
	outb(CMOS_ADDR, reg);
	outb(CMOS_DATA, (uint8_t)(binary ? v : (v / 10) << 4 | v % 10));
}

/* MC146818A: with SET (register B bit 7) the clock stops updating while
 * the fields are written, in the format register B gives. */
void rtc_set_us(uint64_t unix_us)
{
	base_unix_us = unix_us;
	base_us = time_us();
	uint64_t secs = unix_us / 1000000;
	unsigned y, m, d, hour = (unsigned)(secs / 3600 % 24);
	civil_from_days((int64_t)(secs / 86400), &y, &m, &d);
	if (y < 1900 || y > 9999)
		return;		/* the clock cannot hold it; keep ours */
	wait_update();
	uint8_t b = cmos(R_B);
	int bin = b & 4;
	outb(CMOS_ADDR, R_B);
	outb(CMOS_DATA, (uint8_t)(b | 0x80));
	put(R_SEC, (unsigned)(secs % 60), bin);
	put(R_MIN, (unsigned)(secs / 60 % 60), bin);
	if (b & 2) {
		put(R_HOUR, hour, bin);
	} else {	/* 12-hour clock: bit 7 is PM */
		put(R_HOUR, hour % 12 ? hour % 12 : 12, bin);
		outb(CMOS_ADDR, R_HOUR);
		outb(CMOS_DATA, (uint8_t)(inb(CMOS_DATA) | (hour >= 12) << 7));
	}
	put(R_DAY, d, bin);
	put(R_MONTH, m, bin);
	put(R_YEAR, y % 100, bin);
	put(R_CENTURY, y / 100, bin);
	outb(CMOS_ADDR, R_B);
	outb(CMOS_DATA, b);
}

void rtc_iso(uint64_t unix_s, char out[24])
{
	unsigned y, m, d;
	civil_from_days((int64_t)(unix_s / 86400), &y, &m, &d);
	fmt_snprintf(out, 24, "%04u-%02u-%02uT%02u:%02u:%02uZ", y, m, d,
		     (unsigned)(unix_s / 3600 % 24), (unsigned)(unix_s / 60 % 60),
		     (unsigned)(unix_s % 60));
}
