package org.jcriu.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.jcriu.testing.Workloads;

/**
 * Self-dump (DUMP without pid): a python program checkpoints itself through pycriu, as libcriu's
 * criu_dump() does. With leave_running it is answered restored=false and carries on; without, it
 * is killed, and once restored its pending receive gets the answer restored=true from the socket
 * the restore makes (USK_SERVICE) and it carries on.
 */
class SelfDumpIT {
    @TempDir
    Path tmp;
    Process daemon;

    @BeforeEach
    void pycriu() throws Exception {
        PyCriu.assumeAvailable();
    }

    @AfterEach
    void stop() throws Exception {
        if (daemon != null) {
            daemon.destroyForcibly();
            daemon.waitFor(10, TimeUnit.SECONDS);
        }
    }

    Workload start(Path dir, String target, String mode) {
        return Workload.start(dir, List.of(PyCriu.PYTHON, Workloads.script("selfdump.py").toString(), dir.toString(), target, mode), false);
    }

    /** DIR/result once written; null when {@code w} died first (killed by its dump). */
    static String result(Workload w, Duration timeout) throws Exception {
        Path r = w.dir().resolve("result");
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (Files.exists(r)) return Files.readString(r).strip();
            if (!w.alive()) return Files.exists(r) ? Files.readString(r).strip() : null;
            Thread.sleep(10);
        }
        throw new AssertionError("self-dump of " + w.pid() + " did not finish: " + ProcState.describe(w.pid()) + "\n" + log(w));
    }

    static String log(Workload w) throws Exception {
        Path l = w.dir().resolve("img/dump.log");
        Path err = w.dir().resolve("err");
        return (Files.exists(l) ? Files.readString(l) : "(no dump.log)") + (Files.exists(err) ? Files.readString(err) : "");
    }

    @Test
    void leaveRunningIsAnsweredNotRestoredAndTheProgramCarriesOn() throws Exception {
        try (Workload w = start(tmp.resolve("w"), PyCriu.jcriu().toString(), "leave")) {
            String r = result(w, Duration.ofSeconds(60));
            assertTrue(r != null && r.startsWith("restored=False"), r + "\n" + log(w));
            Path img = w.dir().resolve("img");
            assertTrue(Files.exists(img.resolve("core-" + w.pid() + ".img")), "no core image");
            assertTrue(Files.readString(img.resolve("dump.log")).contains("USK_SERVICE"), "the client's socket was not dumped as USK_SERVICE");
            assertTrue(w.alive());
            assertEquals("dumped, running on", Files.readString(w.dir().resolve("out")).strip());
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS restored=False"), v);
        }
    }

    /** A self-dump that fails (a UDP socket jcriu does not dump) is an error answer, and the program runs on untouched. */
    @Test
    void failedSelfDumpIsAnErrorAndTheProgramRunsOn() throws Exception {
        try (Workload w = start(tmp.resolve("w"), PyCriu.jcriu().toString(), "fail")) {
            String r = result(w, Duration.ofSeconds(60));
            assertTrue(r != null && r.startsWith("error"), r + "\n" + log(w));
            assertTrue(w.alive());
            assertEquals("0", ProcState.field(w.pid(), "TracerPid"), ProcState.describe(w.pid()));
            assertTrue("RS".indexOf(ProcState.state(w.pid())) >= 0, ProcState.describe(w.pid()));
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS restored=None"), v);
        }
    }

    /**
     * Not RPC, but the same exclusion: a JVM runs `jcriu dump -t <itself>` as a ProcessBuilder
     * child. Restored, Java's process reaper is waiting for a pid that is no child of the restored
     * JVM: waitpid says ECHILD and the JDK ends that Process (exit value 0 in JDK 25); processes
     * started afterwards work. Perf data is kept in anonymous memory: any JVM starting while the
     * dumped pid is dead would delete its /tmp/hsperfdata file.
     */
    @Test
    void jvmDumpedByItsOwnProcessBuilderChildCarriesOnAfterRestore() throws Exception {
        Path java = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        assumeTrue(Files.isExecutable(java), "no JDK 25 at " + java);
        Path dir = tmp.resolve("w");
        try (Workload w = Workload.start(dir, List.of(java.toString(), "-XX:+PerfDisableSharedMem",
                Workloads.script("DumpedByItsChild.java").toString(), dir.toString(), PyCriu.jcriu().toString()), false)) {
            assertEquals(null, result(w, Duration.ofSeconds(90)), "the dump should have killed the JVM\n" + log(w));
            w.waitGone(Duration.ofSeconds(10));
            Path img = dir.resolve("img");
            Jcriu.Result rr = Jcriu.run("restore", "-d", "-D", img, "-v4", "-o", "restore.log");
            assertEquals(0, rr.exit(), rr.all() + Files.readString(img.resolve("restore.log")));
            String r = result(w, Duration.ofSeconds(30));
            assertTrue(r != null && r.startsWith("waitFor=") && r.endsWith("echo=after rc=0"), r);
            System.out.println("SelfDumpIT: restored JVM's Process.waitFor() on jcriu, not its child any more: " + r);
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    /** The dumped program is killed; `jcriu restore` brings it back and it learns it was restored. */
    @Test
    void dumpedProgramRestoredByTheCommandLineLearnsItWasRestored() throws Exception {
        roundTrip(tmp.resolve("w"), PyCriu.jcriu().toString(), false);
    }

    /** As the Java client: swrk stays the client's child, which must not be dumped with it. */
    @Test
    void swrkAsTheClientsOwnChildIsLeftOutOfTheTree() throws Exception {
        roundTrip(tmp.resolve("w"), "child:" + PyCriu.jcriu(), false);
    }

    /** Through `jcriu service`, restored through the service too. */
    @Test
    void throughTheServiceRestoredThroughTheService() throws Exception {
        Path sock = tmp.resolve("s.sock");
        daemon = new ProcessBuilder(PyCriu.jcriu().toString(), "service", "--address", sock.toString(), "-v4")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("daemon.log").toFile())
                .redirectInput(Path.of("/dev/null").toFile()).start();
        for (int i = 0; i < 400 && !Files.exists(sock, LinkOption.NOFOLLOW_LINKS); i++) Thread.sleep(25);
        assertTrue(Files.exists(sock, LinkOption.NOFOLLOW_LINKS), "service did not start");
        roundTrip(tmp.resolve("w"), "sk:" + sock, true);
    }

    static final Path LIBCRIU = Path.of("/usr/lib/x86_64-linux-gnu/libcriu.so.2");

    /** selfdump_libcriu.c built against upstream libcriu (Debian's criu package); skips without it. */
    static synchronized Path libcriuProgram() throws Exception {
        assumeTrue(Files.exists(LIBCRIU), "no " + LIBCRIU + " (apt-get install criu)");
        Path src = Workloads.script("selfdump_libcriu.c");
        Workloads.script("workload.h");
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(Files.readAllBytes(src));
        Path out = Workloads.DIR.resolve("selfdump_libcriu-" + Long.toHexString(crc.getValue()));
        if (!Files.isExecutable(out)) {
            Process p = new ProcessBuilder("gcc", "-O1", "-g", "-o", out.toString(), src.toString(), "-l:libcriu.so.2")
                    .redirectErrorStream(true).start();
            String msg = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, "gcc -l:libcriu.so.2 failed: " + msg);
        }
        return out;
    }

    /** criu_dump() with leave_running: 0, and the program goes on. */
    @Test
    void libcriuSelfDumpLeftRunningReturnsZero() throws Exception {
        Path dir = tmp.resolve("w");
        try (Workload w = Workload.start(dir, List.of(libcriuProgram().toString(), dir.toString(), PyCriu.jcriu().toString(), "leave"), false)) {
            String r = result(w, Duration.ofSeconds(60));
            assertEquals("ret=0", r, log(w));
            assertEquals("dumped, running on", Files.readString(dir.resolve("out")).strip());
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS ret=0"), v);
        }
    }

    /** criu_dump() without it: the program is killed; restored by `jcriu restore`, criu_dump() returns 1 there. */
    @Test
    void libcriuSelfDumpRestoredReturnsOne() throws Exception {
        Path dir = tmp.resolve("w");
        try (Workload w = Workload.start(dir, List.of(libcriuProgram().toString(), dir.toString(), PyCriu.jcriu().toString(), "kill"), false)) {
            assertEquals(null, result(w, Duration.ofSeconds(60)), "the dump should have killed the program\n" + log(w));
            w.waitGone(Duration.ofSeconds(10));
            Path img = dir.resolve("img");
            Jcriu.Result rr = Jcriu.run("restore", "-d", "-D", img, "-v4", "-o", "restore.log");
            assertEquals(0, rr.exit(), rr.all() + Files.readString(img.resolve("restore.log")));
            assertEquals("ret=1", result(w, Duration.ofSeconds(30)));
            assertEquals("restored", Files.readString(dir.resolve("out")).strip());
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS ret=1"), v);
        }
    }

    private void roundTrip(Path dir, String target, boolean rpcRestore) throws Exception {
        try (Workload w = start(dir, target, "kill")) {
            long t0 = System.nanoTime();
            String r = result(w, Duration.ofSeconds(60));
            assertEquals(null, r, "the dump should have killed the program\n" + log(w));
            long dumpMs = (System.nanoTime() - t0) / 1_000_000;
            w.waitGone(Duration.ofSeconds(10));
            Path img = dir.resolve("img");
            assertTrue(Files.readString(img.resolve("dump.log")).contains("USK_SERVICE"), log(w));
            t0 = System.nanoTime();
            if (rpcRestore) {
                String res = PyCriu.run(tmp, target, "restore", img.toString());
                assertEquals("true", PyCriu.field(res, "success"), res);
                assertEquals(String.valueOf(w.pid()), PyCriu.field(res, "pid"), res);
            } else {
                Jcriu.Result rr = Jcriu.run("restore", "-d", "-D", img, "-v4", "-o", "restore.log");
                assertEquals(0, rr.exit(), rr.all() + Files.readString(img.resolve("restore.log")));
            }
            long restoreMs = (System.nanoTime() - t0) / 1_000_000;
            r = result(w, Duration.ofSeconds(30));
            assertTrue(r != null && r.startsWith("restored=True"), r);
            System.out.printf("SelfDumpIT %s: self-dump (until killed) %d ms, restore %d ms%n", target, dumpMs, restoreMs);
            assertEquals("restored", Files.readString(dir.resolve("out")).strip());
            Thread.sleep(200);
            assertTrue(Files.exists(dir.resolve("count")), "the restored program did not carry on");
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS restored=True"), v);
            assertFalse(Files.exists(dir.resolve("err")) && Files.readString(dir.resolve("err")).contains("Traceback"),
                    Files.readString(dir.resolve("err")));
            if (rpcRestore) return;
            // the same images again: a second copy learns it was restored too
            w.waitGone(Duration.ofSeconds(10));
            for (String f : List.of("result", "verdict", "count")) Files.deleteIfExists(dir.resolve(f));
            // its stdout is checked against its size at dump (as CRIU does): as it was then
            Files.write(dir.resolve("out"), new byte[0]);
            Jcriu.Result rr = Jcriu.run("restore", "-d", "-D", img);
            assertEquals(0, rr.exit(), rr.all());
            r = result(w, Duration.ofSeconds(30));
            assertTrue(r != null && r.startsWith("restored=True"), r);
            v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS restored=True"), v);
        }
    }
}
