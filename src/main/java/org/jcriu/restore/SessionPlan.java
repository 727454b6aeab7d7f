package org.jcriu.restore;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;

/**
 * How sessions and process groups of a tree come back, worked out before anything is created.
 *
 * <p>A session cannot be joined: a task either inherits its parent's or makes its own with
 * setsid (which needs it not to lead a group yet). So each session leader calls setsid while it
 * is created, and its children are cloned after that to be born in it; a leader that forked
 * some children before its setsid (they stay in the old session) clones those first. Walking up
 * from each task in a session other than its parent's, every ancestor up to the session's leader
 * is marked "born in" that session (CRIU's born_sid): those ancestors create the child's branch
 * before they call setsid. Process groups can be joined by any task of the same session once
 * the leader has made the group, so they are set when every task exists, leaders first.
 *
 * <p>The root keeps jcriu's session and group unless it led its own (as a restore always did),
 * and with --shell-job it always keeps them; tasks dumped in the root's session or group follow
 * the root wherever it is. A session or group whose leader is not in the dump (it has exited)
 * would need a helper task to recreate it (CRIU's TASK_HELPER): refused here, naming the task.
 */
final class SessionPlan {
    private final TreeImages tree;
    private final boolean shellJob;
    /** Session an ancestor must still be in when it clones the children marked with it. */
    private final Map<Integer, Integer> bornSid = new HashMap<>();

    private SessionPlan(TreeImages tree, boolean shellJob) {
        this.tree = tree;
        this.shellJob = shellJob;
    }

    static SessionPlan of(TreeImages tree, boolean shellJob) {
        SessionPlan p = new SessionPlan(tree, shellJob);
        p.planSessions();
        p.checkGroups();
        return p;
    }

    private TaskImages parent(TaskImages t) {
        return t == tree.root() ? null : tree.task(t.pstree().getPpid());
    }

    private static int sid(TaskImages t) {
        return t.pstree().getSid();
    }

    private static int pgid(TaskImages t) {
        return t.pstree().getPgid();
    }

    private void planSessions() {
        TaskImages root = tree.root();
        for (TaskImages t : tree.tasks()) {
            if (t == root || sid(t) == t.pid() || sid(parent(t)) == sid(t)) continue;
            TaskImages p = parent(t);
            while (p != null && p.pid() != sid(t) && !(p == root && sid(root) == sid(t))) {
                Integer had = bornSid.putIfAbsent(p.pid(), sid(t));
                if (had != null && had != sid(t)) {
                    throw new CriuException("Can't work out which session (" + had + " or " + sid(t) + ") task " + p.pid()
                            + " was born in: it has descendants in both");
                }
                p = parent(p);
            }
            if (p == null) {
                throw new CriuException("Task " + t.pid() + " is in session " + sid(t) + ", whose leader is not one of its "
                        + "ancestors in the dump (the leader has exited or moved): restoring it would need a helper task, "
                        + "which jcriu does not create yet");
            }
        }
    }

    private void checkGroups() {
        TaskImages root = tree.root();
        for (TaskImages t : tree.tasks()) {
            int g = pgid(t);
            if (g == t.pid() || g == pgid(root)) continue;
            TaskImages leader = tree.task(g);
            if (leader == null || pgid(leader) != g) {
                throw new CriuException("Task " + t.pid() + " is in process group " + g + ", whose leader is not in the dump "
                        + "(it has exited): restoring the group would need a helper task, which jcriu does not create yet");
            }
            if (sid(leader) != sid(t)) {
                throw new CriuException("Task " + t.pid() + " is in process group " + g + " of another session (" + sid(leader)
                        + ", its own is " + sid(t) + ")");
            }
        }
    }

    /** True when {@code t} calls setsid while it is created. */
    boolean setsid(TaskImages t) {
        if (t == tree.root() && shellJob) return false;
        return sid(t) == t.pid();
    }

    /** The children {@code t} clones before its setsid: they stay in the session it was born in. */
    List<TaskImages> childrenBeforeSetsid(TaskImages t) {
        return split(t, true);
    }

    /** The children {@code t} clones once its session is set (all of them if it calls no setsid). */
    List<TaskImages> childrenAfterSetsid(TaskImages t) {
        return split(t, false);
    }

    private List<TaskImages> split(TaskImages t, boolean before) {
        List<TaskImages> out = new ArrayList<>();
        Integer mine = bornSid.get(t.pid());
        for (TaskImages c : tree.children(t.pid())) {
            int csid = bornSid.getOrDefault(c.pid(), sid(c));
            boolean early = mine != null && mine == csid && setsid(t);
            if (early == before) out.add(c);
        }
        return out;
    }

    /**
     * The process group {@code t} must join once every task exists: 0 for a group of its own,
     * {@code rootGroup} (where the root actually is) for the root's dumped group, else the
     * leader's PID; -1 when the task stays where it was born.
     */
    int groupToJoin(TaskImages t, int rootGroup) {
        TaskImages root = tree.root();
        if (t == root) {
            if (shellJob) return -1;
            if (pgid(t) == t.pid()) return 0;
            return tree.task(pgid(t)) != null ? pgid(t) : -1;
        }
        if (pgid(t) == pgid(root)) return rootGroup;
        if (pgid(t) == t.pid()) return 0;
        return pgid(t);
    }

    /** Tasks in the order their groups are set: leaders of their own group first, then the others. */
    List<TaskImages> groupOrder() {
        List<TaskImages> out = new ArrayList<>();
        for (TaskImages t : tree.tasks()) if (pgid(t) == t.pid()) out.add(t);
        for (TaskImages t : tree.tasks()) if (pgid(t) != t.pid()) out.add(t);
        return out;
    }
}
