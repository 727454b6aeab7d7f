package org.jcriu.predump;

import java.util.ArrayList;
import java.util.List;

import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.mem.PageRun;
import org.jcriu.proc.Maps;
import org.jcriu.proc.Vma;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * Which pages of one task were written since a (pre-)dump, without reading them: userfaultfd
 * write-protect in async mode read back with PAGEMAP_SCAN, the kernel's replacement for the
 * soft-dirty bit (Documentation/admin-guide/mm/pagemap.rst, userfaultfd.rst).
 *
 * <p>A uffd works on the mm it was created in, so it is created by an injected userfaultfd(2) in
 * the stopped task, copied out with pidfd_getfd and closed in the task again: the task's fd table
 * is as it was. Its private areas are then registered in write-protect mode and every page
 * protected; from then on the first write to a page clears its protection (one minor fault, no
 * one is woken: WP_ASYNC) and PAGEMAP_SCAN reports it PAGE_IS_WRITTEN. The registration lasts as
 * long as some process holds the uffd: jcriu while it runs, then a {@link Keeper} between a
 * pre-dump and the next dump. When the last holder closes it, the kernel unregisters every area
 * and clears the bits (userfaultfd_release); {@link #close} unregisters explicitly first.
 *
 * <p>Not tracked (their pages are always written): shared mappings, hugetlb, VM_IO/VM_PFNMAP and
 * droppable areas, the vDSO, areas another uffd already has, and areas mapped after the arming
 * (a new mmap is not registered; mremap moves an area out of the registration without
 * UFFD_FEATURE_EVENT_REMAP). Memory the kernel writes through its own mapping of a pinned page
 * (AIO rings, io_uring fixed buffers) bypasses the page tables, as it does for soft-dirty: AIO
 * rings are shared mappings and io_uring fds are refused by the dump.
 */
public final class WriteTracker implements AutoCloseable {
    private static final Logger LOG = Log.get("predump");
    private static volatile String unsupported;
    private static volatile boolean probed;
    private static final long PTRACE_O_SUSPEND_SECCOMP = 1L << 21;

    private final int pid;
    private int fd;
    /** The areas registered with this uffd, [start, end) in address order. */
    private final List<long[]> registered;

    private WriteTracker(int pid, int fd, List<long[]> registered) {
        this.pid = pid;
        this.fd = fd;
        this.registered = registered;
    }

    /** Null when this kernel can track writes with async userfaultfd write-protect, else why not (probed once). */
    public static String unsupported() {
        if (!probed) {
            unsupported = Uffd.probe();
            probed = true;
        }
        return unsupported;
    }

    public int pid() {
        return pid;
    }

    int fd() {
        return fd;
    }

    List<long[]> registered() {
        return registered;
    }

    /** Wraps a uffd of {@code pid}'s mm taken from a keeper; {@code ranges} as the keeper's record lists them. */
    static WriteTracker adopted(int pid, int fd, List<long[]> ranges) {
        return new WriteTracker(pid, fd, new ArrayList<>(ranges));
    }

    /**
     * Creates a uffd in {@code task} (stopped, main thread of {@code pid}), registers and protects
     * its trackable areas. On the tracer thread's terms: the injections go through
     * {@code tracer}. Returns null, logged, when the task cannot get one (EMFILE, a seccomp filter
     * refusing userfaultfd, ...): the next dump then compares pages instead.
     */
    public static WriteTracker arm(Tracer tracer, Task task, int pid, List<Vma> vmas) {
        int fd;
        try {
            fd = stealUffd(tracer, task, pid);
        } catch (ErrnoException e) {
            LOG.info("task %d: no userfaultfd for write tracking (%s): the next dump compares its pages", pid, e.getMessage());
            return null;
        }
        WriteTracker t = new WriteTracker(pid, fd, new ArrayList<>());
        try {
            Uffd.api(fd, "for task " + pid);
            t.registerNew(vmas);
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    private static int stealUffd(Tracer tracer, Task task, int pid) {
        // A seccomp filter might refuse userfaultfd, or kill the task for it (container profiles
        // do): the two injections run with the filter suspended (needs CAP_SYS_ADMIN; without it
        // the task is not tracked).
        org.jcriu.proc.Status st = org.jcriu.proc.Status.read(pid);
        boolean filtered = st.has("Seccomp") && st.getInt("Seccomp") != 0;
        if (filtered) tracer.run(() -> task.setOptions(PTRACE_O_SUSPEND_SECCOMP));
        try {
            long remote = tracer.call(() -> task.syscall(Nr.USERFAULTFD,
                    Linux.O_CLOEXEC | Linux.O_NONBLOCK | Uffd.UFFD_USER_MODE_ONLY));
            try {
                int pidfd = Sys.pidfdOpen(pid);
                try {
                    return Sys.pidfdGetfd(pidfd, (int) remote);
                } finally {
                    Sys.close(pidfd);
                }
            } finally {
                tracer.call(() -> task.syscall(Nr.CLOSE, remote));
            }
        } finally {
            if (filtered) tracer.run(() -> task.setOptions(0)); // as the dump seized it
        }
    }

    /** Areas whose writes the tracker can see: private, ordinary memory. */
    static boolean trackable(Vma v) {
        if (v.shared() || v.has(Vma.VM_SH) || v.has(Vma.VM_HT) || v.has(Vma.VM_IO) || v.has(Vma.VM_PF) || v.has(Vma.VM_DP)) return false;
        if (v.has(Vma.VM_UW) || v.has(Vma.VM_UM)) return false; // another uffd's (or already ours: see registerNew)
        if (v.path().startsWith("[v") || v.path().equals("[vsyscall]")) return false; // [vdso], [vvar], [vvar_vclock]
        return Long.compareUnsigned(v.end(), 0x800000000000L) <= 0;
    }

    /**
     * Registers and protects the trackable areas of {@code vmas} not yet registered. Protection
     * is a PAGEMAP_SCAN with PM_SCAN_WP_MATCHING over the area for its present and swapped pages:
     * empty ptes and ranges without page tables are left alone, so a large reservation costs
     * nothing (UFFDIO_WRITEPROTECT with WP_UNPOPULATED would build page tables for all of it and
     * fill them with pte markers, which /proc/PID/pagemap shows as swapped pages); a page first
     * touched there later has no protection bit and counts as written.
     */
    private void registerNew(List<Vma> vmas) {
        long t0 = System.nanoTime();
        int pm = Sys.open("/proc/" + pid + "/pagemap", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        int n = 0, refused = 0;
        try {
            for (Vma v : vmas) {
                if (!trackable(v) || covered(v.start(), v.end())) continue;
                long r = Uffd.register(fd, v.start(), v.end());
                if (r < 0) {
                    refused++;
                    LOG.debug("task %d: %s not tracked: UFFDIO_REGISTER %s", pid, v, org.jcriu.sys.Errno.name((int) -r));
                    continue;
                }
                if (Uffd.written(pm, v.start(), v.end(), true, false) == null) {
                    Uffd.unregister(fd, v.start(), v.end());
                    refused++;
                    continue;
                }
                add(v.start(), v.end());
                n++;
            }
        } finally {
            Sys.close(pm);
        }
        LOG.debug("task %d: %d areas write-protected (%d not trackable by userfaultfd) in %.1f ms", pid, n, refused,
                (System.nanoTime() - t0) / 1e6);
    }

    private boolean covered(long start, long end) {
        for (long[] r : registered) {
            if (Long.compareUnsigned(r[0], start) <= 0 && Long.compareUnsigned(end, r[1]) <= 0) return true;
        }
        return false;
    }

    /** Keeps {@link #registered} sorted and contiguous areas as one range, so areas the kernel merges later are still inside one. */
    private void add(long start, long end) {
        int i = 0;
        while (i < registered.size() && Long.compareUnsigned(registered.get(i)[0], start) < 0) i++;
        registered.add(i, new long[] {start, end});
        if (i + 1 < registered.size() && registered.get(i + 1)[0] == end) {
            registered.get(i)[1] = registered.get(i + 1)[1];
            registered.remove(i + 1);
        }
        if (i > 0 && registered.get(i - 1)[1] == start) {
            registered.get(i - 1)[1] = registered.get(i)[1];
            registered.remove(i);
        }
    }

    /**
     * What changed since the pages were last protected: {@code tracked}, the ranges whose writes
     * this uffd has seen all along (areas still registered with it, checked by registering them
     * again, which only succeeds for the same uffd), and {@code written}, the pages of those written.
     * With {@code rearm} (a pre-dump), the written pages are protected again in the same walk and
     * areas that appeared since are registered ({@code vmas}: the task's smaps as the pre-dump read
     * it), so the next dump sees changes from now on. The task must be stopped.
     *
     * <p>The areas are taken from /proc/PID/maps, not smaps (whose VmFlags would say "uw"): smaps
     * walks every page table to count, some ms per GiB while the tree is frozen. Registering an
     * area again tells the same and more: it succeeds only for an area registered with this very
     * uffd or with none; in the latter case (an area mapped anew at the same place) its ptes carry
     * no protection, so every page of it counts as written, which is right. Only areas that lie
     * whole inside what was registered are asked, so a registration never splits an area.
     */
    public Snapshot snapshot(boolean rearm, List<Vma> vmas) {
        long t0 = System.nanoTime();
        List<Vma> now = Maps.parse(org.jcriu.proc.ProcFs.read(pid, "maps"), pid);
        long t1 = System.nanoTime(), regNs = 0, scanNs = 0;
        List<long[]> tracked = new ArrayList<>(), written = new ArrayList<>();
        int pm = Sys.open("/proc/" + pid + "/pagemap", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        try {
            for (Vma v : now) {
                if (v.shared() || !covered(v.start(), v.end())) continue;
                long a = System.nanoTime();
                if (Uffd.register(fd, v.start(), v.end()) < 0) continue; // another uffd's area: not ours to trust
                long b = System.nanoTime();
                List<long[]> w = Uffd.written(pm, v.start(), v.end(), rearm, true);
                regNs += b - a;
                scanNs += System.nanoTime() - b;
                if (w == null) continue;
                tracked.add(new long[] {v.start(), v.end()});
                written.addAll(w);
            }
        } finally {
            Sys.close(pm);
        }
        LOG.debug("task %d: written pages found in %.1f ms (smaps %.1f, re-register %.1f, PAGEMAP_SCAN %.1f)", pid,
                (System.nanoTime() - t0) / 1e6, (t1 - t0) / 1e6, regNs / 1e6, scanNs / 1e6);
        if (rearm) {
            registered.clear();
            for (long[] t : tracked) add(t[0], t[1]);
            registerNew(vmas);
        }
        return new Snapshot(tracked, written);
    }

    /**
     * Takes the registration away (the kernel clears every protection bit with it) and closes the
     * uffd. Areas gone or changed since are skipped: their registration went with them.
     */
    @Override
    public void close() {
        if (fd < 0) return;
        try {
            for (long[] r : registered) Uffd.unregister(fd, r[0], r[1]);
        } finally {
            Sys.close(fd);
            fd = -1;
        }
    }

    /** Gives the uffd to someone else (a keeper holds its own copy now): closed without unregistering. */
    void release() {
        if (fd >= 0) Sys.close(fd);
        fd = -1;
    }

    /** The tracked ranges and the written pages in them, both [start, end) in address order. */
    public record Snapshot(List<long[]> tracked, List<long[]> written) {
        public long writtenPages() {
            long n = 0;
            for (long[] w : written) n += (w[1] - w[0]) / PageRun.PAGE_SIZE;
            return n;
        }

        /**
         * {@code runs} with every page that is tracked, not written and held by the parent
         * turned into PE_PARENT; the rest keeps its flags (read and written by the dump).
         */
        List<PageRun> split(List<PageRun> runs, ParentPages parent) {
            List<PageRun> out = new ArrayList<>();
            int ti = 0, wi = 0;
            for (PageRun r : runs) {
                long a = r.vaddr(), end = r.end();
                while (Long.compareUnsigned(a, end) < 0) {
                    while (ti < tracked.size() && Long.compareUnsigned(tracked.get(ti)[1], a) <= 0) ti++;
                    while (wi < written.size() && Long.compareUnsigned(written.get(wi)[1], a) <= 0) wi++;
                    boolean inTracked = ti < tracked.size() && Long.compareUnsigned(tracked.get(ti)[0], a) <= 0;
                    boolean inWritten = wi < written.size() && Long.compareUnsigned(written.get(wi)[0], a) <= 0;
                    // the next boundary of either set, or the run's end
                    long next = end;
                    if (ti < tracked.size()) next = minU(next, inTracked ? tracked.get(ti)[1] : tracked.get(ti)[0]);
                    if (wi < written.size()) next = minU(next, inWritten ? written.get(wi)[1] : written.get(wi)[0]);
                    long pages = (next - a) / PageRun.PAGE_SIZE;
                    boolean clean = inTracked && !inWritten;
                    if (clean && parent.covers(a, pages)) {
                        append(out, a, pages, PageRun.PE_PARENT);
                    } else if (clean) {
                        // the parent misses some of them (gone while a pre-dump read them): page by page
                        for (long p = 0; p < pages; p++) {
                            long va = a + p * PageRun.PAGE_SIZE;
                            append(out, va, 1, parent.covers(va, 1) ? PageRun.PE_PARENT : r.flags());
                        }
                    } else {
                        append(out, a, pages, r.flags());
                    }
                    a = next;
                }
            }
            return out;
        }

        private static long minU(long a, long b) {
            return Long.compareUnsigned(a, b) <= 0 ? a : b;
        }

        private static void append(List<PageRun> out, long va, long pages, int flags) {
            if (pages <= 0) return;
            int last = out.size() - 1;
            if (last >= 0) {
                PageRun p = out.get(last);
                if (p.flags() == flags && p.end() == va) {
                    out.set(last, new PageRun(p.vaddr(), p.nrPages() + pages, flags, 0));
                    return;
                }
            }
            out.add(new PageRun(va, pages, flags, 0));
        }
    }
}
