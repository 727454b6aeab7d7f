package org.jcriu.cgroup;

import static org.jcriu.testing.Logs.tail;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CgroupDirEntry;
import org.jcriu.image.proto.CgroupEntry;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cgroups through bin/jcriu, as root, each test in its own cgroup (memory + pids, v1 or v2,
 * see {@link TestCgroup}) removed at the end: membership and properties dumped in cgroup.img,
 * restored per --manage-cgroups mode, --cgroup-root, --freeze-cgroup.
 */
class CgroupIT {
    private static final String MEM = "104857600", PIDS = "17";
    @TempDir Path tmp;

    private TestCgroup cgroup(String test) throws IOException {
        TestCgroup t = TestCgroup.create("jcriu-" + test + "-" + ProcessHandle.current().pid(), "memory", "pids");
        t.write("memory", t.memLimitFile(), MEM);
        t.write("pids", "pids.max", PIDS);
        return t;
    }

    /** sleep in the test cgroup, dumped (and so killed) with its cgroups; returns the images dir. */
    private Path dumpInCgroup(TestCgroup t, Workload w, String... extra) throws Exception {
        t.add(w.pid());
        Path d = Files.createDirectories(tmp.resolve("img"));
        List<Object> args = new java.util.ArrayList<>(List.of("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log"));
        args.addAll(List.of(extra));
        Jcriu.Result r = Jcriu.run(args.toArray());
        assertEquals(0, r.exit(), r.all() + tail(d.resolve("dump.log")));
        if (!args.contains("-R")) w.waitGone(Duration.ofSeconds(10));
        return d;
    }

    private static Jcriu.Result restore(Path d, String... extra) {
        List<Object> args = new java.util.ArrayList<>(List.of("restore", "-D", d, "-d", "-v4", "-o", "restore.log"));
        args.addAll(List.of(extra));
        return Jcriu.run(args.toArray());
    }

    private static CgroupEntry image(Path d) {
        try (ImageReader r = new ImageDir(d).open(ImageType.CGROUP)) {
            return r.readOne(CgroupEntry.parser());
        }
    }

    private static CgroupDirEntry findDir(List<CgroupDirEntry> dirs, String name) {
        for (CgroupDirEntry e : dirs) {
            if (e.getDirName().equals(name)) return e;
            CgroupDirEntry c = findDir(e.getChildrenList(), name);
            if (c != null) return c;
        }
        return null;
    }

    private static String prop(CgroupDirEntry e, String name) {
        return e.getPropertiesList().stream().filter(p -> p.getName().equals(name)).map(p -> p.getValue()).findFirst().orElse(null);
    }

