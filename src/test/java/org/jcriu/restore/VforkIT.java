package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A parent caught blocked in vfork() (vfork.c: its child sleeps 2 s on the parent's memory
 * before it execs): the parent cannot stop before its child has exec'd or exited (the kernel
 * waits for that killably only), so the freeze waits for it, within --timeout, and the tree is
 * then dumped with two separate address spaces. Dumped with -R it runs on; dumped for good and
 * restored, its rounds carry on.
 */
class VforkIT {
    @TempDir
    Path tmp;

    /** Waits until {@code pid} is blocked in vfork: 'D' with its vfork child present. */
    private static void awaitInVfork(Workload w) throws Exception {
        int pid = w.pid();
        long end = System.nanoTime() + 20_000_000_000L;
        String children;
        while (!(ProcState.state(pid) == 'D'
                && !(children = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).strip()).isEmpty())) {
            assertTrue(System.nanoTime() < end, "task " + pid + " never blocked in vfork: " + ProcState.describe(pid));
            Thread.sleep(5);
        }
        for (String c : children.split(" ")) w.alsoKill(Integer.parseInt(c));
    }

    private static int rounds(Path dir) throws Exception {
        return Files.readAllLines(dir.resolve("rounds.log")).size();
    }

    @Test
    void aParentBlockedInVforkIsDumpedOnceTheChildExecs() throws Exception {
        try (Workload w = Workload.c("vfork", tmp.resolve("w"))) {
            int pid = w.pid();
            awaitInVfork(w);
            Path d1 = Files.createDirectories(tmp.resolve("imgs-R"));
            Jcriu.Result r = Jcriu.run("dump", "-t", pid, "-D", d1, "-R");
            assertEquals(0, r.exit(), r.all());
            int after = rounds(w.dir());
            awaitInVfork(w);
            long end = System.nanoTime() + 10_000_000_000L;
            while (rounds(w.dir()) <= after) {
                assertTrue(System.nanoTime() < end, "no round after dump -R");
                Thread.sleep(20);
            }
            awaitInVfork(w);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            r = Jcriu.run("dump", "-t", pid, "-D", d);
            assertEquals(0, r.exit(), r.all());
            int dumped = rounds(w.dir());
            w.waitGone(Duration.ofSeconds(10));
            r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, r.exit(), r.all());
            end = System.nanoTime() + 15_000_000_000L;
            while (rounds(w.dir()) <= dumped) {
                assertTrue(System.nanoTime() < end, "no round after restore");
                Thread.sleep(20);
            }
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }
}
