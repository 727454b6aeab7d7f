package org.jcriu.mem;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.jcriu.CriuException;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * Pages stored in a local pages-N.img. Positional reads on one channel are thread-safe, and a
 * worker reading into its own reused buffer keeps the source side free of page faults, which
 * matters because first-touch faults on the target side already dominate a large restore.
 */
public final class LocalPageSource implements PageSource {
    private final Path file;
    private final FileChannel channel;
    private final long size;
    private final Arena arena = Arena.ofShared();
    private MemorySegment mapped;

    public LocalPageSource(Path file) {
        this.file = file;
        try {
            this.channel = FileChannel.open(file, StandardOpenOption.READ);
            this.size = channel.size();
        } catch (IOException e) {
            throw new CriuException("Can't open " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The whole file mapped read-only: process_vm_writev then copies from the page cache
     * straight into the task, one copy instead of a read into a buffer and a second copy out.
     */
    @Override
    public MemorySegment direct(PageRun run, long offsetInRun, long len) {
        long pos = run.sourceOffset() + offsetInRun;
        if (pos + len > size) return null; // read() reports the truncation
        return mapping().asSlice(pos, len);
    }

    private synchronized MemorySegment mapping() {
        if (mapped == null) {
            try {
                mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (IOException e) {
                throw new CriuException("Can't map " + file + ": " + e.getMessage(), e);
            }
        }
        return mapped;
    }

    /**
     * Maps the file now and asks the kernel to fill the mapping's page tables from the page
     * cache (MADV_POPULATE_READ) on a background thread, so that the source side of the copies
     * takes no faults; meant to overlap with building the task. Best effort: an old kernel
     * without the advice just faults as usual.
     */
    public void prefetch() {
        if (size < (64L << 20)) return;
        MemorySegment m = mapping();
        Thread.ofPlatform().daemon().name("pages-prefetch").start(() -> {
            try {
                Sys.syscall(Nr.MADVISE, m.address(), m.byteSize(), MADV_POPULATE_READ);
            } catch (RuntimeException e) {
                // the copies will fault the pages in instead
            }
        });
    }

    private static final int MADV_POPULATE_READ = 22;

    public long size() {
        return size;
    }

    public Path file() {
        return file;
    }

    @Override
    public void read(PageRun run, long offsetInRun, MemorySegment dst) {
        long pos = run.sourceOffset() + offsetInRun;
        long want = dst.byteSize();
        if (pos + want > size) {
            throw new CriuException(String.format("%s is truncated: pages for 0x%x need bytes up to offset %d, file has %d",
                    file.getFileName(), run.vaddr() + offsetInRun, pos + want, size));
        }
        ByteBuffer bb = dst.asByteBuffer();
        try {
            while (bb.hasRemaining()) {
                int n = channel.read(bb, pos + bb.position());
                if (n < 0) {
                    throw new CriuException(String.format("%s: unexpected end of file at offset %d",
                            file.getFileName(), pos + bb.position()));
                }
            }
        } catch (IOException e) {
            throw new CriuException(String.format("%s: read at offset %d failed: %s", file.getFileName(), pos, e.getMessage()), e);
        }
    }

    @Override
    public String where(PageRun run, long offsetInRun) {
        return file.getFileName() + " at offset " + (run.sourceOffset() + offsetInRun);
    }

    @Override
    public void close() {
        try {
            arena.close();
            channel.close();
        } catch (IOException ignored) {
            // read-only channel: nothing to lose
        }
    }
}
