/* TSC calibration and time; see time.h. */
#include "time.h"

#include "acpi.h"
#include "console.h"
#include "cpu.h"

#define PM_HZ 3579545ull
#define PM_SHORT 358			/* a provisional window: ~100 us */
#define PM_WRAP_US 4000000ull		/* 24 bits at 3.58 MHz: 4.7 s */
#define CAL_SPIN_LIMIT 100000000ull	/* bound if the PM timer is stuck */
#define FALLBACK_HZ 1000000000ull

/* Intel 8254 PIT: channel 0 data port and the mode/command port. */
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182ull
#define PIT_MODE0 0x30		/* channel 0, lobyte/hibyte, mode 0, binary */
#define PIT_LATCH0 0x00		/* counter latch command, channel 0 */
#define PIT_LONG 1193		/* a window this long (~1 ms) is final */
#define PIT_SHORT 120		/* a provisional one: ~100 us */
#define PIT_EDGE_SPINS 100000	/* no change in this many reads: no PIT */

/* KVM paravirtual clock (Linux Documentation/virt/kvm/x86/msr.rst and
 * cpuid.rst): the signature leaf, its feature leaf, and the MSR that
 * points the hypervisor at a pvclock_vcpu_time_info. */
#define KVM_CPUID_SIGNATURE 0x40000000
#define KVM_CPUID_FEATURES 0x40000001
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
/* The hypervisors' timing leaf (VMware's, which KVM and others give
 * too): EAX = the TSC's rate in kHz. CPUID.1:ECX bit 31 says a
 * hypervisor is present; leaf 0x40000000 EAX, its highest leaf. */
#define HV_CPUID_TIMING 0x40000010
#define CPUID1_ECX_HYPERVISOR (1u << 31)

static uint64_t tsc_hz = FALLBACK_HZ, tsc_zero, cpuid_hz;
static int cpuid_exact;		/* cpuid_hz from leaf 0x15: exact */
static const char *source = "assumed 1 GHz";

/* A measurement taken over a short window at boot, to be redone over
 * the long one since (time_refine): which reference, and its start. */
static enum { CAL_FINAL, CAL_PM, CAL_PIT } provisional;
static uint64_t ref_tsc;
static uint32_t ref_pm;

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

/* The rate over a ~100 us window of the ACPI PM timer (good to a few
 * parts in a thousand), refined by time_refine over the boot's. */
static int calibrate_pm(void)
{
	uint32_t p1;
	uint64_t t0 = pm_edge(&ref_pm), t1 = 0;
	if (!t0)
		return 0;
	for (uint64_t i = 0; i < CAL_SPIN_LIMIT; i++) {
		if (pm_delta(ref_pm, pm_read()) >= PM_SHORT) {
			t1 = pm_edge(&p1);
			break;
		}
	}
	if (!t1 || t1 <= t0)
		return 0;
	tsc_hz = (t1 - t0) * PM_HZ / pm_delta(ref_pm, p1);
	ref_tsc = t0;
	provisional = CAL_PM;
	return 1;
}

static uint16_t pit_read(void)
{
	outb(PIT_CMD, PIT_LATCH0);
	uint8_t lo = inb(PIT_CH0);
	return (uint16_t)(lo | inb(PIT_CH0) << 8);
}

/* Waits for the PIT's count to change from *count; returns the TSC at
 * the change (and the new count), 0 if it never changes. */
static uint64_t pit_edge(uint16_t *count)
{
	for (uint32_t i = 0; i < PIT_EDGE_SPINS; i++) {
		uint16_t v = pit_read();
		if (v != *count) {
			*count = v;
			return cpu_rdtsc();
		}
	}
	return 0;
}

#define PIT_READBACK0 0xe2	/* read-back: status only, channel 0 */
#define PIT_STATUS_OUT 0x80	/* OUT: high once the count reached 0 */

static uint64_t pit_t0;		/* TSC at a count change ... */
static uint16_t pit_c0;		/* ... and the count after it */

