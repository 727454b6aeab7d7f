package org.jcriu.mem;

/**
 * One pagemap entry that carries data: {@code nrPages} pages for {@code vaddr} onwards, stored at
 * {@code sourceOffset} in the page source (for a local dump, the byte offset in pages-N.img; CRIU
 * concatenates present pages in pagemap order).
 */
public record PageRun(long vaddr, long nrPages, int flags, long sourceOffset) {
    public static final long PAGE_SIZE = 4096;

    /** Pagemap flags (criu/include/pagemap.h). */
    public static final int PE_PARENT = 1, PE_LAZY = 1 << 1, PE_PRESENT = 1 << 2;

    public long bytes() {
        return nrPages * PAGE_SIZE;
    }

    public long end() {
        return vaddr + bytes();
    }
}
