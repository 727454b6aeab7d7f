package org.jcriu.dump;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.cgroup.CgroupDump;
import org.jcriu.cgroup.Freezer;
import org.jcriu.compel.Regs;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.OpenFd;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.FsEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.TaskCoreEntry;
import org.jcriu.image.proto.ThreadCoreEntry;
import org.jcriu.image.proto.ThreadInfoX86;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.action.Actions;
import org.jcriu.opts.Action;
import org.jcriu.opts.Options;
import org.jcriu.proc.Auxv;
import org.jcriu.proc.Limits;
import org.jcriu.proc.Maps;
import org.jcriu.proc.ProcFs;
import org.jcriu.proc.Stat;
import org.jcriu.proc.Status;
import org.jcriu.proc.Vma;
import org.jcriu.sys.Errno;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;


/**
 * {@code jcriu dump}: checkpoints one process, with all its threads, into CRIU 4.2 images.
 *
 * <p>Phases: (1) refuse from /proc what this slice cannot dump, touching nothing; (2) seize and
 * stop every thread on the tracer thread ({@link SeizedThreads}); (3) check again and collect /proc state; (4) copy memory
 * on worker threads while the task stays stopped; (5) ask the task, by injected syscalls, what
 * only it knows; (6) write the images; (7) kill it (default), detach (-R) or leave it stopped
 * (-s). Any failure after (2) detaches with registers, signal mask and memory as they were, so
 * the process carries on untouched.
 */
public final class Dumper {
    private static final Logger LOG = Log.get("dump");
    /** Syscall restart codes the kernel leaves in rax of a task stopped inside a syscall. */
    private static final long EINTR = 4, ERESTARTSYS = -512, ERESTARTNOINTR = -513, ERESTARTNOHAND = -514, ERESTART_RESTARTBLOCK = -516, NR_POLL = 7;

    private final Options opts;
    private final int pid;
    private final ImageDir dir;
    private CgroupDump cgroups;
    /** --track-mem / --prev-images-dir (predump helper), or null. */
    private org.jcriu.predump.Incremental incremental;

    private Dumper(Options opts) {
        this.opts = opts;
        this.pid = opts.pid;
        Path d = opts.imagesDir != null ? opts.imagesDir : Path.of(".");
        if (!Files.isDirectory(d)) throw new CriuException("Images directory " + d + " does not exist");
        this.dir = new ImageDir(d);
    }

    /** Dumps {@code opts.pid} into {@code opts.imagesDir}; returns 0, or throws a CriuException saying what failed. */
    public static int run(Options opts) {
        // A pre-dump must leave the task running with only its memory saved: never a full dump
        // (which kills the task by default) under that name.
        if ("pre-dump".equals(opts.command)) return PreDumper.run(opts);
        return new Dumper(opts).dump();
    }

    private int dump() {
        long t0 = System.nanoTime();
        LOG.debug("checking task %d", pid);
        TaskChecks.exists(pid);
        Actions.run(opts, Action.PRE_DUMP, pid);
        org.jcriu.cpuinfo.CpuInfo.dumpIfAsked(opts, dir); // --cpu-cap: cpuinfo.img, before seizing, as criu
        // (1) Everything refusable is refused before any task is touched: the tree as it is now
        // (it may still change; every task is checked again once stopped).
        Stat stat = precheck(pid, true);
        LOG.info("Dumping processes (pid: %d comm: %s)", pid, stat.comm());
        cgroups = CgroupDump.start(opts);
        cgroups.prefetch(pid);
        incremental = org.jcriu.predump.Incremental.open(opts, dir, pid, false);

        try (Tracer tracer = Tracer.start();
                Freezer fz = opts.freezeCgroup != null ? Freezer.open(opts.freezeCgroup, opts.timeout) : null) {
            long tSeize = System.nanoTime();
            // (2) Seize every task of the tree
            TaskTree tree;
            if (fz != null) {
                // the whole cgroup stops at once; its threads are then taken from the freezer
                tracer.run(fz::freezeAndInterrupt);
                cgroups.freezerState(fz.originState());
                try {
                    tree = tracer.call(() -> TaskTree.seize(tracer, pid, () -> false, t -> { }, tid -> fz.seize(tracer, tid)));
                } finally {
                    tracer.run(fz::releaseOthers);
                }
            } else {
                tree = seize(tracer);
            }
            boolean done = false;
            try {
                long tFrozen = System.nanoTime();
                long pages = collectAndWrite(tracer, tree, tFrozen, tSeize);
                // a refusal here (migration gone wrong) resumes the tree, as with criu
                Actions.run(opts, Action.POST_DUMP, pid);
                finish(tracer, tree);
                if (fz != null) fz.restoreState();
                done = true;
                LOG.info("Dumped tree of %d (%d tasks): %d pages in %.1f ms", pid, tree.tasks().size(), pages,
                        (System.nanoTime() - t0) / 1e6);
                LOG.info("Dumping finished successfully");
            } finally {
                if (!done) tracer.run(tree::release);
            }
        } finally {
            if (incremental != null) incremental.close();
        }
        return 0;
    }

