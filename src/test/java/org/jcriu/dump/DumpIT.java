package org.jcriu.dump;

import static org.jcriu.testing.ProcState.assertRunningUntraced;
import static org.jcriu.testing.Images.all;
import static org.jcriu.testing.Images.one;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.InventoryEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Terminal;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/jcriu dump against real processes: images decode, the task's fate, refusals leave it untouched. */
class DumpIT {
    @TempDir Path tmp;

    private Path imgs() throws IOException {
        return Files.createDirectories(tmp.resolve("imgs"));
    }

    @Test
    void sleepWithLeaveRunningWritesDecodableImagesAndKeepsRunning() throws Exception {
        try (Workload w = Workload.sleep(tmp.resolve("w"))) {
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R", "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            assertRunningUntraced(w.pid());
            ImageDir dir = new ImageDir(d);
            int pid = w.pid();

            InventoryEntry inv = one(dir, ImageType.INVENTORY, InventoryEntry.parser());
            assertEquals(2, inv.getImgVersion());
            assertTrue(inv.getFdinfoPerId());
            PstreeEntry ps = one(dir, ImageType.PSTREE, PstreeEntry.parser());
            assertEquals(pid, ps.getPid());
            assertEquals(List.of(pid), ps.getThreadsList());
            CoreEntry core = one(dir, ImageType.CORE, CoreEntry.parser(), pid);
            assertEquals("sleep", core.getTc().getComm());
            assertEquals(62, core.getTc().getSigactionsCount(), "all signals but SIGKILL and SIGSTOP");
            assertEquals(16, core.getTc().getRlimits().getRlimitsCount());
            assertEquals(3, core.getThreadInfo().getTlsCount());
            assertEquals(0x37f, core.getThreadInfo().getFpregs().getCwd(), "x87 control word of a C program");
            assertTrue(core.getThreadInfo().getFpregs().getXsave().getYmmhSpaceCount() == 64);

            MmEntry mm = one(dir, ImageType.MM, MmEntry.parser(), pid);
            List<VmaEntry> vmas = mm.getVmasList();
            assertTrue(vmas.stream().anyMatch(v -> (v.getStatus() & VmaPlan.VMA_AREA_VDSO) != 0));
            assertTrue(vmas.stream().anyMatch(v -> (v.getStatus() & VmaPlan.VMA_AREA_HEAP) != 0));
            assertEquals(1, vmas.stream().filter(v -> (v.getStatus() & VmaPlan.VMA_AREA_VVAR) != 0).count(), "one vvar area");
            assertTrue(mm.getMmSavedAuxvCount() > 10);
            assertTrue(mm.getMmBrk() >= mm.getMmStartBrk());

            List<FileEntry> files = all(dir, ImageType.FILES, FileEntry.parser());
            FileEntry exe = files.stream().filter(f -> f.getId() == mm.getExeFileId()).findFirst().orElseThrow();
            assertEquals("/usr/bin/sleep", exe.getReg().getName());
            assertEquals(readelfBuildId("/usr/bin/sleep"), hex(exe.getReg().getBuildIdList()), "build-id as CRIU records it");
            List<FdinfoEntry> fds = all(dir, ImageType.FDINFO, FdinfoEntry.parser(), 2);
            assertEquals(List.of(0, 1, 2), fds.stream().map(FdinfoEntry::getFd).toList());
            FileEntry out = files.stream().filter(f -> f.getId() == fds.get(1).getId()).findFirst().orElseThrow();
            assertEquals(w.dir().resolve("out").toString(), out.getReg().getName());
            assertEquals(org.jcriu.sys.Linux.O_WRONLY, out.getReg().getFlags() & 3);
        }
    }

