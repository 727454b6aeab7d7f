package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.TaskCoreEntry;
import org.junit.jupiter.api.Test;

/** Which task calls setsid when, which children are cloned before it, and which groups are joined. */
class SessionPlanTest {
    private final List<TaskImages> tasks = new ArrayList<>();

    private SessionPlanTest task(int pid, int ppid, int pgid, int sid) {
        return task(pid, ppid, pgid, sid, false);
    }

    private SessionPlanTest task(int pid, int ppid, int pgid, int sid, boolean subreaper) {
        PstreeEntry pe = PstreeEntry.newBuilder().setPid(pid).setPpid(ppid).setPgid(pgid).setSid(sid).addThreads(pid).build();
        CoreEntry core = CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64)
                .setTc(TaskCoreEntry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0).setFlags(0).setBlkSigset(0)
                        .setComm("t" + pid).setChildSubreaper(subreaper).build()).build();
        tasks.add(new TaskImages(pe, core, Map.of(), null, null, List.of(), 0, List.of(), null, List.of(), Map.of(), Map.of()));
        return this;
    }

    private TreeImages tree() {
        return new TreeImages(tasks);
    }

    private static List<Integer> pids(List<TaskImages> l) {
        return l.stream().map(TaskImages::pid).toList();
    }

    @Test
    void groupsAreJoinedAfterTheirLeadersMadeThem() {
        task(10, 0, 10, 10).task(11, 10, 11, 10).task(12, 11, 11, 10).task(13, 10, 10, 10).task(14, 10, 11, 10);
        TreeImages t = tree();
        SessionPlan p = SessionPlan.of(t, false);
        assertTrue(p.setsid(t.task(10)));
        assertFalse(p.setsid(t.task(11)));
        assertEquals(List.of(11, 13, 14), pids(p.childrenAfterSetsid(t.task(10))));
        assertEquals(List.of(), pids(p.childrenBeforeSetsid(t.task(10))));
        assertEquals(0, p.groupToJoin(t.task(10), 10));
        assertEquals(0, p.groupToJoin(t.task(11), 10));
        assertEquals(11, p.groupToJoin(t.task(12), 10));
        assertEquals(10, p.groupToJoin(t.task(13), 10));
        assertEquals(11, p.groupToJoin(t.task(14), 10));
        List<Integer> order = pids(p.groupOrder());
        assertTrue(order.indexOf(11) < order.indexOf(12) && order.indexOf(11) < order.indexOf(14), order.toString());
    }

    /** 11 forked 12 while still in 10's session, then called setsid and forked 13. */
    @Test
    void aLeaderClonesChildrenOfItsOldSessionBeforeSetsid() {
        task(10, 0, 10, 10).task(11, 10, 11, 11).task(12, 11, 12, 10).task(13, 11, 11, 11);
        TreeImages t = tree();
        SessionPlan p = SessionPlan.of(t, false);
        assertTrue(p.setsid(t.task(11)));
        assertEquals(List.of(12), pids(p.childrenBeforeSetsid(t.task(11))));
        assertEquals(List.of(13), pids(p.childrenAfterSetsid(t.task(11))));
    }

    /** Two levels: 12 (born in 10's session) forked 13 before 12's own parent 11 called setsid. */
    @Test
    void bornSessionIsPassedDownTheBranch() {
        task(10, 0, 10, 10).task(11, 10, 11, 11).task(12, 11, 12, 12).task(13, 12, 13, 10);
        TreeImages t = tree();
        SessionPlan p = SessionPlan.of(t, false);
        assertEquals(List.of(12), pids(p.childrenBeforeSetsid(t.task(11))));
        assertEquals(List.of(13), pids(p.childrenBeforeSetsid(t.task(12))));
    }

    /** Outside a subreaper, a task cannot have been given a session whose leader exited. */
    @Test
    void aSessionWhoseLeaderExitedIsRefusedUnderANonSubreaper() {
        task(10, 0, 10, 10).task(11, 10, 11, 999);
        CriuException e = assertThrows(CriuException.class, () -> SessionPlan.of(tree(), false));
        assertTrue(e.getMessage().startsWith("Task 11 is in session 999, whose leader is not in the dump (it has exited), and its "
                + "parent 10 is no child subreaper"), e.getMessage());
    }

    /** 999 led a session, forked 11 and 12, and exited; the subreaper 10 inherited them. */
    @Test
    void aSessionWhoseLeaderExitedGetsAHelperUnderTheSubreaper() {
        task(10, 0, 10, 10, true).task(11, 10, 999, 999).task(12, 10, 12, 999).task(13, 10, 10, 10).task(14, 12, 12, 999);
        TreeImages t = tree();
        SessionPlan p = SessionPlan.of(t, false);
        assertEquals(List.of(new SessionPlan.SessionHelper(999, 10, List.of(11, 12))), p.sessionHelpersOf(t.task(10)));
        assertEquals(List.of(13), pids(p.childrenAfterSetsid(t.task(10))));
        assertEquals(List.of(14), pids(p.childrenAfterSetsid(t.task(12))));
        assertEquals(List.of(), List.copyOf(p.helpers())); // group 999 is made by the session helper
        assertEquals(999, p.groupToJoin(t.task(11), 10));
    }

    /** 998 led a group and exited: a helper at 998 is cloned before its first member, 11, to make the group again. */
    @Test
    void aGroupWhoseLeaderExitedGetsAHelper() {
        task(10, 0, 10, 10).task(11, 10, 998, 10).task(12, 11, 998, 10);
        TreeImages t = tree();
        SessionPlan p = SessionPlan.of(t, false);
        assertEquals(List.of(new SessionPlan.Helper(998, 11, 10)), List.copyOf(p.helpers()));
        assertEquals(List.of(new SessionPlan.Helper(998, 11, 10)), p.helpersBefore(t.task(11)));
        assertEquals(List.of(), p.helpersBefore(t.task(12)));
        assertEquals(998, p.groupToJoin(t.task(12), 10));
    }

    @Test
    void aGroupWhoseLeaderMovedAwayIsRefused() {
        task(10, 0, 10, 10).task(11, 10, 10, 10).task(12, 10, 11, 10);
        CriuException e = assertThrows(CriuException.class, () -> SessionPlan.of(tree(), false));
        assertEquals("Task 12 is in process group 11, whose leader left it for group 10: such a group cannot be made again", e.getMessage());
    }

    @Test
    void aGroupOfAnotherSessionIsRefused() {
        task(10, 0, 10, 10).task(11, 10, 11, 11).task(12, 10, 11, 10);
        CriuException e = assertThrows(CriuException.class, () -> SessionPlan.of(tree(), false));
        assertEquals("Task 12 is in process group 11 of another session (11, its own is 10)", e.getMessage());
    }

    /** --shell-job: the root stays in jcriu's session and group, and tasks of its group follow it there. */
    @Test
    void shellJobKeepsTheRootWhereJcriuIs() {
        task(10, 0, 10, 5).task(11, 10, 10, 5).task(12, 10, 12, 5);
        TreeImages t = tree();
        SessionPlan p = SessionPlan.of(t, true);
        assertFalse(p.setsid(t.task(10)));
        assertEquals(-1, p.groupToJoin(t.task(10), 77));
        assertEquals(77, p.groupToJoin(t.task(11), 77));
        assertEquals(0, p.groupToJoin(t.task(12), 77));
    }
}
