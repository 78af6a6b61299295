/* The cloud the machine runs on and its instance configuration: which
 * cloud, from SMBIOS alone (cloud_id.c; nothing of the network is
 * touched for it), and, asked for a script, the user data of that
 * cloud's metadata service at 169.254.169.254 (the first network device
 * brought up by DHCP, then one or two bounded HTTP requests). */
#ifndef UMBRA_CLOUD_H
#define UMBRA_CLOUD_H

#include <stddef.h>

#include "../userdata.h"
#include "cloud_id.h"

/* Which cloud SMBIOS names (read once; CLOUD_NONE when none). */
enum cloud_kind cloud_detect(void);

/* A script source (app/main.c): the recognised cloud's user data,
 * fetched at the first call and kept. Copies at most size-1 bytes of it
 * into buf, NUL-terminated, and returns its length; -1 when there is
 * none: no cloud recognised (then nothing is asked of the network), or
 * no network device, no lease, no answer, no user data, a refused or
 * malformed answer (one line on the console said which, and the boot
 * goes on to the next source). */
long cloud_user_data(char *buf, size_t size);

/* The `cloud` command's lines: the cloud and why, how its metadata
 * service answered, the instance id, the source of the script. */
void cloud_print(const char *script_source);

#endif
