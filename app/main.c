/* The application: bring up the devices, say what the machine has, then
 * run commands from fw_cfg (script mode) or the serial console. */
#include <stdint.h>

#include "../drivers/blk.h"
#include "../fs/eclipsefs.h"

#include "../runtime/acpi.h"
#include "../runtime/console.h"
#include "../runtime/cpu.h"
#include "../runtime/fwcfg.h"
#include "../runtime/page.h"
#include "../runtime/pci.h"
#include "../runtime/rtc.h"
#include "../runtime/smbios.h"
#include "../runtime/power.h"
#include "../runtime/runtime.h"
#include "../runtime/time.h"
#include "../runtime/timeline.h"
#include "app.h"
#include "shell.h"
#include "storage.h"

#define UMBRA_VERSION "0.1"
#define CMDLINE_FILE "opt/umbra/cmdline"

static char script[8192];

void app_shutdown(void)
{
	int err = storage_sync();
	if (err)
		con_printf("sync: %s\n", efs_strerror(err));
}

static void banner(void)
{
	char tl[256];
	timeline_format(tl, sizeof(tl));
	con_printf("umbra %s: unikernel appliance\n", UMBRA_VERSION);
	con_printf("%s\n", tl);
	con_printf("machine: %u CPU%s, %llu MiB usable RAM, TSC %llu MHz "
		   "(%s", cpu_count, cpu_count == 1 ? "" : "s",
		   (unsigned long long)(runtime_mem.usable >> 20),
		   (unsigned long long)(time_tsc_hz() / 1000000),
		   time_source());
	if (time_cpuid_hz())	/* the cross-check, when the CPU says */
		con_printf("; CPUID says %llu MHz",
			   (unsigned long long)(time_cpuid_hz() / 1000000));
	con_puts(")\n");
	con_printf("machine: %u PCI functions (%s), ACPI %s, %s\n",
		   pci_count(), pci_method(), acpi.valid ? "yes" : "no",
		   power_has_debug_exit() ? "isa-debug-exit at 0xf4"
					  : "no isa-debug-exit");
	con_printf("machine: %u block devices\n", blk_count());
}

/* Where the commands come from, first found wins: fw_cfg
 * opt/umbra/cmdline, then SMBIOS type 11 "umbra.cmdline=...", then /etc/rc
 * on the volume. Returns the script's length (in `script`), or -1. */
static long script_source(const char **from)
{
	long n = fwcfg_read_file(CMDLINE_FILE, script, sizeof(script));
	*from = "fw_cfg " CMDLINE_FILE;
	if (n >= 0)
		return n;
	n = smbios_oem_value("umbra.cmdline", script, sizeof(script));
	*from = "SMBIOS OEM string umbra.cmdline";
	if (n >= 0)
		return n;
	struct efs *fs = storage_root();
	uint32_t ino;
	struct efs_stat st;
	*from = "/etc/rc";
	if (!fs || efs_lookup(fs, "/etc/rc", 1, &ino) || efs_stat(fs, ino, &st) ||
	    st.kind != EFS_FILE)
		return -1;
	if (st.size >= sizeof(script))
		return (long)st.size;
	int64_t r = efs_read(fs, ino, 0, script, sizeof(script) - 1);
	if (r < 0) {
		con_printf("script: /etc/rc: %s\n", efs_strerror((int)r));
		return -1;
	}
	script[r] = 0;
	return (long)r;
}

int app_main(void)
{
	pci_scan();
	timeline_mark(TIMELINE_PCI);
	storage_probe();
	timeline_mark(TIMELINE_BLK);
	int mounted = !storage_mount_root();
	timeline_mark(TIMELINE_MOUNT);
	rtc_init();
	timeline_mark(TIMELINE_APP_READY);
	banner();
	if (mounted) {
		con_printf("root: %s mounted (EclipseFS%s)\n",
			   storage_root_dev()->name,
			   storage_root_dev()->read_only ? ", read-only" : "");
	} else {
		con_printf("root: no EclipseFS volume found; the shell runs "
			   "without one\n");
	}

	const char *from;
	long n = script_source(&from);
	if (n >= (long)sizeof(script)) {
		con_printf("script: %s is %ld bytes, more than %u\n", from, n,
			   (unsigned)sizeof(script) - 1);
		app_shutdown();
		return SHELL_USAGE;
	}
	if (n >= 0) {
		con_printf("script: from %s\n", from);
		int st = shell_run_script(script);
		con_printf("script: exit status %d\n", st);
		app_shutdown();
		return st;
	}
	return shell_interactive();
}
