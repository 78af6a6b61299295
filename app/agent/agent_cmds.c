/* The guest agent's commands, with the argument and return shapes of
 * qemu-ga's QAPI schema (QEMU qga/qapi-schema.json): what libvirt and
 * Proxmox call. The rest is CommandNotFound (qga.c). Each reads the
 * machine as the shell's commands do, so that what the agent says and
 * what `net`, `df`, `lsblk` and `date` print agree. */
#include <string.h>

#include "../../drivers/blk.h"
#include "../../drivers/net.h"
#include "../../runtime/console.h"
#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "../../runtime/pci.h"
#include "../../runtime/power.h"
#include "../../runtime/rtc.h"
#include "../app.h"
#include "../net/inet.h"
#include "../storage.h"
#include "agent.h"

static void ping(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)q;
	(void)a;
	(void)w;
}

/* The id as it came (any integer, echoed digit for digit). */
static void sync_(struct qga *q, const struct qga_args *a, struct jw *w)
{
	const char *id;
	size_t n;
	(void)q;
	if (qga_arg_raw(a, "id", &id, &n))
		jw_raw(w, id, n);
}

static void sync_delimited(struct qga *q, const struct qga_args *a,
			   struct jw *w)
{
	qga_delimit(q);
	sync_(q, a, w);
}

static void info(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)a;
	int frozen = storage_frozen();
	jw_object(w);
	jw_kstr(w, "version", UMBRA_VERSION);
	jw_key(w, "supported_commands");
	jw_array(w);
	for (unsigned i = 0; i < q->ncmds; i++) {
		jw_object(w);
		jw_kbool(w, "enabled", !frozen || q->cmds[i].frozen_ok);
		jw_kstr(w, "name", q->cmds[i].name);
		jw_kbool(w, "success-response", !q->cmds[i].no_reply);
		jw_end(w);
	}
	jw_end(w);
	jw_end(w);
}

/* The same path as the power button: every wait ends, the app syncs,
 * then powers off, reboots or halts. No answer on success. */
static void power(struct qga *q, const struct qga_args *a, struct jw *w)
{
	char mode[16] = "powerdown";
	(void)w;
	int r = qga_arg_str(a, "mode", mode, sizeof(mode));
	enum power_req req = !strcmp(mode, "powerdown") ? POWER_REQ_OFF
			     : !strcmp(mode, "reboot") ? POWER_REQ_REBOOT
			     : !strcmp(mode, "halt") ? POWER_REQ_HALT
			     : POWER_REQ_NONE;
	if (r < 0 || !req) {
		qga_error(q, "GenericError", "Parameter 'mode' expects "
			  "halt|powerdown|reboot");
		return;
	}
	power_request(req);
}

static void fsfreeze_status(struct qga *q, const struct qga_args *a,
			    struct jw *w)
{
	(void)q;
	(void)a;
	jw_str(w, storage_frozen() ? "frozen" : "thawed");
}

static void freeze(struct qga *q, struct jw *w)
{
	int r = storage_freeze(agent_freeze_limit);
	if (r < 0) {
		qga_error(q, "GenericError", "failed to freeze /: %s",
			  storage_strerror(r));
		return;
	}
	if (r)
		con_printf("agent: froze %s: writes wait until the thaw, at "
			   "most %u s\n", storage_root_dev()->name,
			   agent_freeze_limit);
	jw_int(w, r);
}

static void fsfreeze_freeze(struct qga *q, const struct qga_args *a,
			    struct jw *w)
{
	(void)a;
	freeze(q, w);
}

/* Only "/" is umbra's; other names are ignored, as qemu-ga does with
 * mount points it does not know. */
static void fsfreeze_freeze_list(struct qga *q, const struct qga_args *a,
				 struct jw *w)
{
	char mp[8];
	int listed = 0, root = 0, r;
	for (unsigned i = 0; (r = qga_arg_item(a, "mountpoints", i, mp,
					       sizeof(mp))) != 0; i++) {
		listed = 1;
		root |= r > 0 && !strcmp(mp, "/");
	}
	if (listed && !root)
		jw_int(w, 0);
	else
		freeze(q, w);
}

/* 0 when nothing was frozen, as qemu-ga answers; a freeze that ended at
 * its deadline is said on the console (and the 0 tells the host). */
static void fsfreeze_thaw(struct qga *q, const struct qga_args *a,
			  struct jw *w)
{
	int ended;
	(void)q;
	(void)a;
	int n = storage_thaw(&ended);
	if (n)
		con_printf("agent: thawed %s\n", storage_root_dev()->name);
	else if (ended)
		con_printf("agent: thaw after the freeze ended at its "
			   "deadline: 0 thawed\n");
	jw_int(w, n);
}

static void mac_text(const uint8_t *m, char out[18])
{
	fmt_snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
		     m[2], m[3], m[4], m[5]);
}

