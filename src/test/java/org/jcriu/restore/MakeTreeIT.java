package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.jcriu.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A `make -j2` tree of shells (make.sh: GNU make, dash recipes counting into logs with a sleep
 * per step, a recursive make sharing the jobserver pipe) dumped while it builds: first three
 * times with -R at whatever moment the tree is in (make and the shells fork all the time, make
 * with posix_spawn, i.e. vfork), then for good; restored, make finishes: every target built and
 * every recipe's log counts 1..25 with no gap and no repeat.
 */
class MakeTreeIT {
    @TempDir
    Path tmp;

    private static void descendants(int pid, List<Integer> out) {
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                String c = Files.readString(t.resolve("children")).strip();
                if (c.isEmpty()) continue;
                for (String s : c.split(" ")) {
                    int child = Integer.parseInt(s);
                    out.add(child);
                    descendants(child, out);
                }
            }
        } catch (IOException e) {
            // gone meanwhile
        }
    }

    private static int lines(Path p) throws IOException {
        return Files.exists(p) ? Files.readAllLines(p).size() : 0;
    }

    @Test
    void makeFinishesEveryTargetAfterRestore() throws Exception {
        Path dir = tmp.resolve("w");
        Workload w = Workload.start(dir, List.of("/bin/sh", Workloads.script("make.sh").toString(), dir.toString()), false);
        List<Integer> tree = new ArrayList<>();
        try (w) {
            int pid = w.pid();
            long end = System.nanoTime() + 20_000_000_000L;
            while (lines(dir.resolve("t1.log")) < 4 || lines(dir.resolve("t2.log")) < 4) {
                assertTrue(System.nanoTime() < end, "make never ran two recipes: " + Files.readString(dir.resolve("err")));
                Thread.sleep(10);
            }
            for (int i = 0; i < 3; i++) {
                Path d = Files.createDirectories(tmp.resolve("leave-running-" + i));
                Jcriu.Result r = Jcriu.run("dump", "-t", pid, "-D", d, "-R");
                assertEquals(0, r.exit(), "dump -R #" + i + ": " + r.all());
                Thread.sleep(150);
            }
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", pid, "-D", d);
            descendants(pid, tree);
            tree.forEach(w::alsoKill);
            assertEquals(0, r.exit(), r.all());
            List<Integer> dumped = new ArrayList<>();
            try (ImageReader pr = new ImageDir(d).open(ImageType.PSTREE)) {
                for (PstreeEntry e; (e = pr.read(PstreeEntry.parser())) != null; ) dumped.add(e.getPid());
            }
            dumped.forEach(w::alsoKill);
            // make, the two recipe shells, and what they run
            assertTrue(dumped.size() >= 3, "tree " + dumped);
            System.out.printf("MakeTreeIT: dumped a tree of %d tasks%n", dumped.size());
            for (int p : dumped) {
                long gone = System.nanoTime() + 10_000_000_000L;
                while (Procs.exists(p) && System.nanoTime() < gone) Thread.sleep(5);
            }
            r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, r.exit(), r.all());
            String v = w.verdict(Duration.ofSeconds(60));
            assertEquals("PASS", v, "make did not finish: " + Files.readString(dir.resolve("err")));
            for (String t : new String[] {"t1", "t2", "t3", "t4", "u1", "u2"}) {
                assertTrue(Files.exists(dir.resolve(t)), t + " not built");
                if (t.equals("t4")) continue; // the sub-make's target: its recipes are u1 and u2
                List<String> log = Files.readAllLines(dir.resolve(t + ".log"));
                List<String> want = new ArrayList<>();
                for (int i = 1; i <= 25; i++) want.add(Integer.toString(i));
                assertEquals(want, log, t + ".log");
            }
            end = System.nanoTime() + 10_000_000_000L;
            while (ProcState.alive(pid) && System.nanoTime() < end) Thread.sleep(10);
            assertTrue(!ProcState.alive(pid), "make still runs after writing the verdict");
        } finally {
            for (int p : tree) ProcState.kill9(p);
        }
    }
}
