package org.jcriu.mem;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.jcriu.CriuException;

/**
 * Chunks filled on worker threads and drained by the calling thread in chunk order: reading a
 * task's pages (and comparing them) overlaps writing them to one file, whose writes serialise
 * on its inode lock anyway. A few page-aligned buffers go round: a worker takes a free buffer
 * before a chunk number, so the lowest chunk not yet drained always has a buffer and the drain
 * never waits for nothing. The first failure (a worker's or the drain's) stops the run and is
 * thrown; the workers are gone when {@link #run} returns.
 */
public final class PagePipeline {
    /** Fills {@code buf} with chunk {@code i}; returns what the drain needs to know besides the bytes. */
    public interface Filler<T> {
        T fill(int i, MemorySegment buf);
    }

    /** Takes chunk {@code i} in order; {@code buf} goes back to the workers when this returns. */
    public interface Drain<T> {
        void drain(int i, MemorySegment buf, T filled) throws IOException;
    }

    /** Work on chunk {@code i}, any order, by worker number {@code worker} (0 to workers - 1). */
    public interface Work {
        void run(int worker, int i) throws IOException;
    }

    private record Filled<T>(MemorySegment buf, T value) {}

    private PagePipeline() {}

    /**
     * Runs {@code chunks} chunks through {@code workers} threads named {@code name}, each with its
     * own filler from {@code fillers}, with buffers of {@code bufBytes}. Failures become a
     * CriuException "Can't {@code what}: ...", or the worker's own CriuException.
     */
    public static <T> void run(String name, int chunks, int workers, long bufBytes, Supplier<Filler<T>> fillers,
            Drain<T> drain, String what) {
        if (chunks == 0) return;
        int readers = Math.max(1, Math.min(workers, chunks));
        int nbuf = Math.min(chunks, readers + 2);
        try (Arena arena = Arena.ofShared()) {
            BlockingQueue<MemorySegment> free = new ArrayBlockingQueue<>(nbuf);
            for (int i = 0; i < nbuf; i++) free.add(arena.allocate(bufBytes, PageRun.PAGE_SIZE));
            List<CompletableFuture<Filled<T>>> filled = new ArrayList<>(chunks);
            for (int i = 0; i < chunks; i++) filled.add(new CompletableFuture<>());
            AtomicInteger next = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(readers,
                    r -> Thread.ofPlatform().name(name).daemon(true).unstarted(r));
            try {
                for (int w = 0; w < readers; w++) {
                    pool.submit(() -> {
                        Filler<T> f = fillers.get();
                        while (true) {
                            MemorySegment buf = free.take();
                            int i = next.getAndIncrement();
                            if (i >= chunks) return null;
                            try {
                                filled.get(i).complete(new Filled<>(buf, f.fill(i, buf)));
                            } catch (Throwable e) {
                                filled.get(i).completeExceptionally(e);
                                return null;
                            }
                        }
                    });
                }
                for (int i = 0; i < chunks; i++) {
                    Filled<T> f = filled.get(i).get();
                    drain.drain(i, f.buf(), f.value());
                    free.put(f.buf());
                }
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new CriuException("Can't " + what + ": " + e.getCause(), e.getCause());
            } catch (IOException e) {
                throw new CriuException("Can't " + what + ": " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CriuException("interrupted: can't " + what);
            } finally {
                pool.shutdownNow();
                try {
                    pool.awaitTermination(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** How many workers {@link #forEach} starts for {@code chunks} chunks: at least one, at most one a chunk. */
    public static int workers(int workers, int chunks) {
        return Math.max(1, Math.min(workers, chunks));
    }

    /**
     * Runs {@code work} on chunks {@code 0..chunks-1} in no particular order on
     * {@link #workers}{@code (workers, chunks)} threads named {@code name} (this thread when one is
     * enough), which pull the next chunk from a shared counter so that uneven chunks spread
     * evenly. Stops at the first failure and throws it (as {@link #run} does) once every worker
     * has stopped.
     */
    public static void forEach(String name, int chunks, int workers, Work work, String what) {
        int n = workers(workers, chunks);
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        java.util.function.IntConsumer worker = w -> {
            int i;
            try {
                while (failure.get() == null && (i = next.getAndIncrement()) < chunks) work.run(w, i);
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        };
        if (n == 1) {
            worker.accept(0);
        } else {
            List<Thread> ts = new ArrayList<>(n);
            for (int k = 0; k < n; k++) {
                int w = k;
                ts.add(Thread.ofPlatform().name(name + "-" + k).daemon(true).start(() -> worker.accept(w)));
            }
            boolean interrupted = false;
            for (Thread t : ts) {
                while (true) {
                    try {
                        t.join();
                        break;
                    } catch (InterruptedException e) {
                        // the workers stop after their chunk; wait for them, the work is theirs
                        interrupted = true;
                        failure.compareAndSet(null, new CriuException("interrupted: can't " + what));
                        next.set(chunks);
                    }
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
        Throwable f = failure.get();
        if (f == null) return;
        if (f instanceof RuntimeException r) throw r;
        if (f instanceof Error e) throw e;
        if (f instanceof IOException e) throw new CriuException("Can't " + what + ": " + e.getMessage(), e);
        throw new CriuException("Can't " + what + ": " + f, f);
    }
}
