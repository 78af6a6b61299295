/* fw_cfg over I/O ports; see fwcfg.h. */
#include "fwcfg.h"

#include <stdint.h>
#include <string.h>

#include "cpu.h"

#define FWCFG_SEL       0x510	/* 16-bit selector, w */
#define FWCFG_DATA      0x511	/* 8-bit data, r; auto-increments */
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_FILE_DIR  0x0019
#define NAME_LEN 56		/* fw_cfg.rst: FWCfgFile.name[56] */
#define MAX_FILES 4096

static void read_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < n; i++)
		p[i] = inb(FWCFG_DATA);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int fwcfg_present(void)
{
	char sig[4];
	outw(FWCFG_SEL, FW_CFG_SIGNATURE);
	read_bytes(sig, 4);
	return !memcmp(sig, "QEMU", 4);
}

long fwcfg_read_file(const char *name, char *buf, size_t size)
{
	uint8_t hdr[4], ent[64];
	if (!size || !fwcfg_present())
		return -1;
	outw(FWCFG_SEL, FW_CFG_FILE_DIR);
	read_bytes(hdr, 4);
	uint32_t count = be32(hdr);
	if (count > MAX_FILES)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		/* FWCfgFile: be32 size, be16 select, be16 reserved, name. */
		read_bytes(ent, sizeof(ent));
		ent[63] = 0;
		if (strncmp((char *)ent + 8, name, NAME_LEN))
			continue;
		uint32_t len = be32(ent);
		uint16_t sel = (uint16_t)(ent[4] << 8 | ent[5]);
		size_t n = len < size - 1 ? len : size - 1;
		outw(FWCFG_SEL, sel);
		read_bytes(buf, n);
		buf[n] = 0;
		return (long)len;
	}
	return -1;
}
