package org.jcriu.dump;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.StatsEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.mem.PageRun;
import org.jcriu.opts.Options;
import org.jcriu.predump.Incremental;
import org.jcriu.proc.Maps;
import org.jcriu.proc.Stat;

/**
 * {@code jcriu pre-dump}: what CRIU's pre-dump writes (criu/cr-dump.c cr_pre_dump_tasks) and
 * nothing else: pagemap-PID.img + pages-N.img of every live task of the tree, inventory.img with
 * dump_uptime and pre_dump_mode, stats-dump. The tree is frozen only to scan /proc/PID/pagemap
 * (and, in "splice" mode, to copy the pages, so the image is one instant of the task as CRIU's
 * vmsplice'd pipes are); in "read" mode the pages are read after the tree runs again, which
 * change tracking makes safe (a page written meanwhile is found changed by the next dump).
 * Nothing else is injected than, where userfaultfd write tracking is used (no soft-dirty bit),
 * a userfaultfd(2) and a close(2) of it in each task (predump.WriteTracker).
 */
final class PreDumper {
    private static final Logger LOG = Log.get("dump");

    private PreDumper() {}

    private record Scanned(int pid, int pagesId, PageScan.Result scan) {}

    static int run(Options opts) {
        int pid = opts.pid;
        Path d = opts.imagesDir != null ? opts.imagesDir : Path.of(".");
        if (!Files.isDirectory(d)) throw new CriuException("Images directory " + d + " does not exist");
        ImageDir dir = new ImageDir(d);
        boolean readMode = "read".equals(opts.preDumpMode);
        long t0 = System.nanoTime();
        TaskChecks.exists(pid);
        refuseOwnAncestor(pid);
        TaskChecks.check(pid, org.jcriu.proc.Status.read(pid), Stat.read(pid), opts, 0, true);
        LOG.info("Pre-dumping processes (pid: %d comm: %s)", pid, Stat.read(pid).comm());
        try (Incremental inc = Incremental.open(opts, dir, pid, true)) {
            return preDump(opts, dir, inc, pid, readMode, t0);
        }
    }

    private static int preDump(Options opts, ImageDir dir, Incremental inc, int pid, boolean readMode, long t0) {
        List<Scanned> tasks = new ArrayList<>();
        long scanned = 0, written = 0, tSeize, tFrozen, tThawed, memNs = 0, writeNs = 0;
        try (Tracer tracer = Tracer.start()) {
            tSeize = System.nanoTime();
            TaskTree tree = tracer.call(() -> TaskTree.seize(tracer, pid, () -> false, t -> { }, null));
            tFrozen = System.nanoTime();
            try {
                int pagesId = 1;
                for (TaskTree.Node n : tree.live()) {
                    List<org.jcriu.proc.Vma> vmas = Maps.read(n.pid);
                    VmaPlan plan = VmaPlan.build(n.pid, vmas, null);
                    PageScan.Result scan = PageScan.scan(n.pid, plan.areas());
                    Scanned s = new Scanned(n.pid, pagesId++, scan);
                    tasks.add(s);
                    scanned += scan.pagesScanned();
                    // userfaultfd write tracking: what changed since the parent, and protection from now on
                    Task main = n.threads.main();
                    inc.track(tracer, main, n.pid, vmas);
                    if (!readMode) written += write(inc, dir, s, false);
                    inc.resetTracking(n.pid);
                }
            } finally {
                tracer.run(tree::release);
            }
            tThawed = System.nanoTime();
            memNs = tThawed - tFrozen;
        }
        LOG.info("tree of %d frozen for %.1f ms (%s mode)", pid, (tThawed - tFrozen) / 1e6, readMode ? "read" : "splice");
        if (readMode) {
            long tw = System.nanoTime();
            for (Scanned s : tasks) written += write(inc, dir, s, true);
            writeNs = System.nanoTime() - tw;
        }
        // as CRIU's irmap_predump_run: fsnotify paths resolved while the tasks run, for the dump
        org.jcriu.files.fsnotify.Irmap.preDump(tasks.stream().map(Scanned::pid).toList(), opts);
        Images.writeOne(dir, ImageType.INVENTORY, inc.inventory(Images.inventory(),
                readMode ? Incremental.PRE_DUMP_READ : Incremental.PRE_DUMP_SPLICE));
        StatsEntry stats = Images.stats((tFrozen - tSeize) / 1000, (tThawed - tFrozen) / 1000, memNs / 1000, writeNs / 1000,
                scanned, written, tasks.size());
        stats = stats.toBuilder().setDump(stats.getDump().toBuilder().setPagesSkippedParent(inc.pagesInParent())).build();
        Images.writeOne(dir, ImageType.STATS, stats, "dump");
        if (opts.displayStats) org.jcriu.log.StatsDisplay.print(stats);
        inc.keep(dir); // the images are complete: write tracking goes on until the next dump
        LOG.info("Pre-dumped tree of %d (%d tasks): %d pages written, %d in parent images, in %.1f ms", pid, tasks.size(), written,
                inc.pagesInParent(), (System.nanoTime() - t0) / 1e6);
        LOG.info("Pre-dumping finished successfully");
        return 0;
    }

    /**
     * A tree holding jcriu itself cannot be frozen (jcriu would stop with it): refused by name
     * before anything is touched, rather than interrupting every task of, say, init's tree first.
     */
    private static void refuseOwnAncestor(int pid) {
        int p = org.jcriu.sys.Sys.getpid();
        while (p > 1) {
            p = Stat.read(p).ppid();
            if (p == pid) {
                throw new CriuException("Can't pre-dump task " + pid + ": jcriu itself (pid " + org.jcriu.sys.Sys.getpid()
                        + ") runs in its tree");
            }
        }
        if (pid == 1) throw new CriuException("Can't pre-dump task 1: jcriu itself runs in its tree");
    }

    /** pages-N.img and pagemap-PID.img of one task; returns the pages written. */
    private static long write(Incremental inc, ImageDir dir, Scanned s, boolean running) {
        List<PageRun> runs = new ArrayList<>(s.scan().runs().size());
        for (PageScan.Run r : s.scan().runs()) runs.add(new PageRun(r.vaddr(), r.nrPages(), r.flags(), 0));
        Path pages = dir.path(ImageType.PAGES, s.pagesId());
        Incremental.Pages p;
        try (FileChannel ch = FileChannel.open(pages, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            p = inc.pages(s.pid(), runs, List.of(), ch, running);
        } catch (IOException e) {
            throw new CriuException("Can't write " + pages + ": " + e.getMessage(), e);
        }
        try (ImageWriter pm = dir.create(ImageType.PAGEMAP, s.pid())) {
            pm.write(PagemapHead.newBuilder().setPagesId(s.pagesId()).build());
            for (PageRun r : p.runs()) {
                pm.write(PagemapEntry.newBuilder().setVaddr(r.vaddr()).setCompatNrPages(0).setFlags(r.flags()).setNrPages(r.nrPages()).build());
            }
        }
        return p.written();
    }
}
