package org.jcriu.mem;

import java.lang.foreign.MemorySegment;

/**
 * Where the contents of dumped pages come from: a local pages-N.img today, a page server or a
 * lazy (userfaultfd) source later. Implementations must allow concurrent reads from several
 * threads, because pages are written into the restored task in parallel.
 */
public interface PageSource extends AutoCloseable {
    /** Fills {@code dst} with the run's bytes starting {@code offsetInRun} bytes into the run. */
    void read(PageRun run, long offsetInRun, MemorySegment dst);

    /**
     * The run's bytes as memory the kernel can copy from directly (a mapping of the image file),
     * or null when they must be {@link #read} into a buffer first.
     */
    default MemorySegment direct(PageRun run, long offsetInRun, long len) {
        return null;
    }

    /** Where those bytes are, for error messages ("pages-1.img at offset 0x3000"). */
    String where(PageRun run, long offsetInRun);

    @Override
    void close();
}
