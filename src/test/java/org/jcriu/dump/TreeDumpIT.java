package org.jcriu.dump;

import static org.jcriu.testing.ProcState.assertRunningUntraced;
import static org.jcriu.testing.Images.all;
import static org.jcriu.testing.Images.one;
import static org.jcriu.testing.ProcState.waitGone;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.TaskKobjIdsEntry;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.TreePids;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/jcriu dump of process trees (workloads tree.c and tree-forks.c): pstree.img and every
 * task's images, the fate of every task, refusals and failures that leave the whole tree as it was.
 */
class TreeDumpIT {
    @TempDir Path tmp;

    private Path imgs() throws IOException {
        return Files.createDirectories(tmp.resolve("imgs"));
    }

    /** crit(1) from Debian, if installed (else the test is skipped): its output. */
    private static String crit(String... args) throws Exception {
        assumeTrue(Crit.present(), "no /usr/bin/crit");
        return Crit.run((Object[]) args);
    }

    /**
     * Images every live task of a dump must have, and the pages of each task in its own
     * pages-N.img. Returns the pstree entries by pid.
     */
    private static Map<Integer, PstreeEntry> checkTreeImages(Path d) {
        ImageDir dir = new ImageDir(d);
        List<PstreeEntry> ps = all(dir, ImageType.PSTREE, PstreeEntry.parser());
        Map<Integer, PstreeEntry> byPid = new HashMap<>();
        Set<Integer> pagesIds = new HashSet<>();
        Set<Integer> vmIds = new HashSet<>();
        for (PstreeEntry e : ps) {
            if (byPid.isEmpty()) assertEquals(0, e.getPpid(), "the root comes first");
            else assertTrue(byPid.containsKey(e.getPpid()), "parent " + e.getPpid() + " of " + e.getPid() + " listed before it");
            assertNull(byPid.put(e.getPid(), e), "pid " + e.getPid() + " listed twice");
            assertEquals(e.getPid(), e.getThreads(0), "main thread first");
            CoreEntry core = one(dir, ImageType.CORE, CoreEntry.parser(), e.getPid());
            int state = core.getTc().getTaskState();
            if (state == Images.TASK_DEAD) {
                assertFalse(core.hasThreadInfo(), "a zombie's core has no registers");
                for (ImageType t : List.of(ImageType.MM, ImageType.IDS, ImageType.PAGEMAP, ImageType.FS)) {
                    assertFalse(dir.exists(t, e.getPid()), t + " of zombie " + e.getPid());
                }
                continue;
            }
            assertTrue(state == Images.TASK_ALIVE || state == Images.TASK_STOPPED, "state " + state + " of " + e.getPid());
            assertTrue(core.hasThreadInfo());
            TaskKobjIdsEntry ids = one(dir, ImageType.IDS, TaskKobjIdsEntry.parser(), e.getPid());
            assertTrue(vmIds.add(ids.getVmId()), "forked tasks have their own mm id");
            assertFalse(all(dir, ImageType.FDINFO, FdinfoEntry.parser(), ids.getFilesId()).isEmpty(), "fdinfo-" + ids.getFilesId());
            MmEntry mm = one(dir, ImageType.MM, MmEntry.parser(), e.getPid());
            assertTrue(mm.getVmasCount() > 5);
            assertTrue(dir.exists(ImageType.FS, e.getPid()));
            long pages = 0;
            int pagesId;
            try (ImageReader r = dir.open(ImageType.PAGEMAP, e.getPid())) {
                pagesId = r.read(PagemapHead.parser()).getPagesId();
                PagemapEntry pe;
                while ((pe = r.read(PagemapEntry.parser())) != null) pages += pe.getNrPages();
            }
            assertTrue(pagesIds.add(pagesId), "pages-" + pagesId + ".img is one task's");
            try {
                assertEquals(pages * 4096, Files.size(dir.path(ImageType.PAGES, pagesId)), "pages-" + pagesId + ".img of " + e.getPid());
            } catch (IOException x) {
                fail("pages-" + pagesId + ".img of " + e.getPid() + ": " + x);
            }
            for (int tid : e.getThreadsList()) assertTrue(dir.exists(ImageType.CORE, tid));
        }
        return byPid;
    }

    @Test
    void treeWithLeaveRunningDumpsEveryTaskAndKeepsRunning() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            TreePids p = TreePids.of(w);
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", p.r(), "-D", d, "-R", "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            for (int pid : p.live()) assertRunningUntraced(pid);
            assertEquals('Z', ProcState.state(p.z()), "the zombie is left alone");