    @Test
    void pagesMatchTheMemoryTheyCameFrom() throws Exception {
        try (Workload w = Workload.c("bigmem", tmp.resolve("w"), "64")) {
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R");
            assertEquals(0, r.exit(), r.all());
            ImageDir dir = new ImageDir(d);
            List<PagemapEntry> pm = new ArrayList<>();
            try (ImageReader rd = dir.open(ImageType.PAGEMAP, w.pid())) {
                assertEquals(1, rd.read(PagemapHead.parser()).getPagesId());
                PagemapEntry e;
                while ((e = rd.read(PagemapEntry.parser())) != null) pm.add(e);
            }
            long total = pm.stream().mapToLong(PagemapEntry::getNrPages).sum();
            Path pages = d.resolve("pages-1.img");
            assertEquals(total * 4096, Files.size(pages));
            var stats = one(dir, ImageType.STATS, org.jcriu.image.proto.StatsEntry.parser(), "dump").getDump();
            assertEquals(total, stats.getPagesWritten());
            assertTrue(stats.getPagesScanned() >= total && stats.getPagesScanned() < total + 2000, "scanned " + stats.getPagesScanned());
            MmEntry mm = one(dir, ImageType.MM, MmEntry.parser(), w.pid());
            VmaEntry big = mm.getVmasList().stream().filter(v -> v.getEnd() - v.getStart() == 64L << 20).findFirst().orElseThrow();
            long fileOff = 0;
            boolean checked = false;
            try (FileChannel ch = FileChannel.open(pages)) {
                for (PagemapEntry e : pm) {
                    if (e.getVaddr() >= big.getStart() && e.getVaddr() < big.getEnd()) {
                        assertEquals(PageScan.PE_LAZY | PageScan.PE_PRESENT, e.getFlags());
                        for (long p = 0; p < e.getNrPages(); p += 97) {
                            ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
                            ch.read(b, fileOff + p * 4096);
                            long word = (e.getVaddr() + p * 4096 - big.getStart()) / 8;
                            assertEquals(word * 0x9E3779B97F4A7C15L, b.getLong(0), "page " + p + " of run at " + Long.toHexString(e.getVaddr()));
                            assertEquals((word + 511) * 0x9E3779B97F4A7C15L, b.getLong(4088));
                            checked = true;
                        }
                    }
                    fileOff += e.getNrPages() * 4096;
                }
            }
            assertTrue(checked, "the 64 MiB area was dumped");
            assertRunningUntraced(w.pid());
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void pagemapSavesWhatCriuSaves() throws Exception {
        try (Workload w = Workload.c("memkinds", tmp.resolve("w"))) {
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R");
            assertEquals(0, r.exit(), r.all());
            java.util.Map<String, Long> at = new java.util.HashMap<>();
            for (String l : Files.readAllLines(w.dir().resolve("addrs"))) at.put(l.split(" ")[0], Long.parseUnsignedLong(l.split(" ")[1], 16));
            List<PagemapEntry> pm = new ArrayList<>();
            try (ImageReader rd = new ImageDir(d).open(ImageType.PAGEMAP, w.pid())) {
                rd.read(PagemapHead.parser());
                PagemapEntry e;
                while ((e = rd.read(PagemapEntry.parser())) != null) pm.add(e);
            }
            assertEquals(8, saved(pm, at.get("none"), 8, PageScan.PE_LAZY | PageScan.PE_PRESENT), "PROT_NONE data is saved");
            assertEquals(0, saved(pm, at.get("zero"), 16, -1), "pages only read map the zero page: not saved");
            assertEquals(1, saved(pm, at.get("private") + 4096, 1, PageScan.PE_PRESENT), "the copied-on-write page");
            assertEquals(1, saved(pm, at.get("private"), 4, -1), "only that page of the private file mapping");
            assertEquals(0, saved(pm, at.get("shared"), 4, -1), "shared file pages stay in the file");
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** Pages of [start, start + n pages) in pagemap entries (with {@code flags}, unless -1). */
    private static long saved(List<PagemapEntry> pm, long start, int n, int flags) {
        long end = start + n * 4096L, count = 0;
        for (PagemapEntry e : pm) {
            long s = Math.max(start, e.getVaddr()), t = Math.min(end, e.getVaddr() + e.getNrPages() * 4096);
            if (s < t && (flags == -1 || e.getFlags() == flags)) count += (t - s) / 4096;
        }
        return count;
    }

    @Test
    void defaultDumpKillsTheTask() throws Exception {
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(0, r.exit(), r.all());
            waitGone(w.pid());
            assertFalse(w.alive(), "criu kills a dumped task unless -R or -s");
            assertTrue(Files.size(d.resolve("pages-1.img")) >= 8L << 20, "8 MiB heap saved");
        }
    }

    @Test
    void leaveStoppedLeavesItStoppedAndUntraced() throws Exception {
        try (Workload w = Workload.sleep(tmp.resolve("w"))) {
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", imgs(), "-s");
            assertEquals(0, r.exit(), r.all());
            assertEquals('T', ProcState.state(w.pid()), ProcState.describe(w.pid()));
            assertEquals(0, ProcState.tracerPid(w.pid()));
        }
    }

    @Test
    void workloadsCarryOnAfterLeaveRunning() throws Exception {
        try (Workload c = Workload.c("counter", tmp.resolve("c"));
             Workload b = Workload.bash(tmp.resolve("b"));
             Workload p = Workload.python(tmp.resolve("p"))) {
            for (Workload w : List.of(c, b, p)) {
                Path d = Files.createDirectories(tmp.resolve("imgs-" + w.pid()));
                Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R");
                assertEquals(0, r.exit(), w.dir() + ": " + r.all());
                assertRunningUntraced(w.pid());
            }
            Thread.sleep(100);
            for (Workload w : List.of(c, b, p)) assertTrue(w.terminateAndVerdict().startsWith("PASS"), w.dir() + ": " + w.verdict(java.time.Duration.ZERO));
        }
    }

    @Test
    void failureAfterFreezingLeavesTheTaskAsItWas() throws Exception {
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            Path d = imgs();
            // core-PID.img is written after memory was read and syscalls were injected: a
            // directory in its place makes the dump fail as late as it can.
            Files.createDirectories(d.resolve("core-" + w.pid() + ".img"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("core-" + w.pid() + ".img"), r.stderr());
            assertRunningUntraced(w.pid());
            Path log = w.dir().resolve("counter.log");
            long size = Files.size(log);
            Thread.sleep(100);
            assertTrue(Files.size(log) > size, "counter no longer counts");
            assertTrue(w.terminateAndVerdict().startsWith("PASS"));
        }
    }

    @Test
    void unlinkedCwdIsRefused() throws Exception {
        Path gone = Files.createDirectories(tmp.resolve("gone"));
        Path wd = tmp.resolve("w");
        Files.createDirectories(wd);
        try (Workload w = Workload.start(wd, List.of("/bin/sh", "-c", "cd " + gone + " && echo $$ > " + wd + "/ready && exec sleep 1000"), false)) {
            w.awaitExec("sleep", 'S');
            Files.delete(gone);
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", imgs());
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("its cwd " + gone + " (deleted) was unlinked"), r.stderr());
            assertRunningUntraced(w.pid());
        }
    }

    @Test
    void taskThatCannotStopFailsAfterTimeoutAndRunsOn() throws Exception {
        Path freezer = Path.of("/sys/fs/cgroup/freezer");
        assumeTrue(Files.exists(freezer.resolve("tasks")), "no cgroup v1 freezer here");
        Path cg = freezer.resolve("jcriu-dumpit-" + ProcessHandle.current().pid());
        try (Workload w = Workload.sleep(tmp.resolve("w"))) {
            Files.createDirectories(cg);
            try {
                // A frozen task cannot reach the ptrace stop PTRACE_INTERRUPT asks for.
                Files.writeString(cg.resolve("tasks"), Integer.toString(w.pid()));
                Files.writeString(cg.resolve("freezer.state"), "FROZEN");
                Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", imgs(), "--timeout", "1");
                assertEquals(1, r.exit(), r.all());
                assertTrue(r.stderr().contains("Can't stop task " + w.pid() + " within --timeout 1 s"), r.stderr());
                Files.writeString(cg.resolve("freezer.state"), "THAWED");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (ProcState.state(w.pid()) == 'D' && System.nanoTime() < deadline) Thread.sleep(10);
                assertRunningUntraced(w.pid());
            } finally {
                Files.writeString(cg.resolve("freezer.state"), "THAWED");
                if (w.alive()) Files.writeString(freezer.resolve("tasks"), Integer.toString(w.pid()));
                Files.deleteIfExists(cg);
            }
        }
    }

    @Test
    void queuedSignalsAreReadWithoutTakingThem() throws Exception {
        try (Workload w = Workload.c("signals", tmp.resolve("w"))) {
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", imgs(), "-R");
            assertEquals(0, r.exit(), r.all());
            assertRunningUntraced(w.pid());
            assertEquals("PASS", w.terminateAndVerdict(), "both signals still queued after the dump");
        }
    }

    /** POSIX timers are saved (PosixTimersIT restores them); with -R the task runs on untraced. */
    @Test
    void posixTimersAreDumpedAndTheTaskLeftRunning() throws Exception {
        try (Workload w = Workload.c("timer", tmp.resolve("w"))) {
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", imgs(), "-R");
            assertEquals(0, r.exit(), r.all());
            assertRunningUntraced(w.pid());
        }
    }

    @Test
    void pidThatDoesNotExist() throws Exception {
        int pid = 4_000_000;
        assumeTrue(!Files.exists(Path.of("/proc/" + pid)));
        Jcriu.Result r = Jcriu.run("dump", "-t", pid, "-D", imgs());
        assertEquals(1, r.exit());
        assertTrue(r.stderr().contains("Process 4000000 does not exist"), r.stderr());
    }

    @Test
    void kernelThreadIsRefusedAsOne() throws Exception {
        // pid 2 is kthreadd on every Linux since 2.6.22
        assumeTrue(Files.readString(Path.of("/proc/2/comm")).strip().equals("kthreadd"));
        Jcriu.Result r = Jcriu.run("dump", "-t", 2, "-D", imgs());
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("task 2: it is a kernel thread (kthreadd)"), r.stderr());
        assertFalse(r.stderr().contains("Exception"), r.stderr());
    }

    @Test
    void unsupportedFdIsRefusedAndTheTaskLeftRunning() throws Exception {
        try (Workload w = Workload.c("unsupported", tmp.resolve("w"), "userfaultfd")) {
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("fd 4 (anon_inode:[userfaultfd]) of task " + w.pid()), r.stderr());
            assertTrue(r.stderr().contains("not supported"), r.stderr());
            assertRunningUntraced(w.pid());
            try (var s = Files.list(d)) {
                assertEquals(List.of(), s.toList(), "no images for a refused dump");
            }
        }
    }

