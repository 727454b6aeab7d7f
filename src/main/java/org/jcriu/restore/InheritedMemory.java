package org.jcriu.restore;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.mem.PageRun;
import org.jcriu.mem.PageSource;

/**
 * What a child keeps of the address space it was cloned with. A child is cloned inside its parent
 * once the parent's memory is restored, so every private page the two had in common is shared
 * copy-on-write again, as it was before the dump (CRIU does the same: vma_inherited,
 * restore_priv_vma_content). The child keeps an inherited private VMA that is its own dumped one
 * (same range, flags, file and offset, advice; a protection the child changed after the fork is
 * set with mprotect once its pages are in); within it, it writes only
 * the pages whose dumped content differs from its parent's dumped content at the same address, and
 * drops (MADV_DONTNEED: zero or file content again, as at dump) the pages its parent has and it
 * had not. Both contents come from the images through {@link PageSource}, never from live memory.
 *
 * <p>Not kept, so unmapped and mapped again as for a task of its own: shared mappings (shared
 * anonymous objects are one object through {@link SharedAnonObjects} anyway), SysV attachments,
 * AIO rings (contexts are not inherited), droppable memory, VMAs with MADV_DONTFORK or
 * MADV_WIPEONFORK (the fork did not copy them), VMAs with guard pages in the parent or the child
 * (guard markers are copied by fork and would refuse the writes), the kernel's own mappings, and
 * everything of a child whose executable is another file (it exec'd: nothing is in common, and
 * the kernel refuses to change the exe link while the old file is still mapped).
 */
final class InheritedMemory {
    private static final int MAP_TYPE = 0x0f, MAP_PRIVATE = 0x02;
    private static final int MADV_DONTFORK = 10, MADV_WIPEONFORK = 18;
    private static final long PAGE = PageRun.PAGE_SIZE;

    /** The images of the task whose restored address space the child was cloned with, and their pages. */
    private final TaskImages parent;
    private final PageSource parentPages;
    private final TaskImages child;
    private final boolean sameExe;
    private final boolean[] kept;
    /** Per VMA of the child: the protection a kept VMA has as inherited (the parent's). */
    private final int[] inheritedProt;
    /** The kept VMAs as sorted [start, end) ranges. */
    private final List<long[]> keptRanges;

    InheritedMemory(TaskImages parent, PageSource parentPages, TaskImages child) {
        this.parent = parent;
        this.parentPages = parentPages;
        this.child = child;
        this.sameExe = sameFile(parent, parent.mm().getExeFileId(), child, child.mm().getExeFileId());
        this.kept = sameExe ? kept(parent, child) : new boolean[child.vmas().size()];
        this.inheritedProt = new int[kept.length];
        java.util.Map<Long, Vma> byStart = new java.util.HashMap<>();
        for (Vma p : parent.vmas()) byStart.put(p.start(), p);
        for (int i = 0; i < kept.length; i++) if (kept[i]) inheritedProt[i] = byStart.get(child.vmas().get(i).start()).prot();
        List<long[]> r = new ArrayList<>();
        for (int i = 0; i < kept.length; i++) if (kept[i]) r.add(new long[] {child.vmas().get(i).start(), child.vmas().get(i).end()});
        r.sort(Comparator.comparingLong(a -> a[0]));
        this.keptRanges = r;
    }

    TaskImages parent() {
        return parent;
    }

    /** The child runs the executable its parent runs: the exe link it inherited is already right. */
    boolean sameExe() {
        return sameExe;
    }

    /** Per VMA of the child (in {@code child.vmas()} order): kept as inherited. */
    boolean[] kept() {
        return kept.clone();
    }

    /** The protection kept VMA {@code i} came with: its parent's, which may not be the child's. */
    int inheritedProt(int i) {
        return inheritedProt[i];
    }

    int keptCount() {
        return keptRanges.size();
    }

    /** The kept VMAs as sorted {start, end} pairs. */
    List<long[]> keptRanges() {
        return keptRanges;
    }

