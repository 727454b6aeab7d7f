package org.jcriu.compel;

import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.proc.Maps;
import org.jcriu.proc.Vma;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;
import org.jcriu.sys.WaitStatus;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A thread seized with ptrace and held in a ptrace-stop, into which single syscalls can be
 * injected (CRIU's compel, without a parasite blob). Every method must run on the {@link Tracer}
 * thread.
 *
 * <p>Injection: the registers are set to {@code rax = nr, rip = <a syscall instruction>, args},
 * the task runs that one instruction, and stops again with the result in {@code rax}. Where the
 * instruction comes from, in order of preference: a gadget page mapped for the purpose
 * ({@link #mapGadget}: {@code syscall; int3}, continued until the int3 traps), which a restore
 * needs once the seed's own text is gone; else a {@code syscall} instruction that already exists
 * in the task's vDSO (its fallback paths have some), single-stepped, so that nothing in the task's
 * memory is ever written; else, last resort, a patched word of an executable mapping whose
 * original bytes go back on detach. {@code orig_rax}
 * is set to -1 for every injection: a task stopped inside a syscall would otherwise have the
 * kernel's restart logic rewind {@code rip} and {@code rax} on resume. The registers saved at the
 * stop are put back on detach, so an interrupted syscall restarts by itself. All signals are
 * blocked while injecting (they stay pending) and the mask is restored on detach.
 */
public final class Task implements AutoCloseable {
    private static final Logger LOG = Log.get("compel");
    /** Gadget: one code page, then scratch pages for arguments. */
    public static final int GADGET_SIZE = 4 * Linux.PAGE_SIZE;
    private static final int RED_ZONE = 128;

    private final Tracer tracer;
    private final int tid;
    private Regs saved;
    private long savedMask;
    private long restoreMask;
    private boolean masked;
    private boolean attached;
    private boolean groupStopped;
    private int deferredSignal;
    private int memFd = -1;
    private long patchAddr;
    private byte[] patchOrig;
    /** An existing {@code syscall} instruction, run by single-stepping; 0 when none was found yet. */
    private long stepAddr;
    private boolean noStepAddr;
    private long gadget;
    private int scratchUsed;
    private final List<Integer> newChildren = new ArrayList<>();

    private Task(Tracer tracer, int tid) {
        this.tracer = tracer;
        this.tid = tid;
    }

    /** Seizes a running (or stopped) task and stops it: PTRACE_SEIZE + PTRACE_INTERRUPT. */
    public static Task seize(Tracer tracer, int tid) {
        return seize(tracer, tid, 0);
    }

    public static Task seize(Tracer tracer, int tid, long options) {
        return seize(tracer, tid, options, null);
    }

    /**
     * As {@link #seize(Tracer, int, long)}, giving up once {@code giveUp} says so while the task
     * has not stopped yet (a task in uninterruptible sleep, or frozen by a cgroup, reaches the
     * stop only when it wakes): the wait then polls instead of blocking, so the tracer thread is
     * free to let go of the tasks it already holds. A task given up on stays seized until the
     * tracer thread exits (PTRACE_DETACH needs a stopped tracee); the kernel then detaches it and
     * drops the pending interrupt, and it runs on untouched.
     */
    public static Task seize(Tracer tracer, int tid, long options, java.util.function.BooleanSupplier giveUp) {
        tracer.checkThread();
        Task t = new Task(tracer, tid);
        try {
            Ptrace.seize(tid, options);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EPERM) {
                String tracerPid = statusField(tid, "TracerPid");
                if (tracerPid != null && !tracerPid.equals("0")) {
                    throw new CriuException(Errno.EPERM, "task " + tid + " is already traced by process " + tracerPid
                            + " (a debugger?): it cannot be seized");
                }
            }
            if (e.errno() == Errno.ESRCH) throw new CriuException(Errno.ESRCH, "task " + tid + " does not exist");
            throw new CriuException(e.errno(), "cannot seize task " + tid + ": " + e.getMessage(), e);
        }
        t.attached = true;
        try {
            Ptrace.interrupt(tid);
            t.waitFirstStop(giveUp);
        } catch (RuntimeException e) {
            t.abandon();
            throw e;
        }
        return t;
    }

    /**
     * Takes over a task that is already traced by us, e.g. a child created by an injected clone3
     * under PTRACE_O_TRACECLONE, by waiting for its first stop.
     */
    public static Task adopt(Tracer tracer, int tid) {
        return adopt(tracer, tid, null);
    }

    /**
     * As {@link #adopt(Tracer, int)} for a child that {@code parent} created without CLONE_VM: the
     * child has its own copy of the parent's gadget, and of a patched word if the parent was
     * injecting through one, so it takes both over (the patch is put back in its memory on detach).
     */
    public static Task adopt(Tracer tracer, int tid, Task parent) {
        tracer.checkThread();
        Task t = new Task(tracer, tid);
        t.attached = true;
        t.waitFirstStop(null);
        if (parent != null) {
            t.gadget = parent.gadget;
            t.patchAddr = parent.patchAddr;
            t.patchOrig = parent.patchOrig;
            t.stepAddr = parent.stepAddr;
        }
        return t;
    }

    private void waitFirstStop(java.util.function.BooleanSupplier giveUp) {
        long pause = 10_000;
        while (true) {
            WaitStatus ws;
            if (giveUp == null) {
                ws = Sys.waitpid(tid, Linux.__WALL);
            } else {
                ws = Sys.waitpid(tid, Linux.__WALL | Linux.WNOHANG);
                if (ws == null) {
                    if (giveUp.getAsBoolean()) throw new CriuException(Errno.ETIMEDOUT, "task " + tid + " did not stop in time");
                    // the stop usually comes within microseconds: poll often at first
                    java.util.concurrent.locks.LockSupport.parkNanos(pause);
                    pause = Math.min(pause * 2, 2_000_000);
                    continue;
                }
            }
            if (!ws.stopped()) {
                attached = false;
                throw new CriuException(Errno.ESRCH, "task " + tid + " " + ws + " while being seized");
            }
            int ev = ws.event();
            if (ev == Ptrace.EVENT_STOP) {
                // SIGTRAP: our interrupt; a stop signal: the task is in (or entering) group-stop.
                groupStopped = ws.stopSig() != Linux.SIGTRAP;
                break;
            }
            if (ev == Ptrace.EVENT_CLONE || ev == Ptrace.EVENT_FORK || ev == Ptrace.EVENT_VFORK) {
                newChildren.add((int) Ptrace.eventMsg(tid));
                Ptrace.cont(tid, 0);
                continue;
            }
            if (ev != 0) {
                Ptrace.cont(tid, 0);
                continue;
            }
            // A signal was about to be delivered when we seized: let it be delivered (the task
            // runs its handler as it would have), our pending interrupt stops it right after.
            Ptrace.cont(tid, ws.stopSig());
        }
        saved = Ptrace.getRegs(tid);
        savedMask = Ptrace.getSigmask(tid);
        restoreMask = savedMask;
    }

    public int tid() {
        return tid;
    }

    public Tracer tracer() {
        return tracer;
    }

    /** True when the task was in group-stop (e.g. SIGSTOP-ed) when seized. */
    public boolean wasStopped() {
        return groupStopped;
    }

    /** Registers the task will resume with: those of the stop, unless {@link #setRegs} changed them. */
    public Regs regs() {
        return saved.copy();
    }

    /** Registers to resume with; applied on detach (injections use their own). */
    public void setRegs(Regs r) {
        saved = r.copy();
    }

    public byte[] xstate() {
        check();
        return Ptrace.getRegset(tid, Ptrace.NT_X86_XSTATE, Ptrace.XSTATE_MAX);
    }

    /** Applied at once: injected syscalls do not touch the FPU state. */
    public void setXstate(byte[] xsave) {
        check();
        Ptrace.setRegset(tid, Ptrace.NT_X86_XSTATE, xsave);
    }

    /** Blocked signals as they were at the stop (or as set by {@link #setSigmask}). */
    public long sigmask() {
        return restoreMask;
    }

    /** The mask to resume with; applied on detach. */
    public void setSigmask(long mask) {
        restoreMask = mask;
    }

    /** Tids reported by clone/fork events during injections, in order; the list is cleared by the caller. */
    public List<Integer> newChildren() {
        return newChildren;
    }

    public void setOptions(long options) {
        check();
        Ptrace.setOptions(tid, options);
    }

    // ---------------------------------------------------------------- injected syscalls

    /** Runs one syscall inside the task; throws {@link ErrnoException} when it returns -errno. */
    public long syscall(long nr, long... args) {
        long r = syscallRaw(nr, args);
        if (r < 0 && r > -4096) throw new ErrnoException((int) -r, "task " + tid + ": " + SyscallNames.name(nr));
        return r;
    }

    /** Runs one syscall inside the task and returns rax as it is (a value or -errno). */
    public long syscallRaw(long nr, long... args) {
        check();
        if (args.length > 6) throw new IllegalArgumentException("a syscall takes at most 6 arguments");
        long at = injectionPoint();
        boolean step = gadget == 0 && patchAddr == 0;
        int trapOffset = step ? 2 : Code.TRAP_OFFSET;
        if (!masked) {
            Ptrace.setSigmask(tid, ~0L);
            masked = true;
        }
        Regs r = saved.copy();
        r.set(Regs.RAX, nr).set(Regs.ORIG_RAX, -1).set(Regs.RIP, at);
        // Arguments not given are 0, not whatever the task had in those registers: some calls
        // (prctl, for one) fail with EINVAL on non-zero unused arguments.
        for (int i = 0; i < Regs.ARGS.length; i++) r.set(Regs.ARGS[i], i < args.length ? args[i] : 0);
        // Clear TF so that a task being single-stepped does not trap before our int3.
        r.set(Regs.EFLAGS, r.eflags() & ~0x100L);
        Ptrace.setRegs(tid, r);
        resume(step);
        while (true) {
            WaitStatus ws = Sys.waitpid(tid, Linux.__WALL);
            if (!ws.stopped()) {
                attached = false;
                throw new CriuException(Errno.ESRCH, "task " + tid + " " + ws + " while running injected "
                        + SyscallNames.name(nr));
            }
            int ev = ws.event();
            if (ev != 0) {
                if (ev == Ptrace.EVENT_CLONE || ev == Ptrace.EVENT_FORK || ev == Ptrace.EVENT_VFORK) {
                    newChildren.add((int) Ptrace.eventMsg(tid));
                }
                // PTRACE_CONT would cancel a single-step: go on the way we started.
                resume(step);
                continue;
            }
            int sig = ws.stopSig();
            if (sig == Linux.SIGTRAP) {
                Regs after = Ptrace.getRegs(tid);
                if (after.rip() != at + trapOffset) {
                    throw new CriuException(String.format("task %d: unexpected SIGTRAP at rip=0x%x while running injected %s",
                            tid, after.rip(), SyscallNames.name(nr)));
                }
                return after.rax();
            }
            if (sig == Linux.SIGSEGV || sig == Linux.SIGBUS || sig == Linux.SIGILL || sig == Linux.SIGFPE) {
                Regs after = Ptrace.getRegs(tid);
                throw new CriuException(String.format("task %d: injected %s faulted with signal %d at rip=0x%x",
                        tid, SyscallNames.name(nr), sig, after.rip()));
            }
            // Only unblockable signals get here (SIGSTOP); keep it for the task to see after detach.
            deferredSignal = sig;
            resume(step);
        }
    }

    private void resume(boolean step) {
        if (step) {
            Ptrace.request(Ptrace.SINGLESTEP, tid, 0, 0, "PTRACE_SINGLESTEP");
        } else {
            Ptrace.cont(tid, 0);
        }
    }

    private long injectionPoint() {
        if (gadget != 0) return gadget;
        if (patchAddr != 0) return patchAddr;
        if (stepAddr == 0 && !noStepAddr) {
            stepAddr = findSyscallInsn(0);
            noStepAddr = stepAddr == 0;
        }
        if (stepAddr != 0) return stepAddr;
        patch(findExecutable(0));
        return patchAddr;
    }

    /**
     * A {@code syscall} instruction ({@code 0f 05}) already present in the vDSO, outside {@code avoid}'s
     * page. Only the two bytes at rip are decoded, so it does not matter what instruction they
     * belong to where they stand.
     */
    private long findSyscallInsn(long avoid) {
        for (Vma v : maps()) {
            if (!v.path().equals("[vdso]") || !v.exec() || v.start() == avoid) continue;
            byte[] code = read(v.start(), (int) (v.end() - v.start()));
            for (int i = 0; i + 1 < code.length; i++) {
                if (code[i] == 0x0f && code[i + 1] == 0x05) return v.start() + i;
            }
        }
        return 0;
    }

    /** Plain maps, not smaps: only addresses, protections and names are needed, and smaps walks page tables. */
    private List<Vma> maps() {
        return Maps.parse(Sys.readFile("/proc/" + tid + "/maps"), tid);
    }

    private void patch(long addr) {
        patchOrig = read(addr, Code.SYSCALL_INT3.length);
        writeMem(addr, Code.SYSCALL_INT3);
        patchAddr = addr;
    }

    private void unpatch() {
        if (patchAddr == 0) return;
        long a = patchAddr;
        patchAddr = 0;
        writeMem(a, patchOrig);
    }

    /** The vDSO if the task has one (never dumped, so the patch touches nothing saved), else any executable mapping. */
    private long findExecutable(long avoid) {
        long firstExec = 0;
        for (Vma v : maps()) {
            if (!v.exec() || v.start() == avoid) continue;
            if (v.path().equals("[vdso]")) return v.start();
            if (firstExec == 0 && !v.path().equals("[vsyscall]")) firstExec = v.start();
        }
        if (firstExec == 0) throw new CriuException("task " + tid + " has no executable mapping to run injected syscalls from");
        return firstExec;
    }

    /**
     * Maps a gadget page ({@link #GADGET_SIZE} bytes: code, then scratch) at {@code addr}, which
     * must be free, and injects from it from now on. Needed when the task's own text is about to
     * be unmapped, as during restore.
     */
    public long mapGadget(long addr) {
        check();
        long a = syscall(Nr.MMAP, addr, GADGET_SIZE, Linux.PROT_READ | Linux.PROT_WRITE | Linux.PROT_EXEC,
                Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS | Linux.MAP_FIXED_NOREPLACE, -1, 0);
        if (a != addr) throw new CriuException(String.format("task %d: gadget mapped at 0x%x, not 0x%x", tid, a, addr));
        byte[] page = new byte[16];
        java.util.Arrays.fill(page, (byte) 0xcc);
        System.arraycopy(Code.SYSCALL_INT3, 0, page, 0, Code.SYSCALL_INT3.length);
        System.arraycopy(Code.CPUID_INT3, 0, page, Code.CPUID_OFFSET, Code.CPUID_INT3.length);
        writeMem(a, page);
        unpatch();
        stepAddr = 0;
        noStepAddr = false;
        gadget = a;
        scratchUsed = 0;
        return a;
    }

    public long gadget() {
        return gadget;
    }

    /**
     * Runs {@code cpuid} with {@code eax = leaf, ecx = subleaf} in the task, from its gadget page
     * ({@link #mapGadget} first), and returns {eax, ebx, ecx, edx}. The task's own registers
     * come back on detach as after any injection.
     */
    public int[] cpuid(int leaf, int subleaf) {
        check();
        if (gadget == 0) throw new IllegalStateException("task " + tid + ": cpuid needs a gadget page (mapGadget)");
        if (!masked) {
            Ptrace.setSigmask(tid, ~0L);
            masked = true;
        }
        long at = gadget + Code.CPUID_OFFSET;
        Regs r = saved.copy();
        r.set(Regs.RAX, leaf & 0xffffffffL).set(Regs.RCX, subleaf & 0xffffffffL).set(Regs.ORIG_RAX, -1).set(Regs.RIP, at);
        r.set(Regs.EFLAGS, r.eflags() & ~0x100L);
        Ptrace.setRegs(tid, r);
        Ptrace.cont(tid, 0);
        while (true) {
            WaitStatus ws = Sys.waitpid(tid, Linux.__WALL);
            if (!ws.stopped()) {
                attached = false;
                throw new CriuException(Errno.ESRCH, "task " + tid + " " + ws + " while running cpuid");
            }
            int sig = ws.stopSig();
            if (ws.event() == 0 && sig == Linux.SIGTRAP) {
                Regs after = Ptrace.getRegs(tid);
                if (after.rip() != at + Code.CPUID_INT3.length) {
                    throw new CriuException(String.format("task %d: unexpected SIGTRAP at rip=0x%x while running cpuid", tid, after.rip()));
                }
                return new int[] {(int) after.rax(), (int) after.get(Regs.RBX), (int) after.get(Regs.RCX), (int) after.get(Regs.RDX)};
            }
            if (ws.event() == 0 && (sig == Linux.SIGSEGV || sig == Linux.SIGILL)) {
                // CPUID faulting (arch_prctl ARCH_SET_CPUID 0) turns cpuid into SIGSEGV
                throw new CriuException(String.format("task %d: cpuid(0x%x, %d) faulted with signal %d", tid, leaf, subleaf, sig));
            }
            if (ws.event() == 0) deferredSignal = sig;
            Ptrace.cont(tid, 0);
        }
    }

    /**
     * Unmaps the gadget, running munmap from a syscall instruction of the vDSO (or, if there is
     * none, from a patched word of an executable mapping, put back on detach).
     */
    public void unmapGadget() {
        check();
        if (gadget == 0) return;
        long g = gadget;
        gadget = 0;
        // the mappings may have changed completely since the last look (a restore rebuilt them)
        stepAddr = findSyscallInsn(g);
        noStepAddr = stepAddr == 0;
        if (stepAddr == 0 && patchAddr == 0) patch(findExecutable(g));
        syscall(Nr.MUNMAP, g, GADGET_SIZE);
    }

    // ---------------------------------------------------------------- memory

    /** A scratch buffer: in the gadget's pages when there is one, else below the stack's red zone. */
    public Scratch scratch(int len) {
        check();
        int size = (len + 63) & ~63;
        if (gadget != 0) {
            if (scratchUsed + size > GADGET_SIZE - Linux.PAGE_SIZE) throw new IllegalArgumentException("scratch too large: " + len);
            long addr = gadget + Linux.PAGE_SIZE + scratchUsed;
            scratchUsed += size;
            return new Scratch(this, addr, len, null);
        }
        long addr = (saved.rsp() - RED_ZONE - scratchUsed - size) & ~63L;
        scratchUsed = (int) (saved.rsp() - addr);
        return new Scratch(this, addr, len, read(addr, len));
    }

    void releaseScratch(Scratch s, byte[] savedBytes) {
        if (savedBytes != null) writeMem(s.addr(), savedBytes);
        if (gadget != 0) {
            scratchUsed = (int) Math.max(0, s.addr() - (gadget + Linux.PAGE_SIZE));
        } else {
            scratchUsed = (int) Math.max(0, saved.rsp() - RED_ZONE - (s.addr() + ((s.len() + 63) & ~63)));
        }
    }

    public byte[] read(long addr, int len) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(len, 1));
            long n = -1;
            try {
                n = Sys.processVmReadv(tid, buf, addr, len);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EFAULT && e.errno() != Errno.EIO) throw e;
            }
            if (n != len) n = Sys.pread(memFd(), buf, len, addr);
            if (n != len) throw new CriuException(String.format("task %d: short read of %d bytes at 0x%x", tid, len, addr));
            return buf.asSlice(0, len).toArray(JAVA_BYTE);
        }
    }

    /** Writes task memory; pages the task cannot write (text, read-only data) go through /proc/PID/mem. */
    public void write(long addr, byte[] data) {
        writeMem(addr, data);
    }

    public void write(long addr, MemorySegment data) {
        long len = data.byteSize();
        long n = -1;
        try {
            n = Sys.processVmWritev(tid, data, addr, len);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EFAULT && e.errno() != Errno.EIO) throw e;
        }
        if (n != len) {
            long w = Sys.pwrite(memFd(), data, len, addr);
            if (w != len) throw new CriuException(String.format("task %d: short write of %d bytes at 0x%x", tid, len, addr));
        }
    }

    private void writeMem(long addr, byte[] data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(data.length, 1));
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
            write(addr, buf.asSlice(0, data.length));
        }
    }

    /** An fd on /proc/TID/mem, open while the task is attached (owned by this Task). */
    public int memFd() {
        if (memFd < 0) memFd = Sys.open("/proc/" + tid + "/mem", Linux.O_RDWR, 0);
        return memFd;
    }

    // ---------------------------------------------------------------- release

    public boolean attached() {
        return attached;
    }

    /** Puts back code patches, registers and signal mask, and lets the task run (or stay stopped if it was). */
    public void detach() {
        release(0);
    }

    /** As {@link #detach}, but the task is left in group-stop (criu's --leave-stopped). */
    public void detachStopped() {
        release(Linux.SIGSTOP);
    }

    private void release(int sig) {
        check();
        try {
            if (gadget != 0) unmapGadget();
            unpatch();
            Ptrace.setRegs(tid, saved);
            if (masked || restoreMask != savedMask) Ptrace.setSigmask(tid, restoreMask);
        } finally {
            closeMem();
        }
        Ptrace.detach(tid, sig != 0 ? sig : deferredSignal);
        attached = false;
    }

    /**
     * Waits up to {@code timeoutMs} until every tid is stopped (state T in /proc) or gone. A
     * task detached with SIGSTOP stops only once it is scheduled and takes the signal: without
     * this, whoever runs next after jcriu (a test, a script) may still see it running.
     */
    public static void awaitStopped(List<Integer> tids, long timeoutMs) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        for (int tid : tids) {
            while (true) {
                char state;
                try {
                    state = org.jcriu.proc.Stat.read(tid).state();
                } catch (CriuException e) {
                    break; // gone
                }
                if (state == 'T' || state == 'Z' || state == 'X') break;
                if (System.nanoTime() > deadline) {
                    LOG.debug("task %d not stopped yet (state %c)", tid, state);
                    return;
                }
                Thread.onSpinWait();
                try {
                    Thread.sleep(0, 200_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** SIGKILLs the task and reaps what wait4 reports for it (as its tracer, and as its parent if it is our child). */
    public void kill() {
        closeMem();
        if (!attached) return;
        try {
            Sys.kill(tid, Linux.SIGKILL);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ESRCH) throw e;
        }
        attached = false;
        while (true) {
            WaitStatus ws;
            try {
                ws = Sys.waitpid(tid, Linux.__WALL);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ECHILD) return;
                throw e;
            }
            if (ws != null && (ws.exited() || ws.signaled())) return;
        }
    }

    /** Detaches if still attached: the safe default on any failure path. Never throws for a task that is gone. */
    @Override
    public void close() {
        if (!attached) {
            closeMem();
            return;
        }
        try {
            tracer.run(this::detach);
        } catch (RuntimeException e) {
            LOG.warn("could not detach from task %d cleanly: %s", tid, e.getMessage());
            abandon();
        }
    }

    /** Last resort: detach without restoring anything (the task may be gone). */
    private void abandon() {
        closeMem();
        if (attached) {
            Sys.raw(Nr.PTRACE, Ptrace.DETACH, tid, 0, 0);
            attached = false;
        }
    }

    private void closeMem() {
        if (memFd >= 0) {
            int fd = memFd;
            memFd = -1;
            Sys.close(fd);
        }
    }

    private void check() {
        tracer.checkThread();
        if (!attached) throw new IllegalStateException("task " + tid + " is not attached");
    }

    static String statusField(int pid, String key) {
        try {
            for (String l : new String(Sys.readFile("/proc/" + pid + "/status"), StandardCharsets.UTF_8).split("\n")) {
                if (l.startsWith(key + ":")) return l.substring(key.length() + 1).trim();
            }
        } catch (ErrnoException ignored) {
            // the task is gone
        }
        return null;
    }
}
