package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.CredsEntry;
import org.jcriu.image.proto.ItimerEntry;
import org.jcriu.image.proto.RlimitEntry;
import org.jcriu.image.proto.SaEntry;
import org.jcriu.image.proto.SiginfoEntry;
import org.jcriu.image.proto.SignalQueueEntry;
import org.jcriu.image.proto.TaskCoreEntry;
import org.jcriu.image.proto.ThreadCoreEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * The per-task kernel state that is not memory or files, set by injected syscalls in the order
 * the kernel requires: everything that needs privileges first, credentials last (once uids and
 * capabilities are the dumped ones, setrlimit, chroot and the like may no longer be allowed).
 */
final class TaskStateRestorer {
    private static final Logger LOG = Log.get("restore");
    private static final int SS_DISABLE = 2, SECURE_NO_SETUID_FIXUP = 2, PR_CAP_AMBIENT_RAISE = 2;
    private static final long RLIM_INFINITY = -1L;
    private static final int PRIO_PROCESS = 0;
    private static final long NR_RT_SIGQUEUEINFO = 129, NR_RT_TGSIGQUEUEINFO = 297;

    private final Task task;
    private final TaskImages img;
    /** core-TID.img of the thread {@code task} is: the main one's, or another thread's (no task_core_entry). */
    private final CoreEntry core;

    TaskStateRestorer(Task task, TaskImages img) {
        this(task, img, img.core());
    }

    /** For a thread besides the main one: only its own state is set through it. */
    TaskStateRestorer(Task task, TaskImages img, CoreEntry threadCore) {
        this.task = task;
        this.img = img;
        this.core = threadCore;
    }

    private TaskCoreEntry tc() {
        return img.core().getTc();
    }

    private ThreadCoreEntry thread() {
        return core.getThreadCore();
    }

    void restoreSignals() {
        List<SaEntry> sas = tc().getSigactionsList();
        try (Scratch s = task.scratch(32)) {
            // one entry per signal 1..64 except SIGKILL and SIGSTOP, which have no action
            int i = 0;
            for (int sig = 1; sig <= Linux.NSIG && i < sas.size(); sig++) {
                if (sig == Linux.SIGKILL || sig == Linux.SIGSTOP) continue;
                SaEntry sa = sas.get(i++);
                ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
                b.putLong(sa.getSigaction()).putLong(sa.getFlags()).putLong(sa.getRestorer()).putLong(sa.getMask());
                s.put(0, b.array());
                try {
                    task.syscall(Nr.RT_SIGACTION, sig, s.addr(), 0, 8);
                } catch (ErrnoException e) {
                    throw new CriuException(e.errno(), "rt_sigaction(" + sig + ") for task " + task.tid() + ": " + e.getMessage(), e);
                }
            }
        }
        restoreThreadSignals();
        if (tc().hasSignalsS()) queue(tc().getSignalsS(), true);
        if (tc().hasTimers()) {
            setItimer(0, tc().getTimers().getReal());
            setItimer(1, tc().getTimers().getVirt());
            setItimer(2, tc().getTimers().getProf());
        }
    }

    /** What each thread has of its own: signals queued to it alone, and its alternate signal stack. */
    void restoreThreadSignals() {
        if (thread().hasSignalsP()) queue(thread().getSignalsP(), false);
        if (thread().hasSas() && (thread().getSas().getSsFlags() & SS_DISABLE) == 0) {
            ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(thread().getSas().getSsSp()).putInt(thread().getSas().getSsFlags()).putInt(0)
                    .putLong(thread().getSas().getSsSize());
            Remote.withBuffer(task, b.array(), Nr.SIGALTSTACK, 0, 0, 0);
        }
    }

