/* Which cloud, from SMBIOS; see cloud_id.h. */
#include "cloud_id.h"

#include <string.h>

#include "../../runtime/fmt.h"

#define AZURE_TAG "7783-7084-3265-9085-8269-3286-77"

static const char *const names[] = {
	[CLOUD_NONE] = "none",
	[CLOUD_AZURE] = "Azure",
	[CLOUD_DIGITALOCEAN] = "DigitalOcean",
	[CLOUD_AWS] = "AWS",
	[CLOUD_GCE] = "GCE",
	[CLOUD_OPENSTACK] = "OpenStack",
	[CLOUD_HETZNER] = "Hetzner",
	[CLOUD_ORACLE] = "Oracle",
};

const char *cloud_name(enum cloud_kind k)
{
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k]
							      : "?";
}

/* AWS writes a UUID whose first field begins "ec2"; as Linux prints it
 * (the first field little-endian, SMBIOS 2.6 on) or, from hypervisors
 * that stored it the other way round, as its byte-swapped form ends
 * (ds-identify: "[Ee][Cc]2*" and "*2[0-9a-fA-F][Ee][Cc]"). */
static int ec2_uuid(const uint8_t u[16])
{
	return (u[3] == 0xec && (u[2] >> 4) == 2) ||
	       (u[0] == 0xec && (u[1] >> 4) == 2);
}

static int prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

struct rule {
	enum cloud_kind kind;
	const char *what;	/* the field, as `cloud` names it */
	size_t field;		/* offset in struct cloud_dmi */
	const char *value;
	int is_prefix;
};

/* In ds-identify's order of datasources; the first that matches wins. */
static const struct rule rules[] = {
	{ CLOUD_AZURE, "type 3 asset tag",
	  offsetof(struct cloud_dmi, chassis_tag), AZURE_TAG, 0 },
	{ CLOUD_AZURE, "type 2 asset tag",
	  offsetof(struct cloud_dmi, board_tag), AZURE_TAG, 0 },
	{ CLOUD_DIGITALOCEAN, "type 1 manufacturer",
	  offsetof(struct cloud_dmi, vendor), "DigitalOcean", 0 },
	{ CLOUD_AWS, "type 1 manufacturer",
	  offsetof(struct cloud_dmi, vendor), "Amazon EC2", 0 },
	{ CLOUD_GCE, "type 1 product",
	  offsetof(struct cloud_dmi, product), "Google Compute Engine", 0 },
	{ CLOUD_GCE, "type 1 serial",
	  offsetof(struct cloud_dmi, serial), "GoogleCloud-", 1 },
	{ CLOUD_OPENSTACK, "type 1 product",
	  offsetof(struct cloud_dmi, product), "OpenStack Nova", 0 },
	{ CLOUD_OPENSTACK, "type 1 product",
	  offsetof(struct cloud_dmi, product), "OpenStack Compute", 0 },
	{ CLOUD_HETZNER, "type 1 manufacturer",
	  offsetof(struct cloud_dmi, vendor), "Hetzner", 0 },
	{ CLOUD_ORACLE, "type 3 asset tag",
	  offsetof(struct cloud_dmi, chassis_tag), "OracleCloud.com", 0 },
	{ CLOUD_ORACLE, "type 2 asset tag",
	  offsetof(struct cloud_dmi, board_tag), "OracleCloud.com", 0 },
};

enum cloud_kind cloud_identify(const struct cloud_dmi *d, char *why,
			       size_t size)
{
	char scratch[1];
	if (!why) {
		why = scratch;
		size = sizeof(scratch);
	}
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule *r = &rules[i];
		const char *v = (const char *)d + r->field;
		if (r->is_prefix ? !prefix(v, r->value) : strcmp(v, r->value))
			continue;
		fmt_snprintf(why, size, "SMBIOS %s \"%s\"", r->what, v);
		return r->kind;
	}
	if (d->has_uuid && ec2_uuid(d->uuid)) {
		const uint8_t *u = d->uuid;
		fmt_snprintf(why, size, "SMBIOS type 1 UUID %02x%02x%02x%02x-"
			     "... (begins ec2)", u[3], u[2], u[1], u[0]);
		return CLOUD_AWS;
	}
	why[0] = 0;
	return CLOUD_NONE;
}