static unsigned prefix_len(uint32_t mask)
{
	unsigned n = 0;
	for (const uint8_t *b = (const uint8_t *)&mask; b < (const uint8_t *)
	     &mask + 4; b++)
		for (int i = 7; i >= 0 && (*b >> i & 1); i--)
			n++;
	return n;
}

static void addresses(struct net_dev *d, struct jw *w)
{
	struct inet_status st;
	char a[INET_IP_STR];
	inet_status(&st);
	jw_key(w, "ip-addresses");
	jw_array(w);
	if (d == inet_dev() && st.up) {
		inet_ip4_format(st.addr, a);
		jw_object(w);
		jw_kstr(w, "ip-address", a);
		jw_kstr(w, "ip-address-type", "ipv4");
		jw_kint(w, "prefix", prefix_len(st.mask));
		jw_end(w);
	}
	/* IPv6: SLAAC's addresses are /64 (RFC 4862 §5.5.3), the
	 * link-local one too (RFC 4291 §2.5.6) */
	for (unsigned i = 0; d == inet_dev() && i < st.n6; i++) {
		if (st.tentative6[i])
			continue;
		inet_ip_format(&st.addr6[i], a);
		jw_object(w);
		jw_kstr(w, "ip-address", a);
		jw_kstr(w, "ip-address-type", "ipv6");
		jw_kint(w, "prefix", 64);
		jw_end(w);
	}
	jw_end(w);
}

/* The counters `net` prints: dropped (bad or too long) and no buffer
 * (lwIP had none) are rx-dropped, ring full is tx-dropped. */
static void statistics(struct net_dev *d, struct jw *w)
{
	struct inet_status st;
	const struct net_stats *s = &d->stats;
	inet_status(&st);
	jw_key(w, "statistics");
	jw_object(w);
	jw_kuint(w, "rx-bytes", s->rx_bytes);
	jw_kuint(w, "rx-packets", s->rx_frames);
	jw_kuint(w, "rx-errs", 0);
	jw_kuint(w, "rx-dropped", s->rx_dropped +
		 (d == inet_dev() ? st.rx_nomem : 0));
	jw_kuint(w, "tx-bytes", s->tx_bytes);
	jw_kuint(w, "tx-packets", s->tx_frames);
	jw_kuint(w, "tx-errs", 0);
	jw_kuint(w, "tx-dropped", s->tx_busy);
	jw_end(w);
}

static void interfaces(struct qga *q, const struct qga_args *a, struct jw *w)
{
	char mac[18];
	(void)q;
	(void)a;
	jw_array(w);
	for (unsigned i = 0; i < net_count(); i++) {
		struct net_dev *d = net_get(i);
		mac_text(d->mac, mac);
		jw_object(w);
		jw_kstr(w, "name", d->name);
		jw_kstr(w, "hardware-address", mac);
		addresses(d, w);
		statistics(d, w);
		jw_end(w);
	}
	jw_end(w);
}

static void get_time(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)a;
	uint64_t us = rtc_now_us();
	if (!us)
		qga_error(q, "GenericError", "the machine's clock is not set");
	else
		jw_uint(w, us * 1000);
}

/* With a time: the clock is set to it (and the CMOS clock written);
 * without: read again from the CMOS clock, as qemu-ga does. */
static void set_time(struct qga *q, const struct qga_args *a, struct jw *w)
{
	int64_t ns;
	(void)w;
	int r = qga_arg_int(a, "time", &ns);
	if (r < 0 || (r && ns < 0)) {
		qga_error(q, "GenericError", "Parameter 'time' expects a time "
			  "after 1970 in nanoseconds");
		return;
	}
	if (r)
		rtc_set_us((uint64_t)ns / 1000);
	else
		rtc_init();
	con_printf("agent: clock set to %llu (Unix seconds)\n",
		   (unsigned long long)rtc_now());
}

static void host_name(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)q;
	(void)a;
	jw_object(w);
	jw_kstr(w, "host-name", INET_HOSTNAME);
	jw_end(w);
}

static void osinfo(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)q;
	(void)a;
	jw_object(w);
	jw_kstr(w, "kernel-release", UMBRA_VERSION);
	jw_kstr(w, "kernel-version", "umbra " UMBRA_VERSION
		" (unikernel appliance)");
	jw_kstr(w, "machine", "x86_64");
	jw_kstr(w, "id", "umbra");
	jw_kstr(w, "name", "umbra");
	jw_kstr(w, "pretty-name", "umbra " UMBRA_VERSION);
	jw_kstr(w, "version", UMBRA_VERSION);
	jw_kstr(w, "version-id", UMBRA_VERSION);
	jw_end(w);
}

static void zone(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)q;
	(void)a;
	jw_object(w);
	jw_kstr(w, "zone", "UTC");	/* umbra keeps UTC, as the RTC does */
	jw_kint(w, "offset", 0);
	jw_end(w);
}

/* GuestDiskAddress: where libvirt finds the disk in the domain (its PCI
 * function; -1 where there is none, as the schema says). */
