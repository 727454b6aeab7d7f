package org.jcriu.restore;

import static org.jcriu.testing.ProcState.waitGone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.testing.Images;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.TreePids;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dump and restore of a whole tree (workload tree.c: R, a session leader A with its child G, B
 * in a group of its own, and a zombie Z of exit code 7): every task comes back with its PID,
 * parent, session, group and memory and carries on; R reaps Z's code 7 after restore. Every
 * failure, wherever in the tree, leaves no task of it and no seed behind.
 */
class TreeRestoreIT {
    @TempDir
    Path tmp;

    /** ppid, pgid, sid and whether it is a zombie, of every task, from /proc/PID/stat. */
    private static Map<Integer, String> ids(List<Integer> pids) throws IOException {
        Map<Integer, String> out = new LinkedHashMap<>();
        for (int pid : pids) {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            out.put(pid, (f[0].equals("Z") ? "zombie" : "live") + " ppid " + f[1] + " pgid " + f[2] + " sid " + f[3]);
        }
        return out;
    }

    /** The same, with R's parent left out: R was setsid -f's orphan, it is now jcriu's. */
    private static Map<Integer, String> treeIds(TreePids p) throws IOException {
        Map<Integer, String> m = ids(p.all());
        m.put(p.r(), m.get(p.r()).replaceFirst(" ppid \\d+", ""));
        return m;
    }

    private static TreePids dumpTree(Workload w, Path imgs, Map<Integer, String> before) throws Exception {
        TreePids p = TreePids.of(w);
        before.putAll(treeIds(p));
        Jcriu.Result r = Jcriu.run("dump", "-t", p.r(), "-D", imgs);
        assertEquals(0, r.exit(), r.all());
        for (int pid : p.live()) waitGone(pid);
        waitGone(p.z());
        return p;
    }


