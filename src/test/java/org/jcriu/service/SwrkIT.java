package org.jcriu.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.image.Fixtures;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;

/** {@code jcriu swrk <fd>} as pycriu (like libcriu and go-criu) spawns it. */
class SwrkIT {
    static final int FIXTURE_PID = 21070;

    @TempDir
    Path tmp;
    Workload work;
    int restored;
    java.nio.channels.FileChannel pidLock;

    @BeforeEach
    void pycriu() throws Exception {
        PyCriu.assumeAvailable();
    }

    @AfterEach
    void kill() throws Exception {
        if (work != null) work.close();
        if (restored > 0 && Files.exists(Path.of("/proc/" + restored))) {
            try {
                new ProcessBuilder("kill", "-9", String.valueOf(restored)).start().waitFor();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            long end = System.nanoTime() + 5_000_000_000L;
            while (Files.exists(Path.of("/proc/" + restored)) && System.nanoTime() < end) Thread.sleep(10);
        }
        if (pidLock != null) pidLock.close();
    }

    @Test
    void versionIsCriu42ForEveryVersionGate() throws Exception {
        String r = PyCriu.run(tmp, PyCriu.jcriu().toString(), "version");
        assertEquals("true", PyCriu.field(r, "success"), r);
        assertEquals("4", PyCriu.field(r, "major_number"), r);
        assertEquals("2", PyCriu.field(r, "minor_number"), r);
        assertEquals("jcriu", PyCriu.field(r, "name"), r);
        // runc needs >= 31600 for everything it gates; the number must not claim a later CRIU
        assertEquals("40200", PyCriu.field(r, "number"), r);
    }

    @Test
    void featureCheckAnswersAllThree() throws Exception {
        String r = PyCriu.run(tmp, PyCriu.jcriu().toString(), "features");
        assertEquals("FEATURE_CHECK", PyCriu.field(r, "type"), r);
        assertEquals("true", PyCriu.field(r, "success"), r);
        assertNotNull(PyCriu.field(r, "mem_track"), r);
        assertNotNull(PyCriu.field(r, "lazy_pages"), r);
        assertEquals("false", PyCriu.field(r, "pidfd_store"), r);
    }

    @Test
    void checkAgreesWithTheCommandLine() throws Exception {
        String r = PyCriu.run(tmp, PyCriu.jcriu().toString(), "check");
        assertEquals("CHECK", PyCriu.field(r, "type"), r);
        int cli = Jcriu.run("check").exit();
        assertEquals(cli == 0 ? "true" : "false", PyCriu.field(r, "success"), r);
    }

    @Test
    void restoreAnswersWithTheRootPid() throws Exception {
        Path root = Fixtures.root();
        assumeTrue(root != null, "no CRIU fixtures here");
        // the lock file RestoreFixtureIT (org.jcriu.restore.PidLock) takes for the same PID: test
        // runs of other worktrees restore and kill it too
        java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(Path.of("/tmp/jcriu-test-pid-" + FIXTURE_PID + ".lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        ch.lock();
        pidLock = ch;
        assumeTrue(!Files.exists(Path.of("/proc/" + FIXTURE_PID)), "PID " + FIXTURE_PID + " in use");
        Path dump = Files.createDirectories(tmp.resolve("sleep"));
        try (Stream<Path> s = Files.list(root.resolve("sleep"))) {
            for (Path p : s.filter(Files::isRegularFile).toList()) Files.copy(p, dump.resolve(p.getFileName()));
        }
        Files.createDirectories(Path.of("/srv/jcriu-fixture"));
        String r = PyCriu.run(tmp, PyCriu.jcriu().toString(), "restore", dump.toString());
        if (Files.exists(Path.of("/proc/" + FIXTURE_PID))) restored = FIXTURE_PID;
        assertEquals("RESTORE", PyCriu.field(r, "type"), r);
        assertEquals("true", PyCriu.field(r, "success"), r + "\n" + Files.readString(dump.resolve("restore.log")));
        assertEquals(String.valueOf(FIXTURE_PID), PyCriu.field(r, "pid"), r);
        assertTrue(Files.exists(Path.of("/proc/" + FIXTURE_PID)));
        assertTrue(Files.readString(dump.resolve("restore.log")).contains("RPC restore request"));
    }

    @Test
    void restoreOfNothingFailsWithTheCause() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        String r = PyCriu.run(tmp, PyCriu.jcriu().toString(), "restore", empty.toString());
        assertEquals("false", PyCriu.field(r, "success"), r);
        assertEquals("-1", PyCriu.field(r, "pid"), r);
        assertTrue(PyCriu.field(r, "cr_errmsg").contains("inventory.img"), r);
    }

    @Test
    void notificationsComeInCriusOrderAndARefusalAbortsCleanly() throws Exception {
        work = Workload.sleep(tmp.resolve("w"));
        Path img = Files.createDirectories(tmp.resolve("img"));
        String jc = PyCriu.jcriu().toString();
        // post-dump refused: the dump fails and the task keeps running, as with criu
        String r = PyCriu.run(tmp, jc, "notify", "dump", img.toString(), String.valueOf(work.pid()), "post-dump");
        assertTrue(r.contains("\"notifications\": [\"pre-dump\", \"query-ext-files\", \"post-dump\"]"), r);
        assertEquals("false", PyCriu.field(r, "success"), r);
        assertTrue(PyCriu.field(r, "cr_errmsg").contains("RPC client reported script error for post-dump"), r);
        assertTrue(work.alive(), "a refused post-dump must leave the task running");
        Path img2 = Files.createDirectories(tmp.resolve("img2"));
        r = PyCriu.run(tmp, jc, "notify", "dump", img2.toString(), String.valueOf(work.pid()), "-");
        assertEquals("true", PyCriu.field(r, "success"), r);
        for (int i = 0; i < 200 && Files.exists(Path.of("/proc/" + work.pid() + "/exe")); i++) Thread.sleep(10);
        // pid reuse wait: the dumped task is gone, its pid free once reaped
        for (int i = 0; i < 300 && Files.exists(Path.of("/proc/" + work.pid())); i++) Thread.sleep(10);
        r = PyCriu.run(tmp, jc, "notify", "restore", img2.toString(), "-", "-");
        if (Files.exists(Path.of("/proc/" + work.pid()))) restored = work.pid();
        int p = work.pid();
        assertTrue(r.contains("\"notifications\": [\"pre-restore\", \"post-restore:" + p + "\", \"pre-resume\", \"post-resume\"]"), r);
        assertEquals("true", PyCriu.field(r, "success"), r);
        assertEquals(String.valueOf(p), PyCriu.field(r, "pid"), r);
    }

    @Test
    void dumpOfSleepThenRestore() throws Exception {
        work = Workload.sleep(tmp.resolve("w"));
        Path img = Files.createDirectories(tmp.resolve("img"));
        String r = PyCriu.run(tmp, PyCriu.jcriu().toString(), "dump", img.toString(), String.valueOf(work.pid()));
        assertEquals("DUMP", PyCriu.field(r, "type"), r);
        if (!"true".equals(PyCriu.field(r, "success"))) {
            // until the dump engine is on main, the refusal must say so
            assertTrue(PyCriu.field(r, "cr_errmsg").contains("not supported by jcriu yet"), r);
            assertTrue(work.alive(), "a refused dump must leave the task running");
            return;
        }
        assertTrue(!Files.exists(Path.of("/proc/" + work.pid())) || !work.alive(), "dump without leave_running kills the task");
        String rr = PyCriu.run(tmp, PyCriu.jcriu().toString(), "restore", img.toString());
        assertEquals("true", PyCriu.field(rr, "success"), rr);
        restored = Integer.parseInt(PyCriu.field(rr, "pid"));
        assertEquals(work.pid(), restored);
    }

    /**
     * runc, crun and libcriu's criu_restore_child(): RESTORE with rst_sibling over swrk. The root
     * is the client's own child, which it waits for; it holds exactly its dumped fds (none of the
     * swrk JVM's: jar, log, the RPC socket) and exits with its own status.
     */
    @Test
    void restoreWithRstSiblingMakesTheRootTheClientsChild() throws Exception {
        work = Workload.c("counter", tmp.resolve("w"));
        String fds = fds(work.pid());
        Path img = Files.createDirectories(tmp.resolve("img"));
        Jcriu.Result d = Jcriu.run("dump", "-t", work.pid(), "-D", img);
        assertEquals(0, d.exit(), d.all());
        work.waitGone(java.time.Duration.ofSeconds(10));
        String r = PyCriu.run(tmp, PyCriu.jcriu().toString(), "restore_child", img.toString());
        assertEquals("true", PyCriu.field(r, "success"), r + "\n" + Files.readString(img.resolve("restore.log")));
        assertEquals(String.valueOf(work.pid()), PyCriu.field(r, "pid"), r);
        assertEquals("true", PyCriu.field(r, "running"), r);
        assertEquals(PyCriu.field(r, "me"), PyCriu.field(r, "ppid"), r);
        assertEquals(fds, PyCriu.field(r, "fds"), r);
        assertEquals("0", PyCriu.field(r, "exit"), r);
        String v = Files.readString(work.dir().resolve("verdict")).strip();
        assertTrue(v.startsWith("PASS"), v);
    }

    /** "N=target;..." in fd order, as rpc_client.py's restore_child prints them. */
    private static String fds(int pid) throws java.io.IOException {
        java.util.Map<Integer, String> m = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path p : s.toList()) m.put(Integer.parseInt(p.getFileName().toString()), Files.readSymbolicLink(p).toString());
        }
        java.util.List<String> l = new java.util.ArrayList<>();
        m.forEach((k, v) -> l.add(k + "=" + v));
        return String.join(";", l);
    }
}
