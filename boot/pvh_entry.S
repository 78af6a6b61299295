/* The PVH entry, first half: the Xen x86/HVM direct boot ABI
 * (xen/include/public/arch-x86/hvm/start_info.h; the ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY names pvh_start). The loader jumps here in
 * 32-bit protected mode with paging off, flat 4 GiB CS/DS/ES/SS,
 * interrupts off and EBX = physical address of the hvm_start_info; no
 * stack is promised. This code zeroes .bss, identity-maps the first 4 GiB
 * with 2 MiB pages, turns on long mode and SSE, calls pvh_main (boot/
 * pvh.c) with the start_info address on a small boot stack, then moves
 * to the stack pvh_main took from RAM and calls runtime_start with the
 * boot_info it returned.
 *
 * It is linked only into build/umbra.elf, at a fixed base (1 MiB), so
 * absolute 32-bit addresses are fine here. Intel SDM vol. 3 §9.8.5
 * (initializing IA-32e mode) and §4.5 (4-level paging). */

#define CR0_MP     (1 << 1)
#define CR0_EM     (1 << 2)
#define CR0_PG     (1 << 31)
#define CR4_PAE    (1 << 5)
#define CR4_OSFXSR (1 << 9)	/* SSE: clang uses it for copies */
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER   0xc0000080
#define EFER_LME   (1 << 8)
#define PTE_P_RW   0x003
#define PTE_P_RW_PS 0x083
#define SEL_CODE   0x08
#define SEL_DATA   0x10
/* PE/COFF: e_lfanew at 0x3c; NumberOfSections at +6 and
 * SizeOfOptionalHeader at +20 of the COFF header; 40-byte section headers
 * with VirtualSize at 8, VirtualAddress at 12, SizeOfRawData at 16. */
#define PE_LFANEW  0x3c

	.section .data
	.globl pvh_tsc, pvh_start_info
	.balign 8
pvh_tsc:	.quad 0		/* TSC at the first instruction */
pvh_start_info:	.long 0		/* EBX at entry */
	.balign 8
gdt:	.quad 0
	.quad 0x00af9a000000ffff	/* 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* data, DPL 0 */
gdt_desc:
	.word gdt_desc - gdt - 1
	.quad gdt

	.section .bss
	.balign 4096
tables:	.zero 6 * 4096		/* PML4, PDPT, four page directories */

	.section .text
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	mov %ebx, %ebp
	rdtsc
	mov %eax, pvh_tsc
	mov %edx, pvh_tsc + 4
	mov %ebp, pvh_start_info

	/* Zero what each section holds beyond its file contents (.bss):
	 * 64 bytes a loop step, then the rest with rep-string instructions.
	 * Not rep stos for the bulk: under an emulator (QEMU's TCG) every
	 * step of a rep-string instruction ends a translated block, and
	 * .bss is over half a MiB; a plain loop runs inside one block.
	 * Loaders zero it too, but the ABI does not promise it. */
	mov $__ImageBase, %esi
	mov PE_LFANEW(%esi), %eax
	add %esi, %eax
	movzwl 6(%eax), %ebp
	movzwl 20(%eax), %edx
	lea 24(%eax, %edx), %ebx
1:	test %ebp, %ebp
	jz 3f
	mov 8(%ebx), %ecx
	mov 16(%ebx), %edx
	cmp %edx, %ecx
	jbe 2f
	mov 12(%ebx), %edi
	add %esi, %edi
	add %edx, %edi
	sub %edx, %ecx
	xor %eax, %eax
6:	cmp $64, %ecx
	jb 7f
	.irp off, 0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60
	mov %eax, \off(%edi)
	.endr
	add $64, %edi
	sub $64, %ecx
	jmp 6b
7:	rep stosb
2:	add $40, %ebx
	dec %ebp
	jmp 1b
3:
	/* PML4[0] -> PDPT; PDPT[0..3] -> four PDs; 2048 2 MiB pages. */
	mov $tables, %edi
	lea 0x1000 + PTE_P_RW(%edi), %eax
	mov %eax, (%edi)
	add $0x1000, %edi
	lea 0x1000 + PTE_P_RW(%edi), %eax
	mov $4, %ecx
4:	mov %eax, (%edi)
	add $8, %edi
	add $0x1000, %eax
	loop 4b
	mov $tables + 0x2000, %edi
	mov $PTE_P_RW_PS, %eax
	xor %edx, %edx
	mov $2048, %ecx
5:	mov %eax, (%edi)
	mov %edx, 4(%edi)
	add $8, %edi
	add $0x200000, %eax
	adc $0, %edx
	loop 5b

	/* Long mode: PAE, CR3, EFER.LME, then paging (SDM §9.8.5). */
	mov %cr4, %eax
	or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov %eax, %cr4
	mov $tables, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	and $~CR0_EM, %eax
	or $(CR0_PG | CR0_MP), %eax
	mov %eax, %cr0
	lgdt gdt_desc
	ljmp $SEL_CODE, $long_mode

	.code64
long_mode:
	mov $SEL_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	fninit
	mov pvh_stack_top(%rip), %rsp
	xor %ebp, %ebp
	/* MS x64 ABI: argument in rcx, 32 bytes of shadow space, rsp 16-byte
	 * aligned at the call. */
	mov pvh_start_info(%rip), %ecx
	sub $32, %rsp
	call pvh_main
	mov pvh_runtime_stack(%rip), %rsp
	mov %rax, %rcx
	call runtime_start
	ud2
