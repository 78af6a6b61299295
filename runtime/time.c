/* TSC calibration and time; see time.h. */
#include "time.h"

#include "acpi.h"
#include "console.h"
#include "cpu.h"

#define PM_HZ 3579545ull
#define CAL_PM_TICKS 3580		/* ~1 ms window */
#define CAL_SPIN_LIMIT 100000000ull	/* bound if the PM timer is stuck */
#define FALLBACK_HZ 1000000000ull

static uint64_t tsc_hz = FALLBACK_HZ, tsc_zero, cpuid_hz;
static const char *source = "assumed 1 GHz";

static uint32_t pm_read(void)
{
	uint32_t v = inl(acpi.pm_tmr_port);
	return acpi.pm_tmr_32bit ? v : v & 0xffffff;
}

static uint32_t pm_delta(uint32_t from, uint32_t to)
{
	return acpi.pm_tmr_32bit ? to - from : (to - from) & 0xffffff;
}

/* Waits for the next PM timer edge so both ends of the window are taken
 * at a tick boundary; returns the TSC at the edge, 0 if the timer is
 * stuck. */
static uint64_t pm_edge(uint32_t *pm)
{
	uint32_t start = pm_read();
	for (uint64_t i = 0; i < CAL_SPIN_LIMIT; i++) {
		uint32_t v = pm_read();
		if (v != start) {
			*pm = v;
			return cpu_rdtsc();
		}
	}
	return 0;
}

static int calibrate_pm(void)
{
	uint32_t p0, p1;
	uint64_t t0 = pm_edge(&p0), t1 = 0;
	if (!t0)
		return 0;
	for (uint64_t i = 0; i < CAL_SPIN_LIMIT; i++) {
		if (pm_delta(p0, pm_read()) >= CAL_PM_TICKS) {
			t1 = pm_edge(&p1);
			break;
		}
	}
	if (!t1 || t1 <= t0)
		return 0;
	tsc_hz = (t1 - t0) * PM_HZ / pm_delta(p0, p1);
	return 1;
}

/* Intel SDM vol. 2 CPUID: leaf 0x15 = TSC/crystal ratio (EBX/EAX) and
 * crystal Hz (ECX); leaf 0x16 EAX = base frequency in MHz. */
static void read_cpuid_hz(void)
{
	uint32_t r[4];
	cpu_cpuid(0, 0, r);
	uint32_t max = r[0];
	if (max >= 0x15) {
		cpu_cpuid(0x15, 0, r);
		if (r[0] && r[1] && r[2])
			cpuid_hz = (uint64_t)r[2] * r[1] / r[0];
	}
	if (!cpuid_hz && max >= 0x16) {
		cpu_cpuid(0x16, 0, r);
		cpuid_hz = (uint64_t)(r[0] & 0xffff) * 1000000;
	}
}

void time_init(uint64_t zero)
{
	tsc_zero = zero;
	read_cpuid_hz();
	if (acpi.pm_tmr_port && calibrate_pm()) {
		source = "PM timer";
	} else if (cpuid_hz) {
		tsc_hz = cpuid_hz;
		source = "CPUID";
	} else {
		con_puts("time: no PM timer and no CPUID frequency; "
			 "assuming a 1 GHz TSC\n");
	}
}

uint64_t time_tsc_to_us(uint64_t d)
{
	return d / tsc_hz * 1000000 + d % tsc_hz * 1000000 / tsc_hz;
}

uint64_t time_us_to_tsc(uint64_t us)
{
	return tsc_zero + us / 1000000 * tsc_hz + us % 1000000 * tsc_hz / 1000000;
}

uint64_t time_us(void)
{
	return time_tsc_to_us(cpu_rdtsc() - tsc_zero);
}

uint64_t time_tsc_hz(void)
{
	return tsc_hz;
}

const char *time_source(void)
{
	return source;
}

uint64_t time_cpuid_hz(void)
{
	return cpuid_hz;
}

void time_delay_us(uint64_t us)
{
	uint64_t end = time_us() + us;
	while (time_us() < end)
		cpu_pause();
}
