package org.jcriu.predump;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.mem.PageChunk;
import org.jcriu.mem.PagePipeline;
import org.jcriu.mem.PageRun;
import org.jcriu.mem.RemotePages;

/**
 * Reads a task's pages and sorts each into "same as the parent image's copy" (a PE_PARENT entry,
 * nothing written) or "changed or new" (PE_PRESENT, written to the pages file when one is given).
 * This is jcriu's memory change tracking where the kernel has no soft-dirty bit: a byte
 * comparison with the parent's pages, mapped read-only. It is exact whatever happened in
 * between (the parent may even have been copied while the task ran), so a pre-dump may read
 * pages after the task runs again. Reader threads fill 1 MiB buffers with process_vm_readv and
 * compare; the calling thread writes the changed pages in address order and builds the runs.
 */
final class PageCopier {
    /** 1 MiB: a filled buffer is still in the CPU's cache when it is compared. */
    static final int CHUNK = 1 << 20;
    private static final int PAGE = (int) PageRun.PAGE_SIZE;
    static final byte WRITE = 0, PARENT = 1, GONE = 2;

    /** The runs for the pagemap (PE_PARENT and PE_PRESENT, address order) and the page counts. */
    record Result(List<PageRun> runs, long written, long inParent, long gone) {}

    private final int pid;
    private final ParentPages parent;
    /** Pages that vanished (unmapped since the scan) are left out instead of failing: only while the task runs. */
    private final boolean tolerant;

    PageCopier(int pid, ParentPages parent, boolean tolerant) {
        this.pid = pid;
        this.parent = parent;
        this.tolerant = tolerant;
    }

    /**
     * Goes through {@code runs}; changed pages go to {@code out} from its current position when
     * not null (else the caller copies the PE_PRESENT runs itself, as a frozen dump does).
     */
    Result copy(List<PageRun> runs, FileChannel out, int threads) {
        List<PageChunk> chunks = PageChunk.cut(runs, CHUNK, false);
        List<PageRun> result = new ArrayList<>();
        long[] counts = new long[3]; // written, in parent, gone
        try (RemotePages mem = new RemotePages(pid)) {
            long start = out == null ? 0 : out.position();
            long[] pos = {start};
            Run open = new Run(result);
            PagePipeline.run("jcriu-compare", chunks.size(), threads, CHUNK, () -> {
                ParentPages.Cursor cur = parent == null ? null : parent.cursor();
                return (i, buf) -> classify(chunks.get(i), buf, cur, mem);
            }, (i, buf, st) -> {
                PageChunk c = chunks.get(i);
                int pages = pages(c);
                for (int p = 0; p < pages; ) {
                    byte s = st[p];
                    int q = p + 1;
                    while (q < pages && st[q] == s) q++;
                    long va = c.vaddr() + (long) p * PAGE;
                    if (s == WRITE) {
                        if (out != null) pos[0] += write(out, buf.asSlice((long) p * PAGE, (long) (q - p) * PAGE), pos[0]);
                        open.add(va, q - p, c.flags());
                    } else if (s == PARENT) {
                        open.add(va, q - p, PageRun.PE_PARENT);
                    }
                    counts[s] += q - p;
                    p = q;
                }
            }, "copy the pages of task " + pid);
            open.flush();
            if (out != null) out.position(pos[0]);
        } catch (IOException e) {
            throw new CriuException("Can't write the pages of task " + pid + ": " + e.getMessage(), e);
        }
        return new Result(result, counts[WRITE], counts[PARENT], counts[GONE]);
    }

    private static int pages(PageChunk c) {
        return (int) (c.bytes() / PAGE);
    }

    /** Coalesces contiguous pages with the same flags into one pagemap entry. */
    private static final class Run {
        private final List<PageRun> out;
        private long start, pages;
        private int flags;

        Run(List<PageRun> out) {
            this.out = out;
        }

        void add(long va, long n, int f) {
            if (pages > 0 && f == flags && start + pages * PAGE == va) {
                pages += n;
                return;
            }
            flush();
            start = va;
            pages = n;
            flags = f;
        }

        void flush() {
            if (pages > 0) out.add(new PageRun(start, pages, flags, 0));
            pages = 0;
        }
    }

    private static long write(FileChannel out, MemorySegment seg, long pos) throws IOException {
        ByteBuffer bb = seg.asByteBuffer();
        long p = pos;
        while (bb.hasRemaining()) p += out.write(bb, p);
        return p - pos;
    }

    private byte[] classify(PageChunk c, MemorySegment buf, ParentPages.Cursor cur, RemotePages mem) {
        int pages = pages(c);
        byte[] st = new byte[pages];
        if (c.flags() == PageRun.PE_PARENT) { // soft-dirty already said: unchanged
            java.util.Arrays.fill(st, PARENT);
            return st;
        }
        mem.read(buf, c.addr(), c.len(), 1, tolerant ? off -> st[(int) (off / PAGE)] = GONE : null);
        if (cur == null) return st;
        // Compare the longest spans the parent holds contiguously, one mismatch() each up to the
        // first difference: most pages are equal, so the cost is the memory bandwidth, not a call per page.
        for (int p = 0; p < pages; ) {
            if (st[p] != WRITE) {
                p++;
                continue;
            }
            int q = p;
            while (q < pages && st[q] == WRITE) q++;
            MemorySegment theirs = cur.span(c.vaddr() + (long) p * PAGE, (long) (q - p) * PAGE);
            if (theirs == null) {
                p++; // not in the parent: written
                continue;
            }
            int n = (int) (theirs.byteSize() / PAGE);
            MemorySegment mine = buf.asSlice((long) p * PAGE, (long) n * PAGE);
            long off = 0, spanLen = (long) n * PAGE;
            while (off < spanLen) {
                long m = mine.asSlice(off).mismatch(theirs.asSlice(off));
                long upTo = m < 0 ? spanLen : (off + m) / PAGE * PAGE;
                for (long o = off; o < upTo; o += PAGE) st[p + (int) (o / PAGE)] = PARENT;
                off = m < 0 ? spanLen : upTo + PAGE; // the differing page stays WRITE
            }
            p += n;
        }
        return st;
    }
}
