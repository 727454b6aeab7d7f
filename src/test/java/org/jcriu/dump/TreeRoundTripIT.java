package org.jcriu.dump;

import static org.jcriu.testing.ProcState.waitGone;
import static org.jcriu.testing.Logs.tail;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.proc.Stat;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.TreePids;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trees dumped and restored with bin/jcriu: every task comes back with its pid, parent, session
 * and group, zombies stay zombies with their exit code, and every live task carries on counting
 * (tree.c checks its own state on SIGTERM).
 */
class TreeRoundTripIT {
    @TempDir Path tmp;

    /** pid -> "state ppid pgid sid" as /proc shows it (the root's ppid is whoever started or restored it). */
    private static Map<Integer, String> shape(List<Integer> pids, int root) {
        Map<Integer, String> m = new LinkedHashMap<>();
        for (int p : pids) {
            Stat s = Stat.read(p);
            char state = s.state() == 'Z' ? 'Z' : 'L';
            m.put(p, state + " " + (p == root ? "-" : s.ppid()) + " " + s.pgid() + " " + s.sid());
        }
        return m;
    }

    private static List<Integer> treePids(Path d) {
        List<Integer> out = new ArrayList<>();
        try (ImageReader r = new ImageDir(d).open(ImageType.PSTREE)) {
            PstreeEntry e;
            while ((e = r.read(PstreeEntry.parser())) != null) out.add(e.getPid());
        }
        return out;
    }

    /** Dumps (killing the tree), waits until every task is gone, restores; returns the image dir. */
    private Path dumpAndRestore(int root, List<Integer> all, String name) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        Jcriu.Result r = Jcriu.run("dump", "-t", root, "-D", d, "-v4", "-o", "dump.log");
        assertEquals(0, r.exit(), r.all());
        for (int p : all) waitGone(p);
        r = Jcriu.run("restore", "-d", "-D", d, "-v4", "-o", "restore.log");
        assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
        return d;
    }

    @Test
    void treeCarriesOnWithItsPidsSessionsGroupsAndZombie() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            List<Integer> pids = TreePids.of(w).all();
            int root = pids.get(0);
            Map<Integer, String> before = shape(pids, root);
            dumpAndRestore(root, pids, "imgs");
            assertEquals(before, shape(pids, root));
            for (int p : pids.subList(0, 4)) assertEquals(0, ProcState.tracerPid(p), "task " + p + " still traced");
            TreePids.assertCounting(w, "R", "A", "B", "G");
            TreePids.assertPasses(w);
        }
    }

    @Test
    void restoredTreeDumpsAndRestoresAgain() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            List<Integer> pids = TreePids.of(w).all();
            int root = pids.get(0);
            Map<Integer, String> before = shape(pids, root);
            dumpAndRestore(root, pids, "imgs1");
            TreePids.assertCounting(w, "R", "A", "B", "G");
            dumpAndRestore(root, pids, "imgs2");
            assertEquals(before, shape(pids, root));
            TreePids.assertCounting(w, "R", "A", "B", "G");
            TreePids.assertPasses(w);
        }
    }

    @Test
    void forkingTreeIsRestoredAndForksOn() throws Exception {
        try (Workload w = Workload.c("tree-forks", tmp.resolve("w"), "8")) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            List<Integer> all = treePids(d);
            for (int p : all) w.alsoKill(p);
            for (int p : all) waitGone(p);
            Path forks = w.dir().resolve("forks");
            long atDump = Long.parseLong(Files.readString(forks).trim());
            r = Jcriu.run("restore", "-d", "-D", d, "-v4", "-o", "restore.log");
            assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (Long.parseLong(Files.readString(forks).trim()) <= atDump) {
                assertTrue(System.nanoTime() < deadline, "the restored root does not fork");
                Thread.sleep(10);
            }
            // every child restored (zombies included) is reaped with exit status 0
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }
}
