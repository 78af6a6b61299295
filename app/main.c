/* The application: bring up the devices, say what the machine has, then
 * run commands from a script (fw_cfg, the kernel command line, SMBIOS,
 * /etc/rc) or the serial console. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../drivers/blk.h"
#include "../drivers/net.h"
#include "../drivers/virtio/virtio_pci.h"
#include "../drivers/virtio/virtio_rng.h"
#include "../fs/eclipsefs.h"

#include "../runtime/acpi.h"
#include "../runtime/cmdline.h"
#include "../runtime/console.h"
#include "../runtime/cpu.h"
#include "../runtime/fwcfg.h"
#include "../runtime/page.h"
#include "../runtime/pci.h"
#include "../runtime/rtc.h"
#include "../runtime/smbios.h"
#include "../runtime/power.h"
#include "../runtime/random.h"
#include "../runtime/runtime.h"
#include "../runtime/time.h"
#include "../runtime/timeline.h"
#include "agent/agent.h"
#include "app.h"
#include "line.h"
#include "net/inet.h"
#include "shell.h"
#include "storage.h"

#define CMDLINE_FILE "opt/umbra/cmdline"
#define SCRIPT_KEY "umbra.cmdline"

#define SCRIPT_MAX (1L << 20)	/* a script longer than this is refused */

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
	con_printf("machine: %u block devices, %u network devices; "
		   "randomness from %s\n", blk_count(), net_count(),
		   random_source());
}

/* virtio-rng, when the machine has one: its entropy into the generator
 * (which then no longer needs the device). */
static void probe_rng(void)
{
	for (unsigned i = 0; i < pci_count(); i++) {
		struct pci_dev *p = pci_get(i);
		struct virtio_dev v;
		const char *why;
		char where[8];
		if (virtio_pci_type(p) != VIRTIO_TYPE_RNG ||
		    virtio_pci_attach(p, &v))
			continue;
		int r = vrng_seed(&v, &why);
		if (r <= 0) {
			pci_where(p, where);
			con_printf("random: %s virtio-rng: %s\n", where, why);
		}
		if (r != VIRTIO_ERR_RESET)
			virtio_pci_detach(&v);
	}
}

/* The script sources, in precedence order (app/README.md). Each copies
 * at most size-1 bytes of its script into buf, NUL-terminated, and
 * returns the script's full length, or -1 when it has none. */
static long from_fwcfg(char *buf, size_t size)
{
	return fwcfg_read_file(CMDLINE_FILE, buf, size);
}

/* The PVH loader's command line: an umbra.cmdline= word. */
static long from_cmdline(char *buf, size_t size)
{
	const char *pos = cmdline_get();
	return cmdline_next(&pos, SCRIPT_KEY, buf, size);
}

static long from_smbios(char *buf, size_t size)
{
	return smbios_oem_value(SCRIPT_KEY, buf, size);
}

static long from_rc(char *buf, size_t size)
{
	struct efs *fs = storage_root();
	uint32_t ino;
	struct efs_stat st;
	if (!fs || efs_lookup(fs, "/etc/rc", 1, &ino) || efs_stat(fs, ino, &st) ||
	    st.kind != EFS_FILE)
		return -1;
	uint64_t want = st.size < size - 1 ? st.size : size - 1;
	size_t got = 0;
	while (got < want) {	/* efs_read may return less than asked */
		int64_t r = efs_read(fs, ino, got, buf + got, want - got);
		if (r <= 0) {
			con_printf("script: /etc/rc: %s\n",
				   r ? storage_strerror((int)r) : "shorter "
				   "than its size");
			return -1;
		}
		got += (size_t)r;
	}
	buf[got] = 0;
	return st.size > (uint64_t)SCRIPT_MAX ? SCRIPT_MAX + 1 : (long)st.size;
}

static const struct {
	const char *name;
	long (*read)(char *buf, size_t size);
} sources[] = {
	{ "fw_cfg " CMDLINE_FILE, from_fwcfg },
	{ "command line " SCRIPT_KEY, from_cmdline },
	{ "SMBIOS OEM string " SCRIPT_KEY, from_smbios },
	{ "/etc/rc", from_rc },
};

/* The first source that has a script: 0 and the script (malloc'd) in
 * *out; 1 when none has one; a shell status when the script is refused
 * (too long, or holding a NUL byte: it would end the script silently). */
static int load_script(char **out, const char **from)
{
	char probe[1];
	for (unsigned i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		long n = sources[i].read(probe, 1);
		*from = sources[i].name;
		if (n < 0)
			continue;
		if (n > SCRIPT_MAX) {
			con_printf("script: %s is %ld bytes, more than %ld\n",
				   *from, n, SCRIPT_MAX);
			return SHELL_USAGE;
		}
		char *s = malloc((size_t)n + 1);
		if (!s || sources[i].read(s, (size_t)n + 1) != n) {
			con_printf("script: %s: cannot be read\n", *from);
			free(s);
			return 1;
		}
		const char *nul = memchr(s, 0, (size_t)n);
		if (nul) {
			con_printf("script: %s holds a NUL byte at offset %ld: "
				   "refused\n", *from, (long)(nul - s));
			free(s);
			return SHELL_USAGE;
		}
		*out = s;
		return 0;
	}
	return 1;
}

int app_main(void)
{
	pci_scan();
	timeline_mark(TIMELINE_PCI);
	storage_probe();
	timeline_mark(TIMELINE_BLK);
	int mounted = !storage_mount_root();
	timeline_mark(TIMELINE_MOUNT);
	probe_rng();
	inet_probe();	/* virtio-net on PCI (storage_probe took MMIO's) */
	agent_probe();	/* virtio-serial on PCI (and MMIO's, taken there) */
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
	char *script = 0;
	int st = load_script(&script, &from);
	if (st == 1) {
		st = shell_interactive();	/* returns at the button */
	} else if (!st) {
		con_printf("script: from %s\n", from);
		st = shell_run_script(script);
		con_printf("script: exit status %d\n", st);
		free(script);
	}
	enum power_req req = power_requested();
	static const char *const asked[] = {
		[POWER_REQ_OFF] = "power off", [POWER_REQ_REBOOT] = "reboot",
		[POWER_REQ_HALT] = "halt",
	};
	if (req == POWER_REQ_BUTTON)
		con_puts("power: button pressed, syncing\n");
	else if (req)
		con_printf("power: the guest agent asked to %s, syncing\n",
			   asked[req]);
	if (req)
		st = 0;
	app_shutdown();
	if (req == POWER_REQ_REBOOT)
		power_reboot();
	if (req == POWER_REQ_HALT) {
		con_puts("power: halted\n");
		power_halt();
	}
	return st;
}
