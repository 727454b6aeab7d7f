package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cowtree.c: a parent's 64 MiB shared copy-on-write with four children and a grandchild, each of
 * which changed a few pages. After restore the pages are still shared (the tree's summed Pss is
 * about what it was, not six times it) and every task sees its own content: the pages it changed,
 * its parent's as they were at its fork, zero where it dropped them.
 */
class CowTreeIT {
    @TempDir
    Path tmp;

    /** Sum of Pss over the tasks, in kB: memory shared by n tasks counts 1/n in each. */
    private static long pssKb(List<Integer> pids) throws IOException {
        long sum = 0;
        for (int pid : pids) {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                if (l.startsWith("Pss:")) sum += Long.parseLong(l.substring(4).trim().split("\\s+")[0]);
            }
        }
        return sum;
    }

    private static void waitGone(int pid) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (Procs.exists(pid) && System.nanoTime() < end) Thread.sleep(10);
        assertFalse(Procs.exists(pid), "task " + pid + " still there: " + ProcState.describe(pid));
    }

    private static String verdicts(Workload w) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String r : new String[] {"C1", "C2", "C3", "C4", "G"}) {
            Path f = w.dir().resolve("verdict-" + r);
            sb.append(" / ").append(r).append(": ").append(Files.exists(f) ? Files.readString(f).trim() : "(none)");
        }
        return sb.toString();
    }

    @Test
    void pagesSharedCopyOnWriteStaySharedAfterRestore() throws Exception {
        try (Workload w = Workload.c("cowtree", tmp.resolve("w"))) {
            List<Integer> pids = new ArrayList<>();
            for (String p : Files.readString(w.dir().resolve("pids")).trim().split(" ")) pids.add(Integer.parseInt(p));
            for (int pid : pids) w.alsoKill(pid);
            long before = pssKb(pids);
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", pids.get(0), "-D", imgs);
            assertEquals(0, r.exit(), r.all());
            for (int pid : pids) waitGone(pid);
            long t0 = System.nanoTime();
            r = Jcriu.run("restore", "-d", "-D", imgs);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(0, r.exit(), r.all());
            long after = pssKb(pids);
            System.out.printf("CowTreeIT: 6 tasks sharing 64 MiB: summed Pss %.1f MiB before dump, %.1f MiB after restore "
                    + "(restore %d ms, whole command)%n", before / 1024.0, after / 1024.0, ms);
            assertTrue(after <= before * 13 / 10, String.format("summed Pss %d kB after restore, %d kB before dump", after, before));
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v + verdicts(w));
        }
    }
}
