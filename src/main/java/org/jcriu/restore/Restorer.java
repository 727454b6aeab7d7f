package org.jcriu.restore;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.cgroup.CgroupRestore;
import org.jcriu.compel.Regs;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.dump.X86Fpu;
import org.jcriu.files.FileRestorer;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.RestoreStatsEntry;
import org.jcriu.image.proto.StatsEntry;
import org.jcriu.image.proto.UserX86RegsEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.log.Pidfile;
import org.jcriu.mem.LocalPageSource;
import org.jcriu.mem.Membarrier;
import org.jcriu.action.Actions;
import org.jcriu.opts.Action;
import org.jcriu.opts.Options;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;
import org.jcriu.sys.WaitStatus;

/**
 * {@code criu restore}: brings the dumped process tree back with its PIDs, memory, files and
 * state. The images of every task are read and checked first, and every PID and TID must be
 * free; then the root is created from a seed and its memory restored, and every other task is
 * cloned inside its parent once the parent's memory is restored ({@link TaskCreator}), so that
 * the pages they had in common stay shared copy-on-write ({@link InheritedMemory}); sessions and
 * groups are set ({@link SessionPlan}), zombies exit again ({@link ZombieRestorer}), each live
 * task is filled by injected syscalls (files, signals, limits, credentials), given its registers
 * and let go. Any failure kills every task created: nothing half-built survives.
 */
public final class Restorer {
    private static final Logger LOG = Log.get("restore");

    private final Options opts;
    private final ImageDir dir;
    /** Shared anonymous objects of the tree: created by the first task that maps one, mapped by the others. */
    private final SharedAnonObjects sharedAnon = new SharedAnonObjects();
    /** The tree's own time namespace, null when it lives in jcriu's. */
    private TimeNsRestorer timens;
    private long forkNs, pagesBytes; // for stats-restore

    private Restorer(Options opts) {
        this.opts = opts;
        this.dir = new ImageDir(opts.imagesDir != null ? opts.imagesDir : Path.of("."));
    }

    /**
     * Restores the dump in {@code opts.imagesDir}. With --restore-detached returns 0 once the task
     * runs; otherwise waits for it and returns its exit status (128 + signal if it was killed).
     */
    public static int run(Options opts) {
        return new Restorer(opts).restore();
    }

    private int restore() {
        long t0 = System.nanoTime();
        // The first native calls link their downcalls (tens of ms): let that happen on another
        // CPU while the images are parsed.
        Thread warm = Thread.ofPlatform().daemon().start(Restorer::warmUp);
        org.jcriu.cpuinfo.CpuInfo.checkIfAsked(opts, dir); // --cpu-cap: cpuinfo.img against this CPU, as criu before pre-restore
        Actions.run(opts, Action.PRE_RESTORE);
        TreeImages tree = new ImageLoader(dir).loadTree();
        for (TaskImages t : tree.live()) {
            org.jcriu.cpuinfo.FpuFrames.check(t.pid(), t.core(), opts.cpuCap, dir.path(ImageType.CORE, t.pid()).toString());
            t.threads().forEach((tid, c) -> org.jcriu.cpuinfo.FpuFrames.check(tid, c, opts.cpuCap, dir.path(ImageType.CORE, tid).toString()));
        }
        SeccompRestorer seccomp = SeccompRestorer.load(dir, tree.live());
        timens = TimeNsRestorer.load(dir, tree);
        java.util.Set<Integer> remapped = MappedFiles.remapped(dir);
        for (TaskImages t : tree.live()) MappedFiles.check(t, opts.root, remapped);
        LOG.debug("mapped files checked");
        SessionPlan sessions = SessionPlan.of(tree, opts.shellJob);
        int pid = tree.root().pid();
        for (var e : tree.ids().entrySet()) TaskCreator.checkPidFree(e.getKey(), e.getKey() == pid ? null : e.getValue());
        for (var h : sessions.helpers()) TaskCreator.checkPidFree(h.pgid(), "helper for process group " + h.pgid());
        for (var h : sessions.sessionHelpers()) TaskCreator.checkPidFree(h.sid(), "helper for session " + h.sid());
        LOG.debug("pids checked");
        FileRestorer files = new FileRestorer(dir, opts);
        LOG.debug("files.img read");
        Map<Integer, LocalPageSource> pages = new HashMap<>();
        // The root's parent thread is the tracer thread (it spawned the seed the root is cloned
        // from with CLONE_PARENT): it must outlive the wait for the root, or its exit would send
        // the root its parent-death signal (as CRIU's does only when criu itself exits).
        Tracer tracer = Tracer.start();
        try {
            try {
                LOG.debug("tracer started");
                for (TaskImages t : tree.live()) {
                    LocalPageSource src = new LocalPageSource(org.jcriu.mem.PageChain.layerFiles(dir, ImageType.PAGEMAP, t.pid(), pagesFile(t)));
                    pages.put(t.pid(), src);
                    if (!Boolean.getBoolean("jcriu.noprefetch")) src.prefetch();
                }
                CgroupRestore cg = CgroupRestore.load(dir, opts);
                tracer.run(() -> build(tracer, tree, sessions, files, pages, seccomp, cg));
                writeStats((System.nanoTime() - t0) / 1000);
            } finally {
                for (LocalPageSource src : pages.values()) src.close();
                files.close(); // what jcriu kept for tasks a failed restore never reached
            }
            try {
                Actions.run(opts, Action.POST_RESUME, pid);
            } catch (CriuException e) {
                LOG.error("Post-resume script failed: %s", e.getMessage()); // the task runs already, as with criu
            }
            LOG.info("Restore finished successfully. Task %d resumed in %d ms", pid, (System.nanoTime() - t0) / 1_000_000);
            if (opts.restoreDetached) return 0;
            return waitRoot(pid);
        } finally {
            tracer.close();
        }
    }

