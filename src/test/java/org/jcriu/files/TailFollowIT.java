package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real program: {@code tail -f} (coreutils: an inotify watch on the file, then poll(2) with no
 * timeout on the inotify fd), its stdout to a file. Dumped while it waits in poll and restored,
 * it must go on printing the lines appended afterwards. It treats an EINTR from poll as fatal
 * ("error waiting for inotify and output events"), so the poll has to be restarted, not
 * interrupted.
 */
class TailFollowIT {
    @TempDir Path tmp;

    @Test
    void restoredTailKeepsPrintingAppendedLines() throws Exception {
        Path wd = tmp.resolve("w");
        Files.createDirectories(wd);
        Path log = wd.resolve("log");
        Files.writeString(log, "one\ntwo\n");
        try (Workload w = Workload.start(wd, List.of("/bin/sh", "-c", "echo $$ > \"$0/ready\"; exec tail -f \"$0/log\"", wd.toString()),
                false)) {
            w.awaitExec("tail", 'S');
            Path out = wd.resolve("out");
            awaitContent(out, "one\ntwo\n");
            Jcriu.dumpAndRestore(w, tmp.resolve("imgs"));
            Files.writeString(log, "three\n", StandardOpenOption.APPEND);
            awaitContent(out, "one\ntwo\nthree\n");
            Files.writeString(log, "four\n", StandardOpenOption.APPEND);
            awaitContent(out, "one\ntwo\nthree\nfour\n");
            assertTrue(w.alive(), "tail exited: " + Files.readString(wd.resolve("err")));
            assertEquals("", Files.readString(wd.resolve("err")));
            assertEquals(0, ProcState.tracerPid(w.pid()));
        }
    }

    private static void awaitContent(Path p, String want) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String got = "";
        while (System.nanoTime() < deadline) {
            got = Files.exists(p) ? Files.readString(p) : "";
            if (got.equals(want)) return;
            Thread.sleep(20);
        }
        fail("tail printed " + got.replace("\n", "\\n") + ", expected " + want.replace("\n", "\\n") + "; its stderr: "
                + Files.readString(p.resolveSibling("err")));
    }
}
