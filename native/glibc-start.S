/* Entry point of the prebuilt glibc launcher (scripts/build-prebuilt.js links it with -nostartfiles).
 *
 * glibc 2.34 gave __libc_start_main a new symbol version, and every crt1.o since binds it, so a launcher linked
 * on this Debian would refuse to start on glibc < 2.34. This is crt1's own _start with the call bound to the
 * version glibc has had since each architecture's first release; glibc >= 2.34 still exports it, and with a
 * null init argument every version runs the program the same way (the launcher has no constructors). */
#if defined(__x86_64__)
        .symver __libc_start_main, __libc_start_main@GLIBC_2.2.5
        .text
        .globl _start
        .type _start, @function
_start:
        xorl %ebp, %ebp
        movq %rdx, %r9                          /* rtld_fini, from the dynamic loader */
        popq %rsi                               /* argc */
        movq %rsp, %rdx                         /* argv */
        andq $-16, %rsp
        pushq %rax
        pushq %rsp                              /* stack_end */
        xorl %r8d, %r8d                         /* fini */
        xorl %ecx, %ecx                         /* init */
        movq main@GOTPCREL(%rip), %rdi
        call *__libc_start_main@GOTPCREL(%rip)
        hlt
#elif defined(__aarch64__)
        .symver __libc_start_main, __libc_start_main@GLIBC_2.17
        .text
        .globl _start
        .type _start, %function
_start:
        mov x29, #0
        mov x30, #0
        mov x5, x0                              /* rtld_fini, from the dynamic loader */
        ldr x1, [sp]                            /* argc */
        add x2, sp, #8                          /* argv */
        mov x6, sp                              /* stack_end */
        mov x3, #0                              /* init */
        mov x4, #0                              /* fini */
        adrp x0, :got:main
        ldr x0, [x0, #:got_lo12:main]
        bl __libc_start_main
        bl abort
#else
#error "glibc-start.S: no entry point for this architecture"
#endif
        .section .note.GNU-stack, "", %progbits