    static boolean[] kept(TaskImages parent, TaskImages child) {
        boolean[] out = new boolean[child.vmas().size()];
        java.util.Map<Long, Vma> byStart = new java.util.HashMap<>();
        for (Vma p : parent.vmas()) byStart.put(p.start(), p);
        List<long[]> guards = guards(parent);
        guards.addAll(guards(child));
        for (int i = 0; i < out.length; i++) {
            Vma c = child.vmas().get(i);
            Vma p = byStart.get(c.start());
            out[i] = p != null && inheritable(p) && inheritable(c) && same(parent, p, child, c)
                    && guards.stream().noneMatch(g -> c.overlaps(g[0], g[1]));
        }
        return out;
    }

    /** A private mapping that fork copies as it is. */
    private static boolean inheritable(Vma v) {
        if (v.special() || !v.is(Vma.ANON_PRIVATE | Vma.FILE_PRIVATE)) return false;
        if (v.is(Vma.ANON_SHARED | Vma.FILE_SHARED | Vma.SYSVIPC | Vma.AIORING | Vma.SOCKET | Vma.MEMFD | Vma.SHSTK | Vma.UNSUPP)) return false;
        // private hugetlb too: fork shares its huge pages copy-on-write, the reservation staying
        // with the parent (the owner) and a child's copy taken from the free pool, as before the
        // dump (CRIU 4.2 maps a child's hugetlb VMAs anew instead: vma_inherited)
        if ((v.flags() & MAP_TYPE) != MAP_PRIVATE) return false;
        return (v.madv() & (1L << MADV_DONTFORK | 1L << MADV_WIPEONFORK)) == 0;
    }

    private static boolean same(TaskImages pt, Vma p, TaskImages ct, Vma c) {
        if (p.end() != c.end() || p.pgoff() != c.pgoff() || p.flags() != c.flags()
                || p.status() != c.status() || p.madv() != c.madv() || p.fdflags() != c.fdflags()) {
            return false;
        }
        return c.fileBacked() ? sameFile(pt, (int) p.shmid(), ct, (int) c.shmid()) : p.shmid() == c.shmid();
    }

    /** Same file id of files.img, or two ids naming the same path with the same size (CRIU may give each task its own id). */
    static boolean sameFile(TaskImages pt, int p, TaskImages ct, int c) {
        if (p == c) return true;
        if (p == 0 || c == 0) return false;
        FileEntry a = pt.files().get(p), b = ct.files().get(c);
        if (a == null || b == null || !a.hasReg() || !b.hasReg()) return false;
        return a.getReg().getName().equals(b.getReg().getName()) && a.getReg().getSize() == b.getReg().getSize()
                && Objects.equals(a.getReg().getBuildIdList(), b.getReg().getBuildIdList());
    }

    private static List<long[]> guards(TaskImages t) {
        List<long[]> out = new ArrayList<>();
        for (VmaEntry e : t.mm().getVmasList()) if (e.getStatus() == Vma.GUARD) out.add(new long[] {e.getStart(), e.getEnd()});
        return out;
    }

    /**
     * Ranges inside kept VMAs that hold a page of the parent's image but none of the child's: the
     * child must not see the parent's page there (MADV_DONTNEED gives back what it had at dump:
     * zero, or the file's content).
     */
    List<long[]> dropped() {
        List<long[]> parentHas = intersect(ranges(PagePlan.writable(parent.vmas(), parent.pages())), keptRanges);
        return subtract(parentHas, ranges(PagePlan.writable(child.vmas(), child.pages())));
    }

