package org.jcriu.predump;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.InventoryEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.kerndat.Kerndat;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.mem.PageChain;
import org.jcriu.mem.PageRun;
import org.jcriu.opts.Options;
import org.jcriu.proc.Stat;

/**
 * Memory change tracking for pre-dumps and dumps with {@code --track-mem} and
 * {@code --prev-images-dir}: the {@code parent} link, the checks that the parent images are this
 * task's, and which pages go to the image and which are left to the parent (PE_PARENT).
 *
 * <p>Three ways to know what changed. With the kernel's soft-dirty bit (CONFIG_MEM_SOFT_DIRTY), as
 * CRIU: every dump clears the bits ({@code clear_refs} "4") while the tree is frozen, and the next
 * one takes only pages whose pagemap bit 55 is set. Without it (CRIU then refuses
 * {@code --track-mem} and cannot pre-dump at all), a pre-dump arms a {@link WriteTracker}
 * (userfaultfd async write-protect, read back with PAGEMAP_SCAN) in every task, held by a
 * {@link Keeper} until the next (pre-)dump, which then reads only the written pages. Where there
 * is no tracker for a task (the kernel lacks WP_ASYNC, the parent was not written by a jcriu
 * pre-dump, the keeper is gone), every present page is compared with the parent image's copy
 * ({@link PageCopier}): more reading at the dump, but exact, and the same images.
 * {@code -Djcriu.track=compare} forces comparison.
 */
public final class Incremental implements AutoCloseable {
    private static final Logger LOG = Log.get("predump");
    /** CRIU's opts.pre_dump_mode values, stored in inventory.pre_dump_mode. */
    public static final int PRE_DUMP_SPLICE = 1, PRE_DUMP_READ = 2;
    private static final long USEC_PER_TICK = 1_000_000 / 100; // USER_HZ is 100 on x86_64

    private final boolean trackMem;
    private final boolean softDirty;
    /** Write tracking with userfaultfd: armed by pre-dumps, taken over from the parent's keepers. */
    private final boolean uffd;
    private final boolean preDump;
    private final ImageDir parent;
    /** Trackers armed or carried on by this pre-dump, handed to keepers at its end; closed on failure. */
    private final java.util.Map<Integer, WriteTracker> armed = new java.util.concurrent.ConcurrentHashMap<>();
    /** What each tracked task wrote since the parent, taken while frozen. */
    private final java.util.Map<Integer, WriteTracker.Snapshot> snapshots = new java.util.concurrent.ConcurrentHashMap<>();
    /** Trackers a dump took from the parent's keepers: closed (registration removed) when it ends. */
    private final List<WriteTracker> taken = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final AtomicLong pagesRead = new AtomicLong();
    private final AtomicLong inParent = new AtomicLong(), written = new AtomicLong();
    /** The root task's parent pages, opened and faulted in before the tree is frozen (comparison mode). */
    private ParentPages rootParent;
    private int rootPid;

    private Incremental(boolean trackMem, boolean softDirty, boolean uffd, boolean preDump, ImageDir parent) {
        this.trackMem = trackMem;
        this.softDirty = softDirty;
        this.uffd = uffd;
        this.preDump = preDump;
        this.parent = parent;
    }

