package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import org.jcriu.CriuException;
import org.jcriu.compel.Task;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * A zombie comes back as what it was: a child of its restored parent, at its PID, with its name,
 * session and group, that has exited with its dumped status and waits to be reaped. It is
 * created like any task, then made to exit: core.tc.exit_code holds the raw wait status (as
 * /proc/PID/stat shows it), so either an exit code (injected exit_group) or a fatal signal
 * (queued to itself, delivered when it is let go). The parent, still a seed copy, is sent a
 * SIGCHLD by that exit, which the dumped parent never saw pending: it is discarded before the
 * parent's own signals are restored.
 */
final class ZombieRestorer {
    private static final Logger LOG = Log.get("restore");
    private static final long ZOMBIE_WAIT_NS = 5_000_000_000L;
    private static final long SIG_DFL = 0, SIG_IGN = 1;
    /** Signals whose default action kills (CRIU's SIG_FATAL_MASK); another dumped signal becomes SIGABRT. */
    private static final long FATAL = bits(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 25, 26, 27, 29, 30, 31);

    private ZombieRestorer() {}

    private static long bits(int... sigs) {
        long m = 0;
        for (int s : sigs) m |= 1L << s;
        return m;
    }

    /** Makes {@code z} exit with the dumped status; returns once it is a zombie of its parent. */
    static void exit(Task z, TaskImages img) {
        int pid = img.pid();
        int status = img.core().getTc().getExitCode();
        byte[] comm = img.comm().getBytes(StandardCharsets.UTF_8);
        Remote.withBuffer(z, java.util.Arrays.copyOf(comm, Math.min(comm.length, 15) + 1), Nr.PRCTL, 1, Linux.PR_SET_NAME, 0,
                0, 0, 0);
        int sig = status & 0x7f;
        if (sig != 0) {
            if ((FATAL & (1L << sig)) == 0) {
                LOG.warn("zombie %d was killed by signal %d, which does not kill by default: it dies of SIGABRT", pid, sig);
                sig = Linux.SIGABRT;
            }
            // no core file for a death that already happened once
            z.syscall(Nr.PRCTL, Linux.PR_SET_DUMPABLE, 0, 0, 0, 0);
            if (sig == Linux.SIGKILL) {
                z.kill(); // reaped by us as its tracer: the parent is told and gets its zombie
            } else {
                setAction(z, sig, SIG_DFL);
                z.syscall(Nr.TGKILL, pid, pid, sig); // stays pending: signals are blocked while we inject
                z.setSigmask(0);
                z.detach();
            }
        } else {
            int code = (status >> 8) & 0xff;
            try {
                z.syscallRaw(Nr.EXIT_GROUP, code);
                throw new CriuException("zombie " + pid + ": exit_group(" + code + ") returned");
            } catch (CriuException e) {
                if (z.attached()) throw e; // an exit is reported as the task going away: anything else is an error
            }
        }
        awaitZombie(pid);
        LOG.forPid(pid).info("task %d is a zombie again (status 0x%x)", pid, status);
    }

    /**
     * A helper's work is done once the members joined its group (or session): it exits and its parent,
     * still a seed copy, reaps it (wait4), so that nothing is left of it but the group.
     */
    static void exitHelper(Task h, int parentPid, Task parent) {
        int pid = h.tid();
        try {
            h.syscallRaw(Nr.EXIT_GROUP, 0);
            throw new CriuException("helper " + pid + ": exit_group(0) returned");
        } catch (CriuException e) {
            if (h.attached()) throw e;
        }
        try {
            parent.syscall(Nr.WAIT4, pid, 0, Linux.__WALL, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't reap the helper " + pid + " in its parent " + parentPid + ": "
                    + e.getMessage(), e);
        }
        LOG.info("helper %d exited and was reaped by its parent", pid);
    }

    /** Drops the SIGCHLD the zombies' exits queued to {@code parent}: SIG_IGN discards a pending signal. */
    static void dropSigchld(Task parent) {
        setAction(parent, Linux.SIGCHLD, SIG_IGN);
        setAction(parent, Linux.SIGCHLD, SIG_DFL);
    }

    private static void setAction(Task t, int sig, long handler) {
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putLong(handler);
        Remote.withBuffer(t, b.array(), Nr.RT_SIGACTION, 1, sig, 0, 0, 8);
    }

    /** The exit is reported to us (tracer) first; the parent gets its zombie just after. */
    private static void awaitZombie(int pid) {
        long end = System.nanoTime() + ZOMBIE_WAIT_NS;
        while (true) {
            String state = state(pid);
            if ("Z".equals(state)) return;
            if (state == null) {
                throw new CriuException(Errno.ESRCH, "zombie " + pid + " was reaped as soon as it exited (its parent ignores SIGCHLD?)");
            }
            if (System.nanoTime() > end) throw new CriuException("task " + pid + " did not become a zombie (state " + state + ")");
            Thread.onSpinWait();
        }
    }

    private static String state(int pid) {
        try {
            String stat = new String(Sys.readFile("/proc/" + pid + "/stat"), StandardCharsets.UTF_8);
            int paren = stat.lastIndexOf(')');
            return stat.substring(paren + 2, paren + 3);
        } catch (ErrnoException e) {
            return null;
        }
    }
}
