package org.jcriu.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM (Java 25, default flags) with a busy thread pool checkpoints itself with
 * {@link Criu#checkpointSelf} and carries its work on to correct results: left running, and
 * killed then restored by {@code jcriu restore}, where it learns it was restored.
 */
class SelfCheckpointIT {
    static final Path JAVA = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");

    @TempDir
    Path tmp;
    Path dir;
    int pid = -1;

    @BeforeEach
    void root() throws Exception {
        assumeTrue(Files.readString(Path.of("/proc/self/status")).contains("\nUid:\t0\t"), "needs root");
        assumeTrue(Files.isExecutable(JAVA), "no JDK 25 at " + JAVA);
        dir = Files.createDirectory(tmp.resolve("w"));
    }

    @AfterEach
    void kill() {
        if (pid > 0 && Files.exists(Path.of("/proc/" + pid))) Posix.kill(pid, 9);
    }

    /** The class path of this test's JVM app: the client, the tests, protobuf. */
    static String classPath() throws Exception {
        List<String> cp = new ArrayList<>();
        for (Class<?> c : List.of(Criu.class, SelfCheckpointApp.class, com.google.protobuf.Message.class)) {
            String p = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
            if (!cp.contains(p)) cp.add(p);
        }
        return String.join(File.pathSeparator, cp);
    }

    /** Starts the app in a session of its own (setsid -f: nobody's child here, like a restored one); its pid. */
    int start(String mode) throws Exception {
        return start(CriuIT.jcriu().toString(), mode);
    }

    int start(String target, String mode) throws Exception {
        Process p = new ProcessBuilder("setsid", "-f", JAVA.toString(), "--enable-native-access=ALL-UNNAMED", "-cp", classPath(),
                SelfCheckpointApp.class.getName(), dir.toString(), target, mode)
                .redirectOutput(dir.resolve("out").toFile()).redirectError(dir.resolve("err").toFile())
                .redirectInput(Path.of("/dev/null").toFile()).start();
        p.waitFor();
        Path ready = dir.resolve("ready");
        for (int i = 0; i < 3000 && !Files.exists(ready); i++) Thread.sleep(10);
        assertTrue(Files.exists(ready), "the app never got ready: " + read("err"));
        pid = Integer.parseInt(Files.readString(ready).strip());
        keepPerfData();
        return pid;
    }

    Path perfData, perfLink;

    /**
     * The app's /tmp/hsperfdata_USER/PID is a shared file mapping its restore needs, and any JVM
     * with perf data that starts while the pid is dead deletes it as stale (on this shared
     * machine: other test runs). A hard link keeps the file (same inode) to be put back.
     */
    void keepPerfData() {
        perfData = Path.of("/tmp/hsperfdata_" + System.getProperty("user.name"), String.valueOf(pid));
        perfLink = tmp.resolve("hsperfdata");
        try {
            Files.createLink(perfLink, perfData);
        } catch (Exception e) {
            perfLink = null; // no perf data file, or another filesystem: nothing to keep
        }
    }

    void putPerfDataBack() throws Exception {
        if (perfLink != null && !Files.exists(perfData)) {
            System.out.println("SelfCheckpointIT: " + perfData + " was deleted by another JVM; put back");
            Files.createLink(perfData, perfLink);
        }
    }

    String read(String name) throws Exception {
        Path p = dir.resolve(name);
        return Files.exists(p) ? Files.readString(p).strip() : "";
    }

    String waitFor(String name, int seconds) throws Exception {
        Path p = dir.resolve(name);
        for (int i = 0; i < seconds * 100 && !Files.exists(p); i++) Thread.sleep(10);
        assertTrue(Files.exists(p), "no " + name + " within " + seconds + " s; err: " + read("err") + "\n" + read("img/dump.log"));
        return Files.readString(p).strip();
    }

    static boolean alive(int pid) {
        return Files.exists(Path.of("/proc/" + pid));
    }

    @Test
    void leftRunningItLearnsItWasNotRestoredAndFinishes() throws Exception {
        start("leave");
        String r = waitFor("result", 60);
        assertTrue(r.startsWith("restored=false"), r + "\n" + read("img/dump.log"));
        assertTrue(Files.exists(dir.resolve("img/core-" + pid + ".img")));
        String v = waitFor("verdict", 120);
        assertTrue(v.startsWith("PASS restored=false"), v);
        assertEquals("checkpointed, running on", read("out"));
        System.out.println("SelfCheckpointIT: self-checkpoint of a JVM left running: " + r);
    }

    Process daemon;

    @AfterEach
    void stopDaemon() throws Exception {
        if (daemon != null) {
            daemon.destroyForcibly();
            daemon.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void killedThenRestoredItLearnsItWasRestoredAndFinishesItsWork() throws Exception {
        killedThenRestored(CriuIT.jcriu().toString());
    }

    /** The same through a `jcriu service` (no swrk child at all, and no JVM start on the call). */
    @Test
    void throughTheServiceToo() throws Exception {
        Path sock = tmp.resolve("s.sock");
        daemon = new ProcessBuilder(CriuIT.jcriu().toString(), "service", "--address", sock.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("daemon.log").toFile())
                .redirectInput(Path.of("/dev/null").toFile()).start();
        for (int i = 0; i < 400 && !Files.exists(sock, java.nio.file.LinkOption.NOFOLLOW_LINKS); i++) Thread.sleep(25);
        assertTrue(Files.exists(sock, java.nio.file.LinkOption.NOFOLLOW_LINKS), "service did not start");
        killedThenRestored("sk:" + sock);
    }

    void killedThenRestored(String target) throws Exception {
        start(target, "kill");
        long called = Long.parseLong(waitFor("calling", 60));
        while (alive(pid) && !Files.exists(dir.resolve("result"))) Thread.sleep(2);
        long killedAt = System.currentTimeMillis();
        assertTrue(!Files.exists(dir.resolve("result")), "the dump should have killed the JVM: " + read("result"));
        for (int i = 0; i < 1000 && alive(pid); i++) Thread.sleep(5);
        assertTrue(!alive(pid), "pid " + pid + " still there");
        assertTrue(read("img/dump.log").contains("USK_SERVICE"), read("img/dump.log"));

        putPerfDataBack();
        long t0 = System.currentTimeMillis();
        Process rs = new ProcessBuilder(CriuIT.jcriu().toString(), "restore", "-d", "-D", dir.resolve("img").toString(),
                "-v4", "-o", "restore.log").redirectErrorStream(true).redirectOutput(tmp.resolve("restore.out").toFile()).start();
        assertTrue(rs.waitFor(120, TimeUnit.SECONDS), "restore hung");
        long restoreMs = System.currentTimeMillis() - t0;
        assertEquals(0, rs.exitValue(), Files.readString(tmp.resolve("restore.out")) + read("img/restore.log"));
        String r = waitFor("result", 30);
        assertTrue(r.startsWith("restored=true"), r);
        long resumedAt = Long.parseLong(r.replaceAll(".*at_ms=", ""));
        String v = waitFor("verdict", 120);
        assertTrue(v.startsWith("PASS restored=true"), v);
        assertEquals("restored", read("out"));
        System.out.printf("SelfCheckpointIT: JVM self-checkpoint via " + target + ": call to dump finished (JVM killed) %d ms; jcriu restore %d ms,"
                + " restore start to the call returning %d ms%n", killedAt - called, restoreMs, resumedAt - t0);
    }
}
