package org.jcriu.predump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.InventoryEntry;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.StatsEntry;
import org.jcriu.mem.PageRun;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pre-dump, pre-dump, dump, restore of a 64 MiB workload that changes 1/16 of its pages
 * (4 MiB) between iterations and checks every word at the end: each incremental image holds
 * only about the changed pages, the rest is PE_PARENT, and the restore reads through the chain.
 * The failures (no parent, a damaged parent, another task's parent, a broken chain at restore)
 * each give one error naming the image, exit 1, and leave the task running or nothing behind.
 */
class PreDumpIT {
    static final int MIB = 64;
    /** One round changes every 16th page of the 64 MiB. */
    static final long CHANGED = (MIB << 20) / 16;

    @TempDir
    Path tmp;

    static void round(Workload w, int n) {
        ProcState.signal(w.pid(), "USR1");
        Path f = w.dir().resolve("changed");
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        try {
            while (System.nanoTime() < end) {
                if (Files.exists(f) && Files.readString(f).strip().equals(Integer.toString(n))) return;
                Thread.sleep(5);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new AssertionError("round " + n + " never done by " + w.pid() + " " + ProcState.describe(w.pid()));
    }

    static void assertRunningUntraced(int pid) {
        char s = ProcState.state(pid);
        assertTrue(s == 'S' || s == 'R', "task " + pid + " should run: " + ProcState.describe(pid));
        assertEquals(0, ProcState.tracerPid(pid), "task " + pid + " still traced");
    }

    static long size(Path p) throws IOException {
        return Files.size(p);
    }

    static List<PagemapEntry> pagemap(Path d, int pid) {
        List<PagemapEntry> out = new ArrayList<>();
        try (ImageReader r = new ImageDir(d).open(ImageType.PAGEMAP, pid)) {
            r.readOne(PagemapHead.parser());
            PagemapEntry e;
            while ((e = r.read(PagemapEntry.parser())) != null) out.add(e);
        }
        return out;
    }

    static long pages(List<PagemapEntry> pm, int flag) {
        return pm.stream().filter(e -> (e.getFlags() & flag) != 0).mapToLong(PagemapEntry::getNrPages).sum();
    }

    static <T> T one(Path d, ImageType t, com.google.protobuf.Parser<T> p, Object... args) {
        try (ImageReader r = new ImageDir(d).open(t, args)) {
            return r.readOne(p);
        }
    }

    private Path dir(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name));
    }

    /** The changed pages plus a few of the stack, the generation table and libc's data. */
    static void assertAboutChanged(Path pages, String what) throws IOException {
        long s = size(pages);
        assertTrue(s >= CHANGED && s <= CHANGED + (512 << 10), what + ": " + s + " bytes for " + CHANGED + " changed");
    }

    @Test
    void preDumpTwiceThenDumpAndRestoreThroughTheChain() throws Exception {
        try (Workload w = Workload.c("predump", tmp.resolve("w"), Integer.toString(MIB))) {
            int pid = w.pid();
            Path d0 = dir("d0"), d1 = dir("d1"), d2 = dir("d2");

            Jcriu.Result r = Jcriu.run("pre-dump", "-t", pid, "-D", d0, "-v4", "-o", "pre-dump.log");
            assertEquals(0, r.exit(), r.all());
            assertRunningUntraced(pid);
            assertTrue(size(d0.resolve("pages-1.img")) >= (MIB << 20), "the first pre-dump has every page");
            assertFalse(Files.exists(d0.resolve("core-" + pid + ".img")), "a pre-dump writes memory only");
            assertFalse(Files.exists(d0.resolve("pstree.img")));
            InventoryEntry inv = one(d0, ImageType.INVENTORY, InventoryEntry.parser());
            assertTrue(inv.hasDumpUptime(), "dump_uptime for the next dump's pid-reuse check");
            assertEquals(Incremental.PRE_DUMP_SPLICE, inv.getPreDumpMode());
            StatsEntry st = one(d0, ImageType.STATS, StatsEntry.parser(), "dump");
            assertTrue(st.getDump().getPagesWritten() >= (MIB << 20) / 4096, st.toString());

            round(w, 1);
            r = Jcriu.run("pre-dump", "-t", pid, "-D", d1, "--prev-images-dir", "../d0", "--track-mem", "--pre-dump-mode", "read");
            assertEquals(0, r.exit(), r.all());
            assertRunningUntraced(pid);
            assertEquals(Path.of("../d0"), Files.readSymbolicLink(d1.resolve("parent")));
            assertAboutChanged(d1.resolve("pages-1.img"), "second pre-dump");
            assertEquals(Incremental.PRE_DUMP_READ, one(d1, ImageType.INVENTORY, InventoryEntry.parser()).getPreDumpMode());

            round(w, 2);
            r = Jcriu.run("dump", "-t", pid, "-D", d2, "--prev-images-dir", "../d1", "--track-mem", "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            assertAboutChanged(d2.resolve("pages-1.img"), "final dump");
            List<PagemapEntry> pm = pagemap(d2, pid);
            long inParent = pages(pm, PageRun.PE_PARENT), present = pages(pm, PageRun.PE_PRESENT);
            assertTrue(inParent >= (MIB << 20) / 4096 - CHANGED / 4096, "PE_PARENT pages: " + inParent);
            assertEquals(size(d2.resolve("pages-1.img")), present * 4096, "present pages are the pages file");
            StatsEntry ds = one(d2, ImageType.STATS, StatsEntry.parser(), "dump");
            assertEquals(inParent, ds.getDump().getPagesSkippedParent());
            assertEquals(present, ds.getDump().getPagesWritten());

            r = Jcriu.run("restore", "-d", "-D", d2, "-v4", "-o", "restore.log");
            assertEquals(0, r.exit(), r.all());
            assertRunningUntraced(pid);
            round(w, 3);
            assertEquals("PASS rounds=3", w.terminateAndVerdict());
        }
    }

    @Test
    void upstreamCritDecodesTheParentFlags() throws Exception {
        Path crit = Path.of("/usr/bin/crit");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(crit), "no upstream crit here");
        try (Workload w = Workload.c("predump", tmp.resolve("w"), "4")) {
            Path d0 = dir("d0"), d1 = dir("d1");
            assertEquals(0, Jcriu.run("pre-dump", "-t", w.pid(), "-D", d0).exit());
            round(w, 1);
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d1, "--prev-images-dir", "../d0", "--track-mem", "-R");
            assertEquals(0, r.exit(), r.all());
            assertRunningUntraced(w.pid());
            String top = run(crit.toString(), "decode", "--pretty", "-i", d1.resolve("pagemap-" + w.pid() + ".img").toString());
            assertTrue(top.contains("\"PE_PARENT\""), top);
            assertTrue(top.contains("PE_PRESENT"), top);
            String parent = run(crit.toString(), "decode", "--pretty", "-i", d0.resolve("pagemap-" + w.pid() + ".img").toString());
            assertFalse(parent.contains("PE_PARENT"), parent);
            String inv = run(crit.toString(), "decode", "--pretty", "-i", d0.resolve("inventory.img").toString());
            assertTrue(inv.contains("\"dump_uptime\"") && inv.contains("\"pre_dump_mode\": 1"), inv);
        }
    }

    /** Every task of a tree gets its pagemap; the dump after it finds each task's parent pages; the tree comes back. */
    @Test
    void aTreeIsPreDumpedTaskByTask() throws Exception {
        Path wd = tmp.resolve("w");
        try (Workload w = Workload.start(wd, List.of("/bin/sh", "-c", "sleep 1000 & sleep 1000 & echo $$ > \"$0/ready\"; wait",
                wd.toString()), false)) {
            List<Integer> kids = children(w.pid());
            assertEquals(2, kids.size(), kids.toString());
            kids.forEach(w::alsoKill);
            Path d0 = dir("d0"), d1 = dir("d1");
            Jcriu.Result r = Jcriu.run("pre-dump", "-t", w.pid(), "-D", d0);
            assertEquals(0, r.exit(), r.all());
            for (int p : List.of(w.pid(), kids.get(0), kids.get(1))) {
                assertTrue(Files.exists(d0.resolve("pagemap-" + p + ".img")), "pagemap of " + p);
                assertRunningUntraced(p);
            }
            r = Jcriu.run("dump", "-t", w.pid(), "-D", d1, "--prev-images-dir", "../d0", "--track-mem");
            assertEquals(0, r.exit(), r.all());
            for (int p : kids) assertTrue(pages(pagemap(d1, p), PageRun.PE_PARENT) > 0, "task " + p + " uses its parent pages");
            w.waitGone(Duration.ofSeconds(10));
            r = Jcriu.run("restore", "-d", "-D", d1);
            assertEquals(0, r.exit(), r.all());
            assertEquals(kids, children(w.pid()));
        }
    }

    /**
     * Memory kinds (PROT_NONE and read-only data, private file pages, growsdown), shared anonymous
     * memory (not pre-dumped: written whole) and 19 threads, each pre-dumped, dumped against it
     * and restored: their own checks pass.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"memkinds", "shmanon", "threads"})
    void otherWorkloadsComeBackThroughAChain(String name) throws Exception {
        try (Workload w = Workload.c(name, tmp.resolve("w"))) {
            Path d0 = dir("d0"), d1 = dir("d1");
            Jcriu.Result r = Jcriu.run("pre-dump", "-t", w.pid(), "-D", d0);
            assertEquals(0, r.exit(), r.all());
            r = Jcriu.run("dump", "-t", w.pid(), "-D", d1, "--prev-images-dir", "../d0", "--track-mem");
            assertEquals(0, r.exit(), r.all());
            assertTrue(pages(pagemap(d1, w.pid()), PageRun.PE_PARENT) > 0, "some pages left to the parent");
            w.waitGone(Duration.ofSeconds(10));
            r = Jcriu.run("restore", "-d", "-D", d1);
            assertEquals(0, r.exit(), r.all());
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    static List<Integer> children(int pid) throws IOException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<Integer> out = List.of();
        while (System.nanoTime() < end) {
            Path f = Path.of("/proc", Integer.toString(pid), "task", Integer.toString(pid), "children");
            out = Files.exists(f) ? java.util.Arrays.stream(Files.readString(f).trim().split("\\s+")).filter(x -> !x.isEmpty())
                    .map(Integer::valueOf).sorted().toList() : List.of();
            if (out.size() >= 2) break;
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return out;
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(Path.of("/dev/null").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** One line on stderr, naming {@code what}. */
    static void assertOneError(Jcriu.Result r, String what) {
        assertEquals(1, r.exit(), r.all());
        String err = r.stderr().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.contains(what), "error should name " + what + ": " + err);
    }

    @Test
    void aMissingParentDirFailsTheDumpAndTheTaskRunsOn() throws Exception {
        try (Workload w = Workload.c("predump", tmp.resolve("w"), "4")) {
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", dir("d1"), "--prev-images-dir", "../nope", "--track-mem");
            assertOneError(r, "../nope");
            assertRunningUntraced(w.pid());
            r = Jcriu.run("pre-dump", "-t", w.pid(), "-D", dir("d2"), "--prev-images-dir", "../nope");
            assertOneError(r, "../nope");
            assertRunningUntraced(w.pid());
            round(w, 1);
            assertEquals("PASS rounds=1", w.terminateAndVerdict());
        }
    }

    @Test
    void aDamagedParentPagemapFailsTheDumpAndTheTaskRunsOn() throws Exception {
        try (Workload w = Workload.c("predump", tmp.resolve("w"), "4")) {
            Path d0 = dir("d0");
            assertEquals(0, Jcriu.run("pre-dump", "-t", w.pid(), "-D", d0).exit());
            Path pm = d0.resolve("pagemap-" + w.pid() + ".img");
            byte[] b = Files.readAllBytes(pm);
            Files.write(pm, java.util.Arrays.copyOf(b, b.length - 3)); // the last entry cut short
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", dir("d1"), "--prev-images-dir", "../d0", "--track-mem");
            assertOneError(r, "pagemap-" + w.pid() + ".img");
            assertRunningUntraced(w.pid());
            round(w, 1);
            assertEquals("PASS rounds=1", w.terminateAndVerdict());
        }
    }

    @Test
    void theParentOfAnotherTaskFailsTheDump() throws Exception {
        try (Workload a = Workload.c("predump", tmp.resolve("a"), "4"); Workload b = Workload.c("predump", tmp.resolve("b"), "4")) {
            Path d0 = dir("d0");
            assertEquals(0, Jcriu.run("pre-dump", "-t", a.pid(), "-D", d0).exit());
            Jcriu.Result r = Jcriu.run("dump", "-t", b.pid(), "-D", dir("d1"), "--prev-images-dir", "../d0", "--track-mem");
            assertOneError(r, "pagemap-" + b.pid() + ".img");
            assertRunningUntraced(b.pid());
            assertRunningUntraced(a.pid());
            assertEquals("PASS rounds=0", b.terminateAndVerdict());
        }
    }

    @Test
    void aBrokenChainFailsTheRestoreBeforeAnyTaskExists() throws Exception {
        try (Workload w = Workload.c("predump", tmp.resolve("w"), "4")) {
            int pid = w.pid();
            Path d0 = dir("d0"), d1 = dir("d1");
            assertEquals(0, Jcriu.run("pre-dump", "-t", pid, "-D", d0).exit());
            round(w, 1);
            Jcriu.Result r = Jcriu.run("dump", "-t", pid, "-D", d1, "--prev-images-dir", "../d0", "--track-mem");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            Path parentPages = d0.resolve("pages-1.img");
            Files.write(parentPages, java.util.Arrays.copyOf(Files.readAllBytes(parentPages), 8192));
            r = Jcriu.run("restore", "-d", "-D", d1);
            assertOneError(r, "pages-1.img");
            assertFalse(Files.exists(Path.of("/proc/" + pid)), "nothing restored");
            Files.delete(parentPages);
            r = Jcriu.run("restore", "-d", "-D", d1);
            assertOneError(r, "pages-1.img");
            try (Stream<Path> s = Files.list(d0)) {
                for (Path p : s.toList()) Files.delete(p);
            }
            Files.delete(d0);
            r = Jcriu.run("restore", "-d", "-D", d1);
            assertOneError(r, "pagemap-" + pid + ".img");
            assertFalse(Files.exists(Path.of("/proc/" + pid)), "nothing restored");
        }
    }
}
