package org.jcriu.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jcriu.CriuException;
import org.jcriu.opts.Options;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --timeout on a tree whose child cannot stop: the dump runs inside this JVM (as the RPC service
 * does, which lives on after a failed dump), so what the failure leaves behind is seen before
 * jcriu's exit would have tidied it up.
 */
class DumpTimeoutTest {
    @TempDir
    Path tmp;

    @Test
    void tasksSeizedBeforeATimeoutRunOnAtOnce() throws Exception {
        Path freezer = Path.of("/sys/fs/cgroup/freezer");
        assumeTrue(Files.exists(freezer.resolve("tasks")), "no cgroup v1 freezer here");
        Path cg = freezer.resolve("jcriu-timeout-" + ProcessHandle.current().pid());
        Path wd = tmp.resolve("w");
        Files.createDirectories(wd);
        Path imgs = Files.createDirectories(tmp.resolve("img"));
        // sh (the root, seized first) waits for its child sleep, which is frozen
        try (Workload w = Workload.start(wd, List.of("/bin/sh", "-c",
                "sleep 1000 & echo $! > \"$0/child\"; echo $$ > \"$0/ready\"; wait", wd.toString()), false)) {
            int child = Integer.parseInt(Files.readString(wd.resolve("child")).strip());
            w.alsoKill(child);
            Files.createDirectories(cg);
            try {
                Files.writeString(cg.resolve("tasks"), Integer.toString(child));
                Files.writeString(cg.resolve("freezer.state"), "FROZEN");
                Options o = new Options();
                o.command = "dump";
                o.pid = w.pid();
                o.imagesDir = imgs;
                o.timeout = 1;
                long t0 = System.nanoTime();
                CriuException e = assertThrows(CriuException.class, () -> Dumper.run(o));
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertTrue(e.getMessage().contains("Can't stop task " + child + " within --timeout 1 s"), e.getMessage());
                assertTrue(tookMs < 5000, "the dump gave up after " + tookMs + " ms");
                // the root was seized and stopped before the child: it must run again now, not
                // when the tracer thread or this JVM goes away
                char s = ProcState.state(w.pid());
                assertTrue(s == 'S' || s == 'R', "root " + w.pid() + " should run on: " + ProcState.describe(w.pid()));
                assertEquals(0, ProcState.tracerPid(w.pid()), "root still traced: " + ProcState.describe(w.pid()));

                Files.writeString(cg.resolve("freezer.state"), "THAWED");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while ((ProcState.tracerPid(child) != 0 || ProcState.state(child) != 'S') && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals('S', ProcState.state(child), "child should sleep on: " + ProcState.describe(child));
                assertEquals(0, ProcState.tracerPid(child), "child still traced: " + ProcState.describe(child));
            } finally {
                Files.writeString(cg.resolve("freezer.state"), "THAWED");
                if (ProcState.alive(child)) Files.writeString(freezer.resolve("tasks"), Integer.toString(child));
                Files.deleteIfExists(cg);
            }
        }
    }
}
