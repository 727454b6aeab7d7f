package org.jcriu.dump;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

import org.jcriu.CriuException;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.proc.Stat;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/**
 * The process tree under the dumped pid, every live task seized with all its threads (criu's
 * seize.c). Collection is depth first: a task's threads are seized until a pass over
 * /proc/PID/task finds no new one, then its children (the union of every thread's
 * /proc/PID/task/TID/children) are seized and collected in turn, and the children are listed
 * again until a pass finds none new: once every thread of a task is stopped it cannot fork any
 * more, but a child may still add siblings to it (CLONE_PARENT) until that child is stopped too.
 * Zombies are never seized (ptrace refuses them); they are recorded from /proc/PID/stat.
 * All methods run on the tracer thread.
 */
final class TaskTree {
    private static final Logger LOG = Log.get("dump");
    /** A task whose children keep changing for this many passes is given up on (criu: NR_ATTEMPTS). */
    private static final int MAX_PASSES = 64;

    /** criu's task states as they go to core.tc.task_state (compel/include/uapi/task-state.h). */
    enum State { ALIVE, DEAD, STOPPED }

    /** One task of the tree. {@code threads} is null for a zombie. */
    static final class Node {
        final int pid;
        final Node parent;
        final List<Node> children = new ArrayList<>();
        State state;
        SeizedThreads threads;

        Node(int pid, Node parent) {
            this.pid = pid;
            this.parent = parent;
        }

        boolean dead() {
            return state == State.DEAD;
        }

        int ppid() {
            return parent == null ? 0 : parent.pid;
        }
    }

    private final Node root;

    private TaskTree(Node root) {
        this.root = root;
    }

    Node root() {
        return root;
    }

    /** Every task, parents before children (pstree.img's order: pre-order from the root). */
    List<Node> tasks() {
        List<Node> out = new ArrayList<>();
        preOrder(root, out);
        return out;
    }

    private static void preOrder(Node n, List<Node> out) {
        out.add(n);
        for (Node c : n.children) preOrder(c, out);
    }

    List<Node> live() {
        return tasks().stream().filter(n -> !n.dead()).toList();
    }

    /**
     * Seizes the tree under {@code pid}. {@code expired} is polled between passes (--timeout);
     * {@code seizing} is told each task about to be seized (the one to blame if it never stops);
     * {@code seizer}, when not null, seizes each thread instead of Task.seize (threads held by a
     * cgroup freezer, see SeizedThreads).
     * On any failure every task seized so far is let go as it was, and the exception propagates.
     */
    static TaskTree seize(Tracer tracer, int pid, BooleanSupplier expired, java.util.function.IntConsumer seizing,
                          IntFunction<Task> seizer) {
        // a task that cannot stop is given up on at the deadline, the tree seized so far let go at once
        IntFunction<Task> seize = seizer != null ? seizer : tid -> Task.seize(tracer, tid, 0, expired);
        Node root = new Node(pid, null);
        TaskTree tree = new TaskTree(root);
        try {
            seizing.accept(pid);
            Task main = seize.apply(pid);
            root.state = main.wasStopped() ? State.STOPPED : State.ALIVE;
            root.threads = SeizedThreads.seizeAll(tracer, main, seize);
            collectChildren(tracer, root, expired, seizing, seize);
        } catch (RuntimeException e) {
            tree.release();
            throw e;
        }
        LOG.info("Collected tree of %d: %d tasks", pid, tree.tasks().size());
        return tree;
    }

    private static void collectChildren(Tracer tracer, Node item, BooleanSupplier expired, java.util.function.IntConsumer seizing,
                                        IntFunction<Task> seize) {
        for (int pass = 0; ; pass++) {
            if (pass == MAX_PASSES) {
                throw new CriuException("Can't dump task " + item.pid + ": its children keep changing after " + MAX_PASSES
                        + " passes over /proc/" + item.pid + "/task/*/children");
            }
            boolean fresh = false;
            for (int child : children(item.pid)) {
                if (item.children.stream().anyMatch(c -> c.pid == child)) continue;
                if (expired.getAsBoolean()) throw new CriuException("Can't freeze the tree of " + item.pid + " within --timeout");
                seizing.accept(child);
                Node c = seizeChild(tracer, item, child, seize);
                if (c == null) continue;
                fresh = true;
                item.children.add(c);
                if (!c.dead()) collectChildren(tracer, c, expired, seizing, seize);
            }
            if (!fresh) return;
        }
    }

