package org.jcriu.restore;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
import org.jcriu.image.proto.UserX86RegsEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.log.Pidfile;
import org.jcriu.mem.LocalPageSource;
import org.jcriu.action.Actions;
import org.jcriu.opts.Action;
import org.jcriu.opts.Options;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;
import org.jcriu.sys.WaitStatus;

/**
 * {@code criu restore}: brings the dumped process back with its PID, memory, files and state.
 * The images are read and checked first; then a task is created from a seed ({@link TaskCreator}),
 * filled by injected syscalls (memory, files, signals, limits, credentials), given its registers
 * and let go. Any failure kills what was created: nothing half-built survives.
 */
public final class Restorer {
    private static final Logger LOG = Log.get("restore");

    private final Options opts;
    private final ImageDir dir;

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
        Actions.run(opts, Action.PRE_RESTORE);
        TaskImages img = new ImageLoader(dir).load();
        SeccompRestorer seccomp = SeccompRestorer.load(dir, img);
        MappedFiles.check(img, opts.root);
        LOG.debug("mapped files checked");
        TaskCreator.checkPidFree(img.pid());
        LOG.debug("pid checked");
        FileRestorer files = new FileRestorer(dir, opts);
        LOG.debug("files.img read");
        int pid = img.pid();
        try (Tracer tracer = Tracer.start();
                LocalPageSource pages = new LocalPageSource(pagesFile(img))) {
            LOG.debug("tracer started");
            if (!Boolean.getBoolean("jcriu.noprefetch")) pages.prefetch();
            CgroupRestore cg = CgroupRestore.load(dir, opts);
            tracer.run(() -> build(tracer, img, files, pages, seccomp, cg));
        }
        try {
            Actions.run(opts, Action.POST_RESUME, pid);
        } catch (CriuException e) {
            LOG.error("Post-resume script failed: %s", e.getMessage()); // the task runs already, as with criu
        }
        LOG.info("Restore finished successfully. Task %d resumed in %d ms", pid, (System.nanoTime() - t0) / 1_000_000);
        if (opts.restoreDetached) return 0;
        return waitRoot(pid);
    }

    private static void warmUp() {
        try {
            Sys.getpid();
            Sys.readFile("/proc/self/stat");
        } catch (RuntimeException e) {
            // only a warm-up: the real calls report errors
        }
    }

    /** pages-N.img; a dump without a single page may have none (then nothing is ever read). */
    private Path pagesFile(TaskImages img) {
        Path p = dir.path(ImageType.PAGES, img.pagesId());
        return img.pages().isEmpty() && !java.nio.file.Files.exists(p) ? Path.of("/dev/null") : p;
    }

    /** Everything that touches the task; runs on the tracer thread. */
    private void build(Tracer tracer, TaskImages img, FileRestorer files, LocalPageSource pages, SeccompRestorer seccomp,
                       CgroupRestore cg) {
        Pinning pin = Pinning.pinTracer();
        boolean built = false;
        try {
            cg.prepare();
            TaskCreator.Created created = TaskCreator.create(tracer, img.pid(), img.vmas(), MemoryRestorer.areaSize());
            Task task = created.task();
            List<Task> threads = new ArrayList<>();
            boolean done = false;
            try {
                // into its cgroups before it gets memory (charged there) or threads (which inherit them)
                var th = img.core().getThreadCore();
                cg.place(task.tid(), th.hasCgSet() ? th.getCgSet() : img.core().getTc().getCgSet(), 0);
                // setup-namespaces / post-setup-namespaces go here once namespaces are restored:
                // criu skips both when it restores none (root_ns_mask == 0), as now
                if (pin != null) pin.pinTask(task.tid());
                fill(task, threads, img, files, pages, created.area(), pin);
                if (pin != null) pin.releaseTask();
                finish(task, threads, img, seccomp, cg);
                done = true;
            } finally {
                if (!done) killAll(task, threads);
            }
            built = true;
        } finally {
            if (!built) cg.abort();
            if (pin != null) pin.releaseTracer();
        }
    }

    /**
     * A traced thread that dies stays a zombie until we wait for it, and the main thread is not
     * reported before its whole group is gone: the other threads are reaped first.
     */
    private static void killAll(Task task, List<Task> threads) {
        try {
            Sys.kill(task.tid(), Linux.SIGKILL);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ESRCH) throw e;
        }
        for (Task t : threads) t.kill();
        task.kill();
    }

    private void fill(Task task, List<Task> threads, TaskImages img, FileRestorer files, LocalPageSource pages, long area,
                      Pinning pin) {
        MemoryRestorer mem = new MemoryRestorer(task, img, dir, pages, files, opts.root, area + Task.GADGET_SIZE,
                area + 2L * Task.GADGET_SIZE);
        mem.clearSeed();
        MmRestorer.restore(task, img, opts.root);
        mem.mapVmas();
        long t = System.nanoTime();
        if (pin != null) pin.releaseTracer();
        long bytes = mem.writePages(Runtime.getRuntime().availableProcessors());
        if (pin != null) pin.pinTracerAgain();
        LOG.info("pages: %d bytes in %d us", bytes, (System.nanoTime() - t) / 1000);
        mem.finish();
        TaskStateRestorer state = new TaskStateRestorer(task, img);
        state.restoreIds(opts.shellJob);
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
     * Registers, FPU state and signal mask, then the task runs (or stays stopped). The other
     * threads go first, so that the main thread's detach, which unmaps the gadget, happens when
     * nothing else of the process is still ours.
     */
    private void finish(Task task, List<Task> threads, TaskImages img, SeccompRestorer seccomp, CgroupRestore cg) {
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
        if (opts.pidfile != null) Pidfile.write(opts.pidfile, img.pid());
        cg.properties();
        Actions.run(opts, Action.POST_RESTORE, img.pid());
        try {
            Actions.run(opts, Action.PRE_RESUME, img.pid());
        } catch (CriuException e) {
            LOG.error("Pre-resume script failed: %s", e.getMessage()); // not fatal, as with criu
        }
        cg.restoreFreezer();
        boolean stopped = opts.leaveStopped || img.core().getTc().getTaskState() == ImageLoader.TASK_STOPPED;
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
