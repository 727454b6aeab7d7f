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
 * the root wherever it is. A group whose leader is not in the dump (it has exited) is made again
 * by a helper task ({@link Helper}); a session whose leader has exited, by a helper that clones
 * its members for the child subreaper that inherited them ({@link SessionHelper}).
 */
final class SessionPlan {
    private final TreeImages tree;
    private final boolean shellJob;
    /** Session an ancestor must still be in when it clones the children marked with it. */
    private final Map<Integer, Integer> bornSid = new HashMap<>();
    private final Map<Integer, Helper> helpers = new java.util.LinkedHashMap<>();
    private final Map<Integer, SessionHelper> sessionHelpers = new java.util.LinkedHashMap<>();

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
            if (tree.task(sid(t)) == null && sid(root) != sid(t)) {
                addToSessionHelper(t);
                continue;
            }
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

    /**
     * {@code t}'s session leader has exited. The only way such a task is a child of a task of the
     * tree is that the leader forked it and exited, and the kernel gave it to the nearest child
     * subreaper: so a helper at the leader's PID is cloned by that subreaper, calls setsid, clones
     * the session's orphans, and exits; they come back to the subreaper as they did.
     */
    private void addToSessionHelper(TaskImages t) {
        TaskImages p = parent(t);
        if (!p.core().getTc().getChildSubreaper()) {
            throw new CriuException("Task " + t.pid() + " is in session " + sid(t) + ", whose leader is not in the dump (it has "
                    + "exited), and its parent " + p.pid() + " is no child subreaper that could have inherited it: such a "
                    + "session cannot be made again");
        }
        SessionHelper h = sessionHelpers.computeIfAbsent(sid(t), k -> new SessionHelper(k, p.pid(), new ArrayList<>()));
        if (h.parent() != p.pid()) {
            throw new CriuException("Tasks of session " + sid(t) + ", whose leader has exited, have different parents (" + h.parent()
                    + " and " + p.pid() + "): such a session cannot be made again");
        }
        h.members().add(t.pid());
    }

    /**
     * A task made only to recreate session {@code sid}, whose leader had exited (CRIU's
     * TASK_HELPER for sessions): cloned at that PID by the child subreaper {@code parent} that
     * inherited the session's {@code members}, it calls setsid and clones them; when it exits
     * they are the subreaper's children again.
     */
    record SessionHelper(int sid, int parent, List<Integer> members) {}

    /** Session helpers {@code t} clones (after its own children). */
    List<SessionHelper> sessionHelpersOf(TaskImages t) {
        List<SessionHelper> out = new ArrayList<>();
        for (SessionHelper h : sessionHelpers.values()) if (h.parent() == t.pid()) out.add(h);
        return out;
    }

    /** Every session helper, for the PID checks. */
    java.util.Collection<SessionHelper> sessionHelpers() {
        return sessionHelpers.values();
    }

    private boolean inSessionHelper(TaskImages t) {
        SessionHelper h = sessionHelpers.get(sid(t));
        return h != null && h.members().contains(t.pid());
    }

    private void checkGroups() {
        TaskImages root = tree.root();
        for (TaskImages t : tree.tasks()) {
            int g = pgid(t);
            if (g == t.pid() || g == pgid(root)) continue;
            if (sessionHelpers.containsKey(g)) {
                if (sid(t) != g) {
                    throw new CriuException("Task " + t.pid() + " is in process group " + g + " of another session (" + g
                            + ", its own is " + sid(t) + ")");
                }
                continue; // the session helper's setsid makes the group too
            }
            TaskImages leader = tree.task(g);
            if (leader == null) {
                Helper h = helpers.get(g);
                if (h == null) {
                    helpers.put(g, new Helper(g, t.pid(), sid(t)));
                } else if (h.sid() != sid(t)) {
                    throw new CriuException("Task " + t.pid() + " is in process group " + g + " of another session (" + h.sid()
                            + ", its own is " + sid(t) + ")");
                }
                continue;
            }
            if (pgid(leader) != g) {
                throw new CriuException("Task " + t.pid() + " is in process group " + g + ", whose leader left it for group "
                        + pgid(leader) + ": such a group cannot be made again");
            }
            if (sid(leader) != sid(t)) {
                throw new CriuException("Task " + t.pid() + " is in process group " + g + " of another session (" + sid(leader)
                        + ", its own is " + sid(t) + ")");
            }
        }
    }

    /**
     * A task made only to recreate process group {@code pgid}, whose leader had exited (CRIU's
     * TASK_HELPER): cloned at that PID by the parent of the group's first member just before
     * that member (so both are born in the same session), it makes the group, the members join
     * it, and it exits and is reaped; the group lives on without its leader, as it did.
     */
    record Helper(int pgid, int firstMember, int sid) {}

    /** Helpers for groups whose leader has exited, by PGID. */
    java.util.Collection<Helper> helpers() {
        return helpers.values();
    }

    /** Helpers to clone just before {@code t}, in its parent. */
    List<Helper> helpersBefore(TaskImages t) {
        List<Helper> out = new ArrayList<>();
        for (Helper h : helpers.values()) if (h.firstMember() == t.pid()) out.add(h);
        return out;
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
            if (inSessionHelper(c)) continue; // cloned by the session's helper
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
