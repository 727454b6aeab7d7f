package org.jcriu.cgroup;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SequencedSet;

import org.jcriu.CriuException;
import org.jcriu.compel.Ptrace;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;
import org.jcriu.sys.WaitStatus;

/**
 * --freeze-cgroup: every task of a cgroup is stopped at once by the cgroup freezer (v1
 * freezer.state, v2 cgroup.freeze + "frozen 1" in cgroup.events), then, while frozen, each
 * thread of the cgroup and of its sub-cgroups is seized and interrupted; the thaw lets the queued
 * interrupt stop every one of them before it returns to user space (a v1-frozen task only
 * reaches the ptrace stop once thawed; a v2-frozen one stops at once), so nothing runs between
 * the freeze and the ptrace stops. CRIU's seize.c does the same.
 *
 * <p>Use (dump side, owner of the seizing code):
 * <pre>
 * try (Freezer fz = Freezer.open(opts.freezeCgroup, opts.timeout)) {
 *     tracer.run(() -&gt; fz.freezeAndInterrupt());   // frozen, every thread seized+interrupted, thawed again
 *     Task t = tracer.call(() -&gt; fz.seize(tracer, tid)); // instead of Task.seize for each thread to dump
 *     ...
 *     tracer.run(fz::releaseOthers);                   // threads of the cgroup not dumped go free
 *     fz.restoreState();                               // frozen again if it was frozen before the dump
 * }
 * </pre>
 * {@link #close} thaws a cgroup left frozen by a failure.
 */
public final class Freezer implements AutoCloseable {
    private static final Logger LOG = Log.get("freezer");
    private static final long STEP_MS = 10;

    private final Path dir;
    private final boolean v2;
    private final int timeoutSec;
    private boolean originFrozen;
    private boolean frozenByUs;
    /** Threads seized and interrupted while frozen, not yet taken by {@link #seize}. */
    private final SequencedSet<Integer> interrupted = new LinkedHashSet<>();

    private Freezer(Path dir, boolean v2, int timeoutSec) {
        this.dir = dir;
        this.v2 = v2;
        this.timeoutSec = timeoutSec;
    }

    /** The freezer of cgroup directory {@code path}: v1 if it has freezer.state, else v2 if it has cgroup.freeze. */
    public static Freezer open(String path, int timeoutSec) {
        Path d = Path.of(path);
        boolean v2;
        if (Files.exists(d.resolve("freezer.state"))) v2 = false;
        else if (Files.exists(d.resolve("cgroup.freeze"))) v2 = true;
        else {
            throw new CriuException("Neither a cgroupv1 (freezer.state) or cgroupv2 (cgroup.freeze) control file found in "
                    + path + " (--freeze-cgroup)");
        }
        LOG.debug("Detected cgroup V%d freezer at %s", v2 ? 2 : 1, path);
        return new Freezer(d, v2, timeoutSec);
    }

    public boolean v2() {
        return v2;
    }

    /** "FROZEN" or "THAWED": the state before the dump, as recorded in cgroup.img. */
    public String originState() {
        return originFrozen ? "FROZEN" : "THAWED";
    }

    private enum State { THAWED, FREEZING, FROZEN }

    private State state() {
        if (v2) {
            if (CgFs.read(dir.resolve("cgroup.freeze")).strip().equals("0")) return State.THAWED;
            for (String l : CgFs.read(dir.resolve("cgroup.events")).split("\n")) {
                if (l.equals("frozen 1")) return State.FROZEN;
                if (l.equals("frozen 0")) return State.FREEZING;
            }
            throw new CriuException("Unknown freezer state in " + dir.resolve("cgroup.events"));
        }
        String s = CgFs.read(dir.resolve("freezer.state")).strip();
        return switch (s) {
            case "FROZEN" -> State.FROZEN;
            case "FREEZING" -> State.FREEZING;
            case "THAWED" -> State.THAWED;
            default -> throw new CriuException("Unknown freezer state: " + s + " in " + dir.resolve("freezer.state"));
        };
    }

    private void write(boolean frozen) {
        if (v2) CgFs.write(dir.resolve("cgroup.freeze"), frozen ? "1" : "0");
        else CgFs.write(dir.resolve("freezer.state"), frozen ? "FROZEN" : "THAWED");
    }