    private static void warmUp() {
        try {
            Sys.getpid();
            Sys.readFile("/proc/self/stat");
            // the seed is posix_spawn'ed, and the PID checks take an ENOENT (strerror) per PID
            Sys.prepareSpawn();
            org.jcriu.sys.Errno.describe(org.jcriu.sys.Errno.ENOENT);
        } catch (RuntimeException e) {
            // only a warm-up: the real calls report errors
        }
    }

    /** pages-N.img; a dump without a single page may have none (then nothing is ever read). */
    private Path pagesFile(TaskImages img) {
        Path p = dir.path(ImageType.PAGES, img.pagesId());
        return img.pages().isEmpty() && !java.nio.file.Files.exists(p) ? Path.of("/dev/null") : p;
    }

    /** One task of the tree as it is being restored: its main thread and the other threads once they exist. */
    private record Made(TaskImages img, Task task, List<Task> threads) {}

    /** A group or session helper while it exists, with the task that cloned it (and reaps it). */
    private record MadeHelper(int pgid, Task task, Task parent) {}

    /**
     * Everything that touches the tasks; runs on the tracer thread. The tree is built a level at a
     * time: the memory of every task of a level is restored (their pages written side by side),
     * then their children are cloned from them, inheriting it. Then sessions and groups are set
     * and zombies exit, then every live task is filled, parents before children; registers are
     * set last and tasks let go children first, so nothing runs before the whole tree is built.
     */
    private void build(Tracer tracer, TreeImages tree, SessionPlan sessions, FileRestorer files, Map<Integer, LocalPageSource> pages,
            SeccompRestorer seccomp, CgroupRestore cg) {
        Pinning pin = Pinning.pinTracer();
        Map<Integer, Made> made = new LinkedHashMap<>();
        List<MadeHelper> helpers = new ArrayList<>();
        boolean done = false;
        try {
            cg.prepare();
            TaskImages root = tree.root();
            long tFork = System.nanoTime();
            TaskCreator.Created created = opts.restoreSibling
                    ? SiblingSeed.create(tracer, root.pid(), tree.allVmas(), MemoryRestorer.areaSize())
                    : TaskCreator.create(tracer, root.pid(), tree.allVmas(), MemoryRestorer.areaSize());
            made.put(root.pid(), new Made(root, created.task(), new ArrayList<>()));
            forkNs += System.nanoTime() - tFork;
            // before the root has children: they are born in its time namespace
            if (timens != null) timens.enter(created.task());
            // each task goes into its cgroups as soon as it exists: before it has memory (charged
            // there), threads or children (which inherit them)
            cg.place(root.pid(), cgSet(root), 0);
            Creation c = new Creation(tree, sessions, made, helpers, cg, files);
            // setup-namespaces / post-setup-namespaces go here once namespaces are restored:
            // criu skips both when it restores none (root_ns_mask == 0), as now
            List<Made> level = List.of(made.get(root.pid()));
            while (!level.isEmpty()) {
                restoreMemory(level, made, files, pages, created.area(), pin);
                int before = made.size();
                tFork = System.nanoTime();
                for (Made m : level) createChildren(m.img(), m.task(), c);
                forkNs += System.nanoTime() - tFork;
                level = new ArrayList<>(made.values()).subList(before, made.size()).stream().filter(m -> !m.img().zombie()).toList();
            }
            setGroups(tree, sessions, made);
            exitZombies(made, helpers);
            List<Made> live = made.values().stream().filter(m -> !m.img().zombie()).toList();
            for (Made m : live) fill(m.task(), m.threads(), m.img(), files, pin);
            files.finishTree(); // SIGIO owners (any task or thread), pty locks: once every task has its fds
            if (pin != null) pin.releaseTask();
            for (Made m : live) {
                // a thread in other cgroups than its process (v1 tasks, v2 threaded) goes there now
                for (Task th : m.threads()) cg.placeThread(th.tid(), m.img().threads().get(th.tid()).getThreadCore().getCgSet(), cgSet(m.img()));
            }
            for (Made m : live) setRegisters(m.task(), m.threads(), m.img());
            int pid = root.pid();
            cg.properties();
            Actions.run(opts, Action.POST_RESTORE, pid);
            // criu writes the pidfile only once post-restore agreed (write_restored_pid)
            if (opts.pidfile != null) Pidfile.write(opts.pidfile, pid);
            try {
                Actions.run(opts, Action.PRE_RESUME, pid);
            } catch (CriuException e) {
                LOG.error("Pre-resume script failed: %s", e.getMessage()); // not fatal, as with criu
            }
            cg.restoreFreezer();
            List<Integer> stopped = new ArrayList<>();
            for (int i = live.size() - 1; i >= 0; i--) letGo(live.get(i).task(), live.get(i).threads(), live.get(i).img(), seccomp, stopped);
            Task.awaitStopped(stopped, 2000);
            done = true;
        } finally {
            if (!done) {
                killAll(made.values(), helpers);
                cg.abort();
            }
            if (pin != null) pin.releaseTracer();
        }
    }