/* 8254 data sheet, mode 0: writing the mode word holds OUT low, loading
 * 0xffff starts the count down at 1.193182 MHz; OUT goes high when it
 * reaches 0 (55 ms later) and stays high. Stamps the first change. */
void time_pit_begin(void)
{
	outb(PIT_CMD, PIT_MODE0);
	outb(PIT_CH0, 0xff);
	outb(PIT_CH0, 0xff);
	pit_c0 = pit_read();
	pit_t0 = pit_edge(&pit_c0);
}

static int pit_wrapped(void)
{
	outb(PIT_CMD, PIT_READBACK0);
	return inb(PIT_CH0) & PIT_STATUS_OUT;
}

/* The rate from the PIT's window since pit_t0 (ticks counted down, an
 * edge now); 0 when the count ran out or never moved. */
static int pit_rate(uint16_t min_ticks)
{
	uint16_t c1 = pit_c0;
	uint64_t t1 = 0;
	for (uint32_t i = 0; pit_t0 && i < PIT_EDGE_SPINS * 16; i++) {
		c1 = pit_read();
		if (c1 > pit_c0)
			break;			/* not counting down */
		if (pit_c0 - c1 >= min_ticks) {
			t1 = pit_edge(&c1);
			break;
		}
	}
	if (t1 <= pit_t0 || c1 >= pit_c0 || pit_wrapped())
		return 0;
	tsc_hz = (t1 - pit_t0) * PIT_HZ / (uint64_t)(pit_c0 - c1);
	return 1;
}

/* Machines without an ACPI PM timer (microvm, Firecracker) still have an
 * 8254. The PVH entry starts channel 0 (time_pit_begin) so that the
 * runtime's own bring-up fills the window: a millisecond of it is final;
 * less (a fast hypervisor) gives a provisional rate after ~100 us, which
 * time_refine measures again over the longer window. A count that ran
 * out meanwhile (OUT high) means the window is unknown: a fresh one. Channel
 * 0 is stopped once the rate is final (a mode word without a count holds
 * OUT low: no IRQ 0). */
static int calibrate_pit(void)
{
	if (!pit_t0 || pit_wrapped())
		time_pit_begin();
	uint16_t now = pit_read();
	int done = pit_t0 && now <= pit_c0 && pit_c0 - now >= PIT_LONG;
	if (!pit_rate(done ? PIT_LONG : PIT_SHORT)) {
		outb(PIT_CMD, PIT_MODE0);
		return 0;
	}
	if (done)
		outb(PIT_CMD, PIT_MODE0);
	else
		provisional = CAL_PIT;
	return 1;
}

/* Under KVM the hypervisor states the TSC rate: point it at a
 * pvclock_vcpu_time_info (version at 0, tsc_to_system_mul at 24,
 * tsc_shift at 28), read ns = (ticks << shift) * mul >> 32 back as Hz,
 * and turn the clock off again. */
static int calibrate_kvmclock(void)
{
	static volatile uint32_t pvclock[8] __attribute__((aligned(32)));
	uint32_t r[4];
	cpu_cpuid(KVM_CPUID_SIGNATURE, 0, r);
	if (r[1] != 0x4b4d564b || r[2] != 0x564b4d56 || r[3] != 0x4d ||
	    r[0] < KVM_CPUID_FEATURES)
		return 0;			/* "KVMKVMKVM\0\0\0" */
	cpu_cpuid(KVM_CPUID_FEATURES, 0, r);
	if (!(r[0] & KVM_FEATURE_CLOCKSOURCE2))
		return 0;
	cpu_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)pvclock | 1);
	uint32_t mul = 0, version = 0;
	int8_t shift = 0;
	for (int i = 0; i < 1000 && (!version || (version & 1)); i++) {
		version = pvclock[0];
		cpu_barrier();
		mul = pvclock[6];
		shift = (int8_t)(pvclock[7] & 0xff);
		cpu_barrier();
		if (pvclock[0] != version)
			version = 0;
	}
	cpu_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	if (!version || (version & 1) || !mul || shift < -4 || shift > 31)
		return 0;
	/* Hz = 1e9 * 2^32 / (mul * 2^shift); 1e9 * 2^32 fits in 64 bits. */
	uint64_t hz = (1000000000ull << 32) / mul;
	hz = shift < 0 ? hz << -shift : hz >> shift;
	if (!hz)
		return 0;
	tsc_hz = hz;
	return 1;
}

