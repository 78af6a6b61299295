/* Exception entry stubs for vectors 0-31. Each stub is 16 bytes long so
 * that cpu.c finds stub n at isr_stubs + 16*n. Vectors for which the CPU
 * pushes no error code push a zero, so every frame has the same layout
 * (struct cpu_frame in cpu.c). Intel SDM vol. 3 §6.13: error codes come
 * with vectors 8, 10-14, 17, 21, 29 and 30. */

	.text
	.p2align 4
	.globl isr_stubs
isr_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.p2align 4
	.if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushq $0
	.endif
	pushq $\n
	jmp isr_common
	.endr

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rcx		/* MS x64: first argument */
	andq $-16, %rsp
	subq $32, %rsp		/* shadow space */
	call cpu_exception	/* reports and exits; never returns */
1:	hlt
	jmp 1b
