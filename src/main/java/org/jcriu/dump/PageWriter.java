package org.jcriu.dump;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jcriu.CriuException;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/**
 * Copies the pages of a stopped task into pages-N.img. The runs are cut into chunks of at most
 * {@link #CHUNK} bytes (and IOV_MAX ranges), each with its place in the file; reader threads
 * fill direct buffers with one process_vm_readv per chunk while the calling thread writes the
 * filled ones in order, so reading overlaps writing. Ranges process_vm_readv cannot read (pages
 * without PROT_READ) are read through /proc/PID/mem, which the kernel serves with FOLL_FORCE.
 * The tracer thread is not involved: the task only has to stay stopped.
 */
public final class PageWriter {
    static final int CHUNK = 4 << 20;
    private static final int IOV_MAX = 1024;

    private record Chunk(long fileOffset, long[] addr, long[] len, int n, long bytes) {}

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
        List<Chunk> chunks = chunks(runs);
        int[] memFd = {-1};
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING); Arena arena = Arena.ofShared()) {
            if (chunks.isEmpty()) return;
            // Readers fill buffers with process_vm_readv, this thread writes them in file order:
            // writes to one file serialise on its inode lock anyway, so one writer and the other
            // CPUs reading keeps both busy without contention.
            int readers = Math.max(1, Math.min(threads - 1, chunks.size()));
            int nbuf = Math.min(chunks.size(), readers + 2);
            BlockingQueue<MemorySegment> free = new ArrayBlockingQueue<>(nbuf);
            for (int i = 0; i < nbuf; i++) free.add(arena.allocate(CHUNK, Linux.PAGE_SIZE));
            List<CompletableFuture<MemorySegment>> filled = new ArrayList<>(chunks.size());
            for (int i = 0; i < chunks.size(); i++) filled.add(new CompletableFuture<>());
            AtomicInteger next = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(readers, r -> Thread.ofPlatform().name("jcriu-pages").daemon(true).unstarted(r));
            try {
                for (int w = 0; w < readers; w++) {
                    pool.submit(() -> {
                        while (true) {
                            // A buffer before a chunk number: the lowest chunk not yet written
                            // always has a buffer, so the writer never waits for nothing.
                            MemorySegment buf = free.take();
                            int i = next.getAndIncrement();
                            if (i >= chunks.size()) return null;
                            try {
                                read(chunks.get(i), buf, memFd);
                                filled.get(i).complete(buf);
                            } catch (Throwable e) {
                                filled.get(i).completeExceptionally(e);
                                return null;
                            }
                        }
                    });
                }
                for (int i = 0; i < chunks.size(); i++) {
                    MemorySegment buf = filled.get(i).get();
                    Chunk c = chunks.get(i);
                    ByteBuffer bb = buf.asSlice(0, c.bytes()).asByteBuffer();
                    long t0 = System.nanoTime();
                    long pos = c.fileOffset();
                    while (bb.hasRemaining()) pos += ch.write(bb, pos);
                    writeNanos.addAndGet(System.nanoTime() - t0);
                    free.put(buf);
                }
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException r) throw r;
                throw new CriuException("Can't write " + file + ": " + c, c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CriuException("interrupted while writing " + file);
            } finally {
                pool.shutdownNow();
                try {
                    pool.awaitTermination(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                synchronized (memFd) {
                    if (memFd[0] >= 0) Sys.close(memFd[0]);
                }
            }
        } catch (IOException e) {
            throw new CriuException("Can't write " + file + ": " + e.getMessage(), e);
        }
    }

    private void read(Chunk c, MemorySegment buf, int[] memFd) {
        long got;
        try {
            got = c.n() == 1 ? Sys.processVmReadv(pid, buf, c.addr()[0], c.len()[0])
                    : Sys.processVmReadv(pid, buf, c.addr(), c.len(), c.n());
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EFAULT && e.errno() != Errno.EIO) throw e;
            got = 0;
        }
        if (got < c.bytes()) readRestFromMem(c, buf, got, memFd);
    }

    /** process_vm_readv stops at the first page it cannot read; the rest comes from /proc/PID/mem. */
    private void readRestFromMem(Chunk c, MemorySegment buf, long from, int[] memFd) {
        int fd;
        synchronized (memFd) {
            if (memFd[0] < 0) memFd[0] = Sys.open("/proc/" + pid + "/mem", Linux.O_RDONLY, 0);
            fd = memFd[0];
        }
        long off = 0;
        for (int i = 0; i < c.n(); i++) {
            long end = off + c.len()[i];
            if (end > from) {
                long skip = Math.max(0, from - off);
                long remote = c.addr()[i] + skip;
                long len = c.len()[i] - skip;
                long done = 0;
                while (done < len) {
                    long r;
                    try {
                        r = Sys.pread(fd, buf.asSlice(off + skip + done), len - done, remote + done);
                    } catch (ErrnoException e) {
                        throw new CriuException(e.errno(), String.format("Can't read memory of task %d at 0x%x (%d bytes): %s",
                                pid, remote + done, len - done, e.getMessage()));
                    }
                    if (r <= 0) {
                        throw new CriuException(String.format("Can't read memory of task %d at 0x%x (%d bytes)", pid, remote + done, len - done));
                    }
                    done += r;
                }
            }
            off = end;
        }
    }

    private static List<Chunk> chunks(List<PageScan.Run> runs) {
        List<Chunk> out = new ArrayList<>();
        long fileOff = 0;
        long[] addr = new long[IOV_MAX], len = new long[IOV_MAX];
        int n = 0;
        long bytes = 0;
        for (PageScan.Run r : runs) {
            if ((r.flags() & PageScan.PE_PRESENT) == 0) continue; // in a parent image: no data here
            long a = r.vaddr();
            long left = r.nrPages() * Linux.PAGE_SIZE;
            while (left > 0) {
                long take = Math.min(left, CHUNK - bytes);
                addr[n] = a;
                len[n] = take;
                n++;
                bytes += take;
                a += take;
                left -= take;
                if (bytes == CHUNK || n == IOV_MAX) {
                    out.add(new Chunk(fileOff, addr.clone(), len.clone(), n, bytes));
                    fileOff += bytes;
                    n = 0;
                    bytes = 0;
                }
            }
        }
        if (n > 0) out.add(new Chunk(fileOff, addr, len, n, bytes));
        return out;
    }
}
