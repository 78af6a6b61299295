/* Which cloud the machine is on, from its SMBIOS values alone, as
 * cloud-init's ds-identify decides it (tools/ds-identify: dscheck_GCE,
 * ec2_identify_platform, dscheck_OpenStack, dscheck_DigitalOcean,
 * dscheck_Hetzner, dscheck_Oracle, dscheck_Azure). Portable C on
 * strings: the same file builds into the image and a host test. */
#ifndef UMBRA_CLOUD_ID_H
#define UMBRA_CLOUD_ID_H

#include <stddef.h>
#include <stdint.h>

#define CLOUD_DMI_STR 128	/* longer values are cut (none we match is) */

/* What SMBIOS says (empty strings when absent). */
struct cloud_dmi {
	char vendor[CLOUD_DMI_STR];	/* type 1 manufacturer */
	char product[CLOUD_DMI_STR];	/* type 1 product name */
	char serial[CLOUD_DMI_STR];	/* type 1 serial number */
	char board_tag[CLOUD_DMI_STR];	/* type 2 asset tag */
	char chassis_tag[CLOUD_DMI_STR];	/* type 3 asset tag */
	uint8_t uuid[16];	/* type 1 UUID as the table holds it */
	int has_uuid;
};

enum cloud_kind {
	CLOUD_NONE = 0,
	CLOUD_AZURE,
	CLOUD_DIGITALOCEAN,
	CLOUD_AWS,
	CLOUD_GCE,
	CLOUD_OPENSTACK,
	CLOUD_HETZNER,
	CLOUD_ORACLE,
};

/* The cloud d names, CLOUD_NONE when none. *why (when not NULL) gets the
 * value that decided it, as words: `SMBIOS type 1 product "OpenStack
 * Nova"` (at most size-1 bytes). */
enum cloud_kind cloud_identify(const struct cloud_dmi *d, char *why,
			       size_t size);

/* "GCE", "AWS", ... ("none" for CLOUD_NONE). */
const char *cloud_name(enum cloud_kind k);

#endif
