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
        if ("pre-dump".equals(opts.command)) throw new CriuException("pre-dump is not supported yet");
        return new Dumper(opts).dump();
    }

    private int dump() {
        long t0 = System.nanoTime();
        LOG.debug("checking task %d", pid);
        TaskChecks.exists(pid);
        Actions.run(opts, Action.PRE_DUMP, pid);
        // (1) Everything refusable is refused before the task is touched.
        Status status = Status.read(pid);
        Stat stat = Stat.read(pid);
        TaskChecks.check(pid, status, stat, opts, 0);
        TaskChecks.linksReachable(pid);
        DumpFiles precheck = new DumpFiles(opts);
        precheck.check(DumpFiles.scan(pid));
        VmaPlan.build(pid, Maps.read(pid), null);
        LOG.info("Dumping processes (pid: %d comm: %s)", pid, stat.comm());
        cgroups = CgroupDump.start(opts);
        cgroups.prefetch(pid);

        try (Tracer tracer = Tracer.start();
                Freezer fz = opts.freezeCgroup != null ? Freezer.open(opts.freezeCgroup, opts.timeout) : null) {
            long tSeize = System.nanoTime();
            if (fz != null) {
                // the whole cgroup stops at once; its threads are then taken from the freezer
                tracer.run(fz::freezeAndInterrupt);
                cgroups.freezerState(fz.originState());
            }
            Task task = fz != null ? tracer.call(() -> fz.seize(tracer, pid)) : seize(tracer);
            SeizedThreads threads = null;
            boolean done = false;
            try {
                threads = tracer.call(() -> SeizedThreads.seizeAll(tracer, task, fz == null ? null : tid -> fz.seize(tracer, tid)));
                if (fz != null) tracer.run(fz::releaseOthers);
                long tFrozen = System.nanoTime();
                Result r = collectAndWrite(tracer, threads, tFrozen, tSeize, t0);
                // a refusal here (migration gone wrong) resumes the task, as with criu
                Actions.run(opts, Action.POST_DUMP, pid);
                finish(tracer, threads);
                if (fz != null) fz.restoreState();
                done = true;
                LOG.info("Dumped task %d: %d pages in %.1f ms", pid, r.pagesWritten, (System.nanoTime() - t0) / 1e6);
                LOG.info("Dumping finished successfully");
            } finally {
                if (!done) {
                    if (threads != null) {
                        SeizedThreads th = threads;
                        tracer.run(th::detach);
                    }
                    task.close();
                    if (fz != null) tracer.run(fz::releaseOthers);
                }
            }
        }
        return 0;
    }

    private record Result(long pagesWritten) {}

    /**
     * Seize and stop the task within --timeout seconds (criu's limit for freezing). A task that
     * cannot stop (uninterruptible sleep) keeps the tracer thread waiting: the dump gives up, and
     * when jcriu exits the kernel detaches the task, which runs on untouched.
     */
    private Task seize(Tracer tracer) {
        if (opts.timeout <= 0) return tracer.call(() -> Task.seize(tracer, pid));
        java.util.concurrent.CompletableFuture<Task> f = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.atomic.AtomicBoolean abandoned = new java.util.concurrent.atomic.AtomicBoolean();
        Thread.ofPlatform().daemon(true).name("jcriu-seize").start(() -> {
            try {
                f.complete(tracer.call(() -> {
                    Task t = Task.seize(tracer, pid);
                    // stopped only after the dump gave up: let it go at once
                    if (abandoned.get()) t.detach();
                    return t;
                }));
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        try {
            return f.get(opts.timeout, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            abandoned.set(true);
            Task late = f.getNow(null);
            if (late != null) late.close();
            throw new CriuException("Can't stop task " + pid + " within --timeout " + opts.timeout + " s (state "
                    + Stat.read(pid).state() + ")");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new CriuException("Can't seize task " + pid + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CriuException("interrupted while seizing task " + pid);
        }
    }

    private Result collectAndWrite(Tracer tracer, SeizedThreads threads, long tFrozen, long tSeize, long t0) {
        Task task = threads.main();
        // (3) The task may have changed between the checks and the stop.
        Status status = Status.read(pid);
        Stat stat = Stat.read(pid);
        TaskChecks.check(pid, status, stat, opts, tracer.tid());
        Actions.run(opts, Action.QUERY_EXT_FILES, pid);
        DumpFiles files = new DumpFiles(opts);
        List<Vma> vmas = Maps.read(pid);
        VmaPlan plan = VmaPlan.build(pid, vmas, files);
        List<OpenFd> fds = DumpFiles.scan(pid);
        files.dumpFds(fds);
        long[][] limits = Limits.read(pid);
        long[] auxv = Auxv.read(pid);
        String exe = ProcFs.readlink(ProcFs.pidDir(pid).resolve("exe"));
        int exeId = files.pathFile(exe, Sys.stat("/proc/" + pid + "/exe"), Linux.O_RDONLY);
        String cwd = ProcFs.readlink(ProcFs.pidDir(pid).resolve("cwd"));
        String root = ProcFs.readlink(ProcFs.pidDir(pid).resolve("root"));
        int cwdId = files.pathFile(cwd, Sys.stat("/proc/" + pid + "/cwd"), Linux.O_RDONLY);
        int rootId = files.pathFile(root, Sys.stat("/proc/" + pid + "/root"), Linux.O_RDONLY);
        int personality = (int) Long.parseLong(ProcFs.readString(pid, "personality").strip(), 16);
        long loginuid = Long.parseLong(ProcFs.readString(pid, "loginuid").strip());
        int oomScoreAdj = Integer.parseInt(ProcFs.readString(pid, "oom_score_adj").strip());

        // (4) Memory, before any injection: injections patch a word of the vDSO and use scratch
        // space on the stack until detach/close, and both areas are saved.
        long tMem = System.nanoTime();
        LOG.debug("collected /proc state in %.1f ms", (tMem - tFrozen) / 1e6);
        PageScan.Result scan = PageScan.scan(pid, plan.areas());
        LOG.debug("pagemap scanned in %.1f ms: %d pages in %d runs", (System.nanoTime() - tMem) / 1e6, scan.pagesToWrite(), scan.runs().size());
        try (ImageWriter pm = dir.create(ImageType.PAGEMAP, pid)) {
            pm.write(PagemapHead.newBuilder().setPagesId(1).build());
            for (PageScan.Run run : scan.runs()) pm.write(run.entry());
        }
        PageWriter pw = new PageWriter(pid);
        pw.write(scan.runs(), dir.path(ImageType.PAGES, 1), Runtime.getRuntime().availableProcessors());
        new org.jcriu.mem.ShmemDump(dir, files::nextPagesId).dumpTask(pid, plan.entries()); // a tree dump keeps one ShmemDump for all tasks
        long memNs = System.nanoTime() - tMem;
        LOG.debug("memory written in %.1f ms", memNs / 1e6);

        // (5) What only the task (or its tracer) can tell.
        long handled = status.getHex("SigCgt") | status.getHex("SigIgn");
        TracerData td = tracer.call(() -> TracerData.collect(task, handled));
        long[] robust = ThreadDump.robustList(pid);
        List<org.jcriu.image.proto.PosixTimerEntry> posixTimers = tracer.call(() -> PosixTimers.dump(task, pid));
        List<ThreadDump.Data> others = tracer.call(() -> {
            List<ThreadDump.Data> l = new java.util.ArrayList<>();
            for (Task t : threads.others()) l.add(ThreadDump.collect(t, pid));
            return l;
        });
        SeccompDump seccomp = new SeccompDump();
        java.util.Map<Integer, Integer> seccompIdx = tracer.call(() -> {
            java.util.Map<Integer, Integer> m = new java.util.HashMap<>();
            m.put(pid, seccomp.collect(pid, pid, status.has("Seccomp") ? status.getInt("Seccomp") : 0));
            for (ThreadDump.Data d : others) m.put(d.tid(), seccomp.collect(pid, d.tid(), d.status().has("Seccomp") ? d.status().getInt("Seccomp") : 0));
            return m;
        });
        LOG.debug("tracer data and injected syscalls took %.1f ms", (System.nanoTime() - tMem - memNs) / 1e6);

        // (6) Images.
        ThreadInfoX86 ti = ThreadDump.threadInfo(td.rs, td.inj.clearTidAddr(), pid);
        TaskCoreEntry.Builder tc = TaskCoreEntry.newBuilder()
                .setTaskState(td.wasStopped ? Images.TASK_STOPPED : Images.TASK_ALIVE).setExitCode(0)
                .setPersonality(personality).setFlags((int) stat.flags()).setBlkSigset(td.rs.sigmask()).setComm(stat.comm())
                .setTimers(Images.timers(td.inj.itimers()).toBuilder().addAllPosix(posixTimers)).setRlimits(Images.rlimits(limits)).setCgSet(cgroups.set(pid, pid))
                .setSignalsS(td.sharedSignals).setLoginuid((int) loginuid).setOomScoreAdj(oomScoreAdj)
                .setChildSubreaper(td.inj.childSubreaper());
        if (td.wasStopped) tc.setStopSigno(Linux.SIGSTOP);
        int membarrier = tracer.call(() -> org.jcriu.mem.Membarrier.registrations(task));
        if (membarrier != 0) tc.setMembarrierRegistrationMask(membarrier);
        // One entry per signal except SIGKILL and SIGSTOP, whose actions cannot change (62 entries, as CRIU).
        for (int sig = 1; sig <= Linux.NSIG; sig++) {
            if (sig != Linux.SIGKILL && sig != Linux.SIGSTOP) tc.addSigactions(Images.sigaction(td.inj.sigactions()[sig - 1]));
        }
        ThreadCoreEntry.Builder thc = ThreadCoreEntry.newBuilder().setFutexRla(robust[0]).setFutexRlaLen((int) robust[1])
                .setSchedNice((int) stat.nice()).setSchedPolicy((int) stat.policy()).setSas(Images.sas(td.inj))
                .setSignalsP(td.privateSignals).setCreds(Images.creds(status, td.inj.secbits())).setComm(stat.comm())
                .setCgSet(cgroups.set(pid, pid));
        int prio = ThreadDump.schedPrio(pid, stat);
        if (prio != 0) thc.setSchedPrio(prio);
        if (td.rs.rseq() != null) thc.setRseqEntry(td.rs.rseq());
        if (seccompIdx.get(pid) >= 0) thc.setSeccompMode(org.jcriu.image.proto.SeccompMode.filter).setSeccompFilter(seccompIdx.get(pid));
        CoreEntry core = Images.core(ti, tc.build(), thc.build());

        MmEntry.Builder mm = MmEntry.newBuilder().setMmStartCode(stat.startCode()).setMmEndCode(stat.endCode())
                .setMmStartData(stat.startData()).setMmEndData(stat.endData()).setMmStartStack(stat.startStack())
                .setMmStartBrk(stat.startBrk()).setMmBrk(td.inj.brk()).setMmArgStart(stat.argStart())
                .setMmArgEnd(stat.argEnd()).setMmEnvStart(stat.envStart()).setMmEnvEnd(stat.envEnd())
                .setExeFileId(exeId).setDumpable(td.inj.dumpable()).setThpDisabled(td.inj.thpDisabled());
        for (long a : auxv) mm.addMmSavedAuxv(a);
        mm.addAllVmas(plan.entries());
        mm.addAllAios(plan.aios());

        Images.writeOne(dir, ImageType.INVENTORY, Images.inventory());
        Images.writeOne(dir, ImageType.PSTREE, PstreeEntry.newBuilder().setPid(pid).setPpid(0).setPgid(stat.pgid())
                .setSid(stat.sid()).addAllThreads(threads.tids()).build());
        Images.writeOne(dir, ImageType.IDS, Images.ids(Images.TASK_OBJ_ID), pid);
        Images.writeOne(dir, ImageType.CORE, core, pid);
        for (ThreadDump.Data d : others) {
            CoreEntry c = ThreadDump.core(d);
            c = c.toBuilder().setThreadCore(c.getThreadCore().toBuilder().setCgSet(cgroups.set(pid, d.tid()))).build();
            int sc = seccompIdx.get(d.tid());
            if (sc >= 0) {
                c = c.toBuilder().setThreadCore(c.getThreadCore().toBuilder()
                        .setSeccompMode(org.jcriu.image.proto.SeccompMode.filter).setSeccompFilter(sc)).build();
            }
            Images.writeOne(dir, ImageType.CORE, c, d.tid());
        }
        Images.writeOne(dir, ImageType.MM, mm.build(), pid);
        Images.writeOne(dir, ImageType.FS, FsEntry.newBuilder().setCwdId(cwdId).setRootId(rootId).setUmask(status.umask()).build(), pid);
        files.write(dir, Images.TASK_OBJ_ID);
        Images.writeOne(dir, ImageType.TIMENS, Images.timens(), 0);
        Images.writeOne(dir, ImageType.SECCOMP, seccomp.image());
        cgroups.write(dir);
        long now = System.nanoTime();
        org.jcriu.image.proto.StatsEntry stats = Images.stats((tFrozen - tSeize) / 1000, (now - tFrozen) / 1000,
                memNs / 1000, pw.writeNanos() / 1000, scan.pagesScanned(), scan.pagesToWrite(), scan.runs().size());
        Images.writeOne(dir, ImageType.STATS, stats, "dump");
        if (opts.displayStats) org.jcriu.log.StatsDisplay.print(stats);
        return new Result(scan.pagesToWrite());
    }

    /** (7) What becomes of the task once its images are complete. */
    private void finish(Tracer tracer, SeizedThreads threads) {
        Task task = threads.main();
        if (opts.leaveRunning) {
            tracer.run(() -> {
                threads.detach();
                task.detach();
            });
        } else if (opts.leaveStopped) {
            tracer.run(() -> {
                threads.detachStopped();
                task.detachStopped();
            });
        } else {
            tracer.run(threads::killAll);
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

    /** Everything read on the tracer thread while the task is stopped. */
    private record TracerData(ThreadDump.Regset rs, boolean wasStopped, Injected inj,
                              org.jcriu.image.proto.SignalQueueEntry sharedSignals,
                              org.jcriu.image.proto.SignalQueueEntry privateSignals) {
        static TracerData collect(Task t, long handled) {
            ThreadDump.Regset rs = ThreadDump.Regset.read(t);
            // Queued signals before any injection: injections run with every signal blocked, so
            // nothing is delivered (or queued) meanwhile.
            var shared = ThreadDump.pendingSignals(t.tid(), true);
            var own = ThreadDump.pendingSignals(t.tid(), false);
            Injected inj = Injected.collect(t, handled);
            return new TracerData(rs, t.wasStopped(), inj, shared, own);
        }
    }
}
