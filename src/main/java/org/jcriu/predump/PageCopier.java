package org.jcriu.predump;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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

import org.jcriu.CriuException;
import org.jcriu.mem.PageRun;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/**
 * Reads a task's pages and sorts each into "same as the parent image's copy" (a PE_PARENT entry,
 * nothing written) or "changed or new" (PE_PRESENT, written to the pages file when one is given).
 * This is jcriu's memory change tracking where the kernel has no soft-dirty bit: a byte
 * comparison with the parent's pages, mapped read-only. It is exact whatever happened in
 * between (the parent may even have been copied while the task ran), so a pre-dump may read
 * pages after the task runs again. Reader threads fill 4 MiB buffers with process_vm_readv and
 * compare; the calling thread writes the changed pages in address order and builds the runs.
 */
final class PageCopier {
    /** 1 MiB: a filled buffer is still in the CPU's cache when it is compared. */
    static final int CHUNK = 1 << 20;
    private static final int PAGE = (int) PageRun.PAGE_SIZE;
    static final byte WRITE = 0, PARENT = 1, GONE = 2;

    /** The runs for the pagemap (PE_PARENT and PE_PRESENT, address order) and the page counts. */
    record Result(List<PageRun> runs, long written, long inParent, long gone) {}

    private record Chunk(long vaddr, int pages, int flags) {}

    private record Filled(MemorySegment buf, byte[] status) {}

    private final int pid;
    private final ParentPages parent;
    /** Pages that vanished (unmapped since the scan) are left out instead of failing: only while the task runs. */
    private final boolean tolerant;
    private final int[] memFd = {-1};

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
        List<Chunk> chunks = chunks(runs);
        List<PageRun> result = new ArrayList<>();
        long written = 0, inParent = 0, gone = 0;
        if (chunks.isEmpty()) return new Result(result, 0, 0, 0);
        int readers = Math.max(1, Math.min(threads, chunks.size()));
        int nbuf = Math.min(chunks.size(), readers + 2);
        try (Arena arena = Arena.ofShared()) {
            BlockingQueue<MemorySegment> free = new ArrayBlockingQueue<>(nbuf);
            for (int i = 0; i < nbuf; i++) free.add(arena.allocate(CHUNK, PAGE));
            List<CompletableFuture<Filled>> filled = new ArrayList<>(chunks.size());
            for (int i = 0; i < chunks.size(); i++) filled.add(new CompletableFuture<>());
            AtomicInteger next = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(readers,
                    r -> Thread.ofPlatform().name("jcriu-compare").daemon(true).unstarted(r));
            try {
                for (int w = 0; w < readers; w++) {
                    pool.submit(() -> {
                        ParentPages.Cursor cur = parent == null ? null : parent.cursor();
                        while (true) {
                            MemorySegment buf = free.take();
                            int i = next.getAndIncrement();
                            if (i >= chunks.size()) return null;
                            try {
                                filled.get(i).complete(new Filled(buf, classify(chunks.get(i), buf, cur)));
                            } catch (Throwable e) {
                                filled.get(i).completeExceptionally(e);
                                return null;
                            }
                        }
                    });
                }
                long pos = out == null ? 0 : out.position();
                Run open = new Run(result);
                for (int i = 0; i < chunks.size(); i++) {
                    Filled f = filled.get(i).get();
                    Chunk c = chunks.get(i);
                    for (int p = 0; p < c.pages(); ) {
                        byte st = f.status()[p];
                        int q = p + 1;
                        while (q < c.pages() && f.status()[q] == st) q++;
                        long va = c.vaddr() + (long) p * PAGE;
                        if (st == WRITE) {
                            if (out != null) pos += write(out, f.buf().asSlice((long) p * PAGE, (long) (q - p) * PAGE), pos);
                            open.add(va, q - p, c.flags());
                            written += q - p;
                        } else if (st == PARENT) {
                            open.add(va, q - p, PageRun.PE_PARENT);
                            inParent += q - p;
                        } else {
                            gone += q - p;
                        }
                        p = q;
                    }
                    free.put(f.buf());
                }
                open.flush();
                if (out != null) out.position(pos);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new CriuException("Can't copy the pages of task " + pid + ": " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CriuException("interrupted while copying the pages of task " + pid);
            } catch (IOException e) {
                throw new CriuException("Can't write the pages of task " + pid + ": " + e.getMessage(), e);
            } finally {
                pool.shutdownNow();
                try {
                    pool.awaitTermination(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                synchronized (memFd) {
                    if (memFd[0] >= 0) Sys.close(memFd[0]);
                    memFd[0] = -1;
                }
            }
        }
        return new Result(result, written, inParent, gone);
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

    private byte[] classify(Chunk c, MemorySegment buf, ParentPages.Cursor cur) {
        byte[] st = new byte[c.pages()];
        if (c.flags() == PageRun.PE_PARENT) { // soft-dirty already said: unchanged
            java.util.Arrays.fill(st, PARENT);
            return st;
        }
        long len = (long) c.pages() * PAGE;
        long got;
        try {
            got = Sys.processVmReadv(pid, buf, c.vaddr(), len);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EFAULT && e.errno() != Errno.EIO) throw e;
            got = 0;
        }
        if (got < len) readRest(c, buf, got / PAGE, st);
        if (cur == null) return st;
        // Compare the longest spans the parent holds contiguously, one mismatch() each up to the
        // first difference: most pages are equal, so the cost is the memory bandwidth, not a call per page.
        for (int p = 0; p < c.pages(); ) {
            if (st[p] != WRITE) {
                p++;
                continue;
            }
            int q = p;
            while (q < c.pages() && st[q] == WRITE) q++;
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

    /**
     * process_vm_readv stops at the first page it cannot read (no PROT_READ, or unmapped since
     * the scan): the rest comes from /proc/PID/mem, which reads through PROT_NONE (FOLL_FORCE),
     * page by page after a failure so that one vanished page costs only itself.
     */
    private void readRest(Chunk c, MemorySegment buf, long from, byte[] st) {
        int fd;
        synchronized (memFd) {
            if (memFd[0] < 0) memFd[0] = Sys.open("/proc/" + pid + "/mem", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
            fd = memFd[0];
        }
        long rest = (c.pages() - from) * PAGE;
        if (readFully(fd, buf.asSlice(from * PAGE, rest), c.vaddr() + from * PAGE)) return;
        for (long p = from; p < c.pages(); p++) {
            long va = c.vaddr() + p * PAGE;
            if (readFully(fd, buf.asSlice(p * PAGE, PAGE), va)) continue;
            if (!tolerant) throw new CriuException(String.format("Can't read memory of task %d at 0x%x", pid, va));
            st[(int) p] = GONE;
        }
    }

    private static boolean readFully(int fd, MemorySegment dst, long remote) {
        long done = 0;
        while (done < dst.byteSize()) {
            long r;
            try {
                r = Sys.pread(fd, dst.asSlice(done), dst.byteSize() - done, remote + done);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ESRCH) throw e;
                return false;
            }
            if (r <= 0) return false;
            done += r;
        }
        return true;
    }

    private static List<Chunk> chunks(List<PageRun> runs) {
        List<Chunk> out = new ArrayList<>();
        int max = CHUNK / PAGE;
        for (PageRun r : runs) {
            for (long done = 0; done < r.nrPages(); ) {
                int n = (int) Math.min(max, r.nrPages() - done);
                out.add(new Chunk(r.vaddr() + done * PAGE, n, r.flags()));
                done += n;
            }
        }
        return out;
    }
}