    /**
     * The child's runs (already cut at VMA boundaries) without the pages a kept VMA already holds
     * with the same bytes: those stay shared with the parent.
     */
    List<PageRun> changed(List<PageRun> runs, PageSource pages) {
        List<PageRun> parentRuns = new ArrayList<>(PagePlan.writable(parent.vmas(), parent.pages()));
        parentRuns.sort(Comparator.comparingLong(PageRun::vaddr));
        List<PageRun> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mine = arena.allocate(PAGE), theirs = arena.allocate(PAGE);
            for (PageRun r : runs) {
                if (!inside(keptRanges, r.vaddr())) {
                    out.add(r);
                    continue;
                }
                long runStart = -1;
                for (long a = r.vaddr(); a < r.end(); a += PAGE) {
                    boolean differs = true;
                    int pi = find(parentRuns, a);
                    if (pi >= 0) {
                        PageRun p = parentRuns.get(pi);
                        MemorySegment x = page(pages, r, a - r.vaddr(), mine);
                        MemorySegment y = page(parentPages, p, a - p.vaddr(), theirs);
                        differs = x.mismatch(y) != -1;
                    }
                    if (differs && runStart < 0) runStart = a;
                    if (!differs && runStart >= 0) {
                        out.add(piece(r, runStart, a));
                        runStart = -1;
                    }
                }
                if (runStart >= 0) out.add(piece(r, runStart, r.end()));
            }
        }
        return out;
    }

    private static PageRun piece(PageRun r, long from, long to) {
        return new PageRun(from, (to - from) / PAGE, r.flags(), r.sourceOffset() + (from - r.vaddr()));
    }

    /** One page of a run, mapped straight from the image when the source allows it, else read into {@code buf}. */
    private static MemorySegment page(PageSource src, PageRun r, long off, MemorySegment buf) {
        MemorySegment d = src.direct(r, off, PAGE);
        if (d != null) return d;
        src.read(r, off, buf);
        return buf;
    }

    /** Index of the run holding address {@code a} in runs sorted by address, or -1. */
    static int find(List<PageRun> runs, long a) {
        int lo = 0, hi = runs.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            PageRun m = runs.get(mid);
            if (Long.compareUnsigned(m.end(), a) <= 0) lo = mid + 1;
            else if (Long.compareUnsigned(m.vaddr(), a) > 0) hi = mid - 1;
            else return mid;
        }
        return -1;
    }

    static boolean inside(List<long[]> sorted, long a) {
        int lo = 0, hi = sorted.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            long[] m = sorted.get(mid);
            if (m[1] <= a) lo = mid + 1;
            else if (m[0] > a) hi = mid - 1;
            else return true;
        }
        return false;
    }

    /** Sorted, merged {start, end} ranges of the runs. */
    static List<long[]> ranges(List<PageRun> runs) {
        List<long[]> r = new ArrayList<>();
        for (PageRun p : runs) r.add(new long[] {p.vaddr(), p.end()});
        return merge(r);
    }

    static List<long[]> merge(List<long[]> in) {
        List<long[]> s = new ArrayList<>(in);
        s.sort(Comparator.comparingLong(a -> a[0]));
        List<long[]> out = new ArrayList<>();
        for (long[] x : s) {
            if (!out.isEmpty() && out.get(out.size() - 1)[1] >= x[0]) {
                long[] last = out.get(out.size() - 1);
                last[1] = Math.max(last[1], x[1]);
            } else {
                out.add(new long[] {x[0], x[1]});
            }
        }
        return out;
    }

    /** a ∩ b, both sorted and merged. */
    static List<long[]> intersect(List<long[]> a, List<long[]> b) {
        List<long[]> out = new ArrayList<>();
        int i = 0, j = 0;
        while (i < a.size() && j < b.size()) {
            long s = Math.max(a.get(i)[0], b.get(j)[0]), e = Math.min(a.get(i)[1], b.get(j)[1]);
            if (s < e) out.add(new long[] {s, e});
            if (a.get(i)[1] < b.get(j)[1]) i++;
            else j++;
        }
        return out;
    }

    /** a − b, both sorted and merged. */
    static List<long[]> subtract(List<long[]> a, List<long[]> b) {
        List<long[]> out = new ArrayList<>();
        int j = 0;
        for (long[] x : a) {
            long s = x[0];
            while (j < b.size() && b.get(j)[1] <= s) j++;
            int k = j;
            while (k < b.size() && b.get(k)[0] < x[1]) {
                if (b.get(k)[0] > s) out.add(new long[] {s, b.get(k)[0]});
                s = Math.max(s, b.get(k)[1]);
                k++;
            }
            if (s < x[1]) out.add(new long[] {s, x[1]});
        }
        return out;
    }
}
