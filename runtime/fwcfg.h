/* QEMU's fw_cfg device (QEMU docs/specs/fw_cfg.rst): named blobs the host
 * passes to the guest, read over I/O ports 0x510 (selector) and 0x511
 * (data). umbra reads its commands from "opt/umbra/cmdline". */
#ifndef UMBRA_FWCFG_H
#define UMBRA_FWCFG_H

#include <stddef.h>

/* Nonzero when the device answers with its "QEMU" signature. */
int fwcfg_present(void);

/* Reads the file `name` into buf (at most size-1 bytes, NUL-terminated).
 * Returns the file's full length, or -1 when absent. */
long fwcfg_read_file(const char *name, char *buf, size_t size);

#endif
