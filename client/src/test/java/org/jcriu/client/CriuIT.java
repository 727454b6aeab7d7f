package org.jcriu.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.image.proto.CriuFeatures;
import org.jcriu.image.proto.CriuOpts;

/** The client against bin/jcriu (built by the main project first), as a runtime would use it. */
class CriuIT {
    @TempDir
    Path tmp;
    int sleepPid = -1;

    static Path jcriu() {
        Path p = Path.of(System.getProperty("jcriu.bin", "../bin/jcriu")).toAbsolutePath().normalize();
        assumeTrue(Files.isExecutable(p) && Files.exists(p.getParent().getParent().resolve("target/jcriu.jar")),
                "jcriu is not built (run mvn package in the main project first)");
        return p;
    }

    @AfterEach
    void kill() {
        if (sleepPid > 0 && Files.exists(Path.of("/proc/" + sleepPid))) Posix.kill(sleepPid, 9);
    }

    @Test
    void versionIs40200() {
        assertEquals(40200, Criu.swrk(jcriu()).version());
    }

    @Test
    void featureCheckAnswersAllThree() {
        CriuFeatures f = Criu.swrk(jcriu()).featureCheck(CriuFeatures.newBuilder().setMemTrack(true).setLazyPages(true).build());
        assertTrue(f.hasMemTrack() && f.hasLazyPages() && f.hasPidfdStore());
    }

    @Test
    void failureCarriesCriusMessage() {
        CriuRpcException e = assertThrows(CriuRpcException.class, () -> Criu.swrk(jcriu())
                .restore(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(tmp.toString()).build(), null));
        assertTrue(e.getMessage().contains("inventory.img"), e.getMessage());
    }

    @Test
    void missingBinaryIsAClearError() {
        CriuRpcException e = assertThrows(CriuRpcException.class, () -> Criu.swrk(tmp.resolve("nope")).version());
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }

    @Test
    void dumpAndRestoreASleepWithNotifications() throws Exception {
        assumeTrue(Files.readString(Path.of("/proc/self/status")).contains("\nUid:\t0\t"), "needs root");
        Path ready = tmp.resolve("ready");
        int sh = Posix.spawnWithFd3(List.of("setsid", "-f", "/bin/sh", "-c", "echo $$ > " + ready + "; exec sleep 1000"), 0);
        Posix.waitpid(sh);
        for (int i = 0; i < 500 && (!Files.exists(ready) || Files.readString(ready).isBlank()); i++) Thread.sleep(10);
        sleepPid = Integer.parseInt(Files.readString(ready).strip());
        Path img = Files.createDirectory(tmp.resolve("img"));
        List<String> seen = new ArrayList<>();
        Notify n = new Notify() {
            @Override
            public void on(String script, int pid) {
                seen.add(script);
            }
        };
        Criu c = Criu.swrk(jcriu());
        c.dump(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(img.toString()).setPid(sleepPid).setLogLevel(4)
                .setLogFile("dump.log").build(), n);
        assertEquals(List.of("pre-dump", "query-ext-files", "post-dump"), seen);
        for (int i = 0; i < 300 && Files.exists(Path.of("/proc/" + sleepPid)); i++) Thread.sleep(10);
        assertFalse(Files.exists(Path.of("/proc/" + sleepPid)) && Files.readString(Path.of("/proc/" + sleepPid + "/status")).contains("State:\tS"));
        seen.clear();
        int pid = c.restore(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(img.toString()).setLogLevel(4)
                .setLogFile("restore.log").build(), n);
        assertEquals(sleepPid, pid);
        assertTrue(seen.contains("post-restore") && seen.getLast().equals("post-resume"), seen.toString());
        assertTrue(Files.readString(Path.of("/proc/" + pid + "/cmdline")).startsWith("sleep"));
    }
}