/* The hypervisor's timing leaf, when there is a hypervisor and it has
 * the leaf: the rate in kHz, or 0. */
static uint64_t hypervisor_hz(void)
{
	uint32_t r[4];
	cpu_cpuid(1, 0, r);
	if (!(r[2] & CPUID1_ECX_HYPERVISOR))
		return 0;
	cpu_cpuid(KVM_CPUID_SIGNATURE, 0, r);
	if (r[0] < HV_CPUID_TIMING || r[0] > 0x4000ffff)
		return 0;
	cpu_cpuid(HV_CPUID_TIMING, 0, r);
	return (uint64_t)r[0] * 1000;
}

/* Intel SDM vol. 2 CPUID: leaf 0x15 = TSC/crystal ratio (EBX/EAX) and
 * crystal Hz (ECX), exact when all three are given; leaf 0x16 EAX = the
 * base frequency in MHz, the TSC's nominal rate. */
static void read_cpuid_hz(void)
{
	uint32_t r[4];
	cpu_cpuid(0, 0, r);
	uint32_t max = r[0];
	if (max >= 0x15) {
		cpu_cpuid(0x15, 0, r);
		if (r[0] && r[1] && r[2])
			cpuid_hz = (uint64_t)r[2] * r[1] / r[0];
		cpuid_exact = cpuid_hz != 0;
	}
	if (!cpuid_hz && max >= 0x16) {
		cpu_cpuid(0x16, 0, r);
		cpuid_hz = (uint64_t)(r[0] & 0xffff) * 1000000;
	}
}

/* The rate, without waiting where something states it: the hypervisor's
 * timing leaf, CPUID 0x15, kvmclock; else measured against the ACPI PM
 * timer or the PIT (provisionally, refined by time_refine); else CPUID
 * 0x16's nominal base frequency (a measurement beats a nominal value:
 * turbo-era CPUs and hypervisors that pass 0x16 through may differ). */
void time_init(uint64_t zero)
{
	tsc_zero = zero;
	read_cpuid_hz();
	uint64_t hv = hypervisor_hz();
	if (hv) {
		tsc_hz = hv;
		source = "hypervisor";
	} else if (cpuid_exact) {
		tsc_hz = cpuid_hz;
		source = "CPUID";
	} else if (calibrate_kvmclock()) {
		source = "kvmclock";
	} else if (acpi.pm_tmr_port && calibrate_pm()) {
		source = "PM timer";
	} else if (calibrate_pit()) {
		source = "PIT";
	} else if (cpuid_hz) {
		tsc_hz = cpuid_hz;
		source = "CPUID";
	} else {
		con_puts("time: no PM timer, kvmclock, PIT or CPUID frequency; "
			 "assuming a 1 GHz TSC\n");
	}
}

void time_refine(void)
{
	if (provisional == CAL_PM) {
		uint32_t p1;
		uint64_t t1 = pm_edge(&p1);
		/* past the 24-bit timer's wrap the window is unknown: keep
		 * the short one's rate */
		if (t1 > ref_tsc &&
		    time_tsc_to_us(t1 - ref_tsc) < PM_WRAP_US)
			tsc_hz = (t1 - ref_tsc) * PM_HZ / pm_delta(ref_pm, p1);
	} else if (provisional == CAL_PIT) {
		pit_rate(PIT_SHORT);	/* unchanged if the count ran out */
		outb(PIT_CMD, PIT_MODE0);
	}
	provisional = CAL_FINAL;
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
