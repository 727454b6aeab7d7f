package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.RegFileEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.mem.PageRun;
import org.jcriu.mem.PageSource;
import org.junit.jupiter.api.Test;

/** Which inherited VMAs a child keeps, which of its pages it writes, which of its parent's it drops. */
class InheritedMemoryTest {
    private static final int ANON = Vma.REGULAR | Vma.ANON_PRIVATE, FILE = Vma.REGULAR | Vma.FILE_PRIVATE;
    private static final int PRIV = 0x22, PRIV_FILE = 0x02;

    private static Vma vma(long start, long end, int status, int flags, long shmid) {
        return new Vma(start, end, 0, shmid, 3, flags, status, 0, 0);
    }

    private static FileEntry file(int id, String name, long size) {
        return FileEntry.newBuilder().setId(id).setReg(RegFileEntry.newBuilder().setId(id).setName(name).setSize(size)
                .buildPartial()).buildPartial();
    }

    private static TaskImages task(int pid, int exe, List<Vma> vmas, List<PageRun> pages, List<VmaEntry> guards) {
        MmEntry.Builder mm = MmEntry.newBuilder().setExeFileId(exe);
        for (Vma v : vmas) {
            mm.addVmas(VmaEntry.newBuilder().setStart(v.start()).setEnd(v.end()).setStatus(v.status()).buildPartial());
        }
        mm.addAllVmas(guards);
        Map<Integer, FileEntry> files = Map.of(1, file(1, "/bin/x", 100), 5, file(5, "/lib/a.so", 4096), 7,
                file(7, "/lib/a.so", 4096), 8, file(8, "/lib/b.so", 4096), 9, file(9, "/bin/y", 100));
        return new TaskImages(PstreeEntry.newBuilder().setPid(pid).buildPartial(), null, Map.of(), null, mm.buildPartial(), vmas, 1,
                pages, null, List.of(), files, Map.of());
    }

    private static List<Boolean> list(boolean[] b) {
        List<Boolean> out = new ArrayList<>();
        for (boolean x : b) out.add(x);
        return out;
    }

    @Test
    void onlyPrivateVmasLikeTheParentsAreKept() {
        Vma anon = vma(0x10000, 0x20000, ANON, PRIV, 0);
        Vma lib = vma(0x20000, 0x30000, FILE, PRIV_FILE, 5);
        Vma shared = vma(0x30000, 0x31000, Vma.REGULAR | Vma.ANON_SHARED, 0x21, 0x99);
        Vma huge = vma(0x40000, 0x240000, ANON, PRIV | 0x40000, 0);
        Vma dontfork = new Vma(0x300000, 0x301000, 0, 0, 3, PRIV, ANON, 1L << 10, 0);
        Vma guarded = vma(0x400000, 0x404000, ANON, PRIV, 0);
        Vma otherProt = vma(0x500000, 0x501000, ANON, PRIV, 0);
        Vma vdso = vma(0x600000, 0x602000, ANON | Vma.VDSO, PRIV, 0);
        List<Vma> pv = List.of(anon, lib, shared, huge, dontfork, guarded, otherProt, vdso);
        List<Vma> cv = List.of(anon, vma(0x20000, 0x30000, FILE, PRIV_FILE, 7), shared, huge, dontfork, guarded,
                new Vma(0x500000, 0x501000, 0, 0, 1, PRIV, ANON, 0, 0), vdso, vma(0x700000, 0x701000, ANON, PRIV, 0));
        VmaEntry guard = VmaEntry.newBuilder().setStart(0x401000).setEnd(0x402000).setStatus(Vma.GUARD).buildPartial();
        TaskImages parent = task(1, 1, pv, List.of(), List.of());
        TaskImages child = task(2, 1, cv, List.of(), List.of(guard));
        InheritedMemory m = new InheritedMemory(parent, null, child);
        assertTrue(m.sameExe());
        // private hugetlb is kept too: fork shares its huge pages copy-on-write
        assertEquals(List.of(true, true, false, true, false, false, true, false, false), list(m.kept()));
        assertEquals(3, m.inheritedProt(6), "the parent's protection, mprotect'ed to the child's later");

        // another file at the same place is not the parent's mapping
        TaskImages child2 = task(2, 1, List.of(vma(0x20000, 0x30000, FILE, PRIV_FILE, 8)), List.of(), List.of());
        assertEquals(List.of(false), list(new InheritedMemory(parent, null, child2).kept()));
    }