    /**
     * Freezes the cgroup and waits until the kernel says it is frozen (within --timeout, 10 s if
     * 0). Returns every thread id in it and in its sub-cgroups.
     */
    public List<Integer> freeze() {
        State s = state();
        originFrozen = s != State.THAWED;
        if (s == State.THAWED) {
            write(true);
            frozenByUs = true;
            long deadline = System.nanoTime() + (timeoutSec > 0 ? timeoutSec : 10) * 1_000_000_000L;
            int i = 0;
            while ((s = state()) != State.FROZEN) {
                if (System.nanoTime() > deadline) {
                    throw new CriuException("Unable to freeze cgroup " + dir + " within " + (timeoutSec > 0 ? timeoutSec : 10)
                            + " s (state " + s + ")");
                }
                // v1 can stay FREEZING for good: ask again now and then, and thaw/freeze once in a
                // while (CRIU's cgroupv1_freezer_kludges)
                if (!v2 && ++i % 32 == 9) write(true);
                if (!v2 && i % 32 == 31) {
                    write(false);
                    sleep();
                    write(true);
                }
                sleep();
            }
            LOG.debug("freezing processes: %d attempts done", i);
        }
        return threads();
    }

    private static void sleep() {
        try {
            Thread.sleep(STEP_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CriuException("interrupted while freezing");
        }
    }

    /** Thread ids in the cgroup and every cgroup below it. */
    public List<Integer> threads() {
        List<Integer> out = new ArrayList<>();
        collect(dir, out);
        return out;
    }

    private void collect(Path d, List<Integer> out) {
        for (String l : CgFs.read(d.resolve(v2 ? "cgroup.threads" : "tasks")).split("\n")) {
            if (!l.isBlank()) out.add(Integer.parseInt(l.strip()));
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, Files::isDirectory)) {
            for (Path p : ds) collect(p, out);
        } catch (IOException e) {
            throw new CriuException("Unable to open " + d + ": " + e.getMessage(), e);
        }
    }

    /**
     * On the tracer thread: freezes the cgroup, seizes and interrupts every thread in it, then
     * thaws it; each thread then stops in ptrace before running any more user code. Kernel
     * threads (no /proc/PID/exe) are skipped; a task already traced by us is left alone.
     */
    public void freezeAndInterrupt() {
        List<Integer> tids = freeze();
        try {
            for (int tid : tids) {
                try {
                    Ptrace.seize(tid, 0);
                } catch (ErrnoException e) {
                    if (e.errno() == Errno.ESRCH && !Files.exists(Path.of("/proc/" + tid))) continue; // exited meanwhile
                    if (e.errno() == Errno.EPERM && !Files.exists(Path.of("/proc/" + tid + "/exe"))) continue; // kernel thread
                    throw new CriuException(e.errno(), "Can't seize task " + tid + " of frozen cgroup " + dir + ": " + e.getMessage(), e);
                }
                interrupted.add(tid);
                Ptrace.interrupt(tid);
            }
            LOG.info("seized %d threads of frozen cgroup %s", interrupted.size(), dir);
        } catch (RuntimeException e) {
            releaseOthers();
            throw e;
        } finally {
            thaw();
        }
    }

    /** Thaws the cgroup: after a freeze by jcriu, or when the dump needs the tasks to reach their ptrace stops. */
    public void thaw() {
        if (state() != State.THAWED) write(false);
        frozenByUs = false;
    }

    /** Thread {@code tid} as a seized, stopped Task: adopted when {@link #freezeAndInterrupt} seized it, else seized now. */
    public Task seize(Tracer tracer, int tid) {
        if (interrupted.remove(tid)) return Task.adopt(tracer, tid);
        return Task.seize(tracer, tid);
    }

    /** Whether thread {@code tid} was seized through the freezer. */
    public boolean holds(int tid) {
        return interrupted.contains(tid);
    }

    /** On the tracer thread: lets go of every thread of the cgroup that was not taken for the dump. */
    public void releaseOthers() {
        for (int tid : interrupted) {
            try {
                // reap the interrupt stop first: PTRACE_DETACH needs a stopped tracee
                WaitStatus ws = Sys.waitpid(tid, Linux.__WALL);
                if (ws.stopped()) Ptrace.detach(tid, 0);
                LOG.warn("Unexpected process %d in the freezer cgroup %s left running", tid, dir);
            } catch (CriuException e) {
                LOG.debug("release of %d: %s", tid, e.getMessage());
            }
        }
        interrupted.clear();
    }

    /** After the dump: the cgroup frozen again if it was frozen before. */
    public void restoreState() {
        if (originFrozen && state() == State.THAWED) write(true);
    }

    /**
     * Whatever happened: a cgroup jcriu froze is thawed, one that was frozen before the dump is
     * frozen again (a failed dump leaves it as it found it).
     */
    @Override
    public void close() {
        try {
            if (originFrozen) restoreState();
            else if (frozenByUs) write(false);
        } catch (CriuException e) {
            LOG.error("Unable to put freezer %s back to %s: %s", dir, originState(), e.getMessage());
        }
        frozenByUs = false;
    }
}
