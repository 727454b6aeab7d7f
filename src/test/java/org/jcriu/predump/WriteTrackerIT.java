package org.jcriu.predump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.jcriu.image.ImageType;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.StatsEntry;
import org.jcriu.mem.PageRun;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pre-dump with userfaultfd write tracking (this kernel has no soft-dirty bit): a 256 MiB workload
 * changes every 20th page (5%) after the pre-dump; the dump then reads and writes only those
 * pages (the log's count of pages read, the stats and the pages file say so; comparison would
 * read all 65,536), restore brings every word back (the workload checks them all). Between the two
 * runs a keeper holds the uffd; the task's fd table never shows it; after a dump that lets the
 * task run on (-R) no area of it is registered any more.
 */
class WriteTrackerIT {
    static final int MIB = 256, STRIDE = 20;
    static final long PAGES = (MIB << 20) / 4096;
    /** Round 1 rewrites pages 0, 20, 40, ...: ceil(65536 / 20). */
    static final long CHANGED = (PAGES + STRIDE - 1) / STRIDE;
    private static final Pattern READ = Pattern.compile("task (\\d+): (\\d+) pages changed or new, (\\d+) left to the parent images, (\\d+) pages read \\((\\S+)\\)");

    @TempDir
    Path tmp;

    @BeforeAll
    static void kernelCanTrack() {
        assumeTrue(WriteTracker.unsupported() == null, "no async userfaultfd write-protect here: " + WriteTracker.unsupported());
    }

