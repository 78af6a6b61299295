/* The application: bring up the devices, say what the machine has, then
 * run commands from a script (fw_cfg, the kernel command line, SMBIOS,
 * a seed drive, a cloud's metadata service, /etc/rc) or the serial
 * console. */
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
#include "../runtime/fmt.h"
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
#include "cloud/cloud.h"
#include "line.h"
#include "net/inet.h"
#include "screen.h"
#include "seed.h"
#include "shell.h"
#include "storage.h"
#include "userdata.h"

#define CMDLINE_FILE "opt/umbra/cmdline"
#define SCRIPT_KEY "umbra.cmdline"

#define SCRIPT_MAX USERDATA_MAX	/* a script longer than this is refused */

static const char *script_from;

const char *app_script_from(void)
{
	return script_from;
}

void app_shutdown(void)
{
	int err = storage_sync();
	if (err)
		con_printf("sync: %s\n", storage_strerror(err));
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
 * returns the script's full length, SCRIPT_NONE when it has none, or
 * SCRIPT_BROKEN when it has one that cannot be read (it said why). */
#define SCRIPT_NONE (-1)
#define SCRIPT_BROKEN (-2)

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

/* The user data of the cloud SMBIOS names (app/cloud/): nothing is
 * asked of the network when it names none. */
static long from_cloud(char *buf, size_t size)
{
	return cloud_user_data(buf, size);
}

/* /etc/rc: absent is no script; one that exists but cannot be read (a
 * device error, a corrupt record, not a file) is a broken one: the
 * appliance must not fall back to an interactive shell nobody watches. */
static long from_rc(char *buf, size_t size)
{
	struct efs *fs = storage_root();
	uint32_t ino;
	struct efs_stat st;
	if (!fs)
		return SCRIPT_NONE;
	int err = efs_lookup(fs, "/etc/rc", 1, &ino);
	if (err == EFS_ERR_NOT_FOUND)
		return SCRIPT_NONE;
	if (!err)
		err = efs_stat(fs, ino, &st);
	if (!err && st.kind != EFS_FILE)
		err = st.kind == EFS_DIR ? EFS_ERR_IS_DIR : EFS_ERR_INVALID;
	if (err) {
		con_printf("script: /etc/rc cannot be read: %s\n",
			   storage_strerror(err));
		return SCRIPT_BROKEN;
	}
	uint64_t want = st.size < size - 1 ? st.size : size - 1;
	size_t got = 0;
	while (got < want) {	/* efs_read may return less than asked */
		int64_t r = efs_read(fs, ino, got, buf + got, want - got);
		if (r <= 0) {
			con_printf("script: /etc/rc cannot be read: %s\n",
				   r ? storage_strerror((int)r) : "shorter "
				   "than its size");
			return SCRIPT_BROKEN;
		}
		got += (size_t)r;
	}
	buf[got] = 0;
	return st.size > (uint64_t)SCRIPT_MAX ? SCRIPT_MAX + 1 : (long)st.size;
}

/* A seed drive's user data (app/seed.c: looked for only now). */
static char seed_name[64];

static long from_seed(char *buf, size_t size)
{
	const struct seed_info *s = seed_find();
	if (!s || !s->user_data || !s->user_len)
		return SCRIPT_NONE;	/* empty user data is none */
	fmt_snprintf(seed_name, sizeof(seed_name), "%s %s %s", s->kind,
		     s->dev, s->user_path);
	size_t have = s->user_len < USERDATA_MAX ? (size_t)s->user_len
						 : USERDATA_MAX;
	size_t k = have < size - 1 ? have : size - 1;
	memcpy(buf, s->user_data, k);
	buf[k] = 0;
	return s->user_len;
}

/* userdata: the source holds a cloud's user data, which is refused when
 * it is in another format (userdata_kind). */
static const struct {
	const char *name;
	long (*read)(char *buf, size_t size);
	int userdata;		/* may be in one of cloud-init's formats */
} sources[] = {
	{ "fw_cfg " CMDLINE_FILE, from_fwcfg, 0 },
	{ "command line " SCRIPT_KEY, from_cmdline, 0 },
	{ "SMBIOS OEM string " SCRIPT_KEY, from_smbios, 0 },
	{ seed_name, from_seed, 1 },
	{ "cloud metadata user data", from_cloud, 1 },
	{ "/etc/rc", from_rc, 0 },
};

/* The first source that has a script: 0 and the script (malloc'd) in
 * *out; NO_SCRIPT when none has one; a shell status when the script is
 * refused (too long, user data in another format, or holding a NUL
 * byte: it would end the script silently) or cannot be read. */
#define NO_SCRIPT (-1)
static int load_script(char **out, const char **from)
{
	char probe[1];
	for (unsigned i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		long n = sources[i].read(probe, 1);
		*from = sources[i].name;
		if (n == SCRIPT_NONE)
			continue;
		if (n < 0)	/* SCRIPT_BROKEN: the source said why */
			return SHELL_FAIL;
		if (n > SCRIPT_MAX) {
			con_printf("script: %s is %ld bytes, more than %ld: "
				   "refused\n", *from, n, SCRIPT_MAX);
			return SHELL_USAGE;
		}
		char *s = malloc((size_t)n + 1);
		long again = s ? sources[i].read(s, (size_t)n + 1) : 0;
		if (again != n) {
			if (again != SCRIPT_BROKEN)	/* else it said why */
				con_printf("script: %s cannot be read: %s\n",
					   *from, s ? "it changed while read"
					   : "out of memory");
			free(s);
			return SHELL_FAIL;
		}
		const char *kind = sources[i].userdata
				   ? userdata_kind(s, (size_t)n) : 0;
		if (kind) {
			con_printf("script: %s is %s, not an umbra script: "
				   "refused\n", *from, kind);
			free(s);
			return SHELL_USAGE;
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
	return NO_SCRIPT;
}

int app_main(void)
{
	pci_scan();
	timeline_mark(TIMELINE_PCI);
	storage_probe();
	timeline_mark(TIMELINE_BLK);
	int mounted = !storage_mount_root();
	timeline_mark(TIMELINE_MOUNT);
	screen_probe();
	timeline_mark(TIMELINE_SCREEN);
	probe_rng();
	inet_probe();	/* virtio-net on PCI (storage_probe took MMIO's) */
	agent_probe();	/* virtio-serial on PCI (and MMIO's, taken there) */
	rtc_init();
	timeline_mark(TIMELINE_APP_READY);
	time_refine();	/* before any figure is printed */
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
	if (st == NO_SCRIPT) {
		st = shell_interactive();	/* returns at the button */
	} else if (!st) {
		script_from = from;
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