    @Test
    void aChildRunningAnotherExecutableKeepsNothing() {
        Vma anon = vma(0x10000, 0x20000, ANON, PRIV, 0);
        TaskImages parent = task(1, 1, List.of(anon), List.of(), List.of());
        InheritedMemory m = new InheritedMemory(parent, null, task(2, 9, List.of(anon), List.of(), List.of()));
        assertFalse(m.sameExe());
        assertEquals(List.of(false), list(m.kept()));
        assertTrue(m.dropped().isEmpty());
    }

    /** Pages in a byte array; {@code direct} chooses whether the source maps or reads. */
    private record ArraySource(byte[] data, boolean direct) implements PageSource {
        @Override
        public void read(PageRun run, long offsetInRun, MemorySegment dst) {
            MemorySegment.copy(MemorySegment.ofArray(data), run.sourceOffset() + offsetInRun, dst, 0, dst.byteSize());
        }

        @Override
        public MemorySegment direct(PageRun run, long offsetInRun, long len) {
            return direct ? MemorySegment.ofArray(data).asSlice(run.sourceOffset() + offsetInRun, len) : null;
        }

        @Override
        public String where(PageRun run, long offsetInRun) {
            return "array at " + (run.sourceOffset() + offsetInRun);
        }

        @Override
        public void close() {}
    }

    private static byte[] pages(int... fills) {
        byte[] b = new byte[fills.length * 4096];
        for (int i = 0; i < fills.length; i++) Arrays.fill(b, i * 4096, (i + 1) * 4096, (byte) fills[i]);
        return b;
    }

    @Test
    void onlyPagesThatDifferFromTheParentsAreWrittenAndTheParentsExtraPagesDropped() {
        Vma anon = vma(0x10000, 0x20000, ANON, PRIV, 0);
        Vma own = vma(0x30000, 0x32000, ANON, PRIV, 0);
        // parent: 0x10000-0x18000 (pages 1..8)
        List<PageRun> pp = List.of(new PageRun(0x10000, 8, 4, 0));
        byte[] pd = pages(1, 2, 3, 4, 5, 6, 7, 8);
        // child: 0x10000-0x14000 with pages 2 and 4 changed, 0x15000 as the parent's, 0x1a000 (parent has none), own VMA
        List<PageRun> cp = List.of(new PageRun(0x10000, 4, 4, 0), new PageRun(0x15000, 1, 4, 4 * 4096),
                new PageRun(0x1a000, 1, 4, 5 * 4096), new PageRun(0x30000, 2, 4, 6 * 4096));
        byte[] cd = pages(1, 9, 3, 9, 6, 7, 1, 1);
        TaskImages parent = task(1, 1, List.of(anon), pp, List.of());
        TaskImages child = task(2, 1, List.of(anon, own), cp, List.of());
        for (boolean direct : new boolean[] {true, false}) {
            InheritedMemory m = new InheritedMemory(parent, new ArraySource(pd, direct), child);
            List<PageRun> runs = PagePlan.writable(child.vmas(), child.pages());
            assertEquals(List.of(new PageRun(0x11000, 1, 4, 4096), new PageRun(0x13000, 1, 4, 3 * 4096),
                    new PageRun(0x1a000, 1, 4, 5 * 4096), new PageRun(0x30000, 2, 4, 6 * 4096)),
                    m.changed(runs, new ArraySource(cd, !direct)));
            List<long[]> dropped = m.dropped();
            assertEquals(2, dropped.size());
            assertEquals(List.of(0x14000L, 0x15000L), List.of(dropped.get(0)[0], dropped.get(0)[1]));
            assertEquals(List.of(0x16000L, 0x18000L), List.of(dropped.get(1)[0], dropped.get(1)[1]));
        }
    }

    @Test
    void rangeArithmetic() {
        List<long[]> a = InheritedMemory.merge(List.of(new long[] {10, 20}, new long[] {0, 5}, new long[] {18, 30}));
        assertEquals("[0, 5] [10, 30]", show(a));
        assertEquals("[3, 5] [10, 12] [25, 30]", show(InheritedMemory.intersect(a, List.of(new long[] {3, 12}, new long[] {25, 40}))));
        assertEquals("[0, 2] [10, 11] [15, 30]", show(InheritedMemory.subtract(a, List.of(new long[] {2, 5}, new long[] {11, 15}))));
        assertTrue(InheritedMemory.inside(a, 29));
        assertFalse(InheritedMemory.inside(a, 7));
    }

    private static String show(List<long[]> r) {
        StringBuilder sb = new StringBuilder();
        for (long[] x : r) sb.append(sb.length() == 0 ? "" : " ").append(Arrays.toString(x));
        return sb.toString();
    }
}