    /**
     * Before any task is touched: checks {@code --prev-images-dir}, links it as {@code parent} in
     * the images dir, and checks that it holds images of {@code rootPid} written before the task
     * (its pid was not reused since). Returns null when the dump neither tracks memory nor has a
     * parent. A pre-dump always tracks memory, as CRIU's does.
     */
    public static Incremental open(Options opts, ImageDir dir, int rootPid, boolean preDump) {
        boolean track = opts.trackMem || preDump;
        if (!track && opts.prevImagesDir == null) return null;
        boolean compare = "compare".equals(System.getProperty("jcriu.track"));
        boolean sd = track && !compare && Kerndat.has("soft_dirty");
        String noUffd = !track || sd || compare ? "not needed" : WriteTracker.unsupported();
        ImageDir parent = null;
        Path arg = opts.prevImagesDir;
        if (arg != null) {
            Path resolved = dir.dir().resolve(arg);
            if (!Files.isDirectory(resolved)) {
                throw new CriuException("Invalid parent image directory " + arg + " (--prev-images-dir"
                        + (arg.isAbsolute() ? "" : ", relative to " + dir.dir()) + "): no such directory");
            }
            parent = new ImageDir(resolved);
            if (track) checkParent(parent, rootPid);
            link(dir, arg, resolved);
        }
        LOG.info("memory tracking: %s%s", !track ? "off (no --track-mem): every page is written"
                : sd ? "soft-dirty bits"
                : noUffd == null ? "userfaultfd write-protect (no soft-dirty bit in this kernel), comparison with the parent's pages"
                        + " for tasks it did not track"
                : "comparison with the parent images' pages (no soft-dirty bit in this kernel; no async userfaultfd write-protect: "
                        + noUffd + ")",
                parent == null ? ", no parent images" : ", parent " + parent.dir());
        Incremental inc = new Incremental(track, sd, noUffd == null, preDump, parent);
        inc.rootPid = rootPid;
        if (inc.uffd && parent != null) {
            // the root's tracker is taken now, before the tree is frozen: when it is there its
            // parent pages need not be faulted in for a comparison
            WriteTracker t = Keeper.adopt(parent, rootPid);
            if (t != null) inc.hold(t);
        }
        if (track && !sd && parent != null && !inc.holds(rootPid)) {
            long t = System.nanoTime();
            inc.rootParent = ParentPages.open(parent, rootPid);
            if (inc.rootParent != null) inc.rootParent.populate();
            LOG.debug("parent pages of %d mapped and faulted in in %.1f ms", rootPid, (System.nanoTime() - t) / 1e6);
        }
        return inc;
    }

    /** "soft-dirty", "uffd-wp", "compare" or "off": how this dump finds what changed. */
    public String mode() {
        return !trackMem ? "off" : softDirty ? "soft-dirty" : uffd ? "uffd-wp" : "compare";
    }

    private void hold(WriteTracker t) {
        if (preDump) armed.put(t.pid(), t);
        else taken.add(t);
    }

    private boolean holds(int pid) {
        if (armed.containsKey(pid)) return true;
        for (WriteTracker t : taken) if (t.pid() == pid) return true;
        return false;
    }

    private WriteTracker held(int pid) {
        WriteTracker t = armed.get(pid);
        if (t != null) return t;
        for (WriteTracker x : taken) if (x.pid() == pid) return x;
        return null;
    }

    /**
     * A pre-dump, with {@code task} (the main thread of {@code pid}) stopped, before its pages are
     * sorted: with userfaultfd tracking, takes what the task wrote since the parent (from the
     * parent's keeper) and protects its pages again, or arms a new tracker (an injected
     * userfaultfd) when it has none. Nothing for soft-dirty or comparison.
     */
    public void track(org.jcriu.compel.Tracer tracer, org.jcriu.compel.Task task, int pid, List<org.jcriu.proc.Vma> vmas) {
        if (!uffd || !preDump) return;
        WriteTracker t = armed.get(pid);
        if (t == null && parent != null) {
            t = Keeper.adopt(parent, pid);
            if (t != null) armed.put(pid, t);
        }
        if (t != null) {
            if (parent != null) snapshots.put(pid, t.snapshot(true, vmas));
            return;
        }
        t = WriteTracker.arm(tracer, task, pid, vmas);
        if (t != null) armed.put(pid, t);
    }

    /**
     * At the end of a pre-dump whose images are complete: every tracker goes to a keeper named in
     * {@code dir}, so the next dump with this dir as parent finds what changed.
     */
    public void keep(ImageDir dir) {
        for (WriteTracker t : armed.values()) Keeper.keep(t, dir);
        armed.clear();
    }

    public ImageDir parent() {
        return parent;
    }

