package org.jcriu.restore;

import java.util.List;

import org.jcriu.CriuException;

/**
 * Finds address ranges that are free both in the seed (where the restorer's gadget pages and the
 * parked vDSO live while the task is rebuilt) and in the dumped layout (which must come back
 * exactly), so that nothing of ours is ever in the way of a dumped VMA.
 */
final class FreeArea {
    /** Well inside the 47-bit user space, below where mmap and stacks usually land. */
    private static final long FIRST = 0x100000000000L, LAST = 0x7ff000000000L, STEP = 0x10000000L;

    private FreeArea() {}

    static long find(long size, List<Vma> dumped, List<MapsLine> seed) {
        return find(size, STEP, dumped, seed);
    }

    /** As {@link #find(long, List, List)}, at an address aligned to {@code align} (a huge page size). */
    static long find(long size, long align, List<Vma> dumped, List<MapsLine> seed) {
        long step = Math.max(STEP, align);
        for (long base = (FIRST + step - 1) / step * step; base < LAST; base += step) {
            long end = base + size;
            boolean free = true;
            for (Vma v : dumped) {
                if (v.overlaps(base, end)) {
                    free = false;
                    break;
                }
            }
            for (int i = 0; free && i < seed.size(); i++) {
                if (seed.get(i).overlaps(base, end)) free = false;
            }
            if (free) return base;
        }
        throw new CriuException("No free address range of " + size + " bytes for the restorer's own pages");
    }
}