    /**
     * Pending signals go back in the queue by the task itself (injected rt_[tg]sigqueueinfo: a
     * task may queue any siginfo to itself, including a kill()'s si_code, which it may not for
     * another task). All signals stay blocked while we inject, so they wait for the restored mask.
     */
    private void queue(SignalQueueEntry q, boolean shared) {
        int pid = img.pid();
        for (SiginfoEntry e : q.getSignalsList()) {
            byte[] si = e.getSiginfo().toByteArray();
            if (si.length < 12) throw new CriuException("Task " + pid + ": pending siginfo of " + si.length + " bytes");
            int sig = ByteBuffer.wrap(si).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
            try {
                if (shared) {
                    Remote.withBuffer(task, si, NR_RT_SIGQUEUEINFO, 2, pid, sig, 0);
                } else {
                    Remote.withBuffer(task, si, NR_RT_TGSIGQUEUEINFO, 3, pid, task.tid(), sig, 0);
                }
            } catch (ErrnoException ex) {
                throw new CriuException(ex.errno(), String.format("Can't queue pending %s signal %d back to task %d: %s",
                        shared ? "shared" : "private", sig, task.tid(), ex.getMessage()), ex);
            }
        }
    }

    private void setItimer(int which, ItimerEntry t) {
        if (t.getIsec() == 0 && t.getIusec() == 0 && t.getVsec() == 0 && t.getVusec() == 0) return;
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(t.getIsec()).putLong(t.getIusec());
        // A periodic timer that expired while the task was frozen reads as 0 left: the kernel
        // re-arms it only when the task dequeues its signal. A zero value would disarm it, so
        // it gets a whole interval, as criu does.
        if (t.getVsec() == 0 && t.getVusec() == 0) b.putLong(t.getIsec()).putLong(t.getIusec());
        else b.putLong(t.getVsec()).putLong(t.getVusec());
        Remote.withBuffer(task, b.array(), Nr.SETITIMER, 1, which, 0, 0);
    }

    /**
     * Limits as dumped, but never above the hard limits the task inherited from jcriu: raising a
     * hard limit needs CAP_SYS_RESOURCE, which this kind of machine does not grant even to root.
     */
    void restoreRlimits() {
        if (!tc().hasRlimits()) return;
        List<RlimitEntry> rl = tc().getRlimits().getRlimitsList();
        try (Scratch s = task.scratch(16)) {
            for (int res = 0; res < rl.size(); res++) {
                task.syscall(Nr.PRLIMIT64, 0, res, 0, s.addr());
                ByteBuffer old = ByteBuffer.wrap(s.get(0, 16)).order(ByteOrder.LITTLE_ENDIAN);
                long oldMax = old.getLong(8);
                long cur = rl.get(res).getCur(), max = rl.get(res).getMax();
                if (Long.compareUnsigned(max, oldMax) > 0) {
                    LOG.forPid(img.pid()).warn("task %d: rlimit %d hard limit %s lowered to %s (no CAP_SYS_RESOURCE)", img.pid(), res,
                            lim(max), lim(oldMax));
                    max = oldMax;
                    if (Long.compareUnsigned(cur, max) > 0) cur = max;
                }
                ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(cur).putLong(max);
                s.put(0, b.array());
                try {
                    task.syscall(Nr.PRLIMIT64, 0, res, s.addr(), 0);
                } catch (ErrnoException e) {
                    throw new CriuException(e.errno(), String.format("setrlimit(%d, %s/%s) for task %d: %s", res, lim(cur),
                            lim(max), img.pid(), e.getMessage()), e);
                }
            }
        }
    }

    private static String lim(long v) {
        return v == RLIM_INFINITY ? "unlimited" : Long.toUnsignedString(v);
    }

