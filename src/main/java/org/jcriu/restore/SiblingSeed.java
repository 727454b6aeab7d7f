package org.jcriu.restore;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.compel.Ptrace;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.proc.Status;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The root task for {@code --restore-sibling} / RPC {@code rst_sibling}: a child of jcriu's own
 * parent (runc, crun, libcriu's criu_restore_child, a shell), which then waits for it itself.
 *
 * <p>CLONE_PARENT gives the new task the <em>cloning</em> task's parent, so only a task cloned from
 * jcriu itself can be a sibling of jcriu; the posix_spawn seed of {@link TaskCreator} is jcriu's
 * child, and its clones become jcriu's children. So the tracer thread itself runs clone3 (through
 * glibc's {@code syscall()}) with {@code CLONE_PARENT}, {@code set_tid = [pid]} and a tiny stack:
 * the child is a one-thread copy of the JVM that must never run Java. glibc's wrapper ends in
 * {@code syscall; cmp $-4095,%rax; jae err; ret}: the child (rax = 0) takes the {@code ret},
 * which pops the first word of its new stack, the address of a page holding
 * <pre>
 *   b8 22 00 00 00   mov  $34,%eax     # pause
 *   0f 05            syscall
 *   eb f7            jmp  .-9          # and again
 * </pre>
 * so it parks in pause() touching nothing else, with CLONE_CLEAR_SIGHAND so that no JVM signal
 * handler can run in it. It is then seized (a non-child tracee: root has CAP_SYS_PTRACE, and a
 * tracer may wait for its tracees) and stripped of what a fork of the JVM carries and a fresh
 * posix_spawn seed does not: rseq registration (into memory about to be unmapped), every fd
 * (the JVM's jar, logs, the RPC socket: none may leak into the restored task), ignored signals,
 * sigaltstack, the signal mask. Interval and POSIX timers, pending signals, pdeath_signal, the
 * robust list and memory locks are not inherited across fork; the address space is replaced by
 * {@link MemoryRestorer#clearSeed}, everything else (comm, personality, creds, limits) is restored
 * from the images as for the seed.
 *
 * <p>clone3 refuses an exit_signal with CLONE_PARENT (EINVAL): the kernel gives the child the
 * exit signal of jcriu's own main thread, which is SIGCHLD for a program its caller started, so
 * the caller's plain waitpid() (no __WALL) finds it.
 */
final class SiblingSeed {
    private static final Logger LOG = Log.get("restore");
    private static final long CLONE_CLEAR_SIGHAND = 0x100000000L;
    private static final int RSEQ_FLAG_UNREGISTER = 1, SS_DISABLE = 2;
    /** The park loop described above. */
    private static final byte[] PAUSE_LOOP = {(byte) 0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, (byte) 0xeb, (byte) 0xf7};
    /**
     * Where in the page the child's stack top is (it holds the return address: the page itself);
     * the scratch buffers of the first injections go below it, above the code.
     */
    private static final int STACK_TOP = 0xf00;

    private SiblingSeed() {}

    /**
     * Clones the task at {@code pid} as a sibling of jcriu and makes it an empty seed; returns it
     * seized and stopped, with the area ({@code areaSize} bytes free in it and in {@code dumped}),
     * as {@link TaskCreator#create}.
     * On failure the clone is killed; it is then a dead child of jcriu's parent, which reaps it
     * (as with criu, whose sibling root is that parent's child from the start).
     */
    static TaskCreator.Created create(Tracer tracer, int pid, List<Vma> dumped, long areaSize) {
        TaskCreator.checkPidFree(pid);
        checkNoShadowStack();
        long exitSignal = org.jcriu.proc.Stat.read(Sys.getpid()).exitSignal();
        if (exitSignal != Linux.SIGCHLD) {
            // the root inherits it: the caller will need __WALL (or __WCLONE) to wait for it
            LOG.warn("jcriu's exit signal is %d, not SIGCHLD: so is the root task's; its parent must wait with __WALL",
                    exitSignal);
        }
        long t0 = System.nanoTime();
        int pidfd = cloneSibling(pid);
        Task task = null;
        boolean done = false;
        try {
            long t1 = System.nanoTime();
            try {
                task = Task.seize(tracer, pid, Ptrace.O_TRACECLONE);
            } catch (CriuException e) {
                // e.g. it died on its way into the park loop (a glibc whose syscall() is not the
                // plain syscall; cmp; jae; ret this relies on)
                throw new CriuException(e.errno(), "--restore-sibling: the root task " + pid
                        + " cloned from jcriu could not be seized: " + e.getMessage(), e);
            }
            LOG.debug("sibling %d seized in %d us", pid, (System.nanoTime() - t1) / 1000);
            // No gadget of ours yet: MemoryRestorer maps the task's right after `area`, and two fresh
            // anonymous RWX mappings side by side would merge into one VMA that clearSeed could
            // not tell apart. Until then injections single-step a syscall of the vDSO.
            long area = FreeArea.find(areaSize, dumped, MapsLine.of(pid));
            LOG.debug("sibling %d: restorer area at 0x%x", pid, area);
            strip(task);
            LOG.info("created task %d as a sibling of jcriu (parent %d; clone %d us, seize + strip %d us)", pid,
                    parentOf(pid), (t1 - t0) / 1000, (System.nanoTime() - t1) / 1000);
            done = true;
            return new TaskCreator.Created(task, area);
        } finally {
            if (!done) {
                if (task != null) {
                    task.kill();
                } else {
                    Sys.raw(Nr.PIDFD_SEND_SIGNAL, pidfd, Linux.SIGKILL, 0, 0);
                }
            }
            Sys.close(pidfd);
        }
    }

    /**
     * With user shadow stacks (x86 CET) the child's {@code ret} into the park page would not match
     * the return address its copy of our shadow stack holds, and it would die of a control
     * protection fault: refuse clearly instead. glibc does not enable them for the JVM today.
     */
    private static void checkNoShadowStack() {
        Status st = Status.read(Sys.getpid());
        String f = st.has("x86_Thread_features") ? st.get("x86_Thread_features") : "";
        if (f.contains("shstk")) {
            throw new CriuException(Errno.ENOTSUP, "--restore-sibling: jcriu runs with user shadow stacks (x86_Thread_features: "
                    + f + "), which the root task cloned from it cannot leave");
        }
    }

    /** clone3 from this very thread; returns a pidfd of the child. The child never returns here. */
    private static int cloneSibling(int pid) {
        long page = Sys.check("mmap(sibling park page)", Nr.MMAP, 0, Linux.PAGE_SIZE,
                Linux.PROT_READ | Linux.PROT_WRITE | Linux.PROT_EXEC, Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS, -1, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment code = a.allocate(Linux.PAGE_SIZE, 16);
            MemorySegment.copy(PAUSE_LOOP, 0, code, JAVA_BYTE, 0, PAUSE_LOOP.length);
            code.set(JAVA_LONG, STACK_TOP, page);
            if (Sys.processVmWritev(Sys.getpid(), code, page, Linux.PAGE_SIZE) != Linux.PAGE_SIZE) {
                throw new CriuException("short write of the sibling park page");
            }
            MemorySegment args = a.allocate(96, 8);
            MemorySegment pidfd = a.allocate(JAVA_INT);
            MemorySegment setTid = a.allocate(JAVA_INT);
            setTid.set(JAVA_INT, 0, pid);
            pidfd.set(JAVA_INT, 0, -1);
            args.set(JAVA_LONG, 0, Linux.CLONE_PARENT | Linux.CLONE_PIDFD | Linux.CLONE_UNTRACED | CLONE_CLEAR_SIGHAND);
            args.set(JAVA_LONG, 8, pidfd.address());     // pidfd
            args.set(JAVA_LONG, 32, 0);                  // exit_signal: must be 0 with CLONE_PARENT
            args.set(JAVA_LONG, 40, page);               // stack
            args.set(JAVA_LONG, 48, STACK_TOP);          // stack_size: sp = page + STACK_TOP
            args.set(JAVA_LONG, 64, setTid.address());   // set_tid
            args.set(JAVA_LONG, 72, 1);                  // set_tid_size
            long r = Sys.raw(Nr.CLONE3, args.address(), Linux.CLONE_ARGS_SIZE_VER2);
            // A PID found free a moment ago may be held by a short-lived process when PIDs wrap
            // around on a busy machine: try again while it is free once more (checkPidFree names
            // the holder otherwise).
            for (int i = 0; r == -Errno.EEXIST && i < 3; i++) {
                TaskCreator.checkPidFree(pid);
                r = Sys.raw(Nr.CLONE3, args.address(), Linux.CLONE_ARGS_SIZE_VER2);
            }
            if (r == -Errno.EEXIST) {
                TaskCreator.checkPidFree(pid);
                throw new CriuException(Errno.EEXIST, "PID " + pid + " is in use (taken again and again by short-lived processes)");
            }
            if (r < 0) throw new ErrnoException((int) -r, "clone3(CLONE_PARENT, set_tid=" + pid + ") from jcriu");
            if (r != pid) {
                // cannot happen with set_tid; never leave a stray copy of ourselves running
                Sys.raw(Nr.PIDFD_SEND_SIGNAL, pidfd.get(JAVA_INT, 0), Linux.SIGKILL, 0, 0);
                Sys.close(pidfd.get(JAVA_INT, 0));
                throw new CriuException("clone3(set_tid=" + pid + ") created PID " + r);
            }
            return pidfd.get(JAVA_INT, 0);
        } finally {
            Sys.raw(Nr.MUNMAP, page, Linux.PAGE_SIZE);
        }
    }

    /** Leaves the copy of the JVM with what a fresh posix_spawn seed has. */
    static void strip(Task task) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment conf = a.allocate(32, 8);
            boolean known;
            try {
                Ptrace.request(Ptrace.GET_RSEQ_CONFIGURATION, task.tid(), 24, conf.address(), "PTRACE_GET_RSEQ_CONFIGURATION");
                known = true;
            } catch (ErrnoException e) {
                known = false; // a kernel without rseq has nothing to unregister
            }
            // glibc registered rseq for the JVM thread; the registration is inherited by fork and
            // points into memory clearSeed unmaps: the kernel would kill the task on its next return
            if (known && conf.get(JAVA_LONG, 0) != 0) {
                task.syscall(Nr.RSEQ, conf.get(JAVA_LONG, 0), conf.get(JAVA_INT, 8) & 0xffffffffL, RSEQ_FLAG_UNREGISTER,
                        conf.get(JAVA_INT, 12) & 0xffffffffL);
            }
        }
        LOG.debug("sibling %d: rseq done", task.tid());
        task.syscall(Nr.CLOSE_RANGE, 0, 0xffffffffL, 0);
        LOG.debug("sibling %d: fds closed", task.tid());
        // CLONE_CLEAR_SIGHAND keeps SIG_IGN (the kernel's flush_signal_handlers without force)
        Status st = Status.read(task.tid());
        long left = st.getHex("SigIgn") | st.getHex("SigCgt");
        for (int sig = 1; sig <= Linux.NSIG; sig++) {
            if ((left & (1L << (sig - 1))) == 0 || sig == Linux.SIGKILL || sig == Linux.SIGSTOP) continue;
            Remote.withBuffer(task, new byte[32], Nr.RT_SIGACTION, 1, sig, 0, 0, 8);
        }
        ByteBuffer ss = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        ss.putInt(8, SS_DISABLE);
        Remote.withBuffer(task, ss.array(), Nr.SIGALTSTACK, 0, 0, 0);
        task.setSigmask(0);
    }

    private static int parentOf(int pid) {
        try {
            return Status.read(pid).getInt("PPid");
        } catch (RuntimeException e) {
            return -1;
        }
    }
}
