/* lwIP's configuration for umbra (lwIP src/include/lwip/opt.h lists every
 * option and its default). One thread and no operating system (NO_SYS,
 * the raw callback API); IPv4 with ARP, ICMP, UDP, TCP, DHCP and DNS;
 * IPv6 with SLAAC, ICMPv6, ND, MLD and stateless DHCPv6. The
 * pools are fixed: what a flood of hostile clients can take is bounded. */
#ifndef UMBRA_LWIPOPTS_H
#define UMBRA_LWIPOPTS_H

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0	/* interrupt handlers never touch lwIP */
#define LWIP_TIMERS 1		/* driven from app/net/inet.c's loop */
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_SINGLE_NETIF 1

#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 1		/* ping */
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 1
#define LWIP_DNS 1
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_BROADCAST_PING 0
#define LWIP_MULTICAST_PING 0
#define IP_REASSEMBLY 0		/* no fragment state for strangers to fill */
#define IP_FRAG 0		/* TCP keeps to the MSS; nothing else is big */
#define LWIP_NETIF_HOSTNAME 1
#define LWIP_NETIF_LOOPBACK 0
/* The ARP probe before taking a leased address adds a second to every
 * `net up`; DHCP servers of virtual networks do not hand out taken ones. */
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_DHCP_GET_NTP_SRV 0
/* IPv6 as lwIP builds it: addresses from router advertisements
 * (SLAAC), DNS from stateless DHCPv6 (into the first slot: inet.c puts
 * the IPv4 servers back in front), no fragments either way. */
#define LWIP_IPV6_FRAG 0
#define LWIP_IPV6_REASS 0
#define LWIP_IPV6_DHCP6 1
#define LWIP_DHCP6_MAX_DNS_SERVERS 1
#define LWIP_IPV6_NUM_ADDRESSES 3	/* link-local and two prefixes */
#define DNS_TABLE_SIZE 4
#define DNS_MAX_SERVERS 2
#define DNS_MAX_NAME_LENGTH 256
#define ARP_TABLE_SIZE 16
#define ARP_QUEUEING 1
#define MEMP_NUM_ARP_QUEUE 32

/* Memory: the heap holds what TCP sends (copied at tcp_write, or the
 * headers of what it sends by reference); the pool holds received
 * frames (a 64 KiB one from a device that hands those in takes 44). */
#define MEM_ALIGNMENT 8
#define MEM_SIZE (2 * 1024 * 1024)
/* the heap is taken from the page allocator at the first net up
 * (app/net/inet.c), not kept in .bss */
extern unsigned char *inet_ram_heap;
#define LWIP_RAM_HEAP_POINTER inet_ram_heap
#define PBUF_POOL_SIZE 256
#define MEMP_NUM_PBUF 2048	/* what TCP sends by reference: one per
				 * segment (app/http/http_send.c: up to
				 * 2.8 MiB of file bytes for all) */
#define MEMP_NUM_RAW_PCB 2
#define MEMP_NUM_UDP_PCB 4
#define MEMP_NUM_TCP_PCB 80	/* app/http: at most 64 connections */
#define MEMP_NUM_TCP_PCB_LISTEN 4
/* Segments queued to send, for every connection: with 512, a dozen
 * clients that read nothing left none for a new connection's SYN-ACK,
 * which then waited for them to time out (40 bytes each). Enough for
 * what the heap can hold copied (2 MiB: ~1400) and serve's file buffers
 * by reference (2.8 MiB: ~2000), and more; >= TCP_SND_QUEUELEN. */
#define MEMP_NUM_TCP_SEG 4096
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 4)

/* TCP for a LAN or a cloud: windows past 64 KiB (RFC 7323 scaling), so
 * that a burst fills the 64 KiB frames the device segments (gso.h) and
 * the send buffer covers the time an ACK takes to come back through the
 * host. What a connection sends is bounded by lwIP's heap (2 MiB for
 * all), what it receives and the server has not read by its window. */
#define TCP_MSS 1460
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 2		/* windows up to 256 KiB */
#define TCP_WND (128 * 1024)
#define TCP_SND_BUF (512 * 1024)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_SNDLOWAT (32 * 1024)	/* (sockets' select; lwIP checks it) */
#define TCP_QUEUE_OOSEQ 1
#define TCP_OOSEQ_MAX_PBUFS 16	/* per connection */
#define TCP_OOSEQ_MAX_BYTES (16 * TCP_MSS)
/* One extension slot per pcb: inet_listen marks half-open
 * connections expendable through its passive-open callback. */
#define LWIP_TCP_PCB_NUM_EXT_ARGS 1
#define LWIP_TCP_KEEPALIVE 0
#define LWIP_TCP_TIMESTAMPS 0
#define TCP_LISTEN_BACKLOG 0	/* a backlog would drop new SYNs when
				 * full; inet_listen evicts the oldest
				 * half-open one instead */
#define SO_REUSE 1		/* serve again on a port in TIME_WAIT */
#define LWIP_CHECKSUM_ON_COPY 0	/* a device that completes TCP's
				 * checksums needs none, and for one that
				 * does not lwIP sums at output */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1	/* TCP's to a device that can */

/* lwIP's assertions check how its own API is used (by app/net and
 * app/http, which the tests drive) and its invariants: on, as a panic
 * that names lwIP's file and line (arch/cc.h). Input from the wire is
 * checked by lwIP's code proper, not by assertions. */
#define LWIP_STATS 0
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0

/* The altcp layer: app/http talks to one interface whether the bytes
 * go over plain TCP (lwIP's altcp_tcp) or TLS (app/net/altcp_tls.c,
 * BearSSL): two altcp pcbs per TLS connection, one per plain one, and
 * the listeners. */
#define LWIP_ALTCP 1
#define LWIP_ALTCP_TLS 1
#define MEMP_NUM_ALTCP_PCB (2 * MEMP_NUM_TCP_PCB + 4)

#define LWIP_HOOK_FILENAME "lwip_hooks.h"
#define LWIP_HOOK_TCP_ISN inet_tcp_isn
/* DHCP options lwIP 2.1 drops: 26 (MTU) and 121 (routes), asked for and
 * taken (app/net/inet_route.c) */
#define LWIP_HOOK_DHCP_APPEND_OPTIONS inet_dhcp_append
#define LWIP_HOOK_DHCP_PARSE_OPTION inet_dhcp_option
#define LWIP_HOOK_ETHARP_GET_GW inet_route_gw	/* those routes */

#endif
