package org.jcriu.dump;

import static org.jcriu.testing.Logs.tail;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Terminal;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * dump, then restore, with bin/jcriu: the workload must carry on as if nothing happened (its own
 * verdict after SIGTERM) and its counter must continue from where it was.
 */
class RoundTripIT {
    @TempDir Path tmp;

    private static void restored(Workload w, Jcriu.Result r, Path d) throws IOException {
        assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
        assertTrue(w.alive(), "restored task " + w.pid() + " is not running");
        assertEquals(0, ProcState.tracerPid(w.pid()));
    }

    private static long lastLine(Path f) throws IOException {
        String s = Files.readString(f).strip();
        return Long.parseLong(s.substring(s.lastIndexOf('\n') + 1));
    }

    /** DIR/count of the bash and python loops (bash writes it in place, fixed width; python renames). */
    private static long count(Workload w) throws Exception {
        return Long.parseLong(Files.readString(w.dir().resolve("count")).strip());
    }

    @Test
    void counterContinuesAfterRestore() throws Exception {
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Path log = w.dir().resolve("counter.log");
            long atDump = lastLine(log);
            Jcriu.restored(w, d);
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (lastLine(log) <= atDump + 5 && System.nanoTime() < deadline) Thread.sleep(10);
            assertTrue(lastLine(log) > atDump + 5, "counter stuck at " + lastLine(log));
            w.assertPasses();
        }
    }

    @Test
    void bashLoopWithItsStdinPipeInherited() throws Exception {
        try (Workload w = Workload.bash(tmp.resolve("w"))) {
            String pipe = Files.readSymbolicLink(Path.of("/proc/" + w.pid() + "/fd/0")).toString();
            assertTrue(pipe.startsWith("pipe:["), pipe);
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            long atDump = count(w); // nobody writes it while the task is dumped and not restored
            Jcriu.Result r = Jcriu.runWithStdinPipe("restore", "-D", d, "-d", "-v4", "-o", "restore.log",
                    "--inherit-fd", "fd[0]:" + pipe);
            w.alsoClose(r.stdin());
            restored(w, r, d);
            String now = Files.readSymbolicLink(Path.of("/proc/" + w.pid() + "/fd/0")).toString();
            assertTrue(now.startsWith("pipe:[") && !now.equals(pipe), "fd 0 is jcriu's stdin pipe, not " + now);
            Thread.sleep(300);
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS count="), v);
            long end = Long.parseLong(v.substring("PASS count=".length()).strip());
            assertTrue(end > atDump + 1, "bash loop went from " + atDump + " to " + end + " only");
        }
    }

    @Test
    void pythonLoopContinues() throws Exception {
        try (Workload w = Workload.python(tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            long c0 = count(w);
            Jcriu.restored(w, d);
            Thread.sleep(300);
            long c1 = count(w);
            assertTrue(c1 > c0, "python loop stuck at " + c1);
            w.assertPasses();
        }
    }

    @Test
    void everyFileKindComesBackWithItsState() throws Exception {
        try (Workload w = Workload.c("files", tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Jcriu.restored(w, d);
            String v = w.terminateAndVerdict();
            assertEquals("PASS", v);
        }
    }

    @Test
    void shellJobGetsTheTerminalJcriuRunsOn() throws Exception {
        Terminal.assumePresent();
        try (Workload w = Terminal.sleepingJob(tmp.resolve("w"), "")) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.ok("dump", "-t", w.pid(), "-D", d, "-j");
            w.waitGone(Duration.ofSeconds(10));
            // jcriu restore runs in a new terminal, which stays open a few seconds after it exits.
            String tty = Terminal.restoreIn(w, d, tmp, "", "-j");
            assertTrue(w.alive(), "not restored: " + Files.readString(tmp.resolve("term.out")));
            assertTrue(tty.startsWith("/dev/pts/"), tty);
            for (int fd = 0; fd <= 2; fd++) {
                assertEquals(tty, Files.readSymbolicLink(Path.of("/proc/" + w.pid() + "/fd/" + fd)).toString(), "fd " + fd);
            }
        }
    }

    @Test
    void everyMemoryKindComesBack() throws Exception {
        try (Workload w = Workload.c("memkinds", tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void queuedSignalsStayQueued() throws Exception {
        try (Workload w = Workload.c("signals", tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            var core = org.jcriu.testing.Images.one(new org.jcriu.image.ImageDir(d), org.jcriu.image.ImageType.CORE,
                    org.jcriu.image.proto.CoreEntry.parser(), w.pid());
            assertEquals(1, core.getTc().getSignalsS().getSignalsCount(), "SIGUSR1 in the shared queue");
            assertEquals(1, core.getThreadCore().getSignalsP().getSignalsCount(), "SIGUSR2 in the thread's queue");
            byte[] si = core.getTc().getSignalsS().getSignals(0).getSiginfo().toByteArray();
            assertEquals(128, si.length);
            assertEquals(10, si[0], "si_signo SIGUSR1");
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void sleepRestoredTwice() throws Exception {
        // A restored task must itself be dumpable again (nothing of the restore left in it).
        try (Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Jcriu.restored(w, d);
            Path d2 = Jcriu.dumpKilled(w, tmp.resolve("imgs2"));
            Jcriu.restored(w, d2);
            assertEquals("sleep", ProcState.field(w.pid(), "Name"));
        }
    }
}