    /**
     * The parent must have a pagemap of the root task (else it is the image of another tree) and
     * must not predate the task: a task started after the parent was written reuses the pid of
     * the one the parent holds. CRIU then quietly writes everything; jcriu says so and stops,
     * because a user naming a parent expects it to be used.
     */
    private static void checkParent(ImageDir parent, int pid) {
        if (!parent.exists(ImageType.PAGEMAP, pid)) {
            throw new CriuException("Parent images " + parent.dir() + " have no " + ImageType.PAGEMAP.fileName(pid)
                    + ": they are not a dump or pre-dump of task " + pid + " (--prev-images-dir)");
        }
        PageChain.load(parent, ImageType.PAGEMAP, pid); // a damaged parent fails now, before the task is touched
        if (!parent.exists(ImageType.INVENTORY)) return;
        InventoryEntry inv;
        try (ImageReader r = parent.open(ImageType.INVENTORY)) {
            inv = r.readOne(InventoryEntry.parser());
        }
        if (!inv.hasDumpUptime()) return;
        long started = Stat.read(pid).startTime();
        if (started >= inv.getDumpUptime() / USEC_PER_TICK) {
            throw new CriuException(String.format("Task %d started %.2f s after boot, after the parent images were written"
                    + " (%s: dump_uptime %.2f s): the pid was reused, the parent is another process's", pid, started / 100.0,
                    parent.path(ImageType.INVENTORY), inv.getDumpUptime() / 1e6));
        }
    }

    /**
     * CRIU's {@code parent} symlink, holding the path as given (relative to the images dir, so a
     * chain of dirs can move as a whole); an absolute path is made relative for the same reason.
     */
    private static void link(ImageDir dir, Path arg, Path resolved) {
        Path link = dir.dir().resolve(PageChain.PARENT_LINK);
        Path target = arg;
        if (arg.isAbsolute()) {
            try {
                target = dir.dir().toRealPath().relativize(resolved.toRealPath());
            } catch (IOException | IllegalArgumentException e) {
                target = arg;
            }
        }
        try {
            if (Files.isSymbolicLink(link)) {
                if (Files.readSymbolicLink(link).equals(target)) return;
                Files.delete(link); // an earlier attempt into the same dir: point at the parent asked for now
            }
            Files.createSymbolicLink(link, target);
        } catch (FileAlreadyExistsException e) {
            throw new CriuException("Can't link the parent images: " + link + " exists and is not a symlink");
        } catch (IOException e) {
            throw new CriuException("Can't link the parent images as " + link + ": " + e.getMessage(), e);
        }
        if (!Files.isDirectory(link)) {
            throw new CriuException("The parent link " + link + " -> " + target + " leads nowhere");
        }
    }

    /** What one task's memory dump comes to. */
    public record Pages(List<PageRun> runs, long written, long inParent) {}

