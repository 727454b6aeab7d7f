package org.jcriu.mem;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;

/**
 * Writes dumped pages into a restored task from several platform threads at once. The cost of a
 * large restore is the target's first-touch page faults taken inside process_vm_writev, and those
 * scale with cores because each writer only takes mmap_lock for reading. Work is cut into chunks
 * of at most {@link #CHUNK} bytes that workers pull from a shared counter, so one huge VMA is
 * spread over all cores as well as many small ones.
 */
public final class PageWriter {
    private static final Logger LOG = Log.get("pages");
    static final long CHUNK = 4L << 20;

    private final PageSource source;
    private final RemoteWrite target;
    private final int threads;
    private final boolean direct = !Boolean.getBoolean("jcriu.pages.buffered");

    public PageWriter(PageSource source, RemoteWrite target, int threads) {
        this.source = source;
        this.target = target;
        this.threads = Math.max(1, threads);
    }

    record Chunk(PageRun run, long offset, long len) {}

    static List<Chunk> chunks(List<PageRun> runs) {
        List<Chunk> out = new ArrayList<>();
        for (PageRun r : runs) {
            for (long off = 0; off < r.bytes(); off += CHUNK) {
                out.add(new Chunk(r, off, Math.min(CHUNK, r.bytes() - off)));
            }
        }
        return out;
    }

    /** Writes every run; returns the number of bytes written. Throws the first failure. */
    public long write(List<PageRun> runs) {
        List<Chunk> chunks = chunks(runs);
        long total = 0;
        for (PageRun r : runs) total += r.bytes();
        int n = PagePipeline.workers(threads, chunks.size());
        long t0 = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            // a buffer for each worker, allocated only when the source must be read into one
            MemorySegment[] bufs = new MemorySegment[n];
            PagePipeline.forEach("page-writer", chunks.size(), n, (w, i) -> {
                Chunk c = chunks.get(i);
                MemorySegment buf = direct ? source.direct(c.run(), c.offset(), c.len()) : null;
                if (buf == null) {
                    if (bufs[w] == null) {
                        synchronized (bufs) {
                            bufs[w] = arena.allocate(CHUNK, PageRun.PAGE_SIZE);
                        }
                    }
                    buf = bufs[w].asSlice(0, c.len());
                    source.read(c.run(), c.offset(), buf);
                }
                writeChunk(c, buf);
            }, "write pages");
        }
        long us = (System.nanoTime() - t0) / 1000;
        LOG.info("wrote %d bytes in %d runs with %d threads in %d us", total, runs.size(), n, us);
        return total;
    }

    private void writeChunk(Chunk c, MemorySegment buf) {
        long remote = c.run().vaddr() + c.offset();
        long done = 0;
        while (done < c.len()) {
            long k;
            try {
                k = target.write(buf.asSlice(done), remote + done);
            } catch (CriuException e) {
                throw new CriuException(e.errno(), String.format("Can't write pages at 0x%x (from %s): %s",
                        remote + done, source.where(c.run(), c.offset() + done), e.getMessage()), e);
            }
            if (k <= 0) {
                throw new CriuException(String.format("Can't write pages at 0x%x (from %s): the kernel copied nothing",
                        remote + done, source.where(c.run(), c.offset() + done)));
            }
            done += k;
        }
    }
}