    private Path dir(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name));
    }

    /** The areas of {@code pid} registered with a userfaultfd for write-protect ("uw" in smaps VmFlags). */
    static long uwAreas(int pid) throws IOException {
        try (Stream<String> l = Files.lines(Path.of("/proc/" + pid + "/smaps"))) {
            return l.filter(s -> s.startsWith("VmFlags:") && (" " + s.substring(8) + " ").contains(" uw ")).count();
        }
    }

    static List<String> fds(int pid) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return s.map(p -> {
                try {
                    return p.getFileName() + " -> " + Files.readSymbolicLink(p);
                } catch (IOException e) {
                    return p.getFileName() + " gone";
                }
            }).sorted().toList();
        }
    }

    static int keeperOf(Path images, int pid) throws IOException {
        Path rec = images.resolve(Keeper.PREFIX + pid);
        assertTrue(Files.exists(rec), "no keeper record " + rec);
        for (String line : Files.readAllLines(rec)) if (line.startsWith("keeper ")) return Integer.parseInt(line.split(" ")[1]);
        throw new AssertionError("no keeper in " + rec);
    }

    /** The dump log's own count for {@code pid}: {changed, in parent, read}, and the mode word. */
    static Matcher readLine(Path log, int pid) throws IOException {
        Matcher last = null;
        for (String line : Files.readAllLines(log)) {
            Matcher m = READ.matcher(line);
            if (m.find() && Integer.parseInt(m.group(1)) == pid) last = m;
        }
        assertTrue(last != null, "no page count for task " + pid + " in " + log + ":\n" + Files.readString(log));
        return last;
    }

    /** One pre-dump, 5% written, one dump: only the written pages are read, and every word comes back. */
    @Test
    void theDumpAfterAPreDumpReadsOnlyTheWrittenPages() throws Exception {
        try (Workload w = Workload.c("predump", tmp.resolve("w"), Integer.toString(MIB), Integer.toString(STRIDE))) {
            int pid = w.pid();
            Path d0 = dir("d0"), d1 = dir("d1");
            List<String> fdsBefore = fds(pid);
            assertEquals(0, uwAreas(pid), "no area registered before the pre-dump");

            Jcriu.Result r = Jcriu.run("pre-dump", "-t", pid, "-D", d0, "-v4", "-o", "pre-dump.log");
            assertEquals(0, r.exit(), r.all());
            PreDumpIT.assertRunningUntraced(pid);
            assertTrue(Files.readString(d0.resolve("pre-dump.log")).contains("userfaultfd write-protect"),
                    Files.readString(d0.resolve("pre-dump.log")));
            assertEquals(fdsBefore, fds(pid), "the uffd is not left in the task");
            assertTrue(uwAreas(pid) > 0, "the task's areas are registered for write-protect");
            int keeper = keeperOf(d0, pid);
            w.alsoKill(keeper);
            assertEquals("anon_inode:[userfaultfd]", Files.readSymbolicLink(Path.of("/proc/" + keeper + "/fd/0")).toString());

            PreDumpIT.round(w, 1);
            r = Jcriu.run("dump", "-t", pid, "-D", d1, "--prev-images-dir", "../d0", "--track-mem", "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));

            Matcher m = readLine(d1.resolve("dump.log"), pid);
            long changed = Long.parseLong(m.group(2)), inParent = Long.parseLong(m.group(3)), read = Long.parseLong(m.group(4));
            assertEquals("uffd-wp", m.group(5), m.group());
            // the written pages plus a few of the stack, libc's data and the generation table
            assertTrue(changed >= CHANGED && changed <= CHANGED + 128, m.group());
            assertEquals(changed, read, "only the written pages are read: " + m.group());
            assertTrue(inParent >= PAGES - CHANGED, m.group());

            StatsEntry st = PreDumpIT.one(d1, ImageType.STATS, StatsEntry.parser(), "dump");
            assertEquals(changed, st.getDump().getPagesWritten(), st.toString());
            assertEquals(inParent, st.getDump().getPagesSkippedParent(), st.toString());
            assertTrue(st.getDump().getPagesScanned() >= PAGES, st.toString());
            List<PagemapEntry> pm = PreDumpIT.pagemap(d1, pid);
            assertEquals(changed, PreDumpIT.pages(pm, PageRun.PE_PRESENT));
            assertEquals(inParent, PreDumpIT.pages(pm, PageRun.PE_PARENT));
            assertEquals(changed * 4096, Files.size(d1.resolve("pages-1.img")));
            assertFalse(Files.exists(d0.resolve(Keeper.PREFIX + pid)), "the dump took the uffd from the keeper");
            waitGone(keeper);

            r = Jcriu.run("restore", "-d", "-D", d1, "-v4", "-o", "restore.log");
            assertEquals(0, r.exit(), r.all());
            PreDumpIT.assertRunningUntraced(pid);
            assertEquals(0, uwAreas(pid), "the restored task has no registration");
            PreDumpIT.round(w, 2);
            assertEquals("PASS rounds=2", w.terminateAndVerdict());
        }
    }

    /**
     * Two pre-dumps (the second in read mode takes the tracker over and protects again), then a
     * dump with -R: the task runs on with no area registered and its fds as before, and its
     * memory checks out.
     */
    @Test
    void aChainOfPreDumpsThenADumpThatLeavesTheTaskRunningLeavesNoRegistration() throws Exception {
        try (Workload w = Workload.c("predump", tmp.resolve("w"), "64", Integer.toString(STRIDE))) {
            int pid = w.pid();
            long pages = (64L << 20) / 4096, changed = (pages + STRIDE - 1) / STRIDE;
            Path d0 = dir("d0"), d1 = dir("d1"), d2 = dir("d2");
            List<String> fdsBefore = fds(pid);
            Jcriu.Result r = Jcriu.run("pre-dump", "-t", pid, "-D", d0);
            assertEquals(0, r.exit(), r.all());
            w.alsoKill(keeperOf(d0, pid));

            PreDumpIT.round(w, 1);
            r = Jcriu.run("pre-dump", "-t", pid, "-D", d1, "--prev-images-dir", "../d0", "--track-mem", "--pre-dump-mode", "read",
                    "-v4", "-o", "pre-dump.log");
            assertEquals(0, r.exit(), r.all());
            Matcher m = readLine(d1.resolve("pre-dump.log"), pid);
            assertEquals("uffd-wp", m.group(5), m.group());
            assertEquals(m.group(2), m.group(4), "the second pre-dump reads only the written pages: " + m.group());
            assertFalse(Files.exists(d0.resolve(Keeper.PREFIX + pid)), "the second pre-dump took the tracker over");
            int keeper = keeperOf(d1, pid);
            w.alsoKill(keeper);

            PreDumpIT.round(w, 2);
            r = Jcriu.run("dump", "-t", pid, "-D", d2, "--prev-images-dir", "../d1", "--track-mem", "-R", "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            PreDumpIT.assertRunningUntraced(pid);
            m = readLine(d2.resolve("dump.log"), pid);
            assertEquals("uffd-wp", m.group(5), m.group());
            long written = Long.parseLong(m.group(2));
            assertTrue(written >= changed && written <= changed + 128, "round 2's pages only: " + m.group());
            assertEquals(m.group(2), m.group(4), m.group());
            assertEquals(0, uwAreas(pid), "no area registered after the dump");
            assertEquals(fdsBefore, fds(pid));
            waitGone(keeper);

            // the images are a chain a restore reads: the task is still running, so restore after it is gone
            PreDumpIT.round(w, 3);
            assertEquals("PASS rounds=3", w.terminateAndVerdict());
        }
    }

    /** A dump whose parent's keeper was killed compares pages instead, and is still right. */
    @Test
    void aKilledKeeperMeansComparison() throws Exception {
        try (Workload w = Workload.c("predump", tmp.resolve("w"), "32", Integer.toString(STRIDE))) {
            int pid = w.pid();
            Path d0 = dir("d0"), d1 = dir("d1");
            Jcriu.Result r = Jcriu.run("pre-dump", "-t", pid, "-D", d0);
            assertEquals(0, r.exit(), r.all());
            int keeper = keeperOf(d0, pid);
            ProcState.kill9(keeper);
            waitGone(keeper);
            assertEquals(0, uwAreas(pid), "the registration ends with its last holder");

            PreDumpIT.round(w, 1);
            r = Jcriu.run("dump", "-t", pid, "-D", d1, "--prev-images-dir", "../d0", "--track-mem", "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            Matcher m = readLine(d1.resolve("dump.log"), pid);
            assertEquals("compare", m.group(5), m.group());
            r = Jcriu.run("restore", "-d", "-D", d1);
            assertEquals(0, r.exit(), r.all());
            PreDumpIT.round(w, 2);
            assertEquals("PASS rounds=2", w.terminateAndVerdict());
        }
    }

    static void waitGone(int pid) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < end) {
            if (!ProcState.alive(pid) || ProcState.state(pid) == 'Z') return;
            Thread.sleep(10);
        }
        throw new AssertionError("keeper " + pid + " still there: " + ProcState.describe(pid));
    }
}
