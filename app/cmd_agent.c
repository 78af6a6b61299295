/* The guest agent's commands: ports (virtio-serial devices and their
 * ports) and agent (its port, its counters, the volume's freeze). */
#include <stdint.h>
#include <string.h>

#include "../drivers/virtio/virtio_console.h"
#include "../runtime/console.h"
#include "agent/agent.h"
#include "shell.h"
#include "storage.h"

static int cmd_ports(int argc, char **argv)
{
	unsigned n = 0;
	if (argc != 1)
		return shell_err(argv[0], SHELL_USAGE, "usage: ports");
	for (unsigned i = 0; i < vcon_count(); i++) {
		struct vcon_dev *d = vcon_get(i);
		con_printf("%s: %s; %u ports (%u driven); waits by %s%s%s\n",
			   d->name, d->model, d->max_ports, d->nports,
			   vcon_wait_mode(d), d->failed ? "; stopped: " : "",
			   d->failed ? d->detail : "");
		for (uint32_t id = 0; id < d->nports; id++) {
			struct vcon_port *p = vcon_port(d, id);
			if (!p)
				continue;
			n++;
			con_printf("%sp%u \"%s%s\" host %s, guest %s%s; rx %llu "
				   "bytes, tx %llu bytes\n", d->name, id,
				   p->name, p->name_cut ? "..." : "",
				   p->host_open ? "open" : "closed",
				   p->guest_open ? "open" : "closed",
				   p->console ? ", console" : "",
				   (unsigned long long)p->rx_bytes,
				   (unsigned long long)p->tx_bytes);
		}
	}
	con_printf("ports: %u virtio-serial devices, %u ports\n", vcon_count(),
		   n);
	return 0;
}

static int cmd_agent(int argc, char **argv)
{
	struct agent_status st;
	unsigned long long s;
	if (argc == 3 && !strcmp(argv[1], "freeze-limit") &&
	    !shell_parse_u64(argv[2], &s) && s >= 1 && s <= AGENT_FREEZE_MAX) {
		agent_freeze_limit = (unsigned)s;
		return 0;
	}
	if (argc != 1)
		return shell_err(argv[0], SHELL_USAGE, "usage: agent "
				 "[freeze-limit SECONDS] (1 to %u)",
				 AGENT_FREEZE_MAX);
	agent_status(&st);
	if (st.port)
		con_printf("agent: %s (%s), host %s; %llu requests, %llu "
			   "errors, %llu bytes dropped\n", st.port, AGENT_PORT,
			   st.host_open ? "connected" : "not connected",
			   (unsigned long long)st.requests,
			   (unsigned long long)st.errors,
			   (unsigned long long)st.dropped);
	else
		con_printf("agent: no port named %s\n", AGENT_PORT);
	con_printf("agent: volume %s; a freeze holds writes at most %u s\n",
		   storage_frozen() ? "frozen" : "thawed", agent_freeze_limit);
	return 0;
}

const struct shell_cmd shell_agent_cmds[] = {
	{ "ports", "", "virtio-serial devices and their ports", cmd_ports },
	{ "agent", "[freeze-limit S]", "the QEMU guest agent: its port, "
	  "requests, the freeze (and how long one may hold writes)",
	  cmd_agent },
	{ 0, 0, 0, 0 },
};
