/* The firmware floor: a UEFI application whose first instruction leaves
 * QEMU through isa-debug-exit (port 0xf4). Booted with umbra's exact QEMU
 * command line, it measures what OVMF alone costs. */
#include <stdint.h>

uint64_t efi_main(void *image, void *system_table);

uint64_t efi_main(void *image, void *system_table)
{
	(void)image;
	(void)system_table;
	__asm__ volatile("outl %0, %1" : : "a"(0u), "Nd"((uint16_t)0xf4));
	for (;;)
		__asm__ volatile("hlt");
}