    /** Seizes one child with its threads; null when it is gone (reaped by someone else already). */
    private static Node seizeChild(Tracer tracer, Node parent, int pid, IntFunction<Task> seize) {
        Node c = new Node(pid, parent);
        Stat st = stat(pid);
        if (st == null) return null;
        if (st.state() == 'Z' || st.state() == 'X') {
            refuseLiveThreads(pid);
            c.state = State.DEAD;
            LOG.info("Found zombie %d (child of %d)", pid, parent.pid);
            return c;
        }
        Task main;
        try {
            main = seize.apply(pid);
        } catch (CriuException e) {
            // it exited between the listing and the seize: a zombie now (its parent is stopped
            // and cannot reap it), or gone if something else reaped it (ptrace refuses zombies)
            Stat again = stat(pid);
            if (again == null) return null;
            if (again.state() == 'Z' || again.state() == 'X') {
                refuseLiveThreads(pid);
                c.state = State.DEAD;
                LOG.info("Task %d became a zombie while being seized", pid);
                return c;
            }
            throw e;
        }
        c.state = main.wasStopped() ? State.STOPPED : State.ALIVE;
        // the threads are released with the node: attach it before anything else can fail
        try {
            c.threads = SeizedThreads.seizeAll(tracer, main, seize);
        } catch (RuntimeException e) {
            main.close();
            throw e;
        }
        LOG.info("Seized task %d (child of %d), state %s", pid, parent.pid, c.state);
        return c;
    }

    /**
     * A leader that exited (pthread_exit) shows as a zombie while its other threads run on: those
     * could be neither seized as a zombie nor dumped as one (criu: "Zombies with threads are not
     * supported").
     */
    private static void refuseLiveThreads(int pid) {
        java.util.TreeSet<Integer> tids;
        try {
            tids = SeizedThreads.list(pid);
        } catch (CriuException e) {
            return; // reaped meanwhile
        }
        if (tids.size() > 1) {
            throw new CriuException("Can't dump task " + pid + ": its main thread exited but threads " + tids.tailSet(pid, false)
                    + " still run; zombies with threads are not supported");
        }
    }

    private static Stat stat(int pid) {
        try {
            return Stat.read(pid);
        } catch (CriuException e) {
            if (Files.isDirectory(Path.of("/proc", Integer.toString(pid)))) throw e;
            return null;
        }
    }

    /**
     * The children of every thread of {@code pid}, in the order the kernel lists them (by thread,
     * then by creation). A task forked by a thread is listed in that thread's children file only.
     * jcriu itself is never one of them: a client that dumps itself over RPC may have spawned
     * {@code jcriu swrk} as its child (libcriu daemonizes it; the Java client does not).
     */
    static Set<Integer> children(int pid) {
        Set<Integer> out = new LinkedHashSet<>();
        Path task = Path.of("/proc", Integer.toString(pid), "task");
        for (int tid : SeizedThreads.list(pid)) {
            String s;
            try {
                s = Files.readString(task.resolve(Integer.toString(tid)).resolve("children"));
            } catch (NoSuchFileException e) {
                continue;
            } catch (IOException e) {
                throw new CriuException(Errno.ESRCH, "Can't read /proc/" + pid + "/task/" + tid + "/children: " + e.getMessage());
            }
            for (String p : s.trim().split("\\s+")) {
                if (!p.isEmpty()) out.add(Integer.parseInt(p));
            }
        }
        out.remove(Sys.getpid());
        return out;
    }

    /** Lets every task go as it was (children first, so a parent never runs before its child is free). */
    void release() {
        List<Node> all = tasks();
        for (int i = all.size() - 1; i >= 0; i--) {
            Node n = all.get(i);
            if (n.threads == null) continue;
            try {
                n.threads.detach();
                n.threads.main().close();
            } catch (RuntimeException e) {
                LOG.warn("could not let task %d go cleanly: %s", n.pid, e.getMessage());
            }
        }
    }

    /** --leave-running after a successful dump. */
    void detach() {
        List<Node> all = tasks();
        for (int i = all.size() - 1; i >= 0; i--) {
            Node n = all.get(i);
            if (n.threads == null) continue;
            n.threads.detach();
            n.threads.main().detach();
        }
    }

    /** --leave-stopped. */
    void detachStopped() {
        List<Node> all = tasks();
        List<Integer> tids = new ArrayList<>();
        for (int i = all.size() - 1; i >= 0; i--) {
            Node n = all.get(i);
            if (n.threads == null) continue;
            tids.addAll(n.threads.tids());
            n.threads.detachStopped();
            n.threads.main().detachStopped();
        }
        Task.awaitStopped(tids, 2000);
    }

    /**
     * The default end of a dump: SIGKILL every live task first (none runs again, so none can
     * notice another's death), then reap each as its tracer. Zombies are left to whoever
     * inherits them when their parent dies.
     */
    void killAll() {
        for (Node n : live()) {
            try {
                Sys.kill(n.pid, Linux.SIGKILL);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.ESRCH) throw e;
            }
        }
        for (Node n : live()) n.threads.killAll();
    }
}
