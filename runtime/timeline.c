/* The boot timeline; see timeline.h. */
#include "timeline.h"

#include "cpu.h"
#include "fmt.h"
#include "time.h"

#define POST_PORT 0x80
#define POST_BASE 0xa0		/* umbra's codes: 0xa0 + stage */

static const char *names[TIMELINE_STAGES] = {
	"efi_main", "exit_bs", "runtime", "pci", "blk", "mount", "screen",
	"app_ready", "net", "metadata",
};
static uint64_t stamps[TIMELINE_STAGES];

void timeline_name_entry(const char *name)
{
	if (name)
		names[TIMELINE_EFI_MAIN] = name;
}

void timeline_post(enum timeline_stage s)
{
	outb(POST_PORT, (uint8_t)(POST_BASE + s));
}

void timeline_mark_at(enum timeline_stage s, uint64_t tsc)
{
	stamps[s] = tsc;
	timeline_post(s);
}

void timeline_mark(enum timeline_stage s)
{
	timeline_mark_at(s, cpu_rdtsc());
}

int64_t timeline_us(enum timeline_stage s)
{
	if (!stamps[s] || stamps[s] < stamps[TIMELINE_EFI_MAIN])
		return -1;
	return (int64_t)time_tsc_to_us(stamps[s] - stamps[TIMELINE_EFI_MAIN]);
}

void timeline_format(char *buf, unsigned size)
{
	unsigned used = (unsigned)fmt_snprintf(buf, size, "timeline:");
	for (int s = 0; s < TIMELINE_STAGES && used < size; s++) {
		int64_t us = timeline_us((enum timeline_stage)s);
		if (us < 0)
			continue;
		used += (unsigned)fmt_snprintf(buf + used, size - used,
					       " %s=%lluus", names[s],
					       (unsigned long long)us);
	}
}