    @Test
    void wholeTreeComesBackAndCarriesOn() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            Map<Integer, String> before = new LinkedHashMap<>();
            TreePids p = dumpTree(w, imgs, before);
            long t0 = System.nanoTime();
            Jcriu.Result r = Jcriu.run("restore", "-d", "-D", imgs);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(0, r.exit(), r.all());
            System.out.printf("TreeRestoreIT: 5-task tree (one zombie): jcriu restore %d ms (whole command)%n", ms);
            assertEquals(before, treeIds(p));
            for (int pid : p.live()) assertEquals(0, ProcState.tracerPid(pid), "task " + pid + " still traced");
            assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
            TreePids.assertCounting(w, "R", "A", "B", "G");
            TreePids.assertPasses(w);
        }
    }

    /** --leave-stopped: every task of the tree stays stopped and untraced; SIGCONT lets them all go on. */
    @Test
    void leaveStoppedStopsEveryTask() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            TreePids p = dumpTree(w, imgs, new LinkedHashMap<>());
            Jcriu.Result r = Jcriu.run("restore", "-d", "--leave-stopped", "-D", imgs);
            assertEquals(0, r.exit(), r.all());
            for (int pid : p.live()) {
                assertEquals('T', ProcState.state(pid), "task " + pid + ": " + ProcState.describe(pid));
                assertEquals(0, ProcState.tracerPid(pid), "task " + pid + " still traced");
            }
            assertEquals('Z', ProcState.state(p.z()));
            for (int pid : p.live()) new ProcessBuilder("kill", "-CONT", Integer.toString(pid)).start().waitFor();
            TreePids.assertCounting(w, "R", "A", "B", "G");
            w.assertPasses();
        }
    }

    /** Without -d jcriu waits for the root (its child) and exits with its status; --pidfile names the root. */
    @Test
    void waitingForTheRootEndsWithItsStatus() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            TreePids p = dumpTree(w, imgs, new LinkedHashMap<>());
            Path pidfile = tmp.resolve("root.pid");
            Path out = tmp.resolve("restore.out");
            List<String> cmd = List.of(Path.of("bin", "jcriu").toAbsolutePath().toString(), "restore", "--pidfile",
                    pidfile.toString(), "-D", imgs.toString());
            Process jc = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
            long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!(Files.exists(pidfile) && ProcState.tracerPid(p.g()) == 0) && System.nanoTime() < end) Thread.sleep(10);
            assertEquals(Integer.toString(p.r()), Files.readString(pidfile).trim());
            assertEquals(Long.toString(jc.pid()), Procs.status(p.r(), "PPid"));
            w.assertPasses();
            assertTrue(jc.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), Files.readString(out));
            assertEquals(0, jc.exitValue(), Files.readString(out));
        }
    }

    /** A grandchild's PID taken by another process: refused up front, naming it; nothing is created. */
    @Test
    void grandchildPidInUseFailsBeforeAnythingIsCreated() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            TreePids p = dumpTree(w, imgs, new LinkedHashMap<>());
            // a task of the test's own at G's PID, made by restoring a one-task dump of sleep there
            try (Workload s = Workload.sleep(tmp.resolve("s"))) {
                Path one = Files.createDirectories(tmp.resolve("one"));
                assertEquals(0, Jcriu.run("dump", "-t", s.pid(), "-D", one).exit());
                waitGone(s.pid());
                movePid(one, s.pid(), p.g());
                s.alsoKill(p.g());
                Jcriu.Result r = Jcriu.run("restore", "-d", "-D", one);
                assertEquals(0, r.exit(), r.all());
                r = Jcriu.run("restore", "-d", "-D", imgs);
                assertEquals(1, r.exit(), r.all());
                assertTrue(r.stderr().contains("Error: PID " + p.g() + " (task " + p.g() + ") is in use by sleep"), r.stderr());
                assertFalse(Procs.exists(p.r()));
                assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
            }
        }
    }

    /**
     * The grandchild cannot be cloned once R, Z and A exist (its PID moved to pid_max, which the
     * kernel refuses): everything created so far is killed, nothing is left.
     */
    @Test
    void grandchildThatCannotBeClonedKillsWhatExists() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            TreePids p = dumpTree(w, imgs, new LinkedHashMap<>());
            int pidMax;
            try (var in = Files.newBufferedReader(Path.of("/proc/sys/kernel/pid_max"))) {
                pidMax = Integer.parseInt(in.readLine().trim()); // Files.readString sees a 0-byte /proc file
            }
            movePid(imgs, p.g(), pidMax);
            Jcriu.Result r = Jcriu.run("restore", "-d", "-D", imgs);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("clone3(set_tid=" + pidMax + ") in task " + p.a()), r.stderr());
            for (int pid : p.all()) waitGone(pid);
            assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
        }
    }

    /** A grandchild's mm image damaged: the error names the file and offset, nothing is created. */
    @Test
    void corruptedGrandchildImageFailsUpFront() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            TreePids p = dumpTree(w, imgs, new LinkedHashMap<>());
            Path mm = imgs.resolve("mm-" + p.g() + ".img");
            byte[] b = Files.readAllBytes(mm);
            for (int i = 200; i < 260; i++) b[i] = (byte) 0xff;
            Files.write(mm, b);
            Jcriu.Result r = Jcriu.run("restore", "-d", "-D", imgs);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("mm-" + p.g() + ".img"), r.stderr());
            for (int pid : p.all()) assertFalse(Procs.exists(pid), "task " + pid + " exists");
            assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
        }
    }

    /**
     * The grandchild fails while it is filled (a VMA kind refused when it is mapped): by then every
     * task of the tree exists, the zombie has exited again, and all of them must go.
     */
    @Test
    void failureInTheGrandchildKillsTheWholeTree() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            TreePids p = dumpTree(w, imgs, new LinkedHashMap<>());
            Path mmFile = imgs.resolve("mm-" + p.g() + ".img");
            MmEntry mm;
            try (ImageReader r = ImageReader.open(mmFile, ImageType.MM)) {
                mm = r.readOne(MmEntry.parser());
            }
            MmEntry.Builder b = mm.toBuilder();
            int last = b.getVmasCount() - 4;
            VmaEntry v = b.getVmas(last);
            b.setVmas(last, v.toBuilder().setStatus(v.getStatus() | Vma.SOCKET).build());
            Files.delete(mmFile);
            try (ImageWriter out = new ImageDir(imgs).create(ImageType.MM, p.g())) {
                out.write(b.build());
            }
            Jcriu.Result r = Jcriu.run("restore", "-d", "-D", imgs);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("is a socket mapping: not supported yet"), r.stderr());
            for (int pid : p.all()) waitGone(pid);
            assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
        }
    }

    /**
     * orphans.c: a session and group whose leader exited, its members inherited by the child
     * subreaper R. A helper makes the session again for them; they come back as R's children in
     * it, and the helper is gone.
     */
    @Test
    void orphansOfAnExitedSessionLeaderComeBackToTheSubreaper() throws Exception {
        try (Workload w = Workload.c("orphans", tmp.resolve("w"))) {
            String[] p = Files.readString(w.dir().resolve("pids")).trim().split(" ");
            int r = Integer.parseInt(p[0]), d = Integer.parseInt(p[1]), e = Integer.parseInt(p[2]), l = Integer.parseInt(p[3]);
            w.alsoKill(d);
            w.alsoKill(e);
            Map<Integer, String> before = ids(List.of(d, e));
            assertEquals("live ppid " + r + " pgid " + l + " sid " + l, before.get(d));
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result res = Jcriu.run("dump", "-t", r, "-D", imgs);
            assertEquals(0, res.exit(), res.all());
            for (int pid : List.of(r, d, e)) waitGone(pid);
            res = Jcriu.run("restore", "-d", "-D", imgs);
            assertEquals(0, res.exit(), res.all());
            assertEquals(before, ids(List.of(d, e)));
            assertFalse(Procs.exists(l), "session helper left: " + ProcState.describe(l));
            assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
            w.assertPasses();
        }
    }

    /** tree-forks.c, dumped while it forks at every level (children, grandchildren, zombies): it forks on. */
    @Test
    void treeThatForksAllTheTimeForksOnAfterRestore() throws Exception {
        try (Workload w = Workload.c("tree-forks", tmp.resolve("w"), "4")) {
            Jcriu.dumpAndRestore(w, tmp.resolve("imgs"));
            long forks = Long.parseLong(Files.readString(w.dir().resolve("forks")).trim());
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (Long.parseLong(Files.readString(w.dir().resolve("forks")).trim()) < forks + 40 && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertTrue(Long.parseLong(Files.readString(w.dir().resolve("forks")).trim()) >= forks + 40, "no forks after restore");
            w.assertPasses();
        }
    }

    /** Moves task {@code from} of a dump to PID {@code to} (and its session and group if it led them). */
    private static void movePid(Path d, int from, int to) throws IOException {
        List<org.jcriu.image.proto.PstreeEntry> tree = new java.util.ArrayList<>();
        for (var e : Images.all(d, ImageType.PSTREE, org.jcriu.image.proto.PstreeEntry.parser())) {
            tree.add(e.getPid() != from ? e : e.toBuilder().setPid(to).setPgid(e.getPgid() == from ? to : e.getPgid())
                    .setSid(e.getSid() == from ? to : e.getSid()).setThreads(0, to).build());
        }
        Images.write(d, ImageType.PSTREE, tree);
        for (String kind : new String[] {"core", "ids", "mm", "pagemap", "fs"}) {
            Path f = d.resolve(kind + "-" + from + ".img");
            if (Files.exists(f)) Files.move(f, d.resolve(kind + "-" + to + ".img"));
        }
    }
}
