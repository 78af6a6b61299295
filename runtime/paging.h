/* umbra's own identity-mapped page tables (4-level, Intel SDM vol. 3
 * §4.5): our code read-only and executable, everything else
 * non-executable, page 0 and the stack guard pages not present. */
#ifndef UMBRA_PAGING_H
#define UMBRA_PAGING_H

#include <stdint.h>

#include "boot_info.h"

/* Builds the tables from the boot memory map and our PE image's section
 * table, then loads them (with EFER.NXE and CR0.WP set). Needs page_add done for
 * some free memory; allocates the tables from it. Panics if it cannot. */
void paging_init(const struct boot_info *bi);

/* Identity-maps a device register range uncached, writable, NX. Returns
 * 0, or -1 when out of memory for tables. */
int paging_map_mmio(uint64_t phys, uint64_t len);

/* The same for a framebuffer: write-combining (PAT) where the CPU has
 * it, else uncached. */
int paging_map_wc(uint64_t phys, uint64_t len);

/* Bytes identity-mapped at boot (the RAM window, from 0). */
uint64_t paging_mapped_top(void);

#endif
