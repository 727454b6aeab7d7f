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
}
