package org.jcriu.mem;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * Pages stored in local pages-N.img files: one file, or one per layer of an incremental chain
 * ({@link PageChain}: a run's source offset carries its layer in the bits above
 * {@link PageChain#LAYER_SHIFT}). Positional reads on one channel are thread-safe, and a worker
 * reading into its own reused buffer keeps the source side free of page faults, which matters
 * because first-touch faults on the target side already dominate a large restore. Parent layers
 * are opened on first use: a chain may name more ancestors than a task's pages need.
 */
public final class LocalPageSource implements PageSource {
    private final Layer[] layers;
    private final Arena arena = Arena.ofShared();

    /** One pages file: its channel and, once asked for, its read-only mapping. */
    private final class Layer {
        final Path file;
        private volatile FileChannel channel;
        private long size;
        private volatile MemorySegment mapped;

        Layer(Path file) {
            this.file = file;
        }

        FileChannel channel() {
            FileChannel c = channel;
            return c != null ? c : open();
        }

        private synchronized FileChannel open() {
            if (channel == null) {
                try {
                    FileChannel c = FileChannel.open(file, StandardOpenOption.READ);
                    size = c.size();
                    channel = c; // published after size
                } catch (IOException e) {
                    throw new CriuException("Can't open " + file + ": " + CriuException.reason(e), e);
                }
            }
            return channel;
        }

        long size() {
            channel(); // size is written before the volatile channel, so it is seen once channel is
            return size;
        }

        MemorySegment mapping() {
            MemorySegment m = mapped;
            return m != null ? m : map();
        }

        private synchronized MemorySegment map() {
            if (mapped == null) {
                try {
                    mapped = channel().map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                } catch (IOException e) {
                    throw new CriuException("Can't map " + file + ": " + e.getMessage(), e);
                }
            }
            return mapped;
        }

        synchronized void close() throws IOException {
            if (channel != null) channel.close();
        }
    }

    public LocalPageSource(Path file) {
        this(List.of(file));
    }

    /** {@code files.get(k)} holds the pages of layer k (see {@link PageChain#files()}). */
    public LocalPageSource(List<Path> files) {
        layers = new Layer[files.size()];
        for (int i = 0; i < layers.length; i++) layers[i] = new Layer(files.get(i));
        layers[0].channel(); // the image's own pages must be there (a missing one fails now)
    }

    private Layer layer(long sourceOffset) {
        int k = PageChain.layer(sourceOffset);
        if (k >= layers.length) {
            throw new CriuException(String.format("%s: page data in parent image %d, but the chain has only %d images",
                    layers[0].file.getFileName(), k, layers.length));
        }
        return layers[k];
    }

    /**
     * The whole file mapped read-only: process_vm_writev then copies from the page cache
     * straight into the task, one copy instead of a read into a buffer and a second copy out.
     */
    @Override
    public MemorySegment direct(PageRun run, long offsetInRun, long len) {
        long v = run.sourceOffset() + offsetInRun;
        Layer l = layer(v);
        long pos = PageChain.offsetInLayer(v);
        if (pos + len > l.size()) return null; // read() reports the truncation
        return l.mapping().asSlice(pos, len);
    }

    /**
     * Maps the file now and asks the kernel to fill the mapping's page tables from the page
     * cache (MADV_POPULATE_READ) on a background thread, so that the source side of the copies
     * takes no faults; meant to overlap with building the task. Best effort: an old kernel
     * without the advice just faults as usual.
     */
    public void prefetch() {
        if (layers[0].size() < (64L << 20)) return;
        MemorySegment m = layers[0].mapping();
        Thread.ofPlatform().daemon().name("pages-prefetch").start(() -> {
            try {
                Sys.syscall(Nr.MADVISE, m.address(), m.byteSize(), MADV_POPULATE_READ);
            } catch (RuntimeException e) {
                // the copies will fault the pages in instead
            }
        });
    }

    private static final int MADV_POPULATE_READ = 22;

    /**
     * Maps every layer and fills the mappings' page tables now (MADV_POPULATE_READ), on this
     * thread: for a dump that compares a frozen task's pages with these, the faults are then taken
     * before the task is frozen. Best effort, as {@link #prefetch}.
     */
    public void populate() {
        for (Layer l : layers) {
            try {
                if (l.size() == 0) continue;
                MemorySegment m = l.mapping();
                Sys.syscall(Nr.MADVISE, m.address(), m.byteSize(), MADV_POPULATE_READ);
            } catch (RuntimeException e) {
                // a missing ancestor is reported where a page needs it; faults are only slower
            }
        }
    }

    /** Size of the image's own pages file (layer 0). */
    public long size() {
        return layers[0].size();
    }

    public Path file() {
        return layers[0].file;
    }

    @Override
    public void read(PageRun run, long offsetInRun, MemorySegment dst) {
        long v = run.sourceOffset() + offsetInRun;
        Layer l = layer(v);
        long pos = PageChain.offsetInLayer(v);
        long want = dst.byteSize();
        if (pos + want > l.size()) {
            throw new CriuException(String.format("%s is truncated: pages for 0x%x need bytes up to offset %d, file has %d",
                    name(l), run.vaddr() + offsetInRun, pos + want, l.size()));
        }
        ByteBuffer bb = dst.asByteBuffer();
        try {
            FileChannel ch = l.channel();
            while (bb.hasRemaining()) {
                int n = ch.read(bb, pos + bb.position());
                if (n < 0) {
                    throw new CriuException(String.format("%s: unexpected end of file at offset %d", name(l), pos + bb.position()));
                }
            }
        } catch (IOException e) {
            throw new CriuException(String.format("%s: read at offset %d failed: %s", name(l), pos, e.getMessage()), e);
        }
    }

    /** pages-1.img for the image itself, parent/pages-1.img for its parent's, and so on. */
    private String name(Layer l) {
        int k = 0;
        while (layers[k] != l) k++;
        return "parent/".repeat(k) + l.file.getFileName();
    }

    @Override
    public String where(PageRun run, long offsetInRun) {
        long v = run.sourceOffset() + offsetInRun;
        return name(layer(v)) + " at offset " + PageChain.offsetInLayer(v);
    }

    @Override
    public void close() {
        try {
            arena.close();
            for (Layer l : layers) l.close();
        } catch (IOException ignored) {
            // read-only channels: nothing to lose
        }
    }
}
