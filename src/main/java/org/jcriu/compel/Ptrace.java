package org.jcriu.compel;

import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Raw ptrace requests through the syscall itself (not glibc's wrapper): PEEK requests store
 * their word through {@code data}, so -1 is never ambiguous. Must run on the {@link Tracer} thread.
 */
public final class Ptrace {
    private Ptrace() {}

    public static final int PEEKDATA = 2, POKEDATA = 5, CONT = 7, KILL = 8, SINGLESTEP = 9, DETACH = 17, SETOPTIONS = 0x4200,
            GETEVENTMSG = 0x4201, GETSIGINFO = 0x4202, GETREGSET = 0x4204, SETREGSET = 0x4205, SEIZE = 0x4206,
            INTERRUPT = 0x4207, LISTEN = 0x4208, PEEKSIGINFO = 0x4209, GETSIGMASK = 0x420a, SETSIGMASK = 0x420b,
            SECCOMP_GET_FILTER = 0x420c, SECCOMP_GET_METADATA = 0x420d, GET_SYSCALL_INFO = 0x420e,
            GET_RSEQ_CONFIGURATION = 0x420f;
    public static final long O_TRACESYSGOOD = 1, O_TRACEFORK = 2, O_TRACEVFORK = 4, O_TRACECLONE = 8,
            O_TRACEEXEC = 0x10, O_TRACEVFORKDONE = 0x20, O_TRACEEXIT = 0x40, O_TRACESECCOMP = 0x80,
            O_EXITKILL = 0x100000, O_SUSPEND_SECCOMP = 0x200000;
    public static final int EVENT_FORK = 1, EVENT_VFORK = 2, EVENT_CLONE = 3, EVENT_EXEC = 4, EVENT_VFORK_DONE = 5,
            EVENT_EXIT = 6, EVENT_SECCOMP = 7, EVENT_STOP = 128;
    public static final int NT_PRSTATUS = 1, NT_PRFPREG = 2, NT_X86_XSTATE = 0x202;
    /** The kernel's xstate buffer is 2432 bytes on this machine's AVX-512 CPU; ask with room to spare. */
    public static final int XSTATE_MAX = 8192;

    private static final ThreadLocal<MemorySegment> BUF = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(XSTATE_MAX + 64, 64));

    public static long request(int req, int tid, long addr, long data, String what) {
        return ErrnoException.check(Sys.raw(Nr.PTRACE, req, tid, addr, data), what + "(" + tid + ")");
    }

    public static void seize(int tid, long options) {
        request(SEIZE, tid, 0, options, "PTRACE_SEIZE");
    }

    public static void interrupt(int tid) {
        request(INTERRUPT, tid, 0, 0, "PTRACE_INTERRUPT");
    }

    public static void cont(int tid, int sig) {
        request(CONT, tid, 0, sig, "PTRACE_CONT");
    }

    public static void detach(int tid, int sig) {
        request(DETACH, tid, 0, sig, "PTRACE_DETACH");
    }

    public static void setOptions(int tid, long options) {
        request(SETOPTIONS, tid, 0, options, "PTRACE_SETOPTIONS");
    }

    public static long eventMsg(int tid) {
        MemorySegment b = BUF.get();
        request(GETEVENTMSG, tid, 0, b.address(), "PTRACE_GETEVENTMSG");
        return b.get(JAVA_LONG, 0);
    }

    public static long peek(int tid, long addr) {
        MemorySegment b = BUF.get();
        request(PEEKDATA, tid, addr, b.address(), "PTRACE_PEEKDATA");
        return b.get(JAVA_LONG, 0);
    }

    public static void poke(int tid, long addr, long word) {
        request(POKEDATA, tid, addr, word, "PTRACE_POKEDATA");
    }

    /** GETREGSET into a buffer of {@code max} bytes; returns the bytes the kernel filled. */
    public static byte[] getRegset(int tid, int type, int max) {
        MemorySegment b = BUF.get();
        MemorySegment iov = b.asSlice(XSTATE_MAX, 16);
        iov.set(JAVA_LONG, 0, b.address());
        iov.set(JAVA_LONG, 8, max);
        request(GETREGSET, tid, type, iov.address(), "PTRACE_GETREGSET");
        int n = (int) iov.get(JAVA_LONG, 8);
        return b.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    public static void setRegset(int tid, int type, byte[] data) {
        MemorySegment b = BUF.get();
        MemorySegment.copy(data, 0, b, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, data.length);
        MemorySegment iov = b.asSlice(XSTATE_MAX, 16);
        iov.set(JAVA_LONG, 0, b.address());
        iov.set(JAVA_LONG, 8, data.length);
        request(SETREGSET, tid, type, iov.address(), "PTRACE_SETREGSET");
    }

    public static Regs getRegs(int tid) {
        return Regs.of(getRegset(tid, NT_PRSTATUS, Regs.SIZE));
    }

    public static void setRegs(int tid, Regs r) {
        setRegset(tid, NT_PRSTATUS, r.toBytes());
    }

    public static long getSigmask(int tid) {
        MemorySegment b = BUF.get();
        request(GETSIGMASK, tid, 8, b.address(), "PTRACE_GETSIGMASK");
        return b.get(JAVA_LONG, 0);
    }

    public static void setSigmask(int tid, long mask) {
        MemorySegment b = BUF.get();
        b.set(JAVA_LONG, 0, mask);
        request(SETSIGMASK, tid, 8, b.address(), "PTRACE_SETSIGMASK");
    }
}