    /**
     * Checks {@code p} and, while running, the tasks under it as /proc shows them now; returns
     * the stat of {@code p}. A task other than the root that exits meanwhile (or is a zombie) is
     * nothing to refuse.
     */
    private Stat precheck(int p, boolean root) {
        java.util.Set<Integer> children;
        Stat stat;
        try {
            Status status = Status.read(p);
            stat = Stat.read(p);
            if (!root && (stat.state() == 'Z' || stat.state() == 'X')) return stat;
            TaskChecks.check(p, status, stat, opts, 0, root);
            TaskChecks.linksReachable(p);
            new DumpFiles(opts).check(DumpFiles.scan(p));
            VmaPlan.build(p, Maps.read(p), null);
            children = TaskTree.children(p);
        } catch (CriuException e) {
            if (!root && exited(p)) return null;
            throw e;
        }
        for (int c : children) precheck(c, false);
        return stat;
    }

    private static boolean exited(int p) {
        try {
            char s = Stat.read(p).state();
            return s == 'Z' || s == 'X';
        } catch (CriuException e) {
            return !Files.isDirectory(ProcFs.pidDir(p));
        }
    }

    /**
     * Seize the tree within --timeout seconds (criu's limit for freezing). A task that cannot
     * stop (uninterruptible sleep, a frozen cgroup) is waited for by polling until the deadline;
     * then every task seized so far is let go at once, running as before, and the one that did
     * not stop is released by the kernel when the tracer thread ends with the dump.
     */
    private TaskTree seize(Tracer tracer) {
        long deadline = opts.timeout <= 0 ? Long.MAX_VALUE : System.nanoTime() + opts.timeout * 1_000_000_000L;
        java.util.function.BooleanSupplier expired = () -> System.nanoTime() > deadline;
        java.util.concurrent.atomic.AtomicInteger current = new java.util.concurrent.atomic.AtomicInteger(pid);
        try {
            return tracer.call(() -> TaskTree.seize(tracer, pid, expired, current::set, null));
        } catch (CriuException e) {
            if (opts.timeout <= 0 || !expired.getAsBoolean()) throw e;
            int stuck = current.get();
            String state;
            try {
                state = String.valueOf(Stat.read(stuck).state());
            } catch (CriuException x) {
                state = "gone";
            }
            throw new CriuException(Errno.ETIMEDOUT, "Can't stop task " + stuck + " within --timeout " + opts.timeout + " s (state "
                    + state + ")" + (stuck == pid ? "" : " while freezing the tree of " + pid), e);
        }
    }

    /** (3)-(6) for every task, parents first, then the images the tasks share; returns the pages written. */
    private long collectAndWrite(Tracer tracer, TaskTree tree, long tFrozen, long tSeize) {
        // every task's pages are copied in parallel from now on, while the rest is collected (an
        // incremental dump's pages depend on the parent images: copied by each task's turn)
        List<Integer> copied = incremental != null ? List.of() : tree.live().stream().map(n -> n.pid).toList();
        try (TaskMemory memory = new TaskMemory(dir, copied)) {
            Actions.run(opts, Action.QUERY_EXT_FILES, pid);
            DumpFiles files = new DumpFiles(opts);
            SeccompDump seccomp = new SeccompDump();
            // shared anonymous memory is one object for every task that maps it
            org.jcriu.mem.ShmemDump shmem = new org.jcriu.mem.ShmemDump(dir, files::nextPagesId);
            return collectAndWrite(tracer, tree, tFrozen, tSeize, files, seccomp, shmem,
                    new TaskDump.Shared(opts, dir, tracer, files, seccomp, cgroups, shmem, incremental, memory));
        }
    }

