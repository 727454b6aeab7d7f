package org.jcriu.restore;

import java.util.ArrayList;
import java.util.List;

import org.jcriu.mem.PageRun;

/**
 * Cuts dumped page runs at VMA boundaries: CRIU's pagemap entries may span adjacent VMAs (libc's
 * RELRO page next to its data), and pages of the kernel's own mappings (the vDSO) are compared,
 * never written.
 */
final class PagePlan {
    private PagePlan() {}

    /** The parts of {@code runs} inside {@code v}, with their source offsets adjusted. */
    static List<PageRun> inside(List<PageRun> runs, Vma v) {
        List<PageRun> out = new ArrayList<>();
        for (PageRun r : runs) {
            long s = Math.max(r.vaddr(), v.start()), e = Math.min(r.end(), v.end());
            if (Long.compareUnsigned(s, e) < 0) {
                out.add(new PageRun(s, (e - s) / PageRun.PAGE_SIZE, r.flags(), r.sourceOffset() + (s - r.vaddr())));
            }
        }
        return out;
    }

    /** Every run piece that lands in an ordinary (non-kernel) VMA. */
    static List<PageRun> writable(List<Vma> vmas, List<PageRun> runs) {
        List<PageRun> out = new ArrayList<>();
        int vi = 0;
        for (PageRun r : runs) {
            long a = r.vaddr();
            while (a < r.end()) {
                while (vi < vmas.size() && Long.compareUnsigned(vmas.get(vi).end(), a) <= 0) vi++;
                if (vi == vmas.size() || !vmas.get(vi).contains(a)) {
                    vi = 0;
                    while (!vmas.get(vi).contains(a)) vi++; // ImageLoader checked every page has a VMA
                }
                Vma v = vmas.get(vi);
                long e = Math.min(r.end(), v.end());
                if (!v.special()) {
                    out.add(new PageRun(a, (e - a) / PageRun.PAGE_SIZE, r.flags(), r.sourceOffset() + (a - r.vaddr())));
                }
                a = e;
            }
        }
        return out;
    }

    /** Which VMAs get pages: one walk, as both lists are sorted by address (10,000 VMAs take no time). */
    static boolean[] vmasWithPages(List<Vma> vmas, List<PageRun> runs) {
        boolean[] has = new boolean[vmas.size()];
        int vi = 0;
        for (PageRun r : writable(vmas, runs)) {
            if (vi < vmas.size() && Long.compareUnsigned(r.vaddr(), vmas.get(vi).start()) < 0) vi = 0; // out of order: start over
            while (vi < vmas.size() && Long.compareUnsigned(vmas.get(vi).end(), r.vaddr()) <= 0) vi++;
            if (vi < vmas.size() && vmas.get(vi).contains(r.vaddr())) has[vi] = true;
        }
        return has;
    }
}
