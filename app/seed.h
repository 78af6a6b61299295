/* Seed drives, no network needed: a NoCloud seed (filesystem label
 * cidata or CIDATA; user-data, and meta-data's instance-id) or an
 * OpenStack config drive (label config-2 or CONFIG-2;
 * openstack/latest/user_data, and meta_data.json's uuid), ISO 9660 or FAT,
 * on any block device: a whole disk or a partition (fs/seedfs.h reads
 * them). */
#ifndef UMBRA_SEED_H
#define UMBRA_SEED_H

struct seed_info {
	const char *kind;	/* "NoCloud seed" or "config drive" */
	const char *user_path;	/* the user data's file on it */
	char dev[16];		/* the block device */
	char label[16];
	char fs[64];		/* "ISO 9660, Rock Ridge names" */
	char instance_id[128];	/* "" when the metadata gives none */
	char *user_data;	/* its first min(user_len, USERDATA_MAX) bytes,
				 * NUL-terminated; NULL when the drive has
				 * no user data */
	long user_len;		/* the user data's whole size */
};

/* The seed drive, looked for on the first call only: the block devices
 * in order (a partitioned disk's partitions, not the disk; not the root
 * volume's), each recognised by its first sectors. Prints one line for
 * the seed found, and one for each device refused (a volume that breaks
 * its format, a seed whose user data cannot be read); NULL when there is
 * none. A boot that takes its script from an earlier source never calls
 * it, and reads nothing. */
const struct seed_info *seed_find(void);

#endif
