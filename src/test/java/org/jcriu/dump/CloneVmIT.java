package org.jcriu.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two processes sharing one mm (clone with CLONE_VM, not CLONE_THREAD) are refused, as CRIU 4.2
 * refuses them: the error names both tasks, and both run on untouched (not stopped, not traced).
 */
class CloneVmIT {
    @TempDir
    Path tmp;

    @Test
    void tasksSharingOneMmAreRefusedNamingBoth() throws Exception {
        try (Workload w = Workload.c("clonevm", tmp.resolve("w"))) {
            String[] pids = Files.readString(w.dir().resolve("pids")).strip().split(" ");
            int parent = Integer.parseInt(pids[0]), child = Integer.parseInt(pids[1]);
            w.alsoKill(child);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", parent, "-D", d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("Can't dump task " + child + ": it shares its memory (one mm) with task " + parent),
                    r.stderr());
            assertTrue(r.stderr().contains("CLONE_VM but not CLONE_THREAD"), r.stderr());
            for (int pid : new int[] {parent, child}) {
                assertEquals(0, ProcState.tracerPid(pid), "task " + pid + " is left traced");
                char st = ProcState.state(pid);
                assertTrue(st == 'S' || st == 'R', "task " + pid + ": " + ProcState.describe(pid));
            }
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }
}