    /** personality, comm, clear_tid address, robust futex list, rseq, scheduling, subreaper. */
    void restoreMisc() {
        ThreadCoreEntry th = thread();
        // set even when they are the defaults: the task inherited jcriu's, which may be niced
        if (th.hasSchedPolicy()) {
            // struct sched_param { int sched_priority; }
            byte[] prio = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(th.getSchedPrio()).array();
            Remote.withBuffer(task, prio, Nr.SCHED_SETSCHEDULER, 2, 0, th.getSchedPolicy(), 0);
        }
        if (th.hasSchedNice()) task.syscall(Nr.SETPRIORITY, PRIO_PROCESS, 0, th.getSchedNice());
        if (core == img.core() && tc().getChildSubreaper()) task.syscall(Nr.PRCTL, Linux.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        task.syscall(Nr.PERSONALITY, tc().getPersonality() & 0xffffffffL);
        String comm = thread().hasComm() ? thread().getComm() : tc().getComm();
        byte[] c = comm.getBytes(StandardCharsets.UTF_8);
        Remote.withBuffer(task, java.util.Arrays.copyOf(c, Math.min(c.length, 15) + 1), Nr.PRCTL, 1, Linux.PR_SET_NAME, 0, 0, 0, 0);
        task.syscall(Nr.SET_TID_ADDRESS, core.getThreadInfo().getClearTidAddr());
        if (thread().getFutexRlaLen() > 0) {
            task.syscall(Nr.SET_ROBUST_LIST, thread().getFutexRla(), thread().getFutexRlaLen());
        }
        if (thread().hasRseqEntry() && thread().getRseqEntry().getRseqAbiPointer() != 0) {
            var r = thread().getRseqEntry();
            try {
                task.syscall(Nr.RSEQ, r.getRseqAbiPointer(), r.getRseqAbiSize(), 0, r.getSignature() & 0xffffffffL);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), String.format("rseq registration at 0x%x for task %d: %s",
                        r.getRseqAbiPointer(), task.tid(), e.getMessage()), e);
            }
        }
    }

    /**
     * Credentials in CRIU's order: groups; then uids and gids with SECURE_NO_SETUID_FIXUP so that
     * changing uid does not drop the capabilities still needed; then securebits, the bounding set
     * (dropping needs CAP_SETPCAP), the capability sets, and ambient capabilities last.
     */
    void restoreCreds() {
        if (thread().hasCreds()) setCreds();
        restorePdeathSig();
    }

    /**
     * The thread's parent-death signal, after its credentials: changing uids, gids or gaining
     * capabilities clears it (commit_creds), as CRIU's restorer also sets it last. The task's
     * parent is its restored parent by now, and every helper that made a group or session has
     * exited already, so no exit during the restore sends it.
     */
    private void restorePdeathSig() {
        int sig = thread().getPdeathSig();
        if (sig == 0) return;
        if (sig > Linux.NSIG) throw new CriuException("Task " + task.tid() + ": parent-death signal " + sig + " is out of range");
        task.syscall(Nr.PRCTL, Linux.PR_SET_PDEATHSIG, sig, 0, 0, 0);
    }

    private void setCreds() {
        CredsEntry c = thread().getCreds();
        try {
            if (c.getGroupsCount() > 0 || !currentGroups().isEmpty()) {
                ByteBuffer g = ByteBuffer.allocate(Math.max(4, c.getGroupsCount() * 4)).order(ByteOrder.LITTLE_ENDIAN);
                for (int x : c.getGroupsList()) g.putInt(x);
                Remote.withBuffer(task, g.array(), Nr.SETGROUPS, 1, c.getGroupsCount(), 0);
            }
            boolean allRoot = c.getUid() == 0 && c.getEuid() == 0 && c.getSuid() == 0 && c.getFsuid() == 0
                    && c.getGid() == 0 && c.getEgid() == 0 && c.getSgid() == 0 && c.getFsgid() == 0;
            if (!allRoot) {
                task.syscall(Nr.PRCTL, Linux.PR_SET_SECUREBITS, 1 << SECURE_NO_SETUID_FIXUP, 0, 0, 0);
                task.syscall(Nr.SETRESUID, c.getUid() & 0xffffffffL, c.getEuid() & 0xffffffffL, c.getSuid() & 0xffffffffL);
                task.syscall(Nr.SETFSUID, c.getFsuid() & 0xffffffffL);
                task.syscall(Nr.SETRESGID, c.getGid() & 0xffffffffL, c.getEgid() & 0xffffffffL, c.getSgid() & 0xffffffffL);
                task.syscall(Nr.SETFSGID, c.getFsgid() & 0xffffffffL);
            }
            if (task.syscall(Nr.PRCTL, Linux.PR_GET_SECUREBITS, 0, 0, 0, 0) != c.getSecbits()) {
                task.syscall(Nr.PRCTL, Linux.PR_SET_SECUREBITS, c.getSecbits(), 0, 0, 0);
            }
            int last = capLastCap();
            for (int cap = 0; cap <= last; cap++) {
                if (!bit(c.getCapBndList(), cap) && task.syscall(Nr.PRCTL, Linux.PR_CAPBSET_READ, cap, 0, 0, 0) == 1) {
                    task.syscall(Nr.PRCTL, Linux.PR_CAPBSET_DROP, cap, 0, 0, 0);
                }
            }
            ByteBuffer cap = ByteBuffer.allocate(8 + 24).order(ByteOrder.LITTLE_ENDIAN);
            cap.putInt(0x20080522).putInt(0); // _LINUX_CAPABILITY_VERSION_3, this task
            for (int i = 0; i < 2; i++) {
                cap.putInt(word(c.getCapEffList(), i)).putInt(word(c.getCapPrmList(), i)).putInt(word(c.getCapInhList(), i));
            }
            try (Scratch s = task.scratch(32)) {
                s.put(0, cap.array());
                task.syscall(Nr.CAPSET, s.addr(), s.addr() + 8);
            }
            for (int a = 0; a <= last; a++) {
                if (bit(c.getCapAmbList(), a)) task.syscall(Nr.PRCTL, Linux.PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, a, 0, 0);
            }
            if (c.getNoNewPrivs() != 0) task.syscall(Nr.PRCTL, Linux.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            // changing uids resets the dumpable flag (commit_creds): put the dumped one back last
            if (img.mm().hasDumpable()) task.syscall(Nr.PRCTL, Linux.PR_SET_DUMPABLE, img.mm().getDumpable(), 0, 0, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), String.format("Can't restore credentials of task %d (uid %d, gid %d, caps prm %s): %s",
                    task.tid(), c.getUid(), c.getGid(), c.getCapPrmList(), e.getMessage()), e);
        }
    }

    /** Values set through /proc by jcriu itself; refused ones are reported, not fatal (CRIU does the same). */
    void restoreProcValues() {
        if (tc().hasOomScoreAdj()) writeProc("oom_score_adj", Integer.toString(tc().getOomScoreAdj()));
        if (tc().hasLoginuid()) writeProc("loginuid", Integer.toUnsignedString(tc().getLoginuid()));
    }

    private void writeProc(String name, String value) {
        java.nio.file.Path p = java.nio.file.Path.of("/proc/" + task.tid() + "/" + name);
        try {
            if (java.nio.file.Files.readString(p).strip().equals(value)) return;
            java.nio.file.Files.writeString(p, value);
        } catch (java.io.IOException e) {
            LOG.forPid(img.pid()).warn("task %d: can't set %s to %s: %s", img.pid(), name, value, e.getMessage());
        }
    }

    private List<String> currentGroups() {
        String s = Sys.readString("/proc/" + task.tid() + "/status");
        for (String l : s.split("\n")) {
            if (l.startsWith("Groups:")) {
                String v = l.substring(7).trim();
                return v.isEmpty() ? List.of() : List.of(v.split("\\s+"));
            }
        }
        return List.of();
    }

    private static int capLastCap() {
        return Integer.parseInt(Sys.readString("/proc/sys/kernel/cap_last_cap").trim());
    }

    private static boolean bit(List<Integer> words, int n) {
        return n / 32 < words.size() && (words.get(n / 32) & (1 << (n % 32))) != 0;
    }

    private static int word(List<Integer> words, int i) {
        return i < words.size() ? words.get(i) : 0;
    }
}