    /**
     * Sorts the pages the scan found ({@code runs}, address order) into PE_PARENT and PE_PRESENT.
     * With {@code out}, the present pages are copied into it and pages gone since the scan are
     * dropped when {@code tolerant} (a pre-dump reading a running task); without, nothing is
     * written and the caller copies the PE_PRESENT runs (a dump of a frozen tree).
     */
    public Pages pages(int pid, List<PageRun> runs, List<VmaEntry> vmas, FileChannel out, boolean tolerant) {
        ParentPages pp;
        synchronized (this) {
            pp = rootParent != null && pid == rootPid ? rootParent : null;
            if (pp != null) rootParent = null; // handed over: closed below like any other
        }
        if (pp == null) pp = trackMem && parent != null ? ParentPages.open(parent, pid) : null;
        if (trackMem && parent != null && pp == null) LOG.info("task %d is not in the parent images: all its pages are written", pid);
        try {
            List<PageRun> in = runs;
            WriteTracker.Snapshot snap = snapshots.remove(pid);
            if (snap == null && uffd && !preDump && pp != null) {
                WriteTracker t = held(pid);
                if (t == null) {
                    t = Keeper.adopt(parent, pid);
                    if (t != null) taken.add(t);
                }
                if (t != null) snap = t.snapshot(false, List.of()); // the tree is frozen: this is the final word
            }
            if (snap != null && pp != null) {
                in = snap.split(runs, pp);
                pp.close();
                pp = null; // the tracker says what changed: nothing to compare
                LOG.info("task %d: %d pages written since the parent images (userfaultfd), in %d tracked ranges", pid,
                        snap.writtenPages(), snap.tracked().size());
            } else if (softDirty && pp != null) {
                in = SoftDirty.split(pid, runs, pp, vmas);
                pp.close();
                pp = null; // soft-dirty says what changed: nothing to compare
            }
            Pages r;
            long toRead = 0;
            if (pp == null) {
                for (PageRun x : in) if ((x.flags() & PageRun.PE_PARENT) == 0) toRead += x.nrPages();
            } else {
                for (PageRun x : in) toRead += x.nrPages();
            }
            pagesRead.addAndGet(toRead);
            if (out == null && pp == null) {
                long w = 0, p = 0;
                for (PageRun x : in) {
                    if ((x.flags() & PageRun.PE_PARENT) != 0) p += x.nrPages();
                    else w += x.nrPages();
                }
                r = new Pages(in, w, p);
            } else {
                PageCopier.Result c = new PageCopier(pid, pp, tolerant).copy(in, out, Runtime.getRuntime().availableProcessors());
                if (c.gone() > 0) LOG.info("task %d: %d pages went away while they were read", pid, c.gone());
                r = new Pages(c.runs(), c.written(), c.inParent());
            }
            inParent.addAndGet(r.inParent());
            written.addAndGet(r.written());
            LOG.info("task %d: %d pages changed or new, %d left to the parent images, %d pages read (%s)", pid, r.written(), r.inParent(),
                    toRead, snap != null ? "uffd-wp" : softDirty ? "soft-dirty" : "compare");
            return r;
        } finally {
            if (pp != null) pp.close();
        }
    }

    /**
     * True when {@link #pages} reads every page (comparison with a parent) and so may as well write
     * the changed ones. Not when the root is tracked: then only the written pages are read, by the
     * dump's page writer.
     */
    public boolean writesPages() {
        return trackMem && parent != null && !softDirty && !holds(rootPid);
    }

    /** Pages of the task's memory read (or to be read) by this dump so far: what tracking saves is the difference to the pages scanned. */
    public long pagesRead() {
        return pagesRead.get();
    }

    /** After the pages are scanned, while the tree is frozen: the next dump sees changes from now on. */
    public void resetTracking(int pid) {
        if (softDirty) SoftDirty.clear(pid);
    }

    /**
     * Lets go of what was opened ahead and not used (a dump that failed before the root's memory),
     * and ends write tracking that no keeper took over: a dump's (it was the last one) and a
     * failed pre-dump's. Unregistering clears the tasks' protection, so they are as before.
     */
    @Override
    public synchronized void close() {
        if (rootParent != null) rootParent.close();
        rootParent = null;
        for (WriteTracker t : armed.values()) closeQuietly(t);
        armed.clear();
        for (WriteTracker t : taken) closeQuietly(t);
        taken.clear();
    }

    private static void closeQuietly(WriteTracker t) {
        try {
            t.close();
        } catch (RuntimeException e) {
            LOG.warn("task %d: ending write tracking: %s", t.pid(), e.getMessage());
        }
    }

    public long pagesInParent() {
        return inParent.get();
    }

    /** inventory.img as a tracked dump writes it: dump_uptime for the next dump's pid-reuse check, the pre-dump mode. */
    public InventoryEntry inventory(InventoryEntry base, Integer preDumpMode) {
        if (!trackMem) return base;
        InventoryEntry.Builder b = base.toBuilder().setDumpUptime(uptimeUs());
        if (preDumpMode != null) b.setPreDumpMode(preDumpMode);
        return b.build();
    }

    private static long uptimeUs() {
        try {
            String s = Files.readString(Path.of("/proc/uptime")).trim().split("\\s+")[0];
            int dot = s.indexOf('.');
            long sec = Long.parseLong(s.substring(0, dot));
            long csec = Long.parseLong((s.substring(dot + 1) + "00").substring(0, 2));
            return sec * 1_000_000 + csec * 10_000;
        } catch (IOException | RuntimeException e) {
            throw new CriuException("Can't read /proc/uptime: " + e.getMessage());
        }
    }
}
