/* The QEMU guest agent: what libvirt, Proxmox and OpenStack ask of a
 * guest (virsh shutdown --mode agent, domfsfreeze/domfsthaw and quiesced
 * snapshots, domifaddr --source agent, domtime, guestinfo), answered on
 * the virtio-serial port the host names org.qemu.guest_agent.0. The
 * agent is a source of the app's loop (app/loop.h): it answers while the
 * prompt waits, while `serve` runs, in `sleep`, `net up` and `ping`. The
 * protocol is qga.c's; the commands are agent_cmds.c's. */
#ifndef UMBRA_AGENT_H
#define UMBRA_AGENT_H

#include <stdint.h>

#include "qga.h"

#define AGENT_PORT "org.qemu.guest_agent.0"
#define AGENT_FREEZE_S 600	/* a freeze holds writes at most 10 min */
#define AGENT_FREEZE_MAX 3600	/* what `agent freeze-limit` may set */

/* How long a freeze may hold writes (s): AGENT_FREEZE_S, or what the
 * shell set (1 .. AGENT_FREEZE_MAX). */
extern unsigned agent_freeze_limit;

/* Drives the virtio-console devices on PCI (storage_probe took those on
 * virtio-mmio) and, when there is one, adds the agent to the loop; it
 * opens its port once the host has named it. */
void agent_probe(void);

/* For the `agent` command. */
struct agent_status {
	const char *port;	/* vport0p1, or NULL: no port named so */
	int host_open;
	uint64_t requests, errors, dropped;
};
void agent_status(struct agent_status *st);

/* agent_cmds.c: the commands (as libvirt calls them). */
extern const struct qga_cmd agent_cmds[];
extern const unsigned agent_ncmds;

#endif