    @Test
    void shellWithABackgroundChildIsDumpedAsATree() throws Exception {
        Path wd = tmp.resolve("w");
        try (Workload w = Workload.start(wd, List.of("/bin/sh", "-c", "sleep 1000 & echo $$ > " + wd + "/ready; wait"), false)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            Path children = Path.of("/proc/" + w.pid() + "/task/" + w.pid() + "/children");
            while (Files.readString(children).isBlank() && System.nanoTime() < deadline) Thread.sleep(5);
            int child = Integer.parseInt(Files.readString(children).strip());
            w.alsoKill(child);
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R");
            assertEquals(0, r.exit(), r.all());
            List<PstreeEntry> ps = all(new ImageDir(d), ImageType.PSTREE, PstreeEntry.parser());
            assertEquals(List.of(w.pid(), child), ps.stream().map(PstreeEntry::getPid).toList());
            assertEquals(w.pid(), ps.get(1).getPpid());
            assertRunningUntraced(w.pid());
            assertRunningUntraced(child);
        }
    }

    private static String q(Path p) {
        return "'" + p + "'";
    }

    @Test
    void taskTracedBySomeoneElseIsRefused() throws Exception {
        try (Workload w = Workload.sleep(tmp.resolve("w"))) {
            // strace attaches with ptrace like any debugger; skip where it is not installed
            assumeTrue(Files.isExecutable(Path.of("/usr/bin/strace")), "strace not installed");
            Process st = new ProcessBuilder("/usr/bin/strace", "-p", Integer.toString(w.pid()), "-o", "/dev/null").start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (ProcState.tracerPid(w.pid()) == 0 && System.nanoTime() < deadline) Thread.sleep(10);
                Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", imgs());
                assertEquals(1, r.exit(), r.all());
                assertTrue(r.stderr().contains("task " + w.pid() + " is traced by PID " + st.pid() + " (strace)"), r.stderr());
            } finally {
                st.destroy();
                st.waitFor();
            }
        }
    }

    @Test
    void crit42DecodesEveryImage() throws Exception {
        assumeTrue(Crit.present(), "crit not installed");
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            Path d = imgs();
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R");
            assertEquals(0, r.exit(), r.all());
            try (var s = Files.list(d)) {
                for (Path img : s.toList()) {
                    String n = img.getFileName().toString();
                    if (n.startsWith("pages-")) continue;
                    Crit.run("decode", "-i", img, "-o", "/dev/null");
                }
            }
            String ps = Crit.run("x", d, "ps");
            assertTrue(ps.contains(" counter"), ps);
        }
    }

    @Test
    void terminalNeedsShellJobAndIsDumpedAsPty() throws Exception {
        Terminal.assumePresent();
        try (Workload w = Terminal.sleepingJob(tmp.resolve("w"), "")) {
            String tty = Files.readSymbolicLink(Path.of("/proc/" + w.pid() + "/fd/0")).toString();
            assertTrue(tty.startsWith("/dev/pts/"), tty);
            Jcriu.Result refused = Jcriu.run("dump", "-t", w.pid(), "-D", imgs());
            assertEquals(1, refused.exit(), refused.all());
            assertTrue(refused.stderr().contains("fd 0 (" + tty + ") of task " + w.pid() + " is a terminal: dump it with --shell-job"),
                    refused.stderr());
            assertRunningUntraced(w.pid());

            Path d = Files.createDirectories(tmp.resolve("imgs-j"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-j", "-R");
            assertEquals(0, r.exit(), r.all());
            ImageDir dir = new ImageDir(d);
            List<FdinfoEntry> fds = all(dir, ImageType.FDINFO, FdinfoEntry.parser(), 2);
            assertTrue(fds.stream().filter(f -> f.getFd() <= 2).allMatch(f -> f.getType() == org.jcriu.image.proto.FdTypes.TTY), fds.toString());
            var info = one(dir, ImageType.TTY_INFO, org.jcriu.image.proto.TtyInfoEntry.parser());
            assertEquals(org.jcriu.image.proto.TtyType.PTY, info.getType());
            assertEquals(Integer.parseInt(tty.substring("/dev/pts/".length())), info.getPty().getIndex());
            assertEquals(w.pid(), info.getSid());
            assertRunningUntraced(w.pid());
        }
    }

    /** The build-id as binutils prints it ("Build ID: 6c..."), an independent reading of the ELF note. */
    private static String readelfBuildId(String file) throws Exception {
        Process p = new ProcessBuilder("readelf", "-n", file).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        int at = out.indexOf("Build ID: ");
        assumeTrue(at >= 0, "readelf shows no build-id for " + file);
        return out.substring(at + 10).split("\\s")[0];
    }

    private static String hex(List<Integer> words) {
        StringBuilder sb = new StringBuilder();
        for (int w : words) for (int i = 0; i < 4; i++) sb.append(String.format("%02x", (w >>> (8 * i)) & 0xff));
        return sb.toString();
    }

    private static void waitGone(int pid) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (ProcState.alive(pid) && System.nanoTime() < deadline) Thread.sleep(10);
    }

}
