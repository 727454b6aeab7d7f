package org.jcriu.dump;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.proc.Maps;
import org.jcriu.proc.Vma;

/**
 * The pages of every task of the tree, copied on worker threads from the moment the tree is
 * seized. process_vm_readv needs no ptrace, only a task that stays
 * stopped, so the copies run while the dump goes on with /proc, files and injected syscalls on
 * the main and tracer threads. Each task's pages go to a temporary file in the images directory;
 * {@link #take} waits for its task's copy and renames the file to pages-N.img once the dump has
 * drawn N, so the numbering is the one tasks dumped one after the other get (pstree order, with
 * memfd and shared memory ids drawn in between). TaskDump takes a task's pages before injecting
 * anything into it: injections use its stack below the red zone (put back on detach), which
 * must not be read half-way.
 *
 * <p>Each copy keeps two threads busy (PageWriter's reader, and its own writing), so half as many
 * tasks as there are CPUs are copied at once (property {@code jcriu.dump.parallelTasks}): on 2
 * CPUs one after the other, which measured faster than two at once for 4 x 256 MiB (the copies
 * still overlap everything else the dump does). A failed copy fails the dump when its task's pages are taken; {@link #close}
 * stops the copies still running and removes their files.
 */
final class TaskMemory implements AutoCloseable {
    private static final Logger LOG = Log.get("dump");

    /** The pages of a task as they were copied: the scan behind its pagemap, and the time spent writing. */
    record Copied(List<VmaPlan.Area> areas, PageScan.Result scan, long writeNanos) {}

    private record Job(Path tmp, Future<Copied> copy) {}

    private final ExecutorService pool;
    private final Map<Integer, Job> jobs = new LinkedHashMap<>();
    /**
     * /proc/PID/smaps of each stopped task, read once for the copy and the task's own dump: the
     * kernel walks every page table entry to print it (about 11 ms for 1 GiB here), and a stopped
     * task's mappings do not change.
     */
    private final Map<Integer, List<Vma>> vmas = new ConcurrentHashMap<>();

    /** Starts copying the pages of {@code pids} (stopped tasks), in that order, into {@code dir}. */
    TaskMemory(ImageDir dir, List<Integer> pids) {
        int cpus = Runtime.getRuntime().availableProcessors();
        int n = Math.max(1, Math.min(Integer.getInteger("jcriu.dump.parallelTasks", cpus / 2), pids.size()));
        pool = Executors.newFixedThreadPool(n, r -> Thread.ofPlatform().name("jcriu-mem").daemon(true).unstarted(r));
        for (int pid : pids) {
            Path tmp = dir.dir().resolve(".pages-" + pid + ".part");
            jobs.put(pid, new Job(tmp, pool.submit(() -> {
                // the areas TaskDump's own plan finds: a stopped task's mappings do not change
                List<VmaPlan.Area> areas = VmaPlan.build(pid, vmas(pid), null).areas();
                return copy(pid, areas, UnaryOperator.identity(), tmp, cpus);
            })));
        }
    }

    /** The mappings of stopped task {@code pid} (smaps), read on the first call for it. */
    List<Vma> vmas(int pid) {
        return vmas.computeIfAbsent(pid, Maps::read);
    }

    private static Copied copy(int pid, List<VmaPlan.Area> areas, UnaryOperator<PageScan.Result> pick, Path file, int threads) {
        long t0 = System.nanoTime();
        PageScan.Result scan = pick.apply(PageScan.scan(pid, areas));
        PageWriter pw = new PageWriter(pid);
        if (!scan.pagesWritten()) pw.write(scan.runs(), file, threads);
        LOG.debug("task %d: %d pages in %d runs copied in %.1f ms", pid, scan.pagesToWrite(), scan.runs().size(),
                (System.nanoTime() - t0) / 1e6);
        return new Copied(areas, scan, pw.writeNanos());
    }

    /**
     * The pages of {@code pid} for the plan {@code areas}, in {@code pagesFile} once this returns:
     * waits for the task's copy. A task that was not copied in advance (or whose areas differ
     * from those copied, which a stopped task cannot cause) is copied now, the runs its scan
     * finds passed through {@code pick} first (an incremental dump's choice against the parent
     * images, which may write {@code pagesFile} itself; tasks copied in advance must not need one).
     */
    Copied take(int pid, List<VmaPlan.Area> areas, UnaryOperator<PageScan.Result> pick, Path pagesFile) {
        Job j = jobs.remove(pid);
        if (j != null) {
            Copied c;
            try {
                c = j.copy().get();
            } catch (ExecutionException e) {
                delete(j.tmp());
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new CriuException("Can't copy the memory of task " + pid + ": " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CriuException("interrupted while copying the memory of task " + pid);
            }
            if (c.areas().equals(areas)) {
                try {
                    Files.move(j.tmp(), pagesFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    delete(j.tmp());
                    throw new CriuException("Can't rename " + j.tmp() + " to " + pagesFile + ": " + e.getMessage(), e);
                }
                return c;
            }
            LOG.warn("task %d: its mappings changed since its pages were copied; copying them again", pid);
            delete(j.tmp());
        }
        return copy(pid, areas, pick, pagesFile, Runtime.getRuntime().availableProcessors());
    }

    /** Stops the copies not taken (a failed dump) and removes their files. */
    @Override
    public void close() {
        pool.shutdownNow();
        try {
            if (!pool.awaitTermination(30, TimeUnit.SECONDS)) LOG.warn("memory copies still running after 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Job j : jobs.values()) delete(j.tmp());
        jobs.clear();
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.warn("could not remove %s: %s", p, e.getMessage());
        }
    }
}
