package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.compel.Ptrace;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * Creates an empty task with a given PID, to be filled by the rest of the restore. A JVM cannot
 * fork and keep running Java, so a seed process is spawned, seized, and made to run clone3 with
 * set_tid = [pid] and CLONE_PARENT: the new task is a child of jcriu itself, like CRIU's root task.
 * exit_signal is 0 because clone3 with SIGCHLD reports PTRACE_EVENT_FORK, which TRACECLONE does
 * not catch; a task reparented later gets SIGCHLD back from the kernel (reparent_leader).
 *
 * Every other task of a tree is cloned inside its parent once the parent's memory is restored
 * ({@link #createChild}).
 *
 * <p>Namespaces will slot in here (CLONE_NEW* flags and one set_tid entry per pid namespace level).
 */
final class TaskCreator {
    private static final Logger LOG = Log.get("restore");
    /** Always present, and never run: the seed only executes injected syscalls. */
    static final String SEED = "/bin/sleep";

    private TaskCreator() {}

    /** How long a zombie holding the PID may take to be reaped (a just-dumped task, killed by the dump). */
    private static final long ZOMBIE_GRACE_NS = 5_000_000_000L;

    /**
     * Fails, naming the owner, when {@code pid} is taken. A zombie is given a few seconds: the
     * task a dump has just killed keeps its PID until its parent (often init) reaps it.
     */
    static void checkPidFree(int pid) {
        checkPidFree(pid, null);
    }

    /** As {@link #checkPidFree(int)}; {@code what} says what the PID is for ("thread 12 of task 10"). */
    static void checkPidFree(int pid, String what) {
        long end = System.nanoTime() + ZOMBIE_GRACE_NS;
        while (isZombie(pid) && System.nanoTime() < end) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        String comm;
        try {
            comm = new String(Sys.readFile("/proc/" + pid + "/comm"), StandardCharsets.UTF_8).trim();
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENOENT || e.errno() == Errno.ESRCH) return;
            throw e;
        }
        throw new CriuException(Errno.EEXIST, "PID " + pid + (what == null ? "" : " (" + what + ")") + " is in use by " + comm);
    }

    /** The new task, and the restorer's own area (free in the dumped layout and in the task). */
    record Created(Task task, long area) {}

    private static boolean isZombie(int pid) {
        try {
            String stat = new String(Sys.readFile("/proc/" + pid + "/stat"), StandardCharsets.UTF_8);
            int paren = stat.lastIndexOf(')');
            return paren > 0 && paren + 2 < stat.length() && stat.charAt(paren + 2) == 'Z';
        } catch (ErrnoException e) {
            return false;
        }
    }

    /**
     * Spawns and seizes the seed, then clones the task at {@code pid} from it. {@code areaSize}
     * bytes are found free in both the seed and {@code dumped}; the seed's gadget takes the
     * first {@link Task#GADGET_SIZE} of them. The seed is gone when this returns, whatever
     * happens; the new task is returned stopped and traced.
     */
    static Created create(Tracer tracer, int pid, List<Vma> dumped, long areaSize) {
        checkPidFree(pid);
        // glibc registers rseq at startup; a child would inherit that registration pointing into
        // memory we are about to unmap, and the kernel would fault it on the next return to user.
        long t0 = System.nanoTime();
        int seedPid = Sys.posixSpawn(SEED, List.of("sleep", "1000000"), List.of("GLIBC_TUNABLES=glibc.pthread.rseq=0"),
                new int[] {-1, -1, -1}, false);
        Task seed = null;
        try {
            long t1 = System.nanoTime();
            seed = Task.seize(tracer, seedPid, Ptrace.O_TRACECLONE);
            long t2 = System.nanoTime();
            long area = FreeArea.find(areaSize, dumped, MapsLine.of(seedPid));
            seed.mapGadget(area);
            long child = clone3(seed, Linux.CLONE_PARENT, 0, pid);
            if (child == -Errno.EEXIST) {
                checkPidFree(pid);
                throw new CriuException(Errno.EEXIST, "PID " + pid + " is in use");
            }
            if (child < 0) {
                throw new ErrnoException((int) -child, "clone3(set_tid=" + pid + ") in the seed " + seedPid);
            }
            if (child != pid) {
                killAndReap((int) child);
                throw new CriuException("clone3(set_tid=" + pid + ") created PID " + child);
            }
            Task task;
            try {
                task = Task.adopt(tracer, pid);
            } catch (RuntimeException e) {
                killAndReap(pid);
                throw e;
            }
            LOG.forPid(pid).info("created task %d from seed %d (spawn %d us, seize %d us, gadget + clone3 + adopt %d us)", pid, seedPid,
                    (t1 - t0) / 1000, (t2 - t1) / 1000, (System.nanoTime() - t2) / 1000);
            return new Created(task, area);
        } finally {
            if (seed != null) {
                seed.kill();
            } else {
                killAndReap(seedPid);
            }
        }
    }

    /**
     * Clones a child at {@code pid} inside {@code parent}, whose memory is restored already: the
     * child starts with the parent's address space (pages shared copy-on-write, the gadget at the
     * same place) and keeps what it had in common with it ({@link InheritedMemory}); nothing else
     * of the parent is restored yet (files, signals, threads). exit_signal is SIGCHLD, as fork gives; the kernel reports such
     * a clone as PTRACE_EVENT_FORK, so the parent traces forks to have the child auto-attached,
     * stopped before its first instruction. Returns the child stopped and traced.
     */
    static Task createChild(Task parent, int pid) {
        return createChild(parent, pid, 0);
    }

    /** As {@link #createChild(Task, int)}, with clone flags (CLONE_FILES for a child sharing its parent's fd table). */
    static Task createChild(Task parent, int pid, long flags) {
        parent.setOptions(Ptrace.O_TRACECLONE | Ptrace.O_TRACEFORK);
        long child = clone3(parent, flags, Linux.SIGCHLD, pid);
        parent.newChildren().clear();
        if (child == -Errno.EEXIST) {
            checkPidFree(pid);
            throw new CriuException(Errno.EEXIST, "Can't create task " + pid + " in its parent " + parent.tid() + ": PID "
                    + pid + " is in use");
        }
        if (child < 0) {
            throw new ErrnoException((int) -child, "clone3(set_tid=" + pid + ") in task " + parent.tid());
        }
        if (child != pid) {
            Task.adopt(parent.tracer(), (int) child, parent).kill();
            throw new CriuException("clone3(set_tid=" + pid + ") in task " + parent.tid() + " created PID " + child);
        }
        Task t = Task.adopt(parent.tracer(), pid, parent);
        LOG.forPid(pid).info("created task %d in its parent %d%s", pid, parent.tid(), (flags & Linux.CLONE_FILES) != 0 ? " sharing its fd table" : "");
        return t;
    }

    /** clone3 with set_tid = [pid] injected in {@code in}; returns rax (the new PID or -errno). */
    private static long clone3(Task in, long flags, int exitSignal, int pid) {
        try (Scratch s = in.scratch(96)) {
            ByteBuffer b = ByteBuffer.allocate(96).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(0, flags);                 // flags
            b.putLong(32, exitSignal);           // exit_signal
            b.putLong(64, s.addr() + 88);        // set_tid
            b.putLong(72, 1);                    // set_tid_size
            b.putInt(88, pid);
            s.put(0, b.array());
            return in.syscallRaw(Nr.CLONE3, s.addr(), Linux.CLONE_ARGS_SIZE_VER2);
        }
    }

    /** The seed is our child: SIGKILL it and collect it so that no zombie is left. */
    static void killAndReap(int pid) {
        try {
            Sys.kill(pid, Linux.SIGKILL);
            Sys.waitpid(pid, Linux.__WALL);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ESRCH && e.errno() != Errno.ECHILD) throw e;
        }
    }
}
