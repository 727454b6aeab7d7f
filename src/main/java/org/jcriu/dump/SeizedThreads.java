package org.jcriu.dump;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.jcriu.CriuException;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/**
 * Every thread of one process, seized. Threads run while others are being seized and may create
 * new ones, so /proc/PID/task is listed again until a pass finds no thread that is not held yet
 * (criu's seize_threads loop); a thread that exits before it is seized is left out. Once all are
 * stopped none can clone any more. All methods run on the tracer thread.
 */
final class SeizedThreads {
    private static final Logger LOG = Log.get("dump");
    /** A process that keeps creating threads faster than they can be seized is given up on. */
    private static final int MAX_PASSES = 64;

    private final Task main;
    private final Map<Integer, Task> others = new LinkedHashMap<>();

    private SeizedThreads(Task main) {
        this.main = main;
    }

    /** Seizes every thread of {@code main}'s process besides {@code main}, which is seized already. */
    static SeizedThreads seizeAll(Tracer tracer, Task main) {
        return seizeAll(tracer, main, null);
    }

    /** As above; {@code seizer}, when not null, seizes a thread instead of Task.seize (threads held by a cgroup freezer). */
    static SeizedThreads seizeAll(Tracer tracer, Task main, java.util.function.IntFunction<Task> seizer) {
        SeizedThreads g = new SeizedThreads(main);
        int pid = main.tid();
        try {
            for (int pass = 0; ; pass++) {
                if (pass == MAX_PASSES) {
                    throw new CriuException("Can't dump task " + pid + ": its threads keep changing after " + MAX_PASSES
                            + " passes over /proc/" + pid + "/task");
                }
                boolean fresh = false;
                for (int tid : list(pid)) {
                    if (tid == pid || g.others.containsKey(tid)) continue;
                    try {
                        g.others.put(tid, seizer != null ? seizer.apply(tid) : Task.seize(tracer, tid));
                        fresh = true;
                    } catch (CriuException e) {
                        // gone between the listing and the seize: an exited thread is nothing to dump
                        if (e.errno() != Errno.ESRCH || Files.isDirectory(Path.of("/proc", Integer.toString(pid), "task",
                                Integer.toString(tid)))) {
                            throw e;
                        }
                        LOG.debug("thread %d of %d exited while seizing", tid, pid);
                    }
                }
                if (!fresh) break;
            }
            // a thread seized in an earlier pass may have exited (killed) since: it cannot be dumped
            TreeSet<Integer> now = list(pid);
            for (int tid : new ArrayList<>(g.others.keySet())) {
                if (!now.contains(tid)) throw new CriuException(Errno.ESRCH, "Thread " + tid + " of task " + pid + " exited during the dump");
            }
        } catch (RuntimeException e) {
            g.detach();
            throw e;
        }
        if (!g.others.isEmpty()) LOG.info("seized %d threads of task %d", g.others.size() + 1, pid);
        return g;
    }

    /** Thread ids of {@code pid}, sorted (the leader first, as its tid is the lowest it has). */
    static TreeSet<Integer> list(int pid) {
        TreeSet<Integer> tids = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc", Integer.toString(pid), "task"))) {
            for (Path p : ds) tids.add(Integer.parseInt(p.getFileName().toString()));
        } catch (IOException e) {
            throw new CriuException(Errno.ESRCH, "Can't list /proc/" + pid + "/task: " + e.getMessage());
        }
        return tids;
    }

    Task main() {
        return main;
    }

    /** The threads besides the main one, by tid. */
    List<Task> others() {
        return List.copyOf(others.values());
    }

    /** Every tid, the main thread first (pstree.img's order). */
    List<Integer> tids() {
        List<Integer> l = new ArrayList<>();
        l.add(main.tid());
        l.addAll(others.keySet());
        return l;
    }

    /** Detaches the other threads, registers and masks as they were; the main one is its owner's. */
    void detach() {
        for (Task t : others.values()) t.close();
    }

    /** Leaves the other threads stopped (--leave-stopped: the group stop reaches them through the main one). */
    void detachStopped() {
        for (Task t : others.values()) t.detachStopped();
    }

    /**
     * SIGKILLs the process and reaps each thread. A traced thread that dies stays a zombie until
     * its tracer waits for it, and the leader is not reported before the rest of its group is
     * gone (delay_group_leader), so the other threads are reaped first.
     */
    void killAll() {
        try {
            Sys.kill(main.tid(), Linux.SIGKILL);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ESRCH) throw e;
        }
        for (Task t : others.values()) t.kill();
        main.kill();
    }
}
