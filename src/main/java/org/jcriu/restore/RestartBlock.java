package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.jcriu.CriuException;
import org.jcriu.compel.Regs;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;

/**
 * Clears the task's restart block. fork copies {@code current->restart_block} from the seed, which
 * was seized inside a sleep: its restart function is that sleep's, with the seed's deadline. A
 * task dumped inside a sleep resumes through restart_syscall (the dump leaves rax = 219 or
 * -ERESTART_RESTARTBLOCK), which would run the seed's leftover sleep instead of returning EINTR
 * as it must (a new task cannot resume the kernel's part of the old one; the program's own retry
 * loop, fed by the remaining time the kernel stored at interruption, carries on). Only
 * rt_sigreturn resets the restart function (restore_sigcontext), so one is injected with a
 * signal frame built in scratch memory that returns to the gadget's int3: that is where an
 * injected syscall is expected to stop anyway. CRIU's restorer ends in rt_sigreturn for the same
 * effect. The FPU state is cleared by it (no fpstate in the frame): it is set afterwards.
 */
final class RestartBlock {
    static final long NR_RT_SIGRETURN = 15;
    private static final int UC_SIGCONTEXT_SS = 2, UC_STRICT_RESTORE_SS = 4, SS_DISABLE = 2;
    /** rt_sigframe: pretcode (8), ucontext (40 + sigcontext 256 + sigmask 8), siginfo (128). */
    private static final int FRAME = 8 + 304 + 128;

    private RestartBlock() {}

    static void reset(Task task, long gadget) {
        Regs saved = task.regs();
        try (Scratch s = task.scratch(FRAME + 64)) {
            long frame = (s.addr() + 63) & ~15L;
            long uc = frame + 8;
            ByteBuffer b = ByteBuffer.allocate(FRAME).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(8, UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);      // uc_flags
            b.putInt(8 + 16 + 8, SS_DISABLE);                              // uc_stack.ss_flags
            int sc = 8 + 40;                                               // uc_mcontext
            b.putLong(sc + 120, uc);                                       // rsp
            b.putLong(sc + 128, gadget + 2);                               // rip: the int3
            b.putLong(sc + 136, 0x246);                                    // eflags
            b.putShort(sc + 144, (short) saved.get(Regs.CS));              // cs
            b.putShort(sc + 150, (short) saved.get(Regs.SS));              // ss
            b.putLong(8 + 296, -1L);                                       // uc_sigmask: all blocked while we work
            s.put((int) (frame - s.addr()), b.array());
            task.setRegs(saved.copy().set(Regs.RSP, uc));
            task.syscallRaw(NR_RT_SIGRETURN);
        } catch (CriuException e) {
            throw new CriuException(e.errno(), "Can't reset the restart block of task " + task.tid() + ": " + e.getMessage(), e);
        } finally {
            task.setRegs(saved);
        }
    }
}