    @Test
    void fullModeRecreatesTheCgroupWithItsLimitsAndPutsTheTaskBack() throws Exception {
        try (TestCgroup t = cgroup("full"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = dumpInCgroup(t, w, "--manage-cgroups");
            // what the image says: a set with the test cgroup, and its directory with both limits
            CgroupEntry cg = image(d);
            String memPath = t.ctl("memory").path(), pidsPath = t.ctl("pids").path();
            int set = cg.getSets(0).getId();
            assertTrue(set > 1, "set 1 is jcriu's own: " + cg);
            CoreEntry core;
            try (ImageReader r = new ImageDir(d).open(ImageType.CORE, w.pid())) {
                core = r.readOne(CoreEntry.parser());
            }
            assertEquals(set, core.getThreadCore().getCgSet());
            assertTrue(cg.getSets(0).getCtlsList().stream().anyMatch(m -> m.getPath().equals(memPath)), cg.toString());
            CgroupDirEntry memDir = null, pidsDir = null;
            for (var c : cg.getControllersList()) {
                if (c.getCnamesList().contains(t.ctl("memory").v2() ? "" : "memory")) memDir = findDir(c.getDirsList(), memPath.substring(1));
                if (c.getCnamesList().contains(t.ctl("pids").v2() ? "" : "pids")) pidsDir = findDir(c.getDirsList(), pidsPath.substring(1));
            }
            assertNotNull(memDir, cg.toString());
            assertNotNull(pidsDir, cg.toString());
            assertEquals(MEM, prop(memDir, t.memLimitFile()));
            assertEquals(PIDS, prop(pidsDir, "pids.max"));

            t.removeDirs();
            assertFalse(t.anyExists());
            Jcriu.Result r = restore(d, "--manage-cgroups=full");
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertTrue(w.alive());
            assertEquals(MEM, t.read("memory", t.memLimitFile()));
            assertEquals(PIDS, t.read("pids", "pids.max"));
            assertEquals(memPath, t.pathOf(w.pid(), "memory"));
            assertEquals(pidsPath, t.pathOf(w.pid(), "pids"));
            assertTrue(t.read("pids", "cgroup.procs").lines().anyMatch(l -> l.equals(String.valueOf(w.pid()))));
        }
    }

    @Test
    void upstreamCritDecodesCgroupImg() throws Exception {
        assumeTrue(Crit.present(), "no /usr/bin/crit (apt-get install criu)");
        try (TestCgroup t = cgroup("crit"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = dumpInCgroup(t, w);
            String json = Crit.decode(d.resolve("cgroup.img"));
            assertTrue(json.startsWith("{\"magic\": \"CGROUP\""), json);
            assertTrue(json.contains("\"path\": \"" + t.ctl("pids").path() + "\""), json);
            assertTrue(json.contains("{\"name\": \"pids.max\", \"value\": \"" + PIDS + "\""), json);
            assertTrue(json.contains("\"value\": \"" + MEM + "\""), json);
        }
    }

    @Test
    void softModeLeavesPropertiesOfAnExistingCgroupAndPropsModeRestoresThem() throws Exception {
        try (TestCgroup t = cgroup("soft"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = dumpInCgroup(t, w, "-R");
            t.write("pids", "pids.max", "23");
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump2.log");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            t.write("pids", "pids.max", "29");
            r = restore(d); // soft is the default, as with CRIU
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertEquals("29", t.read("pids", "pids.max"), "soft mode must not touch an existing cgroup");
            assertEquals(t.ctl("pids").path(), t.pathOf(w.pid(), "pids"));
            ProcState.kill9(w.pid());
            w.waitGone(Duration.ofSeconds(10));
            r = restore(d, "--manage-cgroups=props");
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertEquals("23", t.read("pids", "pids.max"), "props mode restores the dumped value");
            assertEquals(t.ctl("pids").path(), t.pathOf(w.pid(), "pids"));
        }
    }

    @Test
    void ignoreLeavesPlacementAloneAndNoneNeedsTheCgroups() throws Exception {
        try (TestCgroup t = cgroup("ignore"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = dumpInCgroup(t, w);
            t.removeDirs();
            String ours = Files.readString(Path.of("/proc/self/cgroup"));
            Jcriu.Result r = restore(d, "--manage-cgroups=none");
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("doesn't exist (--manage-cgroups=none)"), r.stderr());
            assertFalse(w.alive());
            assertFalse(t.anyExists(), "none mode must not create cgroups: " + t.existing() + "\n" + r.all());

            r = restore(d, "--manage-cgroups=ignore");
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertFalse(t.anyExists(), "ignore mode must not create cgroups");
            assertEquals(ours, Files.readString(Path.of("/proc/" + w.pid() + "/cgroup")), "ignore: the task stays in jcriu's cgroups");
        }
    }

    @Test
    void strictModeRefusesAnExistingCgroupAndRemovesWhatItCreated() throws Exception {
        try (TestCgroup t = cgroup("strict"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = dumpInCgroup(t, w);
            // pids comes first (jcriu's own /proc/self/cgroup order), so it is created before an
            // existing directory is met (the memory cgroup, or a hierarchy's root, which always
            // exists: strict mode, as CRIU's, only suits tasks outside every root)
            Files.delete(t.ctl("pids").dir());
            Jcriu.Result r = restore(d, "--manage-cgroups=strict");
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("Abort restore of existing cgroup"), r.stderr());
            assertFalse(w.alive());
            assertFalse(Files.exists(t.ctl("pids").dir()), "a failed restore leaves no cgroup it created: " + tail(d.resolve("restore.log")));
            assertTrue(Files.exists(t.ctl("memory").dir()), "an existing cgroup is not touched");
        }
    }

    /** --cgroup-props replaces a controller's list (CRIU's YAML); --cgroup-props-file merges one. */
    @Test
    void cgroupPropsChangeWhatIsDumped() throws Exception {
        try (TestCgroup t = cgroup("props"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            assumeTrue(!t.ctl("pids").v2(), "v1 pids hierarchy");
            Path file = tmp.resolve("props.yaml");
            Files.writeString(file, "\"pids\":\n - \"strategy\": \"merge\"\n - \"properties\": [\"pids.max\"]\n");
            Path d = dumpInCgroup(t, w, "--cgroup-props", "\"pids\":\n - \"strategy\": \"replace\"\n - \"properties\": []\n",
                    "--cgroup-props-file", file.toString(), "-R");
            CgroupDirEntry e = null;
            for (var c : image(d).getControllersList()) {
                if (c.getCnamesList().contains("pids")) e = findDir(c.getDirsList(), t.ctl("pids").path().substring(1));
            }
            assertNotNull(e);
            assertEquals(List.of("pids.max", "cgroup.clone_children", "notify_on_release", "cgroup.procs", "tasks"),
                    e.getPropertiesList().stream().map(p -> p.getName()).toList());
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R", "--cgroup-props", "\"pids\": oops");
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("cg-prop: Expected ':\\n - ' sequence controller's pids stream"), r.stderr());
            assertEquals(0, ProcState.tracerPid(w.pid()));
        }
    }

    /** --cgroup-dump-controller: only the named hierarchies are in the sets and dumped; the others are left alone at restore. */
    @Test
    void dumpControllerKeepsOnlyTheNamedHierarchy() throws Exception {
        try (TestCgroup t = cgroup("onlypids"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            TestCgroup.Ctl pids = t.ctl("pids");
            assumeTrue(!pids.v2() && !t.ctl("memory").v2(), "needs pids and memory in separate (v1) hierarchies");
            Path d = dumpInCgroup(t, w, "--cgroup-dump-controller", "pids");
            CgroupEntry cg = image(d);
            assertEquals(List.of("pids"), cg.getSets(0).getCtlsList().stream().map(m -> m.getName()).toList(), cg.toString());
            assertEquals(1, cg.getControllersCount(), cg.toString());
            t.removeDirs();
            String ourMemory = t.pathOf((int) ProcessHandle.current().pid(), "memory");
            Jcriu.Result r = restore(d, "--manage-cgroups=full");
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertEquals(pids.path(), t.pathOf(w.pid(), "pids"));
            assertEquals(ourMemory, t.pathOf(w.pid(), "memory"), "memory was not dumped: the task stays in jcriu's");
            assertFalse(Files.exists(t.ctl("memory").dir()));
        }
    }

    /** A restore failing once the task is in the cgroups it created (the pidfile, written last) removes them. */
    @Test
    void failedRestoreRemovesTheCgroupsItCreatedAndFilled() throws Exception {
        try (TestCgroup t = cgroup("fail"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = dumpInCgroup(t, w);
            t.removeDirs();
            Jcriu.Result r = restore(d, "--manage-cgroups=full", "--pidfile", tmp.resolve("no/such/dir/pid").toString());
            assertEquals(1, r.exit(), r.all());
            String log = Files.readString(d.resolve("restore.log"));
            assertTrue(log.contains("Move " + w.pid() + " into set"), log);
            assertFalse(w.alive());
            assertFalse(t.anyExists(), "cgroups created by a failed restore are left: " + tail(d.resolve("restore.log")));
        }
    }

    @Test
    void cgroupRootMovesTheTreeElsewhere() throws Exception {
        try (TestCgroup t = cgroup("root"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = dumpInCgroup(t, w);
            TestCgroup.Ctl pids = t.ctl("pids");
            String newRoot = pids.path() + "-moved";
            t.alsoRemove(pids.mount().resolve(newRoot.substring(1)));
            // v2 has one hierarchy for all controllers: a global root; v1 names the controller
            Jcriu.Result r = restore(d, "--cgroup-root", pids.v2() ? newRoot : "pids:" + newRoot);
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertEquals(newRoot, t.pathOf(w.pid(), "pids"));
            assertEquals(PIDS, Files.readString(pids.mount().resolve(newRoot.substring(1)).resolve("pids.max")).strip());
            if (!pids.v2()) assertEquals(t.ctl("memory").path(), t.pathOf(w.pid(), "memory"), "other controllers keep their place");
        }
    }

    @Test
    void freezeCgroupDumpsABusyProcessAndThawsIt() throws Exception {
        try (TestCgroup t = TestCgroup.create("jcriu-freeze-" + ProcessHandle.current().pid(), "freezer");
                Workload w = Workload.start(tmp.resolve("w"), List.of("/bin/sh", "-c", "echo $$ > \"$0/ready\"; while :; do :; done",
                        tmp.resolve("w").toString()), false)) {
            t.add(w.pid());
            TestCgroup.Ctl fr = t.ctl("freezer");
            Path d = Files.createDirectories(tmp.resolve("img"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log", "-R", "--freeze-cgroup", fr.dir());
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("dump.log")));
            String log = Files.readString(d.resolve("dump.log"));
            assertTrue(log.contains("seized 1 threads of frozen cgroup " + fr.dir()), log);
            assertEquals(fr.v2() ? "0" : "THAWED", Files.readString(fr.dir().resolve(fr.v2() ? "cgroup.freeze" : "freezer.state")).strip());
            assertEquals(0, ProcState.tracerPid(w.pid()));
            char s = ProcState.state(w.pid());
            assertTrue(s == 'R' || s == 'S', "busy task runs on after the dump: " + ProcState.describe(w.pid()));
            if (!fr.v2()) {
                CgroupDirEntry e = null;
                for (var c : image(d).getControllersList()) {
                    if (c.getCnamesList().contains("freezer")) e = findDir(c.getDirsList(), fr.path().substring(1));
                }
                assertNotNull(e);
                assertEquals("THAWED", prop(e, "freezer.state"));
            }
            // dumped again, killed, and restored: it spins on
            r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump2.log", "--freeze-cgroup", fr.dir());
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("dump2.log")));
            w.waitGone(Duration.ofSeconds(10));
            r = restore(d);
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertEquals(fr.path(), t.pathOf(w.pid(), "freezer"));
            long t0 = cpuTicks(w.pid());
            Thread.sleep(300);
            assertTrue(cpuTicks(w.pid()) > t0, "restored busy loop does not run: " + ProcState.describe(w.pid()));
        }
    }

    /**
     * A tree (sh and its sleep child) with the child in another pids cgroup than its parent,
     * frozen as a whole by --freeze-cgroup: both come back, each in its own cgroup (the child is
     * moved out of the parent's, which it was cloned into).
     */
    @Test
    void treeWithAChildInItsOwnCgroup() throws Exception {
        try (TestCgroup t = TestCgroup.create("jcriu-tree-" + ProcessHandle.current().pid(), "pids", "freezer");
                TestCgroup kid = TestCgroup.create("jcriu-treekid-" + ProcessHandle.current().pid(), "pids");
                Workload w = Workload.start(tmp.resolve("w"), List.of("/bin/sh", "-c", "sleep 1000 & echo $$ > \"$0/ready\"; wait",
                        tmp.resolve("w").toString()), false)) {
            int child = 0;
            for (int i = 0; i < 500 && child == 0; i++) {
                String c = Files.readString(Path.of("/proc/" + w.pid() + "/task/" + w.pid() + "/children")).strip();
                if (!c.isEmpty() && "sleep".equals(ProcState.field(Integer.parseInt(c.split(" ")[0]), "Name"))) child = Integer.parseInt(c.split(" ")[0]);
                else Thread.sleep(10);
            }
            assertTrue(child > 0, "no sleep child");
            w.alsoKill(child);
            t.add(w.pid());
            t.add(child);
            Files.writeString(kid.ctl("pids").dir().resolve("cgroup.procs"), Integer.toString(child));
            Path d = Files.createDirectories(tmp.resolve("img"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log", "--freeze-cgroup", t.ctl("freezer").dir());
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("dump.log")));
            w.waitGone(Duration.ofSeconds(10));
            for (int i = 0; i < 500 && Files.exists(Path.of("/proc/" + child)); i++) Thread.sleep(10);
            t.removeDirs();
            kid.removeDirs();
            r = restore(d, "--manage-cgroups=full");
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertEquals(t.ctl("pids").path(), t.pathOf(w.pid(), "pids"));
            assertEquals(kid.ctl("pids").path(), t.pathOf(child, "pids"));
            assertEquals(t.ctl("freezer").path(), t.pathOf(child, "freezer"));
            assertEquals(w.pid(), Integer.parseInt(ProcState.field(child, "PPid")));
        }
    }

    /** --cgroup-yard: one directory per hierarchy named as CRIU names them (here links to the mounts). */
    @Test
    void cgroupYardServesDumpAndRestore() throws Exception {
        Path yard = Files.createDirectories(tmp.resolve("yard"));
        Hierarchies mounted = Hierarchies.of(null);
        for (String l : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            String name = l.split(":", 3)[1];
            Files.createSymbolicLink(yard.resolve(Hierarchies.yardName(name)), mounted.dir(name, "/"));
        }
        try (TestCgroup t = cgroup("yard"); Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = dumpInCgroup(t, w, "--cgroup-yard", yard.toString());
            t.removeDirs();
            Jcriu.Result r = restore(d, "--manage-cgroups=full", "--cgroup-yard", yard.toString());
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertTrue(Files.readString(d.resolve("restore.log")).contains("Created cgroup dir " + yard.resolve(
                    Hierarchies.yardName(t.ctl("pids").hierName())).resolve(t.ctl("pids").path().substring(1))));
            assertEquals(PIDS, t.read("pids", "pids.max"));
            assertEquals(t.ctl("pids").path(), t.pathOf(w.pid(), "pids"));
        }
    }

    /** v1 puts threads one by one (tasks): a thread in another pids cgroup than its process comes back there. */
    @Test
    void threadInItsOwnCgroupComesBackThere() throws Exception {
        try (TestCgroup t = cgroup("thread"); TestCgroup other = TestCgroup.create("jcriu-thread2-" + ProcessHandle.current().pid(), "pids");
                Workload w = Workload.c("threads", tmp.resolve("w"))) {
            assumeTrue(!t.ctl("pids").v2(), "cgroup v2 keeps a process's threads together unless the cgroup is threaded");
            t.write("pids", "pids.max", "max"); // threads are all made in their process's cgroup, then moved
            t.add(w.pid());
            List<Integer> tids;
            try (var s = Files.list(Path.of("/proc/" + w.pid() + "/task"))) {
                tids = s.map(p -> Integer.parseInt(p.getFileName().toString())).filter(x -> x != w.pid()).sorted().toList();
            }
            assumeTrue(!tids.isEmpty(), "the threads workload has no threads");
            int tid = tids.get(0);
            Files.writeString(other.ctl("pids").dir().resolve("tasks"), Integer.toString(tid));
            Path d = Files.createDirectories(tmp.resolve("img"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("dump.log")));
            w.waitGone(Duration.ofSeconds(10));
            CoreEntry tc;
            try (ImageReader rd = new ImageDir(d).open(ImageType.CORE, tid)) {
                tc = rd.readOne(CoreEntry.parser());
            }
            CoreEntry mc;
            try (ImageReader rd = new ImageDir(d).open(ImageType.CORE, w.pid())) {
                mc = rd.readOne(CoreEntry.parser());
            }
            assertNotEquals(mc.getThreadCore().getCgSet(), tc.getThreadCore().getCgSet(), "the thread has its own set");
            r = restore(d);
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            String line = Files.readAllLines(Path.of("/proc/" + w.pid() + "/task/" + tid + "/cgroup")).stream()
                    .filter(l -> l.split(":")[1].equals("pids")).findFirst().orElseThrow();
            assertEquals(other.ctl("pids").path(), line.split(":", 3)[2]);
            assertEquals(t.ctl("pids").path(), t.pathOf(w.pid(), "pids"));
            assertEquals("PASS", w.terminateAndVerdict().split(" ")[0]);
        }
    }

    /** A cgroup frozen before the dump is dumped as FROZEN and frozen again afterwards (-R). */
    @Test
    void alreadyFrozenCgroupStaysFrozen() throws Exception {
        try (TestCgroup t = TestCgroup.create("jcriu-frozen-" + ProcessHandle.current().pid(), "freezer");
                Workload w = Workload.sleep(tmp.resolve("w"))) {
            TestCgroup.Ctl fr = t.ctl("freezer");
            assumeTrue(!fr.v2(), "v1 freezer");
            t.add(w.pid());
            Path state = fr.dir().resolve("freezer.state");
            Files.writeString(state, "FROZEN");
            try {
                Path d = Files.createDirectories(tmp.resolve("img"));
                Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log", "-R", "--freeze-cgroup", fr.dir());
                assertEquals(0, r.exit(), r.all() + tail(d.resolve("dump.log")));
                assertEquals("FROZEN", Files.readString(state).strip());
                assertEquals(0, ProcState.tracerPid(w.pid()));
                CgroupDirEntry e = null;
                for (var c : image(d).getControllersList()) {
                    if (c.getCnamesList().contains("freezer")) e = findDir(c.getDirsList(), fr.path().substring(1));
                }
                assertNotNull(e);
                assertEquals("FROZEN", prop(e, "freezer.state"));
            } finally {
                Files.writeString(state, "THAWED");
            }
            assertTrue(w.alive());
        }
    }

    /** The v2 hierarchy (here next to v1 ones, or alone): its freezer, and its directory recreated in full mode. */
    @Test
    void cgroupV2FreezerAndDirectory() throws Exception {
        try (TestCgroup t = TestCgroup.createV2("jcriu-v2-" + ProcessHandle.current().pid());
                Workload w = Workload.start(tmp.resolve("w"), List.of("/bin/sh", "-c", "echo $$ > \"$0/ready\"; while :; do :; done",
                        tmp.resolve("w").toString()), false)) {
            t.add(w.pid());
            TestCgroup.Ctl v2 = t.ctl("freezer");
            Path d = Files.createDirectories(tmp.resolve("img"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log", "--freeze-cgroup", v2.dir());
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("dump.log")));
            assertTrue(Files.readString(d.resolve("dump.log")).contains("seized 1 threads of frozen cgroup " + v2.dir()));
            w.waitGone(Duration.ofSeconds(10));
            CgroupDirEntry e = null;
            for (var c : image(d).getControllersList()) {
                if (c.getCnamesList().equals(List.of(""))) e = findDir(c.getDirsList(), v2.path().substring(1));
            }
            assertNotNull(e, image(d).toString());
            assertEquals("0", prop(e, "cgroup.freeze"), "dumped thawed: the freeze was only for the dump");
            assertNotNull(prop(e, "cgroup.max.depth"));
            t.removeDirs();
            r = restore(d, "--manage-cgroups=full");
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            assertEquals(v2.path(), t.pathOf(w.pid(), "freezer"));
            assertEquals("0", t.read("freezer", "cgroup.freeze"));
            long t0 = cpuTicks(w.pid());
            Thread.sleep(300);
            assertTrue(cpuTicks(w.pid()) > t0, "restored busy loop does not run: " + ProcState.describe(w.pid()));
        }
    }

    @Test
    void freezeCgroupWithoutAFreezerIsRefused() throws Exception {
        try (Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = Files.createDirectories(tmp.resolve("img"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "--freeze-cgroup", tmp);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("Neither a cgroupv1 (freezer.state) or cgroupv2 (cgroup.freeze) control file found"), r.stderr());
            assertEquals(0, ProcState.tracerPid(w.pid()));
        }
    }

    private static long cpuTicks(int pid) throws IOException {
        String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
}
