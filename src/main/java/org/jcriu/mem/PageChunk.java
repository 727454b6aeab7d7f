package org.jcriu.mem;

import java.util.ArrayList;
import java.util.List;

/**
 * Pages read with one process_vm_readv: up to {@link #IOV_MAX} ranges of a task's memory,
 * {@code bytes} in all, which land at {@code offset} in the output (the runs' pages one after
 * the other, as pages-N.img holds them), all from runs with pagemap flags {@code flags}.
 */
public record PageChunk(long offset, long[] addr, long[] len, int n, long bytes, int flags) {
    /** The kernel's limit on iovecs per call (UIO_MAXIOV). */
    public static final int IOV_MAX = 1024;

    /** The first range's address: a chunk cut with {@code join} false is one contiguous range. */
    public long vaddr() {
        return addr[0];
    }

    /**
     * Cuts {@code runs} into chunks of at most {@code max} bytes. With {@code join}, consecutive
     * runs with the same flags share a chunk (many small runs cost one call); without, a chunk
     * never spans two runs.
     */
    public static List<PageChunk> cut(List<PageRun> runs, long max, boolean join) {
        List<PageChunk> out = new ArrayList<>();
        long off = 0;
        long[] addr = new long[IOV_MAX], len = new long[IOV_MAX];
        int n = 0, flags = 0;
        long bytes = 0;
        for (PageRun r : runs) {
            if (n > 0 && (!join || r.flags() != flags)) {
                out.add(new PageChunk(off, addr.clone(), len.clone(), n, bytes, flags));
                off += bytes;
                n = 0;
                bytes = 0;
            }
            flags = r.flags();
            long a = r.vaddr();
            long left = r.bytes();
            while (left > 0) {
                long take = Math.min(left, max - bytes);
                addr[n] = a;
                len[n] = take;
                n++;
                bytes += take;
                a += take;
                left -= take;
                if (bytes == max || n == IOV_MAX) {
                    out.add(new PageChunk(off, addr.clone(), len.clone(), n, bytes, flags));
                    off += bytes;
                    n = 0;
                    bytes = 0;
                }
            }
        }
        if (n > 0) out.add(new PageChunk(off, addr.clone(), len.clone(), n, bytes, flags));
        return out;
    }
}
