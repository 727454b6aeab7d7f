package org.jcriu.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How runs are cut into chunks: bytes, IOV_MAX, flags, and offsets one after the other. */
class PageChunkTest {
    static final long P = PageRun.PAGE_SIZE;

    @Test
    void joinedRunsShareChunksUpToTheByteLimitAndKeepTheirOffsets() {
        List<PageRun> runs = List.of(new PageRun(0x10000, 3, PageRun.PE_PRESENT, 0),
                new PageRun(0x20000, 6, PageRun.PE_PRESENT, 0), new PageRun(0x30000, 1, PageRun.PE_PRESENT, 0));
        List<PageChunk> c = PageChunk.cut(runs, 4 * P, true);
        assertEquals(3, c.size());
        assertEquals(2, c.get(0).n());
        assertEquals(0x20000, c.get(0).addr()[1]);
        assertEquals(P, c.get(0).len()[1]);
        assertEquals(0x21000, c.get(1).vaddr());
        assertEquals(4 * P, c.get(1).offset());
        assertEquals(8 * P, c.get(2).offset());
        assertEquals(2, c.get(2).n());
        assertEquals(2 * P, c.get(2).bytes());
    }

    @Test
    void unjoinedChunksAndFlagChangesNeverSpanTwoRuns() {
        List<PageRun> runs = List.of(new PageRun(0x10000, 2, PageRun.PE_PRESENT, 0),
                new PageRun(0x20000, 2, PageRun.PE_PRESENT, 0), new PageRun(0x30000, 2, PageRun.PE_PARENT, 0));
        assertEquals(3, PageChunk.cut(runs, 16 * P, false).size());
        List<PageChunk> joined = PageChunk.cut(runs, 16 * P, true);
        assertEquals(2, joined.size());
        assertEquals(PageRun.PE_PARENT, joined.get(1).flags());
        assertEquals(4 * P, joined.get(1).offset());
    }

    @Test
    void atMostIovMaxRangesPerChunk() {
        List<PageRun> runs = new ArrayList<>();
        for (int i = 0; i < PageChunk.IOV_MAX + 5; i++) runs.add(new PageRun(0x100000L + i * 2 * P, 1, PageRun.PE_PRESENT, 0));
        List<PageChunk> c = PageChunk.cut(runs, 1L << 30, true);
        assertEquals(2, c.size());
        assertEquals(PageChunk.IOV_MAX, c.get(0).n());
        assertEquals(5, c.get(1).n());
        assertEquals(PageChunk.IOV_MAX * P, c.get(1).offset());
    }
}
