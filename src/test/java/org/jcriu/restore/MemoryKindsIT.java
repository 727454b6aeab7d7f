package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CoreEntry;
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
 * VMA kinds and memory attributes through jcriu dump + restore: /proc/PID/maps and every VMA's
 * smaps VmFlags must read as before, and each workload checks its own data.
 */
class MemoryKindsIT {
    @TempDir
    Path tmp;
    private final List<Integer> segments = new ArrayList<>();
    private HugePages hugePages;

    @AfterEach
    void cleanup() throws Exception {
        // the workloads remove their segments when they pass; a failed one leaves it to us
        for (int id : segments) new ProcessBuilder("ipcrm", "-m", Integer.toString(id)).redirectErrorStream(true).start().waitFor();
        if (hugePages != null) hugePages.close();
    }

    private Path dump(Workload w, String... extra) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("imgs"));
        List<Object> args = new ArrayList<>(List.of("dump", "-t", w.pid(), "-D", d));
        args.addAll(List.of(extra));
        Jcriu.Result r = Jcriu.run(args.toArray());
        assertEquals(0, r.exit(), r.all());
        w.waitGone(Duration.ofSeconds(10));
        return d;
    }

    private void readSegment(Workload w) throws IOException {
        String s = Files.readString(w.dir().resolve("shmid")).strip();
        segments.add(Integer.parseInt(s.substring("shmid ".length())));
    }

    /** Dumps and restores {@code w}, checks maps and VmFlags line for line and the workload's verdict; returns the dump. */
    private MmEntry roundTrip(Workload w) throws IOException {
        List<String> before = Maps.of(w.pid());
        List<String> flagsBefore = Maps.vmFlags(w.pid());
        Path d = dump(w);
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", d);
        assertEquals(0, r.exit(), r.all());
        assertEquals(before, Maps.of(w.pid()));
        assertEquals(flagsBefore, Maps.vmFlags(w.pid()), "smaps VmFlags");
        assertEquals(0, ProcState.tracerPid(w.pid()));
        String v = w.terminateAndVerdict();
        assertTrue(v.startsWith("PASS"), v);
        return mm(d, w.pid());
    }

    static MmEntry mm(Path d, int pid) throws IOException {
        try (ImageReader rd = new ImageDir(d).open(ImageType.MM, pid)) {
            return rd.readOne(MmEntry.parser());
        }
    }

    /**
     * madvise advice, mlock, MAP_NORESERVE, MAP_DROPPABLE, an mprotect-split area with a
     * PROT_NONE part, guard pages, two SysV attachments of one segment (one read-only, one
     * split by mprotect), PR_SET_THP_DISABLE and a membarrier registration.
     */
    @Test
    void vmFlagsGuardsSysvAndThpSurvive() throws IOException {
        try (Workload w = Workload.c("vmflags", tmp.resolve("w"))) {
            readSegment(w);
            Map<String, String> features = Files.readAllLines(w.dir().resolve("features")).stream()
                    .map(l -> l.split(" ")).collect(Collectors.toMap(a -> a[0], a -> a[1]));
            MmEntry mm = roundTrip(w);
            List<VmaEntry> sysv = mm.getVmasList().stream().filter(e -> (e.getStatus() & Vma.SYSVIPC) != 0).toList();
            assertEquals(4, sysv.size(), "SysV VMAs in the image: " + sysv);
            assertEquals(segments.get(0).longValue(), sysv.get(0).getShmid(), "SysV vma_entry.shmid is the segment id");
            assertTrue(mm.getThpDisabled(), "mm_entry.thp_disabled");
            try (ImageReader rd = new ImageDir(tmp.resolve("imgs")).open(ImageType.CORE, w.pid())) {
                // MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
                assertEquals(0x10, rd.readOne(CoreEntry.parser()).getTc().getMembarrierRegistrationMask() & 0x10, "membarrier mask");
            }
            long guards = mm.getVmasList().stream().filter(e -> e.getStatus() == Vma.GUARD).count();
            assertEquals(features.get("guard").equals("1") ? 1 : 0, guards, "GUARD entries in the image");
        }
    }

    /**
     * Shared anonymous memory: an object mapped twice, split by mprotect and munmap, saved once
     * in pagemap-shmem-SHMID.img with only the pages it holds; a never-written object saves none.
     */
    @Test
    void sharedAnonymousMemorySurvives() throws IOException {
        try (Workload w = Workload.c("shmanon", tmp.resolve("w"))) {
            MmEntry mm = roundTrip(w);
            List<VmaEntry> shared = mm.getVmasList().stream().filter(e -> (e.getStatus() & Vma.ANON_SHARED) != 0).toList();
            assertEquals(6, shared.size(), shared.toString());
            long big = shared.stream().filter(e -> e.getPgoff() == 0x9000).findFirst().orElseThrow().getShmid();
            long pages = 0;
            ImageDir d = new ImageDir(tmp.resolve("imgs"));
            try (ImageReader rd = d.open(ImageType.SHMEM_PAGEMAP, big)) {
                rd.read(PagemapHead.parser());
                for (PagemapEntry e; (e = rd.read(PagemapEntry.parser())) != null; ) pages += e.getNrPages();
            }
            assertEquals(8, pages, "pages 0-5, 12 and 14 of the object");
            long idle = shared.stream().filter(e -> e.getShmid() != big).findFirst().orElseThrow().getShmid();
            try (ImageReader rd = d.open(ImageType.SHMEM_PAGEMAP, idle)) {
                rd.read(PagemapHead.parser());
                assertEquals(null, rd.read(PagemapEntry.parser()), "a never-written object has no pages");
            }
        }
    }

    /**
     * A parent and child sharing one shared anonymous object across fork: dumped as a tree, the
     * object is saved once, and after restore both map the same object again (one inode; the
     * child's write after restore is seen by the parent).
     */
    @Test
    void sharedAnonymousObjectStaysOneAcrossTheTree() throws Exception {
        try (Workload w = Workload.c("shmfork", tmp.resolve("w"))) {
            String[] pids = Files.readString(w.dir().resolve("pids")).strip().split(" ");
            int parent = Integer.parseInt(pids[0]), child = Integer.parseInt(pids[1]);
            w.alsoKill(child);
            long addr = Long.parseLong(Files.readString(w.dir().resolve("addr")).strip(), 16);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", parent, "-D", d);
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            ProcState.waitGone(child, Duration.ofSeconds(10));
            try (var s = Files.list(d)) {
                assertEquals(1, s.filter(p -> p.getFileName().toString().startsWith("pagemap-shmem-")).count(), "one object saved once");
            }
            r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, r.exit(), r.all());
            String range = String.format("%x-%x", addr, addr + 4 * 4096);
            var a = org.jcriu.sys.Sys.stat("/proc/" + parent + "/map_files/" + range);
            var b = org.jcriu.sys.Sys.stat("/proc/" + child + "/map_files/" + range);
            assertEquals(a.ino(), b.ino(), "parent and child map one object");
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    /** A segment removed with IPC_RMID dies with its last attachment: the dump refuses it and the task runs on. */
    @Test
    void removedSysvSegmentIsRefused() throws IOException {
        try (Workload w = Workload.c("vmflags", tmp.resolve("w"), "rmid")) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("removed (IPC_RMID)") && r.stderr().contains("task " + w.pid()), r.stderr());
            assertEquals(0, ProcState.tracerPid(w.pid()));
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    /**
     * An AIO context whose ring has wrapped, with 3 completions not yet reaped: after restore the
     * task reaps exactly those and keeps using the context. The image holds CRIU's aio entry.
     */
    @Test
    void aioRingSurvives() throws IOException {
        try (Workload w = Workload.c("aio", tmp.resolve("w"))) {
            String[] ring = Files.readString(w.dir().resolve("ring")).strip().split(" ");
            MmEntry mm = roundTrip(w);
            assertEquals(1, mm.getAiosCount(), mm.getAiosList().toString());
            assertEquals(Long.parseLong(ring[1], 16), mm.getAios(0).getId());
            assertEquals(190, mm.getAios(0).getNrReq(), "nr_req estimated back from a 383-event ring");
            assertTrue(mm.getVmasList().stream().anyMatch(e -> e.getStatus() == Vma.AIORING), "an AIORING vma_entry");
        }
    }

    /** Private MAP_HUGETLB memory and a SHM_HUGETLB segment, when the kernel can give 3 huge pages. */
    @Test
    void hugetlbSurvives() throws Exception {
        // 3 for the workload, 3 more in case the dumped task's are not freed yet at restore
        hugePages = HugePages.raise(6, 3);
        try (Workload w = Workload.c("hugetlb", tmp.resolve("w"))) {
            readSegment(w);
            MmEntry mm = roundTrip(w);
            int hugetlb = 0x40000, huge2m = 21 << 26;
            assertTrue(mm.getVmasList().stream().anyMatch(e -> (e.getFlags() & (hugetlb | huge2m)) == (hugetlb | huge2m)
                    && (e.getStatus() & Vma.ANON_PRIVATE) != 0), "a MAP_HUGETLB | MAP_HUGE_2MB private VMA in the image");
        }
    }

    /**
     * 10,000 VMAs of alternating protections: maps identical after the round trip, every page
     * intact. Dump and restore times are printed (not asserted: the machine is shared). Of a
     * sparse area only the pages written go to the image: not the untouched ones, not the ones
     * only read (the kernel's zero page).
     */
    @Test
    void tenThousandVmas() throws IOException {
        try (Workload w = Workload.c("manyvmas", tmp.resolve("w"), "10000")) {
            List<String> before = Maps.of(w.pid());
            assertTrue(before.size() > 10000, before.size() + " VMAs");
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            long t0 = System.nanoTime();
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            long t1 = System.nanoTime();
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            long t2 = System.nanoTime();
            r = Jcriu.run("restore", "-d", "-D", d);
            long t3 = System.nanoTime();
            assertEquals(0, r.exit(), r.all());
            System.out.printf("10,000 VMAs (%d in maps): jcriu dump %.0f ms, restore %.0f ms (JVM start included)%n", before.size(),
                    (t1 - t0) / 1e6, (t3 - t2) / 1e6);
            assertEquals(before, Maps.of(w.pid()));
            long sparse = Long.parseLong(Files.readString(w.dir().resolve("sparse")).strip(), 16);
            long sparseEnd = sparse + 256 * 4096L, inSparse = 0;
            try (ImageReader rd = new ImageDir(d).open(ImageType.PAGEMAP, w.pid())) {
                rd.read(PagemapHead.parser());
                for (PagemapEntry e; (e = rd.read(PagemapEntry.parser())) != null; ) {
                    for (long k = 0; k < e.getNrPages(); k++) {
                        long a = e.getVaddr() + k * 4096;
                        if (a >= sparse && a < sparseEnd) {
                            inSparse++;
                            assertEquals(0, (a - sparse) / 4096 % 16, "page 0x" + Long.toHexString(a) + " of the sparse area was never written");
                        }
                    }
                }
            }
            assertEquals(16, inSparse, "written pages of the sparse area in the dump");
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }
}
