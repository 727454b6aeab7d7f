package org.jcriu.files;

import static org.jcriu.testing.Logs.tail;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.TaskKobjIdsEntry;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files shared by the tasks of a tree, dumped and restored with bin/jcriu: one file id for an
 * open file inherited across fork, one offset after restore, a pipe whose ends (and the bytes in
 * it) are split between parent and child, a socketpair split likewise, an fd table shared with
 * CLONE_FILES, and a shell pipeline that carries on counting after the restore.
 */
class TreeFilesIT {
    @TempDir Path tmp;

    private Path imgs() throws IOException {
        return Files.createDirectories(tmp.resolve("imgs"));
    }

    /** sharedfds.c's two tasks (DIR/pids "P C"), killed with the workload. */
    private static int[] pids(Workload w) throws IOException {
        String[] p = Files.readString(w.dir().resolve("pids")).trim().split(" ");
        int[] out = {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
        for (int pid : out) w.alsoKill(pid);
        return out;
    }

    private static void dump(Workload w, Path d, List<Integer> pids) {
        Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log");
        assertEquals(0, r.exit(), r.all());
        waitAllGone(pids);
    }

    private static void restore(Path d) throws IOException {
        Jcriu.Result r = Jcriu.run("restore", "-D", d, "-d", "-v4", "-o", "restore.log");
        assertEquals(0, r.exit(), r.all() + tail(d.resolve("restore.log")));
    }

    private static void waitAllGone(List<Integer> pids) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        for (int p : pids) {
            while (ProcState.alive(p)) {
                assertTrue(System.nanoTime() < deadline, "task " + p + " still there after the dump: " + ProcState.describe(p));
                sleep(5);
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Map<Integer, Integer> fdIds(Path d, int filesId) {
        Map<Integer, Integer> m = new HashMap<>();
        try (ImageReader r = new ImageDir(d).open(ImageType.FDINFO, filesId)) {
            FdinfoEntry e;
            while ((e = r.read(FdinfoEntry.parser())) != null) m.put(e.getFd(), e.getId());
        }
        return m;
    }

    private static TaskKobjIdsEntry ids(Path d, int pid) {
        try (ImageReader r = new ImageDir(d).open(ImageType.IDS, pid)) {
            return r.readOne(TaskKobjIdsEntry.parser());
        }
    }

    @Test
    void parentAndChildShareAnOffsetAPipeWithDataInFlightAndASocketpair() throws Exception {
        try (Workload w = Workload.c("sharedfds", tmp.resolve("w"))) {
            int[] pc = pids(w);
            Path d = imgs();
            dump(w, d, List.of(pc[0], pc[1]));
            int pf = ids(d, pc[0]).getFilesId(), cf = ids(d, pc[1]).getFilesId();
            assertNotEquals(pf, cf, "forked: two fd tables");
            Map<Integer, Integer> p = fdIds(d, pf), c = fdIds(d, cf);
            // fd 3: the data file opened before the fork; 8 and 9: pipe Q, inherited whole
            for (int fd : new int[] {3, 8, 9}) assertEquals(p.get(fd), c.get(fd), "fd " + fd + " is one open file in both tasks");
            restore(d);
            assertTrue(ProcState.alive(pc[0]) && ProcState.alive(pc[1]), "both tasks restored");
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void childWithTheParentsFdTableClonedWithCloneFiles() throws Exception {
        try (Workload w = Workload.c("sharedfds", tmp.resolve("w"), "clonefiles")) {
            int[] pc = pids(w);
            Path d = imgs();
            dump(w, d, List.of(pc[0], pc[1]));
            assertEquals(ids(d, pc[0]).getFilesId(), ids(d, pc[1]).getFilesId(), "one fd table: one files_id");
            assertNotEquals(ids(d, pc[0]).getVmId(), ids(d, pc[1]).getVmId());
            try (var l = Files.list(d)) {
                assertEquals(1, l.filter(f -> f.getFileName().toString().startsWith("fdinfo-")).count(), "one fdinfo image");
            }
            restore(d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * Two children sharing an fd table their parent left (it cloned them with CLONE_FILES, then
     * unshared): after the restore the two children have one table again, the parent its own
     * (siblingfds.c: a close and a dup2 in one child are seen by the other, not by the parent).
     */
    @Test
    void siblingsShareTheTableTheirParentLeft() throws Exception {
        try (Workload w = Workload.c("siblingfds", tmp.resolve("w"))) {
            String[] ps = Files.readString(w.dir().resolve("pids")).trim().split(" ");
            int p = Integer.parseInt(ps[0]), a = Integer.parseInt(ps[1]), b = Integer.parseInt(ps[2]);
            w.alsoKill(a);
            w.alsoKill(b);
            Path d = imgs();
            dump(w, d, List.of(p, a, b));
            assertEquals(ids(d, a).getFilesId(), ids(d, b).getFilesId(), "A and B: one files_id");
            assertNotEquals(ids(d, p).getFilesId(), ids(d, a).getFilesId(), "P has its own");
            restore(d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * {@code yes | head -c N | wc -c} under sh: three children joined by two pipes with bytes in
     * flight, dumped midway and restored; wc still counts exactly N bytes.
     */
    @Test
    void shellPipelineCountsEveryByteAcrossTheRestore() throws Exception {
        long n = 6_000_000_000L;
        Path dir = tmp.resolve("w");
        String script = "echo $$ > \"$0/ready\"; yes | head -c " + n + " | wc -c > \"$0/result\"";
        try (Workload w = Workload.start(dir, List.of("/bin/sh", "-c", script, dir.toString()), false)) {
            List<Integer> kids = children(w.pid(), 3);
            for (int k : kids) w.alsoKill(k);
            sleep(300);
            Path d = imgs();
            List<Integer> all = new ArrayList<>(kids);
            all.add(w.pid());
            dump(w, d, all);
            assertFalse(Files.exists(dir.resolve("result")) && !Files.readString(dir.resolve("result")).isBlank(),
                    "the pipeline ended before the dump: make it longer");
            restore(d);
            Path result = dir.resolve("result");
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!(Files.exists(result) && Files.readString(result).endsWith("\n")) && System.nanoTime() < deadline) sleep(50);
            assertEquals(Long.toString(n), Files.readString(result).strip(), "wc's count after the restore");
        }
    }

    /** The {@code n} children of {@code pid}, once it has that many. */
    private static List<Integer> children(int pid, int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            List<Integer> kids = new ArrayList<>();
            for (String s : Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).trim().split("\\s+")) {
                if (!s.isEmpty()) kids.add(Integer.parseInt(s));
            }
            if (kids.size() == n) return kids;
            if (System.nanoTime() > deadline) throw new IllegalStateException("children of " + pid + ": " + kids);
            Thread.sleep(5);
        }
    }
}