            Map<Integer, PstreeEntry> ps = checkTreeImages(d);
            assertEquals(Set.copyOf(p.all()), ps.keySet());
            PstreeEntry root = all(new ImageDir(d), ImageType.PSTREE, PstreeEntry.parser()).get(0);
            assertEquals(p.r(), root.getPid());
            // pid -> {ppid, pgid, sid}
            assertEquals(List.of(0, p.r(), p.r()), ids(ps.get(p.r())));
            assertEquals(List.of(p.r(), p.a(), p.a()), ids(ps.get(p.a())), "A called setsid()");
            assertEquals(List.of(p.a(), p.a(), p.a()), ids(ps.get(p.g())), "G is in A's session and group");
            assertEquals(List.of(p.r(), p.b(), p.r()), ids(ps.get(p.b())), "B leads a group in R's session");
            assertEquals(List.of(p.r(), p.r(), p.r()), ids(ps.get(p.z())));
            for (int pid : p.all()) assertEquals(List.of(pid), ps.get(pid).getThreadsList());

            CoreEntry z = one(new ImageDir(d), ImageType.CORE, CoreEntry.parser(), p.z());
            assertEquals(Images.TASK_DEAD, z.getTc().getTaskState());
            assertEquals(7 << 8, z.getTc().getExitCode(), "exit code as a wait status, as criu takes it from /proc/PID/stat");
            assertTrue(z.getTc().getComm().startsWith("tree"), z.getTc().getComm());
            for (int pid : p.live()) {
                CoreEntry c = one(new ImageDir(d), ImageType.CORE, CoreEntry.parser(), pid);
                assertEquals(Images.TASK_ALIVE, c.getTc().getTaskState());
                assertTrue(c.getTc().getComm().startsWith("tree"), c.getTc().getComm());
            }

            // stdout and stderr were inherited from R: one open file each, one id in every fdinfo
            Set<List<Integer>> stdio = new HashSet<>();
            Set<Integer> filesIds = new HashSet<>();
            for (int pid : p.live()) {
                int filesId = one(new ImageDir(d), ImageType.IDS, TaskKobjIdsEntry.parser(), pid).getFilesId();
                assertTrue(filesIds.add(filesId), "each task has its own fd table");
                List<FdinfoEntry> fds = all(new ImageDir(d), ImageType.FDINFO, FdinfoEntry.parser(), filesId);
                stdio.add(fds.stream().filter(f -> f.getFd() <= 2).map(FdinfoEntry::getId).toList());
            }
            assertEquals(1, stdio.size(), "fds 0-2 of every task name the same files: " + stdio);

            String tree = crit("x", d.toString(), "ps");
            for (int pid : p.all()) assertTrue(tree.contains(Integer.toString(pid)), pid + " in crit x ps:\n" + tree);
            try (var files = Files.list(d)) {
                for (Path img : files.toList()) {
                    String n = img.getFileName().toString();
                    if (n.endsWith(".img") && !n.startsWith("pages-")) crit("show", img.toString());
                }
            }

