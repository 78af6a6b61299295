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

/* Interrupt entry stubs for vectors 32-255 (irq.c): 16 bytes each, so
 * irq.c finds vector v's at irq_stubs + 16 * (v - 32). They push the
 * vector and share irq_common, which saves what the MS x64 convention
 * lets a callee clobber (rax, rcx, rdx, r8-r11 and xmm0-xmm5: the C code
 * uses SSE for copies), calls irq_dispatch(vector) on a 16-byte aligned
 * stack and returns to the interrupted code with iretq. */
	.p2align 4
	.globl irq_stubs
irq_stubs:
	.set v, 32
	.rept 224
	.p2align 4
	pushq $v
	jmp irq_common
	.set v, v + 1
	.endr

irq_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %rbp
	movq %rsp, %rbp
	andq $-16, %rsp
	subq $128, %rsp		/* 96 for xmm0-5, 32 of shadow space */
	movdqu %xmm0, 32(%rsp)
	movdqu %xmm1, 48(%rsp)
	movdqu %xmm2, 64(%rsp)
	movdqu %xmm3, 80(%rsp)
	movdqu %xmm4, 96(%rsp)
	movdqu %xmm5, 112(%rsp)
	cld
	movq 64(%rbp), %rcx	/* the vector the stub pushed */
	call irq_dispatch
	movdqu 32(%rsp), %xmm0
	movdqu 48(%rsp), %xmm1
	movdqu 64(%rsp), %xmm2
	movdqu 80(%rsp), %xmm3
	movdqu 96(%rsp), %xmm4
	movdqu 112(%rsp), %xmm5
	movq %rbp, %rsp
	popq %rbp
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdx
	popq %rcx
	popq %rax
	addq $8, %rsp		/* the vector */
	iretq