static void disk_address(struct blk_dev *d, struct jw *w)
{
	const struct pci_dev *p = d->pci;
	const char *t = d->transport;
	jw_object(w);
	jw_key(w, "pci-controller");
	jw_object(w);
	jw_kint(w, "domain", p ? 0 : -1);
	jw_kint(w, "bus", p ? p->bus : -1);
	jw_kint(w, "slot", p ? p->dev : -1);
	jw_kint(w, "function", p ? p->fn : -1);
	jw_end(w);
	jw_kstr(w, "bus-type", !strcmp(t, "virtio") ? "virtio"
		: !strcmp(t, "virtio-scsi") ? "scsi" : !strcmp(t, "ahci")
		? "sata" : !strcmp(t, "ide") ? "ide" : !strcmp(t, "nvme")
		? "nvme" : "unknown");
	jw_kint(w, "bus", 0);
	jw_kint(w, "target", d->target);
	jw_kint(w, "unit", d->unit);
	if (blk_serial(d)[0])
		jw_kstr(w, "serial", blk_serial(d));
	jw_kstr(w, "dev", d->name);
	jw_end(w);
}

static void fsinfo(struct qga *q, const struct qga_args *a, struct jw *w)
{
	struct efs_space sp;
	uint64_t first;
	(void)a;
	jw_array(w);
	struct blk_dev *d = storage_root_dev();
	if (d) {
		int err = efs_space(storage_root(), &sp);
		if (err) {
			qga_error(q, "GenericError", "/: %s",
				  storage_strerror(err));
			return;
		}
		jw_object(w);
		jw_kstr(w, "name", d->name);
		jw_kstr(w, "mountpoint", "/");
		jw_kstr(w, "type", "eclipsefs");
		jw_kuint(w, "used-bytes", sp.used);	/* as df says */
		jw_kuint(w, "total-bytes", sp.size);
		jw_key(w, "disk");
		jw_array(w);
		disk_address(blk_disk(d, &first), w);
		jw_end(w);
		jw_end(w);
	}
	jw_end(w);
}

static void disks(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)q;
	(void)a;
	jw_array(w);
	for (unsigned i = 0; i < blk_count(); i++) {
		struct blk_dev *d = blk_get(i);
		jw_object(w);
		jw_kstr(w, "name", d->name);
		jw_kbool(w, "partition", d->parent != 0);
		if (d->parent) {
			jw_key(w, "dependencies");
			jw_array(w);
			jw_str(w, d->parent->name);
			jw_end(w);
		} else {
			jw_key(w, "address");
			disk_address(d, w);
		}
		jw_end(w);
	}
	jw_end(w);
}

/* umbra runs on the first CPU; the others stay parked: offline. */
static void vcpus(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)q;
	(void)a;
	jw_array(w);
	for (unsigned i = 0; i < cpu_count; i++) {
		jw_object(w);
		jw_kint(w, "logical-id", i);
		jw_kbool(w, "online", i == 0);
		jw_kbool(w, "can-offline", 0);
		jw_end(w);
	}
	jw_end(w);
}

static void users(struct qga *q, const struct qga_args *a, struct jw *w)
{
	(void)q;
	(void)a;
	jw_array(w);	/* nobody logs in to an appliance */
	jw_end(w);
}

/* frozen_ok: qemu-ga's freeze allowlist (qga/main.c). */
const struct qga_cmd agent_cmds[] = {
	{ "guest-sync-delimited", "id:i", sync_delimited, 1, 0 },
	{ "guest-sync", "id:i", sync_, 1, 0 },
	{ "guest-ping", "", ping, 1, 0 },
	{ "guest-info", "", info, 1, 0 },
	{ "guest-shutdown", "mode:s?", power, 0, 1 },
	{ "guest-fsfreeze-status", "", fsfreeze_status, 1, 0 },
	{ "guest-fsfreeze-freeze", "", fsfreeze_freeze, 0, 0 },
	{ "guest-fsfreeze-freeze-list", "mountpoints:a?", fsfreeze_freeze_list,
	  0, 0 },
	{ "guest-fsfreeze-thaw", "", fsfreeze_thaw, 1, 0 },
	{ "guest-network-get-interfaces", "", interfaces, 0, 0 },
	{ "guest-get-time", "", get_time, 0, 0 },
	{ "guest-set-time", "time:i?", set_time, 0, 0 },
	{ "guest-get-host-name", "", host_name, 0, 0 },
	{ "guest-get-osinfo", "", osinfo, 0, 0 },
	{ "guest-get-timezone", "", zone, 0, 0 },
	{ "guest-get-fsinfo", "", fsinfo, 0, 0 },
	{ "guest-get-disks", "", disks, 0, 0 },
	{ "guest-get-vcpus", "", vcpus, 0, 0 },
	{ "guest-get-users", "", users, 0, 0 },
};
const unsigned agent_ncmds = sizeof(agent_cmds) / sizeof(agent_cmds[0]);
