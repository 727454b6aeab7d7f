package org.jcriu.dump;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jcriu.CriuException;
import org.jcriu.opts.Options;
import org.jcriu.proc.ProcFs;
import org.jcriu.proc.Stat;
import org.jcriu.proc.Status;
import org.jcriu.sys.Errno;
import org.jcriu.sys.Sys;

/**
 * What this slice cannot dump, found from /proc before the task is touched (and again once it
 * is stopped, since it may have changed in between). Each refusal names the task and what is
 * unsupported; the task is left as it was.
 */
final class TaskChecks {
    /** Namespaces compared with jcriu's own; a task in another one is refused (time: {@link TimeNsDump}). */
    static final String[] NAMESPACES = {"pid", "net", "ipc", "uts", "mnt", "user", "cgroup"};

    /** include/linux/sched.h: the task is a kernel thread (field 9 of /proc/PID/stat). */
    private static final long PF_KTHREAD = 0x00200000;

    private TaskChecks() {}

    static void exists(int pid) {
        if (pid <= 0) throw new CriuException(Errno.ESRCH, "No process to dump: give its pid with -t/--tree");
        if (!Files.isDirectory(ProcFs.pidDir(pid))) throw new CriuException(Errno.ESRCH, "Process " + pid + " does not exist");
        if (pid == Sys.getpid()) throw new CriuException("Process " + pid + " is jcriu itself");
    }

    /**
     * {@code ourTracer}: our tracer thread's tid once the task is seized, else 0. {@code root}: the
     * task named by -t, the only one whose session and group are checked (as criu, the others may
     * be in any session or group of the tree).
     */
    static void check(int pid, Status st, Stat stat, Options opts, int ourTracer, boolean root) {
        if ((stat.flags() & PF_KTHREAD) != 0) {
            throw new CriuException("Can't dump task " + pid + ": it is a kernel thread (" + stat.comm() + "), which has no user memory to dump");
        }
        char state = st.state();
        if (root && (state == 'Z' || state == 'X')) throw new CriuException("Can't dump task " + pid + ": it is a zombie");
        int tracer = st.tracerPid();
        if (tracer != 0 && tracer != ourTracer) throw traced(pid, tracer);
        // strict mode leaves the task no syscall to be restored with (filters are dumped)
        if (st.has("Seccomp") && st.getInt("Seccomp") == 1) {
            throw new CriuException("Can't dump task " + pid + ": it runs in seccomp strict mode, which is not supported");
        }
        if (root && !opts.shellJob && (stat.sid() != pid || stat.pgid() != pid)) {
            throw new CriuException("Can't dump task " + pid + ": it is not a session and group leader (sid " + stat.sid()
                    + ", pgid " + stat.pgid() + "); for a job started from a shell use --shell-job (-j)");
        }
        for (String ns : NAMESPACES) {
            if (!nsLink(pid, ns).equals(nsLink(Sys.getpid(), ns))) {
                throw new CriuException("Can't dump task " + pid + ": it is in another " + ns
                        + " namespace than jcriu; namespaces are not supported yet");
            }
        }
        TimeNsDump.check(pid, st.has("PPid") ? st.getInt("PPid") : 0, root);
    }

    /** The executable, cwd and root are reopened by path on restore: an unlinked one cannot be. */
    static void linksReachable(int pid) {
        for (String l : new String[] {"exe", "cwd", "root"}) {
            String target = ProcFs.readlink(ProcFs.pidDir(pid).resolve(l));
            if (target.endsWith(" (deleted)")) {
                throw new CriuException("Can't dump task " + pid + ": its " + l + " " + target
                        + " was unlinked; unlinked files are not supported yet");
            }
        }
    }

    static String nsLink(int pid, String ns) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "ns", ns)).toString();
        } catch (IOException e) {
            return "?";
        }
    }

    /** A task someone else (a debugger, strace) traces cannot be seized: the error names the tracer. */
    static CriuException traced(int pid, int tracer) {
        String comm;
        try {
            comm = ProcFs.readString(tracer, "comm").strip();
        } catch (CriuException e) {
            comm = "gone";
        }
        return new CriuException(Errno.EPERM, "Can't dump task " + pid + ": task " + pid + " is traced by PID " + tracer + " (" + comm + ")");
    }
}