            TreePids.assertCounting(w, "R", "A", "B", "G");
            TreePids.assertPasses(w);
        }
    }

    private static List<Integer> ids(PstreeEntry e) {
        return List.of(e.getPpid(), e.getPgid(), e.getSid());
    }

    @Test
    void treeIsGoneAfterDump() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            TreePids p = TreePids.of(w);
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", p.r(), "-D", d);
            assertEquals(0, r.exit(), r.all());
            assertEquals(Set.copyOf(p.all()), checkTreeImages(d).keySet());
            for (int pid : p.all()) waitGone(pid);
        }
    }

    @Test
    void stoppedTaskIsDumpedStoppedAndStaysStopped() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            TreePids p = TreePids.of(w);
            ProcState.signal(p.b(), "STOP");
            waitState(p.b(), 'T');
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", p.r(), "-D", d, "-R");
            assertEquals(0, r.exit(), r.all());
            CoreEntry b = one(new ImageDir(d), ImageType.CORE, CoreEntry.parser(), p.b());
            assertEquals(Images.TASK_STOPPED, b.getTc().getTaskState(), "criu's TASK_STOPPED");
            assertEquals('T', ProcState.state(p.b()), "B stays stopped");
            assertEquals(0, ProcState.tracerPid(p.b()));
            for (int pid : List.of(p.r(), p.a(), p.g())) assertRunningUntraced(pid);
            ProcState.signal(p.b(), "CONT");
            TreePids.assertPasses(w);
        }
    }

    @Test
    void leaveStoppedLeavesEveryTaskStopped() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            TreePids p = TreePids.of(w);
            Jcriu.Result r = Jcriu.run("dump", "-t", p.r(), "-D", imgs(), "-s");
            assertEquals(0, r.exit(), r.all());
            for (int pid : p.live()) {
                assertEquals('T', ProcState.state(pid), "task " + pid + " " + ProcState.describe(pid));
                assertEquals(0, ProcState.tracerPid(pid));
            }
            for (int pid : p.live()) ProcState.signal(pid, "CONT");
            TreePids.assertPasses(w);
        }
    }

    @Test
    void grandchildWithUnsupportedFdFailsTheDumpAndTheTreeRunsOn() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"), "uffd")) {
            TreePids p = TreePids.of(w);
            Jcriu.Result r = Jcriu.run("dump", "-t", p.r(), "-D", imgs());
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains(Integer.toString(p.g())) && r.stderr().contains("userfaultfd"), r.stderr());
            p.assertRunOn(w);
        }
    }

    @Test
    void zombieLeaderWithALiveThreadIsRefusedAndTheTreeRunsOn() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"), "zleader")) {
            TreePids p = TreePids.of(w);
            Jcriu.Result r = Jcriu.run("dump", "-t", p.r(), "-D", imgs());
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("Can't dump task " + p.z() + ": its main thread exited but threads"), r.stderr());
            assertEquals('Z', ProcState.state(p.z()));
            p.assertRunOn(w);
        }
    }

    @Test
    void tracedGrandchildIsNamedWithItsTracer() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/strace")), "no strace");
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            TreePids p = TreePids.of(w);
            Process strace = new ProcessBuilder("/usr/bin/strace", "-q", "-o", "/dev/null", "-p", Integer.toString(p.g()))
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("strace.out").toFile()).start();
            try {
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (ProcState.tracerPid(p.g()) != strace.pid()) {
                    assertTrue(System.nanoTime() < deadline, "strace never attached: " + ProcState.describe(p.g()));
                    Thread.sleep(10);
                }
                Jcriu.Result r = Jcriu.run("dump", "-t", p.r(), "-D", imgs());
                assertEquals(1, r.exit(), r.all());
                assertTrue(r.stderr().contains("task " + p.g() + " is traced by PID " + strace.pid() + " (strace)"), r.stderr());
                for (int pid : List.of(p.r(), p.a(), p.b())) assertRunningUntraced(pid);
            } finally {
                strace.destroy(); // SIGTERM: strace detaches
                strace.waitFor(10, TimeUnit.SECONDS);
                if (strace.isAlive()) strace.destroyForcibly();
            }
            TreePids.assertCounting(w, "R", "A", "B", "G");
            TreePids.assertPasses(w);
        }
    }

    @Test
    void failureAfterTheTreeIsFrozenLetsEveryTaskGo() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            TreePids p = TreePids.of(w);
            Path s = tmp.resolve("action.sh");
            Files.writeString(s, "#!/bin/sh\n[ \"$CRTOOLS_SCRIPT_ACTION\" = post-dump ] && exit 3; exit 0\n");
            s.toFile().setExecutable(true);
            Jcriu.Result r = Jcriu.run("dump", "-t", p.r(), "-D", imgs(), "--action-script", s);
            assertEquals(255, r.exit(), "criu dump exits 255 when post-dump fails: " + r.all());
            p.assertRunOn(w);
        }
    }

    @Test
    void treeForkingDuringTheDumpIsCaughtWhole() throws Exception {
        try (Workload w = Workload.c("tree-forks", tmp.resolve("w"), "8")) {
            Path forks = w.dir().resolve("forks");
            for (int i = 0; i < 3; i++) {
                Path d = Files.createDirectories(tmp.resolve("imgs" + i));
                Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R");
                assertEquals(0, r.exit(), r.all());
                Map<Integer, PstreeEntry> ps = checkTreeImages(d);
                assertTrue(ps.size() > 1, "children caught: " + ps.keySet());
                for (int pid : ps.keySet()) w.alsoKill(pid);
                assertRunningUntraced(w.pid());
            }
            long before = Long.parseLong(Files.readString(forks).trim());
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (Long.parseLong(Files.readString(forks).trim()) <= before) {
                assertTrue(System.nanoTime() < deadline, "the root stopped forking after -R");
                Thread.sleep(10);
            }
            Path d = Files.createDirectories(tmp.resolve("imgs-kill"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(0, r.exit(), r.all());
            Map<Integer, PstreeEntry> ps = checkTreeImages(d);
            for (int pid : ps.keySet()) w.alsoKill(pid);
            for (int pid : ps.keySet()) waitGone(pid);
        }
    }

    private static void waitState(int pid, char state) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ProcState.state(pid) != state) {
            assertTrue(System.nanoTime() < deadline, "task " + pid + " never reached " + state + ": " + ProcState.describe(pid));
            Thread.sleep(5);
        }
    }

    /** Killed tasks are reaped by init (or the subreaper they were reparented to) a little later. */
}
