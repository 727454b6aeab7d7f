package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.TaskKobjIdsEntry;
import org.jcriu.image.proto.TimensEntry;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Time namespaces: a tree living in a time namespace of its own (timens.c: CLOCK_MONOTONIC
 * +100000 s) is dumped with its clocks and restored in a new namespace whose clocks carry on from
 * the dumped values: across a gap of several seconds between dump and restore no clock of the
 * tree jumps by more than the dump and restore themselves took, and none goes backward. Tasks in
 * the host's time namespace stay there; a time namespace nested in the tree is refused.
 */
class TimeNsIT {
    @TempDir
    Path tmp;

    private static String timeNs(Object pid) throws Exception {
        return Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/time")).toString();
    }

    private static int child(int pid) throws Exception {
        String c = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).strip();
        return Integer.parseInt(c.split(" ")[0]);
    }

    private static long field(String verdict, String key) {
        String[] f = verdict.split(" ");
        for (int i = 0; i + 1 < f.length; i++) if (f[i].equals(key)) return Long.parseLong(f[i + 1]);
        throw new AssertionError("no " + key + " in " + verdict);
    }

    @Test
    void clocksCarryOnFromTheDumpedValues() throws Exception {
        String host = timeNs("self");
        try (Workload w = Workload.c("timens", tmp.resolve("w"))) {
            int pid = w.pid();
            int c = child(pid);
            w.alsoKill(c);
            assertNotEquals(host, timeNs(pid));
            assertEquals(timeNs(pid), timeNs(c));
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            long dumpMs = Jcriu.okMillis("dump", "-t", pid, "-D", d);
            ImageDir imgs = new ImageDir(d);
            try (ImageReader ids = imgs.open(ImageType.IDS, pid); ImageReader tn = imgs.open(ImageType.TIMENS, 9)) {
                assertEquals(9, ids.readOne(TaskKobjIdsEntry.parser()).getTimeNsId());
                TimensEntry e = tn.readOne(TimensEntry.parser());
                assertTrue(e.getMonotonic().getTvSec() > 100000 && e.getBoottime().getTvSec() > 200000, e.toString());
            }
            assertFalse(imgs.exists(ImageType.TIMENS, 0), "timens-0.img is written only for the host's namespace, as CRIU");
            w.waitGone(Duration.ofSeconds(10));
            // the gap the clocks must not show
            Thread.sleep(4000);
            long restoreMs = Jcriu.okMillis("restore", "-d", "-D", d);
            assertNotEquals(host, timeNs(pid));
            assertEquals(timeNs(pid), timeNs(c));
            assertEquals(host, timeNs("self"));
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
            System.out.printf("TimeNsIT: dump %d ms, restore %d ms, 4 s between: %s%n", dumpMs, restoreMs, v);
            // the clocks stood still from the dump's reading to the restore's offsets: every step
            // is within what the two commands took, never the 4 s in between
            long bound = dumpMs + restoreMs + 500;
            for (String k : new String[] {"mono-max-step-ms", "boot-max-step-ms"}) {
                assertTrue(field(v, k) < bound, k + " " + field(v, k) + " ms, dump+restore took " + (dumpMs + restoreMs) + " ms: " + v);
                String child = v.substring(v.indexOf(" child ") + 7);
                assertTrue(field(child, k) < bound, "child " + k + " " + field(child, k) + " ms: " + v);
            }
        }
    }

    @Test
    void hostTasksStayInTheHostTimeNamespace() throws Exception {
        String host = timeNs("self");
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(0, r.exit(), r.all());
            assertTrue(new ImageDir(d).exists(ImageType.TIMENS, 0));
            w.waitGone(Duration.ofSeconds(10));
            r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, r.exit(), r.all());
            assertEquals(host, timeNs(w.pid()));
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    @Test
    void aTimeNamespaceNestedInTheTreeIsRefused() throws Exception {
        try (Workload w = Workload.c("timens", tmp.resolve("w"), "nested")) {
            int pid = w.pid();
            int c = child(pid);
            w.alsoKill(c);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", pid, "-D", d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("Can't dump task " + c + ": it is in another time namespace"), r.stderr());
            assertTrue(w.alive());
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }
}
