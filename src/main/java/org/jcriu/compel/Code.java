package org.jcriu.compel;

/** The only machine code jcriu ever places in a task, with its disassembly. */
final class Code {
    private Code() {}

    /**
     * <pre>
     *   0f 05    syscall      ; nr in rax, args in rdi rsi rdx r10 r8 r9, result in rax
     *   cc       int3         ; SIGTRAP: the tracer's wait4() sees the task stop right after
     * </pre>
     */
    static final byte[] SYSCALL_INT3 = {0x0f, 0x05, (byte) 0xcc};
    /** rip after the int3 of {@link #SYSCALL_INT3} has trapped. */
    static final int TRAP_OFFSET = 3;

    /**
     * Placed at {@link #CPUID_OFFSET} of a gadget page, after {@link #SYSCALL_INT3}:
     * <pre>
     *   0f a2    cpuid        ; leaf in eax, sub-leaf in ecx, result in eax ebx ecx edx
     *   cc       int3
     * </pre>
     * CPUID is an instruction, not a syscall: the only way for jcriu (no native code) to ask
     * the CPU what CRIU's compel_cpuid() asks it is to have a task execute it.
     */
    static final byte[] CPUID_INT3 = {0x0f, (byte) 0xa2, (byte) 0xcc};
    static final int CPUID_OFFSET = 8;
}