    /**
     * Memory of one level of the tree: each task's seed or inherited layout is replaced by its
     * dumped VMAs (on the tracer), the pages of all of them are written side by side, then
     * protections, advice and locks are put back. A task's parent in the tree is the one whose
     * restored memory it was cloned with (a session helper in between is a copy of it).
     */
    private void restoreMemory(List<Made> level, Map<Integer, Made> made, FileRestorer files, Map<Integer, LocalPageSource> pages,
            long area, Pinning pin) {
        List<MemoryRestorer> mems = new ArrayList<>();
        for (Made m : level) {
            if (pin != null) pin.pinTask(m.task().tid());
            Made parent = made.get(m.img().pstree().getPpid()); // null for the root (ppid 0, or outside the tree)
            MemoryRestorer mem = newMemory(m.task(), m.img(), files, pages.get(m.img().pid()), area);
            if (parent != null) mem.inheritFrom(parent.img(), pages.get(parent.img().pid()));
            mapMemory(mem, m.task(), m.img());
            mems.add(mem);
        }
        if (pin != null) pin.releaseTracer();
        pagesBytes += writePages(level, mems);
        if (pin != null) pin.pinTracerAgain();
        for (MemoryRestorer mem : mems) mem.finish();
    }

    /**
     * Clones {@code img}'s children inside {@code task}, whose memory is restored: they start
     * with it. A session leader calls setsid between the children it forked before its setsid
     * and the others ({@link SessionPlan}).
     */
    private void createChildren(TaskImages img, Task task, Creation c) {
        for (TaskImages child : c.sessions().childrenBeforeSetsid(img)) createChild(task, child, c);
        if (c.sessions().setsid(img)) {
            try {
                task.syscall(Nr.SETSID);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), "Can't make task " + img.pid() + " a session leader: " + e.getMessage(), e);
            }
            c.files().newSession(task); // its controlling terminal, inherited by the members cloned next
        }
        for (TaskImages child : c.sessions().childrenAfterSetsid(img)) createChild(task, child, c);
        c.files().childrenCloned(task); // its own fd table again, if it held one made for its children
        for (SessionPlan.SessionHelper h : c.sessions().sessionHelpersOf(img)) {
            // the orphans must come back to this task when the helper exits: it is their subreaper
            task.syscall(Nr.PRCTL, Linux.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
            Task ht = TaskCreator.createChild(task, h.sid());
            c.helpers().add(new MadeHelper(h.sid(), ht, task));
            try {
                ht.syscall(Nr.SETSID);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), "Can't make session " + h.sid() + " in its helper: " + e.getMessage(), e);
            }
            LOG.info("helper %d made session %d (its leader had exited) for %s", h.sid(), h.sid(), h.members());
            for (int m : h.members()) createChild(ht, c.tree().task(m), c);
        }
    }

    /** What the creation of the tree carries along, and everything it made so far (killed on failure). */
    private record Creation(TreeImages tree, SessionPlan sessions, Map<Integer, Made> made, List<MadeHelper> helpers,
            CgroupRestore cg, FileRestorer files) {}

    private void createChild(Task parent, TaskImages img, Creation c) {
        for (SessionPlan.Helper h : c.sessions().helpersBefore(img)) {
            Task ht = TaskCreator.createChild(parent, h.pgid());
            c.helpers().add(new MadeHelper(h.pgid(), ht, parent));
            try {
                ht.syscall(Nr.SETPGID, 0, 0);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), "Can't make process group " + h.pgid() + " in its helper: " + e.getMessage(), e);
            }
            LOG.info("helper %d made process group %d (its leader had exited)", h.pgid(), h.pgid());
        }
        Task child = TaskCreator.createChild(parent, img.pid(), c.files().cloneFlags(parent, img.pid()));
        c.made().put(img.pid(), new Made(img, child, new ArrayList<>()));
        // the child starts in its parent's cgroups; the set of the nearest ancestor that has one
        Made up = c.made().get(img.pstree().getPpid());
        while (up != null && cgSet(up.img()) == 0) up = c.made().get(up.img().pstree().getPpid());
        c.cg().place(img.pid(), cgSet(img), up == null ? 0 : cgSet(up.img()));
    }

    /** The task's cg_set in cgroup.img: its main thread's (CRIU's), else task_core's; 0 for none (zombies). */
    private static int cgSet(TaskImages t) {
        var th = t.core().getThreadCore();
        return th.hasCgSet() ? th.getCgSet() : t.core().getTc().getCgSet();
    }

    /** Process groups, once every task exists: leaders make theirs first, then the others join. */
    private void setGroups(TreeImages tree, SessionPlan sessions, Map<Integer, Made> made) {
        TaskImages root = tree.root();
        int rootGroup = sessions.groupToJoin(root, 0);
        if (rootGroup == 0) rootGroup = root.pid();
        if (rootGroup < 0) rootGroup = (int) Sys.syscall(Nr.GETPGID, root.pid());
        for (TaskImages t : sessions.groupOrder()) {
            int g = sessions.groupToJoin(t, rootGroup);
            if (g < 0) continue;
            int want = g == 0 ? t.pid() : g;
            if ((int) Sys.syscall(Nr.GETPGID, t.pid()) == want) continue;
            try {
                made.get(t.pid()).task().syscall(Nr.SETPGID, 0, g);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), "Can't put task " + t.pid() + " in process group " + want + ": " + e.getMessage(), e);
            }
        }
        if (tree.tasks().size() > 1) LOG.info("sessions and process groups of %d tasks set", tree.tasks().size());
    }

    /**
     * Group helpers exit and are reaped, zombies exit with their status; their parents lose the
     * SIGCHLD that brought them.
     */
    private void exitZombies(Map<Integer, Made> made, List<MadeHelper> helpers) {
        java.util.Set<Task> parents = new java.util.LinkedHashSet<>();
        for (MadeHelper h : helpers) {
            ZombieRestorer.exitHelper(h.task(), h.parent().tid(), h.parent());
            parents.add(h.parent());
        }
        for (Made m : made.values()) {
            if (!m.img().zombie()) continue;
            ZombieRestorer.exit(m.task(), m.img());
            parents.add(made.get(m.img().pstree().getPpid()).task());
        }
        for (Task p : parents) ZombieRestorer.dropSigchld(p);
    }

    /**
     * Every task of the tree is killed and reaped: all are sent SIGKILL first so that none runs
     * on, then each is reaped. A traced thread that dies stays a zombie until we wait for it, and
     * the main thread is not reported before its whole group is gone: the other threads go first.
     */
    private static void killAll(java.util.Collection<Made> made, List<MadeHelper> helpers) {
        for (MadeHelper h : helpers) {
            try {
                h.task().kill();
            } catch (RuntimeException e) {
                LOG.warn("could not reap helper %d: %s", h.pgid(), e.getMessage());
            }
        }
        List<Made> all = new ArrayList<>(made);
        for (Made m : all) {
            // a task already let go (a failure while letting the others go) is killed too; a
            // zombie that exited again is left to its parent, which goes
            if (m.img().zombie() && !m.task().attached()) continue;
            try {
                Sys.kill(m.task().tid(), Linux.SIGKILL);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.ESRCH) throw e;
            }
        }
        for (int i = all.size() - 1; i >= 0; i--) {
            Made m = all.get(i);
            try {
                for (Task t : m.threads()) t.kill();
                m.task().kill();
            } catch (RuntimeException e) {
                LOG.warn("could not reap task %d: %s", m.task().tid(), e.getMessage());
            }
        }
    }

    private MemoryRestorer newMemory(Task task, TaskImages img, FileRestorer files, LocalPageSource pages, long area) {
        MemoryRestorer mem = new MemoryRestorer(task, img, dir, pages, files, opts.root, area + Task.GADGET_SIZE,
                area + 2L * Task.GADGET_SIZE);
        mem.shareWith(sharedAnon);
        return mem;
    }

    /** The seed's (or parent's) mappings go but those kept, the mm fields are set and every other dumped VMA is mapped: ready for the pages. */
    private void mapMemory(MemoryRestorer mem, Task task, TaskImages img) {
        mem.clearSeed();
        MmRestorer.restore(task, img, opts.root, mem.keepsExe());
        mem.mapVmas();
    }

    /**
     * Pages of every task, written without the tracer (process_vm_writev needs no ptrace stop):
     * one task uses every CPU, several tasks are written side by side, the CPUs shared out.
     */
    private static long writePages(List<Made> live, List<MemoryRestorer> mems) {
        long t = System.nanoTime();
        int cpus = Runtime.getRuntime().availableProcessors();
        if (mems.size() == 1) {
            long bytes = mems.get(0).writePages(cpus);
            LOG.info("pages: %d bytes in %d us", bytes, (System.nanoTime() - t) / 1000);
            return bytes;
        }
        int each = Math.max(1, cpus / mems.size());
        long[] bytes = new long[mems.size()];
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(Math.min(cpus, mems.size()), Thread.ofPlatform().factory())) {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (int i = 0; i < mems.size(); i++) {
                int k = i;
                done.add(pool.submit(() -> bytes[k] = mems.get(k).writePages(each)));
            }
            for (int i = 0; i < done.size(); i++) {
                try {
                    done.get(i).get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException re) throw re;
                    throw new CriuException("Can't write the pages of task " + live.get(i).img().pid() + ": " + e.getCause(), e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CriuException("interrupted while writing pages");
                }
            }
        }
        long sum = java.util.Arrays.stream(bytes).sum();
        LOG.info("pages: %d bytes of %d tasks in %d us", sum, mems.size(), (System.nanoTime() - t) / 1000);
        return sum;
    }

    /**
     * stats-restore as criu writes it once the tasks run (podman and --display-stats read it):
     * forking time is the creation of the tasks (clone3 in their parents), pages restored what
     * the writers copied. Pages compared / skipped COW stay 0: jcriu compares a child's pages
     * with its parent's by bytes of the image, not by criu's page-by-page COW check.
     */
    private void writeStats(long restoreUs) {
        StatsEntry stats = StatsEntry.newBuilder().setRestore(RestoreStatsEntry.newBuilder().setPagesCompared(0)
                .setPagesSkippedCow(0).setForkingTime((int) Math.min(Integer.MAX_VALUE, forkNs / 1000))
                .setRestoreTime((int) Math.min(Integer.MAX_VALUE, restoreUs)).setPagesRestored(pagesBytes / 4096)).build();
        try (org.jcriu.image.ImageWriter w = dir.create(ImageType.STATS, "restore")) {
            w.write(stats);
        } catch (CriuException e) {
            LOG.warn("Can't write stats-restore: %s", e.getMessage()); // the tasks run already: as criu, not fatal
        }
        if (opts.displayStats) org.jcriu.log.StatsDisplay.print(stats);
    }

    /** Everything but memory: files, signals, limits, threads, timers, credentials last. */
    private void fill(Task task, List<Task> threads, TaskImages img, FileRestorer files, Pinning pin) {
        TaskStateRestorer state = new TaskStateRestorer(task, img);
        // membarrier registrations belong to the mm but fork copies them and nothing undoes them:
        // registered only now that the children exist, so each has exactly its own
        Membarrier.restore(task, img.core().getTc().getMembarrierRegistrationMask());
        files.restoreFds(task, img.ids().getFilesId());
        files.restoreFs(task, img.pid());
        state.restoreSignals();
        state.restoreRlimits();
        state.restoreMisc();
        state.restoreProcValues();
        // Threads are cloned before the main thread's credentials are set: clone3 with set_tid
        // needs CAP_CHECKPOINT_RESTORE, which the dumped credentials may not have. Credentials
        // are per thread in the kernel, so each thread sets its own.
        ThreadCreator.create(task, img.threads(), threads);
        for (Task th : threads) {
            if (pin != null) pin.pinTask(th.tid());
            TaskStateRestorer ts = new TaskStateRestorer(th, img, img.threads().get(th.tid()));
            ts.restoreThreadSignals();
            ts.restoreMisc();
            ts.restoreCreds();
        }
        if (img.core().getTc().hasTimers()) PosixTimerRestorer.restore(task, img.core().getTc().getTimers().getPosixList());
        state.restoreCreds();
    }

    /**
     * Registers, FPU state and signal mask of every thread, applied when the task is let go.
     */
    private void setRegisters(Task task, List<Task> threads, TaskImages img) {
        for (Task t : threads) {
            CoreEntry c = img.threads().get(t.tid());
            t.setXstate(X86Fpu.apply(c.getThreadInfo().getFpregs(), t.xstate()));
            t.setRegs(regs(c.getThreadInfo().getGpregs()));
            t.setSigmask(c.getThreadCore().getBlkSigset());
        }
        var ti = img.core().getThreadInfo();
        task.setXstate(X86Fpu.apply(ti.getFpregs(), task.xstate()));
        task.setRegs(regs(ti.getGpregs()));
        var th = img.core().getThreadCore();
        task.setSigmask(th.hasBlkSigset() ? th.getBlkSigset() : img.core().getTc().getBlkSigset());
    }

    /**
     * Seccomp filters, then the task runs (or stays stopped). The other threads go first, so
     * that the main thread's detach, which unmaps the gadget, happens when nothing else of the
     * process is still ours.
     */
    private void letGo(Task task, List<Task> threads, TaskImages img, SeccompRestorer seccomp, List<Integer> stoppedTids) {
        boolean stopped = opts.leaveStopped || ImageLoader.isStopped(img.core().getTc().getTaskState());
        boolean anySeccomp = SeccompRestorer.uses(img.core());
        for (CoreEntry c : img.threads().values()) anySeccomp |= SeccompRestorer.uses(c);
        if (anySeccomp) {
            // filters apply to injected syscalls too: nothing may be left to inject afterwards
            task.unmapGadget();
            for (Task t : threads) seccomp.install(t, img.threads().get(t.tid()));
            seccomp.install(task, img.core());
        }
        for (Task t : threads) {
            if (stopped) {
                t.detachStopped();
            } else {
                t.detach();
            }
        }
        if (stopped) {
            for (Task t : threads) stoppedTids.add(t.tid());
            stoppedTids.add(task.tid());
            task.detachStopped();
        } else {
            task.detach();
        }
    }

    /** user_x86_regs_entry has the kernel's user_regs_struct order. */
    static Regs regs(UserX86RegsEntry g) {
        return Regs.of(new long[] {g.getR15(), g.getR14(), g.getR13(), g.getR12(), g.getBp(), g.getBx(), g.getR11(),
                g.getR10(), g.getR9(), g.getR8(), g.getAx(), g.getCx(), g.getDx(), g.getSi(), g.getDi(), g.getOrigAx(),
                g.getIp(), g.getCs(), g.getFlags(), g.getSp(), g.getSs(), g.getFsBase(), g.getGsBase(), g.getDs(),
                g.getEs(), g.getFs(), g.getGs()});
    }

    /** The task is our child (CLONE_PARENT) with exit_signal 0, so only __WALL finds it. */
    private static int waitRoot(int pid) {
        while (true) {
            WaitStatus ws;
            try {
                ws = Sys.waitpid(pid, Linux.__WALL);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EINTR) continue;
                throw e;
            }
            if (ws.exited()) {
                LOG.info("task %d exited with %d", pid, ws.exitCode());
                return ws.exitCode();
            }
            if (ws.signaled()) {
                LOG.info("task %d was killed by signal %d", pid, ws.termSig());
                return 128 + ws.termSig();
            }
        }
    }
}
