package org.jcriu.restore;

import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Sys;

/**
 * Keeps the tracer thread and the task it injects into on one CPU while syscalls are injected:
 * each injection is a stop/continue round trip, 12-15 us on one CPU against 55-70 us when the
 * wakeup crosses CPUs. Released around the parallel page writes (threads inherit the affinity
 * of the thread that starts them) and before the task runs: the task gets back the mask it
 * inherited, which is the one jcriu itself runs with.
 */
final class Pinning {
    private static final Logger LOG = Log.get("restore");
    private final long tracerMask;
    private final long cpuMask;
    private final java.util.List<Integer> tasks = new java.util.ArrayList<>();
    private long taskMask;

    private Pinning(long tracerMask, long cpuMask) {
        this.tracerMask = tracerMask;
        this.cpuMask = cpuMask;
    }

    /** Pins the calling (tracer) thread to the first CPU it may run on; null if that fails. */
    static Pinning pinTracer() {
        if (Boolean.getBoolean("jcriu.nopin")) return null;
        try {
            long mask = Sys.getAffinity(0);
            if (Long.bitCount(mask) < 2) return null;
            long one = Long.lowestOneBit(mask);
            Sys.setAffinity(0, one);
            return new Pinning(mask, one);
        } catch (ErrnoException e) {
            LOG.debug("no CPU pinning: %s", e.getMessage());
            return null;
        }
    }

    /**
     * The task gets jcriu's own mask back later: the seed it comes from was spawned already
     * pinned. Threads cloned from a pinned task inherit the pin and are added here too.
     */
    void pinTask(int tid) {
        try {
            taskMask = tracerMask;
            Sys.setAffinity(tid, cpuMask);
            tasks.add(tid);
        } catch (ErrnoException e) {
            LOG.debug("task %d not pinned: %s", tid, e.getMessage());
        }
    }

    /** Lets the tracer thread (and threads it starts) use every CPU again. */
    void releaseTracer() {
        Sys.setAffinity(0, tracerMask);
    }

    void pinTracerAgain() {
        Sys.setAffinity(0, cpuMask);
    }

    /** Gives the task its own mask back; must run before it is let go. */
    void releaseTask() {
        for (int t : tasks) Sys.setAffinity(t, taskMask);
        tasks.clear();
    }
}
