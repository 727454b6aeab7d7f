package org.jcriu.predump;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.mem.PageRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a dump's page runs are sorted with a write tracker's snapshot: a page is left to the parent
 * only when it is tracked, not written and held by the parent; everything else keeps its flags.
 */
class WriteTrackerTest {
    static final long P = PageRun.PAGE_SIZE, BASE = 0x10000000L;
    static final int PRESENT = PageRun.PE_PRESENT, PARENT = PageRun.PE_PARENT;

    @TempDir
    Path tmp;

    /** Parent images of pid 7 holding pages [from, to) of each pair (page indexes from BASE). */
    ParentPages parent(long... ranges) throws Exception {
        ImageDir dir = new ImageDir(Files.createDirectories(tmp.resolve("parent")));
        long n = 0;
        try (ImageWriter w = dir.create(ImageType.PAGEMAP, 7)) {
            w.write(PagemapHead.newBuilder().setPagesId(1).build());
            for (int i = 0; i < ranges.length; i += 2) {
                long pages = ranges[i + 1] - ranges[i];
                w.write(PagemapEntry.newBuilder().setVaddr(BASE + ranges[i] * P).setCompatNrPages(0).setNrPages(pages)
                        .setFlags(PRESENT).build());
                n += pages;
            }
        }
        Files.write(dir.path(ImageType.PAGES, 1), new byte[(int) (n * P)]);
        return ParentPages.open(dir, 7);
    }

    static List<long[]> ranges(long... pageIdx) {
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < pageIdx.length; i += 2) out.add(new long[] {BASE + pageIdx[i] * P, BASE + pageIdx[i + 1] * P});
        return out;
    }

    static List<PageRun> runs(long... triples) {
        List<PageRun> out = new ArrayList<>();
        for (int i = 0; i < triples.length; i += 3) out.add(new PageRun(BASE + triples[i] * P, triples[i + 1], (int) triples[i + 2], 0));
        return out;
    }

    static String show(List<PageRun> runs) {
        StringBuilder sb = new StringBuilder();
        for (PageRun r : runs) {
            sb.append((r.vaddr() - BASE) / P).append('+').append(r.nrPages()).append(r.flags() == PARENT ? "P " : "W ");
        }
        return sb.toString().trim();
    }

    @Test
    void cleanTrackedPagesTheParentHoldsGoToTheParent() throws Exception {
        try (ParentPages pp = parent(0, 100)) {
            // tracked [0, 50) and [60, 100); written 10-12 and 45-62 (across the untracked gap)
            var snap = new WriteTracker.Snapshot(ranges(0, 50, 60, 100), ranges(10, 12, 45, 62));
            List<PageRun> out = snap.split(runs(0, 100, PRESENT), pp);
            assertEquals("0+10P 10+2W 12+33P 45+17W 62+38P", show(out));
        }
    }

    @Test
    void pagesThePreDumpMissedAreWrittenAndRunsKeepTheirOwnFlags() throws Exception {
        try (ParentPages pp = parent(0, 20, 22, 40)) {
            var snap = new WriteTracker.Snapshot(ranges(0, 40), List.of());
            int lazy = PRESENT | PageRun.PE_LAZY;
            List<PageRun> out = snap.split(runs(0, 30, lazy, 35, 10, PRESENT), pp);
            // 20-21 are not in the parent (gone while a read-mode pre-dump copied them); 40-44 untracked
            assertEquals("0+20P 20+2W 22+8P 35+5P 40+5W", show(out));
            assertEquals(lazy, out.get(1).flags(), "a written run keeps its flags (PE_LAZY)");
        }
    }

    @Test
    void nothingTrackedChangesNothing() throws Exception {
        try (ParentPages pp = parent(0, 10)) {
            var snap = new WriteTracker.Snapshot(List.of(), List.of());
            assertEquals("0+10W", show(snap.split(runs(0, 10, PRESENT), pp)));
            assertEquals(0, snap.writtenPages());
        }
    }
}
