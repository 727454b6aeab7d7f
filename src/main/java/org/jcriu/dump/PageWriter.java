package org.jcriu.dump;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jcriu.CriuException;
import org.jcriu.mem.PageChunk;
import org.jcriu.mem.PagePipeline;
import org.jcriu.mem.PageRun;
import org.jcriu.mem.RemotePages;

/**
 * Copies the pages of a stopped task into pages-N.img. The runs are cut into chunks of at most
 * {@link #CHUNK} bytes (and IOV_MAX ranges), each with its place in the file; reader threads
 * fill buffers with one process_vm_readv per chunk while the calling thread writes the filled
 * ones in order ({@link PagePipeline}), so reading overlaps writing. The tracer thread is not
 * involved: the task only has to stay stopped.
 */
public final class PageWriter {
    static final int CHUNK = 4 << 20;

    private final int pid;
    private final AtomicLong writeNanos = new AtomicLong();

    public PageWriter(int pid) {
        this.pid = pid;
    }

    /** Nanoseconds spent in write calls, summed over workers. */
    public long writeNanos() {
        return writeNanos.get();
    }

    public void write(List<PageScan.Run> runs, Path file, int threads) {
        List<PageChunk> chunks = PageChunk.cut(present(runs), CHUNK, true);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING); RemotePages mem = new RemotePages(pid)) {
            // one writer (this thread) and the other CPUs reading
            PagePipeline.run("jcriu-pages", chunks.size(), Math.max(1, threads - 1), CHUNK, () -> (i, buf) -> {
                PageChunk c = chunks.get(i);
                mem.read(buf, c.addr(), c.len(), c.n(), null);
                return null;
            }, (i, buf, none) -> {
                PageChunk c = chunks.get(i);
                ByteBuffer bb = buf.asSlice(0, c.bytes()).asByteBuffer();
                long t0 = System.nanoTime();
                long pos = c.offset();
                while (bb.hasRemaining()) pos += ch.write(bb, pos);
                writeNanos.addAndGet(System.nanoTime() - t0);
            }, "write " + file);
        } catch (IOException e) {
            throw new CriuException("Can't write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The runs with data in this image (PE_PARENT ones are in a parent image). */
    private static List<PageRun> present(List<PageScan.Run> runs) {
        List<PageRun> out = new ArrayList<>(runs.size());
        for (PageScan.Run r : runs) {
            if ((r.flags() & PageScan.PE_PRESENT) != 0) out.add(new PageRun(r.vaddr(), r.nrPages(), PageRun.PE_PRESENT, 0));
        }
        return out;
    }
}