    private long collectAndWrite(Tracer tracer, TaskTree tree, long tFrozen, long tSeize, DumpFiles files, SeccompDump seccomp,
                                 org.jcriu.mem.ShmemDump shmem, TaskDump.Shared shared) {
        KobjIds kobj = new KobjIds();
        List<PstreeEntry> pstree = new java.util.ArrayList<>();
        long memNs = 0, writeNs = 0, scanned = 0, written = 0, runs = 0;
        boolean first = true;
        // vm_id -> the first task with that mm
        java.util.Map<Integer, Integer> vms = new java.util.HashMap<>();
        for (TaskTree.Node n : tree.tasks()) {
            TaskDump.Done d;
            List<Integer> tids;
            if (n.dead()) {
                d = TaskDump.zombie(dir, n.pid);
                tids = List.of(n.pid);
            } else {
                var ids = kobj.assign(n.pid);
                Integer sharer = vms.putIfAbsent(ids.getVmId(), n.pid);
                if (sharer != null) {
                    // CRIU 4.2 refuses them too (cr-dump.c dump_task_kobj_ids: "Can't make VM id"; its
                    // restore never clones with CLONE_VM): one mm has one set of VMAs and pages, and
                    // both tasks would have to be rebuilt around it
                    throw new CriuException("Can't dump task " + n.pid + ": it shares its memory (one mm) with task " + sharer
                            + " without being a thread of it (clone with CLONE_VM but not CLONE_THREAD); neither jcriu nor CRIU"
                            + " dumps such tasks");
                }
                // the root's memory is pages-1.img; the file handlers and later tasks draw the next ids
                int pagesId = first ? 1 : files.nextPagesId();
                first = false;
                d = TaskDump.dump(shared, n, ids, pagesId);
                tids = n.threads.tids();
                memNs += d.figures().memNs();
                writeNs += d.figures().writeNs();
                scanned += d.figures().scanned();
                written += d.figures().written();
                runs += d.figures().runs();
            }
            pstree.add(PstreeEntry.newBuilder().setPid(n.pid).setPpid(n.ppid()).setPgid(d.pgid()).setSid(d.sid())
                    .addAllThreads(tids).build());
        }

        Images.writeOne(dir, ImageType.INVENTORY, incremental == null ? Images.inventory() : incremental.inventory(Images.inventory(), null));
        try (ImageWriter w = dir.create(ImageType.PSTREE)) {
            for (PstreeEntry e : pstree) w.write(e);
        }
        // files.img and the images every task shares are written once, fdinfo once per fd table
        files.write(dir);
        TimeNsDump.write(dir, pid);
        Images.writeOne(dir, ImageType.SECCOMP, seccomp.image());
        cgroups.write(dir);
        long now = System.nanoTime();
        org.jcriu.image.proto.StatsEntry stats = Images.stats((tFrozen - tSeize) / 1000, (now - tFrozen) / 1000,
                memNs / 1000, writeNs / 1000, scanned, written, runs);
        if (incremental != null) {
            stats = stats.toBuilder().setDump(stats.getDump().toBuilder().setPagesSkippedParent(incremental.pagesInParent())).build();
        }
        Images.writeOne(dir, ImageType.STATS, stats, "dump");
        if (opts.displayStats) org.jcriu.log.StatsDisplay.print(stats);
        return written;
    }

    /** (7) What becomes of the tree once its images are complete. */
    private void finish(Tracer tracer, TaskTree tree) {
        if (opts.leaveRunning) {
            tracer.run(tree::detach);
        } else if (opts.leaveStopped) {
            tracer.run(tree::detachStopped);
        } else {
            tracer.run(tree::killAll);
        }
    }

    /**
     * Registers as the task must resume after restore: a task stopped inside an interrupted
     * syscall has the kernel's restart code in rax; restore does not come back through that
     * syscall's exit, so the restart is made explicit (criu's get_task_regs does the same).
     */
    static Regs restartable(Regs r, int pid) {
        Regs o = r.copy();
        if (r.origRax() < 0) return o;
        long ax = (int) r.rax();
        if (ax == ERESTARTSYS || ax == ERESTARTNOINTR || ax == ERESTARTNOHAND) {
            o.set(Regs.RAX, r.origRax()).set(Regs.RIP, r.rip() - 2);
        } else if (ax == ERESTART_RESTARTBLOCK && r.origRax() == NR_POLL && (int) r.get(Regs.RDX) < 0) {
            // poll(2) always answers ERESTART_RESTARTBLOCK, but without a timeout its restart
            // block holds only ufds/nfds, still in rdi/rsi: issuing it again is the same restart
            // (tail -f dies on an EINTR from this poll). criu makes it EINTR.
            o.set(Regs.RAX, r.origRax()).set(Regs.RIP, r.rip() - 2);
        } else if (ax == ERESTART_RESTARTBLOCK) {
            // The restart block (e.g. the time left of a nanosleep) lives in the kernel and is
            // not saved: the syscall returns EINTR, as with criu ("Will restore with interrupted
            // system call"). Restarting with restart_syscall would run whatever restart block the
            // restored thread inherited from the task it was cloned from.
            LOG.warn("Will restore %d with interrupted system call", pid);
            o.set(Regs.RAX, -EINTR);
        }
        return o;
    }
}
