package org.jcriu.dump;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * What only the task itself can tell, asked by injecting syscalls into it (CRIU's parasite
 * commands): signal dispositions, the clear-tid address, the alternate signal stack, interval
 * timers, securebits, prctl flags and the program break. Runs on the tracer thread; the scratch
 * buffer sits below the stack's red zone and is put back before anything reads memory.
 */
public record Injected(long[][] sigactions, long clearTidAddr, long ssSp, long ssSize, int ssFlags,
                       long[][] itimers, int secbits, boolean childSubreaper, int dumpable,
                       boolean thpDisabled, long brk) {

    /** struct kernel_sigaction: handler, flags, restorer, mask. */
    private static final int SA_SIZE = 32;

    /**
     * @param handled signals whose disposition is not plain SIG_DFL (SigCgt | SigIgn of
     *                /proc/PID/status): only those are asked; every other one is SIG_DFL, whose
     *                flags and mask change nothing, except SIGCHLD's (SA_NOCLDWAIT,
     *                SA_NOCLDSTOP), which is always asked.
     */
    public static Injected collect(Task t, long handled) {
        long[][] sa = new long[Linux.NSIG][4];
        long clearTid;
        long ssSp, ssSize;
        int ssFlags;
        long[][] it = new long[3][4];
        int childSub;
        try (Scratch s = t.scratch(Linux.NSIG * SA_SIZE + 64)) {
            long base = s.addr();
            long ask = (handled | (1L << (Linux.SIGCHLD - 1))) & ~(1L << (Linux.SIGKILL - 1)) & ~(1L << (Linux.SIGSTOP - 1));
            for (int sig = 1; sig <= Linux.NSIG; sig++) {
                if ((ask & (1L << (sig - 1))) != 0) t.syscall(Nr.RT_SIGACTION, sig, 0, base + (long) (sig - 1) * SA_SIZE, 8);
            }
            ByteBuffer b = ByteBuffer.wrap(s.get(0, Linux.NSIG * SA_SIZE + 64)).order(ByteOrder.LITTLE_ENDIAN);
            for (int sig = 1; sig <= Linux.NSIG; sig++) {
                if ((ask & (1L << (sig - 1))) == 0) continue;
                for (int k = 0; k < 4; k++) sa[sig - 1][k] = b.getLong((sig - 1) * SA_SIZE + 8 * k);
            }
            long tail = base + Linux.NSIG * SA_SIZE;
            t.syscall(Nr.PRCTL, Linux.PR_GET_TID_ADDRESS, tail);
            t.syscall(Nr.SIGALTSTACK, 0, tail + 8);
            t.syscall(Nr.PRCTL, Linux.PR_GET_CHILD_SUBREAPER, tail + 32);
            ByteBuffer tb = ByteBuffer.wrap(s.get(Linux.NSIG * SA_SIZE, 64)).order(ByteOrder.LITTLE_ENDIAN);
            clearTid = tb.getLong(0);
            ssSp = tb.getLong(8);
            ssFlags = tb.getInt(16);
            ssSize = tb.getLong(24);
            childSub = tb.getInt(32);
            for (int which = 0; which < 3; which++) {
                t.syscall(Nr.GETITIMER, which, base);
                ByteBuffer ib = ByteBuffer.wrap(s.get(0, 32)).order(ByteOrder.LITTLE_ENDIAN);
                for (int k = 0; k < 4; k++) it[which][k] = ib.getLong(8 * k);
            }
        }
        int secbits = (int) t.syscall(Nr.PRCTL, Linux.PR_GET_SECUREBITS);
        int dumpable = (int) t.syscall(Nr.PRCTL, Linux.PR_GET_DUMPABLE);
        // the kernel refuses (EINVAL) PR_GET_THP_DISABLE unless arguments 2-5 are zero
        long thp = t.syscallRaw(Nr.PRCTL, Linux.PR_GET_THP_DISABLE, 0, 0, 0, 0);
        long brk = t.syscall(Nr.BRK, 0);
        return new Injected(sa, clearTid, ssSp, ssSize, ssFlags, it, secbits, childSub != 0, dumpable,
                thp > 0, brk);
    }

}
