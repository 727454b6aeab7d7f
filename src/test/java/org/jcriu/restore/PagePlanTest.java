package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.jcriu.mem.PageRun;
import org.junit.jupiter.api.Test;

class PagePlanTest {
    static Vma vma(long start, long end, int status) {
        return new Vma(start, end, 0, 0, 3, 0x22, status, 0, 0);
    }

    @Test
    void runsAreCutAtVmaBoundariesAndKernelMappingsSkipped() {
        List<Vma> vmas = List.of(vma(0x10000, 0x14000, Vma.REGULAR), vma(0x14000, 0x16000, Vma.REGULAR),
                vma(0x20000, 0x22000, Vma.REGULAR | Vma.VDSO), vma(0x30000, 0x31000, Vma.REGULAR));
        List<PageRun> runs = List.of(new PageRun(0x12000, 4, 4, 0), new PageRun(0x20000, 2, 4, 0x4000),
                new PageRun(0x30000, 1, 4, 0x6000));
        assertEquals(List.of(new PageRun(0x12000, 2, 4, 0), new PageRun(0x14000, 2, 4, 0x2000), new PageRun(0x30000, 1, 4, 0x6000)),
                PagePlan.writable(vmas, runs));
        assertEquals(List.of(new PageRun(0x20000, 2, 4, 0x4000)), PagePlan.inside(runs, vmas.get(2)));
        boolean[] has = PagePlan.vmasWithPages(vmas, runs);
        assertEquals(List.of(true, true, false, true), List.of(has[0], has[1], has[2], has[3]));
    }
}
