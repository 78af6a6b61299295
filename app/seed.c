/* Finding the seed drive; see seed.h. The glue between the block layer
 * and fs/seedfs.h, as storage.c is for EclipseFS. */
#include "seed.h"

#include <stdlib.h>
#include <string.h>

#include "../drivers/blk.h"
#include "../fs/eclipsefs.h"
#include "../fs/seedfs.h"
#include "../runtime/console.h"
#include "../runtime/fmt.h"
#include "storage.h"
#include "userdata.h"

#define META_MAX (64 << 10)	/* metadata read for the instance id */

static const struct {
	const char *label, *kind, *user, *meta, *id_key;
} kinds[] = {
	{ "cidata", "NoCloud seed", "user-data", "meta-data", "instance-id" },
	{ "CIDATA", "NoCloud seed", "user-data", "meta-data", "instance-id" },
	{ "config-2", "config drive", "openstack/latest/user_data",
	  "openstack/latest/meta_data.json", "uuid" },
	{ "CONFIG-2", "config drive", "openstack/latest/user_data",
	  "openstack/latest/meta_data.json", "uuid" },
};

static struct seed_info info;

/* Why a seedfs call failed, in words: with the reader's reason for a
 * corrupt or unsupported volume (an I/O error's, the block layer has
 * printed already). */
static const char *why(const struct seedfs *fs, int err)
{
	static char buf[160];
	const char *detail = err == SEEDFS_ERR_CORRUPT ||
			     err == SEEDFS_ERR_UNSUPPORTED ? fs->why : "";
	fmt_snprintf(buf, sizeof(buf), "%s%s%s", seedfs_strerror(err),
		     detail[0] ? ": " : "", detail);
	return buf;
}

static int has_partitions(struct blk_dev *d)
{
	for (unsigned i = 0; i < blk_count(); i++)
		if (blk_get(i)->parent == d)
			return 1;
	return 0;
}

/* The instance id from the metadata file, when it has one. */
static void instance_id(struct seedfs *fs, unsigned k)
{
	char *meta = malloc(META_MAX);
	uint64_t size;
	int64_t n = meta ? seedfs_read(fs, kinds[k].meta, meta, META_MAX,
				       &size) : -1;
	if (n > 0)
		userdata_meta_value(meta, (size_t)n, kinds[k].id_key,
				    info.instance_id,
				    sizeof(info.instance_id));
	free(meta);
}

/* The user data: 0 (none is fine), or an error. */
static int user_data(struct seedfs *fs, unsigned k)
{
	uint64_t size;
	char *buf = malloc(USERDATA_MAX + 1);
	if (!buf)
		return SEEDFS_ERR_NO_MEMORY;
	int64_t n = seedfs_read(fs, kinds[k].user, buf, USERDATA_MAX, &size);
	if (n < 0) {
		free(buf);
		return n == SEEDFS_ERR_NOT_FOUND ? 0 : (int)n;
	}
	buf[n] = 0;
	info.user_data = realloc(buf, (size_t)n + 1);
	if (!info.user_data)
		info.user_data = buf;
	info.user_len = (long)size;	/* at most 4 GiB - 1 */
	return 0;
}

static unsigned kind_of(const char *label)
{
	unsigned k = 0;
	while (k < sizeof(kinds) / sizeof(kinds[0]) &&
	       strcmp(label, kinds[k].label))
		k++;
	return k;
}

/* Can d hold a seed, judged from its first sector (which the EclipseFS
 * probe has mostly read already)? Not an EclipseFS volume, and not a FAT
 * volume whose boot sector names another label. */
static int maybe(struct blk_dev *d)
{
	char label[SEEDFS_LABEL_MAX + 1];
	const uint8_t *head = storage_head(d);
	if (!head || efs_probe(head, d->sector_size))
		return 0;
	return !fat_boot_label(head, label) || !label[0] ||
	       kind_of(label) < sizeof(kinds) / sizeof(kinds[0]);
}

/* Is d a seed drive? 1 (info filled), 0 (not one, or refused: said). */
static int try_dev(struct blk_dev *d)
{
	struct efs_io io;
	if (!maybe(d))
		return 0;
	struct seedfs *fs = malloc(sizeof(*fs));
	if (!fs)
		return 0;
	storage_efs_io(d, &io);
	int err = seedfs_open(&io, fs);
	unsigned k = sizeof(kinds) / sizeof(kinds[0]);
	if (err == SEEDFS_ERR_IO)
		con_printf("seed: %s: not read: I/O error\n", d->name);
	else if (err && err != SEEDFS_ERR_NOT_FS)
		con_printf("seed: %s: %s volume refused: %s\n", d->name,
			   seedfs_type_name(fs), why(fs, err));
	if (!err)
		k = kind_of(fs->label);
	if (!err && k < sizeof(kinds) / sizeof(kinds[0])) {
		memset(&info, 0, sizeof(info));
		err = user_data(fs, k);
		if (err) {
			con_printf("seed: %s: %s (%s) refused: %s: %s\n",
				   d->name, kinds[k].kind, seedfs_type_name(fs),
				   kinds[k].user, why(fs, err));
		} else {
			instance_id(fs, k);
			info.kind = kinds[k].kind;
			info.user_path = kinds[k].user;
			fmt_snprintf(info.dev, sizeof(info.dev), "%s", d->name);
			fmt_snprintf(info.label, sizeof(info.label), "%s",
				     fs->label);
			fmt_snprintf(info.fs, sizeof(info.fs), "%s, %s",
				     seedfs_type_name(fs), fs->names);
		}
	}
	free(fs);
	return !err && k < sizeof(kinds) / sizeof(kinds[0]);
}

static void say(void)
{
	char user[48];
	if (!info.user_data)
		fmt_snprintf(user, sizeof(user), "no %s", info.user_path);
	else
		fmt_snprintf(user, sizeof(user), "%s %ld bytes",
			     info.user_path, info.user_len);
	con_printf("seed: %s: %s (label %s, %s); %s; instance-id %s\n",
		   info.dev, info.kind, info.label, info.fs, user,
		   info.instance_id[0] ? info.instance_id : "none");
}

const struct seed_info *seed_find(void)
{
	static int looked;
	if (looked++)
		return info.kind ? &info : 0;
	for (unsigned i = 0; i < blk_count(); i++) {
		struct blk_dev *d = blk_get(i);
		if (d->failed || d == storage_root_dev() || has_partitions(d))
			continue;
		if (try_dev(d)) {
			say();
			return &info;
		}
	}
	return 0;
}
