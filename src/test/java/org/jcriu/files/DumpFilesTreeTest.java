package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.opts.Options;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One DumpFiles shared by the tasks of a tree (no ptrace needed: /proc and kcmp only): a file
 * inherited across fork has one id in every task, two opens of one file stay two ids, each fd
 * table gets its own files_id and fdinfo image, files.img is written once.
 */
class DumpFilesTreeTest {
    @TempDir Path tmp;

    @Test
    void filesInheritedAcrossForkShareOneIdInEveryTask() throws Exception {
        Path w = tmp.resolve("w");
        Path data = Files.writeString(tmp.resolve("data"), "x");
        // fds 3 and 4: two opens of one file; both children inherit both
        String script = "exec 3<\"$1\" 4<\"$1\"; sleep 1000 & sleep 1000 & sleep 0.2; echo $$ > \"$0/ready\"; wait";
        try (Workload sh = Workload.start(w, List.of("/bin/sh", "-c", script, w.toString(), data.toString()), false)) {
            List<Integer> kids = children(sh.pid(), 2);
            for (int k : kids) sh.alsoKill(k);
            DumpFiles files = new DumpFiles(new Options());
            int root = files.dumpTask(sh.pid());
            int k1 = files.dumpTask(kids.get(0));
            int k2 = files.dumpTask(kids.get(1));
            assertEquals(DumpFiles.FIRST_FILES_ID, root);
            assertEquals(List.of(root, root + 1, root + 2), List.of(root, k1, k2), "one files_id per fd table");
            assertEquals(root, files.dumpTask(sh.pid()), "a task asked twice keeps its files_id");

            Path d = Files.createDirectories(tmp.resolve("imgs"));
            files.write(new ImageDir(d));
            Map<Integer, Integer> rootFds = fds(d, root), k1Fds = fds(d, k1), k2Fds = fds(d, k2);
            assertNotEquals(rootFds.get(3), rootFds.get(4), "two opens of one file are two open file descriptions");
            for (int fd : new int[] {3, 4}) {
                assertEquals(rootFds.get(fd), k1Fds.get(fd), "fd " + fd + " inherited by the first child");
                assertEquals(rootFds.get(fd), k2Fds.get(fd), "fd " + fd + " inherited by the second child");
            }
            List<Integer> ids = new ArrayList<>();
            try (ImageReader r = new ImageDir(d).open(ImageType.FILES)) {
                FileEntry e;
                while ((e = r.read(FileEntry.parser())) != null) ids.add(e.getId());
            }
            assertEquals(ids.stream().distinct().count(), ids.size(), "each file once in files.img: " + ids);
            assertTrue(ids.containsAll(rootFds.values()) && ids.containsAll(k1Fds.values()) && ids.containsAll(k2Fds.values()));
        }
    }

    private static Map<Integer, Integer> fds(Path d, int filesId) {
        Map<Integer, Integer> m = new HashMap<>();
        try (ImageReader r = new ImageDir(d).open(ImageType.FDINFO, filesId)) {
            FdinfoEntry e;
            while ((e = r.read(FdinfoEntry.parser())) != null) m.put(e.getFd(), e.getId());
        }
        return m;
    }

    /** The {@code n} children of {@code pid}, once they run sleep. */
    static List<Integer> children(int pid, int n) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            List<Integer> kids = new ArrayList<>();
            for (String s : Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).trim().split("\\s+")) {
                if (!s.isEmpty()) kids.add(Integer.parseInt(s));
            }
            boolean ready = kids.size() == n && kids.stream().allMatch(k -> "sleep".equals(ProcState.field(k, "Name")));
            if (ready) return kids;
            if (System.nanoTime() > deadline) throw new IllegalStateException("children of " + pid + ": " + kids);
            Thread.sleep(5);
        }
    }
}
