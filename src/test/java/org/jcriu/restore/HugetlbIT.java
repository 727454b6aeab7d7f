package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.MemfdInodeEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared hugetlb memory and hugetlbfs file mappings through dump and restore of a real tree:
 * shared anonymous hugetlb memory of a parent and its child is dumped as CRIU 4.2 dumps it
 * (through a memfd: VMA_AREA_MEMFD, a MEMFD file entry, memfd.img with the hugetlb flag, the pages
 * in pagemap-shmem-SHMID.img) and comes back as one object of huge pages; a file on a hugetlbfs
 * mount (made in the test's directory) comes back mapped shared and private with its contents.
 * The pool of huge pages is raised for the test and set back after it.
 */
class HugetlbIT {
    private static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_HUGETLB = 0x40000, HUGE_2MB = 21 << 26;
    private static final int REGULAR = 1, FILE_PRIVATE = 1 << 6, FILE_SHARED = 1 << 7, MEMFD = 1 << 14;
    private static final long HP = 2L << 20;

    @TempDir
    Path tmp;
    private HugePages pool;
    private Path mnt;

    @AfterEach
    void cleanup() throws Exception {
        if (mnt != null) umount(mnt);
        if (pool != null) pool.close();
    }

    /** Mounts a hugetlbfs of 2 MiB pages at DIR/huge (skips the test if the kernel has none). */
    private Path mountHugetlbfs() throws Exception {
        Path m = Files.createDirectories(tmp.resolve("huge"));
        Process p = new ProcessBuilder("mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "none", m.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assumeTrue(p.waitFor() == 0, "can't mount hugetlbfs: " + out);
        mnt = m;
        return m;
    }

    /** The killed tasks may still hold the file for a moment: retry, then detach lazily. */
    private static void umount(Path m) throws Exception {
        for (int i = 0; i < 50; i++) {
            if (new ProcessBuilder("umount", m.toString()).redirectErrorStream(true).start().waitFor() == 0) return;
            Thread.sleep(100);
        }
        new ProcessBuilder("umount", "-l", m.toString()).redirectErrorStream(true).start().waitFor();
    }

    @Test
    void sharedHugetlbOfATreeAndHugetlbfsFilesSurvive() throws Exception {
        // workload 8 pages; restore 8 more while the file keeps its 2 (the child maps its own copy of P)
        pool = HugePages.raise(24, 14);
        Path m = mountHugetlbfs();
        try (Workload w = Workload.c("hugetlbshare", tmp.resolve("w"), m.toString())) {
            String[] pids = Files.readString(w.dir().resolve("pids")).strip().split(" ");
            int parent = Integer.parseInt(pids[0]), child = Integer.parseInt(pids[1]);
            w.alsoKill(child);
            String[] addr = Files.readString(w.dir().resolve("addr")).strip().split(" ");
            long a = Long.parseLong(addr[0], 16), f = Long.parseLong(addr[1], 16), p = Long.parseLong(addr[2], 16);
            List<String> mapsParent = Maps.of(parent), mapsChild = Maps.of(child);
            List<String> flagsParent = Maps.vmFlags(parent), flagsChild = Maps.vmFlags(child);
            assertTrue(mapsParent.stream().anyMatch(l -> l.endsWith("/anon_hugepage (deleted)") && l.contains(" rw-s ")), mapsParent.toString());

            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", parent, "-D", d, "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            ProcState.waitGone(child, Duration.ofSeconds(10));

            checkImages(d, parent, a, f, p);
            critDecodes(d, parent);

            r = Jcriu.run("restore", "-d", "-D", d, "-v4", "-o", "restore.log");
            assertEquals(0, r.exit(), r.all());
            assertEquals(mapsParent, Maps.of(parent), "parent's maps");
            assertEquals(mapsChild, Maps.of(child), "child's maps");
            assertEquals(flagsParent, Maps.vmFlags(parent), "parent's smaps VmFlags");
            assertEquals(flagsChild, Maps.vmFlags(child), "child's smaps VmFlags");
            String range = String.format("%x-%x", a, a + 4 * HP);
            assertEquals(org.jcriu.sys.Sys.stat("/proc/" + parent + "/map_files/" + range).ino(),
                    org.jcriu.sys.Sys.stat("/proc/" + child + "/map_files/" + range).ino(), "parent and child map one hugetlb object");
            for (long at : new long[] {a, f, p}) assertEquals(2048, kernelPageSizeKb(parent, at), "KernelPageSize at " + Long.toHexString(at));
            assertEquals(2048, kernelPageSizeKb(child, a), "child's KernelPageSize");
            assertEquals(0, ProcState.tracerPid(parent));
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    /**
     * Private hugetlb pages a child shares copy-on-write with its parent stay shared after the
     * restore (the child is cloned from its restored parent and keeps the VMA, as for normal
     * pages): smaps Shared_Hugetlb / Private_Hugetlb of both tasks read as before the dump, where
     * writing every page into the child again would make all its huge pages private copies.
     */
    @Test
    void privateHugetlbPagesStaySharedCopyOnWrite() throws Exception {
        pool = HugePages.raise(12, 8);
        try (Workload w = Workload.c("hugetlbcow", tmp.resolve("w"))) {
            String[] pids = Files.readString(w.dir().resolve("pids")).strip().split(" ");
            int parent = Integer.parseInt(pids[0]), child = Integer.parseInt(pids[1]);
            w.alsoKill(child);
            long m = Long.parseLong(Files.readString(w.dir().resolve("addr")).strip(), 16);
            String before = hugetlbUse(parent, m) + " / " + hugetlbUse(child, m);
            assertEquals("shared 4096 private 2048 / shared 4096 private 2048", before, "the workload's own sharing");
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", parent, "-D", d);
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            ProcState.waitGone(child, Duration.ofSeconds(10));
            r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, r.exit(), r.all());
            assertEquals(before, hugetlbUse(parent, m) + " / " + hugetlbUse(child, m), "huge pages shared after the restore");
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    /**
     * A memfd made with MFD_HUGETLB and held only by its mappings (shared, and private with a page
     * copied on write): a memfd mapping in CRIU's layout with the hugetlb flag, made again with
     * memfd_create(MFD_HUGETLB) under its name; maps read as before.
     */
    @Test
    void hugetlbMemfdMappingsSurvive() throws Exception {
        pool = HugePages.raise(12, 8);
        try (Workload w = Workload.c("hugetlbmemfd", tmp.resolve("w"))) {
            List<String> before = Maps.of(w.pid()), flags = Maps.vmFlags(w.pid());
            long s = Long.parseLong(Files.readString(w.dir().resolve("addr")).strip().split(" ")[0], 16);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            VmaEntry vs = vma(MemoryKindsIT.mm(d, w.pid()), s);
            assertEquals(REGULAR | FILE_SHARED | MEMFD, vs.getStatus());
            assertEquals(MAP_SHARED | MAP_HUGETLB | HUGE_2MB, vs.getFlags());
            try (ImageReader rd = new ImageDir(d).open(ImageType.MEMFD_INODE)) {
                MemfdInodeEntry mie = rd.read(MemfdInodeEntry.parser());
                assertEquals("jcriu-huge", mie.getName());
                assertEquals(4 | HUGE_2MB, mie.getHugetlbFlag());
            }
            r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, r.exit(), r.all());
            assertEquals(before, Maps.of(w.pid()));
            assertEquals(flags, Maps.vmFlags(w.pid()));
            assertEquals(2048, kernelPageSizeKb(w.pid(), s));
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    /** "shared S private P" (kB) of the hugetlb VMA at {@code start} in /proc/PID/smaps. */
    private static String hugetlbUse(int pid, long start) throws IOException {
        String want = Long.toHexString(start) + "-";
        boolean in = false;
        long shared = -1, priv = -1;
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            if (l.startsWith(want)) in = true;
            else if (in && l.startsWith("Shared_Hugetlb:")) shared = Long.parseLong(l.replaceAll("\\D", ""));
            else if (in && l.startsWith("Private_Hugetlb:")) priv = Long.parseLong(l.replaceAll("\\D", ""));
            else if (in && l.startsWith("VmFlags:")) break;
        }
        return "shared " + shared + " private " + priv;
    }

    private static void checkImages(Path d, int parent, long a, long f, long p) throws IOException {
        ImageDir dir = new ImageDir(d);
        MmEntry mm = MemoryKindsIT.mm(d, parent);
        VmaEntry va = vma(mm, a), vf = vma(mm, f), vp = vma(mm, p);
        assertEquals(REGULAR | FILE_SHARED | MEMFD, va.getStatus(), "shared hugetlb: status as CRIU 4.2 (a memfd mapping)");
        assertEquals(MAP_SHARED | MAP_HUGETLB | HUGE_2MB, va.getFlags(), "shared hugetlb: flags");
        assertEquals(REGULAR | FILE_SHARED, vf.getStatus(), "hugetlbfs file mapped shared");
        assertEquals(MAP_SHARED | MAP_HUGETLB, vf.getFlags());
        assertEquals(REGULAR | FILE_PRIVATE, vp.getStatus(), "hugetlbfs file mapped private");
        assertEquals(MAP_PRIVATE | MAP_HUGETLB, vp.getFlags());
        FileEntry fe = null;
        try (ImageReader rd = dir.open(ImageType.FILES)) {
            for (FileEntry e; (e = rd.read(FileEntry.parser())) != null; ) if (e.getId() == va.getShmid()) fe = e;
        }
        assertNotNull(fe, "files.img entry " + va.getShmid());
        assertTrue(fe.hasMemfd(), fe.toString());
        MemfdInodeEntry mie = null;
        try (ImageReader rd = dir.open(ImageType.MEMFD_INODE)) {
            for (MemfdInodeEntry e; (e = rd.read(MemfdInodeEntry.parser())) != null; ) if (e.getInodeId() == fe.getMemfd().getInodeId()) mie = e;
        }
        assertNotNull(mie, "memfd.img inode " + fe.getMemfd().getInodeId());
        assertEquals("/anon_hugepage", mie.getName());
        assertEquals(4 | HUGE_2MB, mie.getHugetlbFlag(), "MFD_HUGETLB | MFD_HUGE_2MB");
        assertEquals(4 * HP, mie.getSize());
        long pages = 0;
        try (ImageReader rd = dir.open(ImageType.SHMEM_PAGEMAP, mie.getShmid())) {
            rd.read(PagemapHead.parser());
            for (PagemapEntry e; (e = rd.read(PagemapEntry.parser())) != null; ) {
                assertTrue(e.getVaddr() + e.getNrPages() * 4096 <= 2 * HP, "a page of the untouched huge pages 2-3 was saved at 0x"
                        + Long.toHexString(e.getVaddr()));
                pages += e.getNrPages();
            }
        }
        assertEquals(2 * HP / 4096, pages, "the two huge pages written (by the parent and by the child) saved once");
        try (var s = Files.list(d)) {
            assertEquals(1, s.filter(x -> x.getFileName().toString().startsWith("pagemap-shmem-")).count(), "one object saved once");
        }
        List<long[]> inP = new ArrayList<>();
        try (ImageReader rd = dir.open(ImageType.PAGEMAP, parent)) {
            rd.read(PagemapHead.parser());
            for (PagemapEntry e; (e = rd.read(PagemapEntry.parser())) != null; ) {
                long s = Math.max(e.getVaddr(), p), t = Math.min(e.getVaddr() + e.getNrPages() * 4096, p + 2 * HP);
                if (s < t) inP.add(new long[] {s, t});
            }
        }
        assertEquals(HP, inP.stream().mapToLong(x -> x[1] - x[0]).sum(), "only the huge page copied on write of the private file mapping");
        assertTrue(inP.stream().allMatch(x -> x[0] >= p + HP), "page 0 of the private file mapping is the file's");
    }

    private static VmaEntry vma(MmEntry mm, long start) {
        return mm.getVmasList().stream().filter(e -> e.getStart() == start).findFirst()
                .orElseThrow(() -> new AssertionError("no VMA at 0x" + Long.toHexString(start)));
    }

    static long kernelPageSizeKb(int pid, long start) throws IOException {
        String want = Long.toHexString(start) + "-";
        boolean in = false;
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            if (l.startsWith(want)) in = true;
            else if (in && l.startsWith("KernelPageSize:")) return Long.parseLong(l.replaceAll("\\D", ""));
        }
        return -1;
    }

    /**
     * bin/jcrit (CRIU 4.2's names) and upstream crit (Debian's criu package, when installed) decode
     * the images; crit 3.17 has no name for VMA_AREA_MEMFD (0x4000) and neither names MAP_HUGETLB.
     */
    private static void critDecodes(Path d, int parent) throws Exception {
        String ours = crit(Path.of("bin/jcrit").toAbsolutePath(), d.resolve("mm-" + parent + ".img"));
        assertTrue(ours.contains("\"status\": \"VMA_AREA_REGULAR | VMA_FILE_SHARED | VMA_AREA_MEMFD\""), ours);
        Path crit = Path.of("/usr/bin/crit");
        if (!Files.isExecutable(crit)) return;
        String mm = crit(crit, d.resolve("mm-" + parent + ".img"));
        assertTrue(mm.contains("\"status\": \"VMA_AREA_REGULAR | VMA_FILE_SHARED | VMA_AREA_MEMFD\"")
                || mm.contains("\"status\": \"VMA_AREA_REGULAR | VMA_FILE_SHARED | 0x4000\""), mm);
        String memfd = crit(crit, d.resolve("memfd.img"));
        assertTrue(memfd.contains("\"name\": \"/anon_hugepage\"") && memfd.contains("hugetlb_flag"), memfd);
        String files = crit(crit, d.resolve("files.img"));
        assertTrue(files.contains("\"type\": \"MEMFD\""), files);
        try (var s = Files.list(d)) {
            for (Path x : s.filter(x -> x.getFileName().toString().startsWith("pagemap-shmem-")).toList()) crit(crit, x);
        }
    }

    private static String crit(Path crit, Path img) throws Exception {
        Process pr = new ProcessBuilder(crit.toString(), "decode", "--pretty", "-i", img.toString()).redirectErrorStream(true).start();
        String out = new String(pr.getInputStream().readAllBytes());
        assertEquals(0, pr.waitFor(), "crit decode " + img + ": " + out);
        return out;
    }
}
