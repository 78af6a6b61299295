/* The PVH floor: a kernel whose first instruction leaves QEMU through
 * isa-debug-exit (port 0xf4, status 0). Wrapped like build/umbra.elf and
 * booted with umbra's exact QEMU command line, it measures what the
 * loader alone costs (QEMU start, firmware, PVH hand-off). */
	.section .text
	.code32
	.globl pvh_start
pvh_start:
	xor %eax, %eax
	out %eax, $0xf4
1:	hlt
	jmp 1b
