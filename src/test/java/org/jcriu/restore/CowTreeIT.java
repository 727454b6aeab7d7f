package org.jcriu.restore;

import static org.jcriu.testing.ProcState.waitGone;
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
        cowTree(false);
    }

    /** The same after a pre-dump: most pages are in the parent images, and compare the same through them. */
    @Test
    void pagesInParentImagesCompareTheSame() throws Exception {
        cowTree(true);
    }

    private void cowTree(boolean preDump) throws Exception {
        try (Workload w = Workload.c("cowtree", tmp.resolve("w"))) {
            List<Integer> pids = new ArrayList<>();
            for (String p : Files.readString(w.dir().resolve("pids")).trim().split(" ")) pids.add(Integer.parseInt(p));
            for (int pid : pids) w.alsoKill(pid);
            long before = pssKb(pids);
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r;
            if (preDump) {
                Path pre = Files.createDirectories(tmp.resolve("pre"));
                r = Jcriu.run("pre-dump", "-t", pids.get(0), "-D", pre);
                assertEquals(0, r.exit(), r.all());
                r = Jcriu.run("dump", "-t", pids.get(0), "-D", imgs, "--prev-images-dir", "../pre", "--track-mem");
            } else {
                r = Jcriu.run("dump", "-t", pids.get(0), "-D", imgs);
            }
            assertEquals(0, r.exit(), r.all());
            for (int pid : pids) waitGone(pid);
            long t0 = System.nanoTime();
            r = Jcriu.run("restore", "-d", "-D", imgs);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(0, r.exit(), r.all());
            long after = pssKb(pids);
            System.out.printf("CowTreeIT: 6 tasks sharing 64 MiB%s: summed Pss %.1f MiB before dump, %.1f MiB after restore "
                    + "(restore %d ms, whole command)%n", preDump ? " (pre-dumped)" : "", before / 1024.0, after / 1024.0, ms);
            assertTrue(after <= before * 13 / 10, String.format("summed Pss %d kB after restore, %d kB before dump", after, before));
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v + verdicts(w));
        }
    }

    /**
     * cowkinds.c: memory fork does not simply share (MADV_DONTFORK, MADV_WIPEONFORK, read-only with
     * a page the child changed, a VMA whose protection the child changed, mlock, a private file
     * mapping with pages of the parent the child must not see, guard pages), THP disabled in the
     * parent only and membarrier registered in the parent only after the fork: both tasks see
     * exactly their own memory and settings after restore, and their maps and VmFlags are as before.
     */
    @Test
    void memoryForkDoesNotShareComesBackAsEachTaskHadIt() throws Exception {
        try (Workload w = Workload.c("cowkinds", tmp.resolve("w"))) {
            List<Integer> pids = new ArrayList<>();
            for (String p : Files.readString(w.dir().resolve("pids")).trim().split(" ")) pids.add(Integer.parseInt(p));
            for (int pid : pids) w.alsoKill(pid);
            List<List<String>> maps = new ArrayList<>(), flags = new ArrayList<>();
            for (int pid : pids) {
                maps.add(Maps.of(pid));
                flags.add(Maps.vmFlags(pid));
            }
            Path imgs = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", pids.get(0), "-D", imgs);
            assertEquals(0, r.exit(), r.all());
            for (int pid : pids) waitGone(pid);
            r = Jcriu.run("restore", "-d", "-D", imgs);
            assertEquals(0, r.exit(), r.all());
            for (int i = 0; i < pids.size(); i++) {
                assertEquals(maps.get(i), Maps.of(pids.get(i)), "maps of task " + pids.get(i));
                assertEquals(flags.get(i), Maps.vmFlags(pids.get(i)), "VmFlags of task " + pids.get(i));
            }
            String v = w.terminateAndVerdict();
            Path c = w.dir().resolve("verdict-C");
            assertTrue(v.startsWith("PASS"), v + " / C: " + (Files.exists(c) ? Files.readString(c).trim() : "(none)"));
        }
    }
}
