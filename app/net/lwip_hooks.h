/* lwIP hooks (lwipopts.h names this file as LWIP_HOOK_FILENAME). */
#ifndef UMBRA_LWIP_HOOKS_H
#define UMBRA_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

/* RFC 6528 initial sequence numbers (inet.c). */
u32_t inet_tcp_isn(const ip_addr_t *local_ip, u16_t local_port,
		   const ip_addr_t *remote_ip, u16_t remote_port);

#endif
