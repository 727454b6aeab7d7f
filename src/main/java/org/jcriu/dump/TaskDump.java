package org.jcriu.dump;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.files.DumpFiles;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.FsEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.PosixTimerEntry;
import org.jcriu.image.proto.SeccompMode;
import org.jcriu.image.proto.SignalQueueEntry;
import org.jcriu.image.proto.TaskCoreEntry;
import org.jcriu.image.proto.TaskKobjIdsEntry;
import org.jcriu.image.proto.ThreadCoreEntry;
import org.jcriu.image.proto.ThreadInfoX86;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.proc.Auxv;
import org.jcriu.proc.Limits;
import org.jcriu.proc.ProcFs;
import org.jcriu.proc.Stat;
import org.jcriu.proc.Status;
import org.jcriu.proc.Vma;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * The images of one seized task of the tree: core-PID.img (and core-TID.img of its other
 * threads), ids, mm, pagemap + pages-N.img, fs, and its fds into the dump's shared file table.
 * Memory is read first, before any injection, because injections patch a word of the vDSO and
 * use scratch space on the stack until the task is let go, and both areas are saved.
 */
final class TaskDump {
    private static final Logger LOG = Log.get("dump");
    /** PR_GET_THP_DISABLE's answer for PR_SET_THP_DISABLE(1, PR_THP_DISABLE_EXCEPT_ADVISED): 1 | 1 << 1. */
    private static final long THP_DISABLE_EXCEPT_ADVISED = 3;

    /** What the dump's tasks share: the image dir, one file table, one seccomp image. */
    record Shared(Options opts, ImageDir dir, Tracer tracer, DumpFiles files, SeccompDump seccomp, org.jcriu.cgroup.CgroupDump cgroups,
                  org.jcriu.mem.ShmemDump shmem, org.jcriu.predump.Incremental incremental, TaskMemory memory) {}

    /** Figures of one task for stats-dump. */
    record Figures(long memNs, long writeNs, long scanned, long written, long runs) {}

    private TaskDump() {}

    /** Whatever the dump needs after the task's images are written (fdinfo entries are written per files id). */
    record Done(Figures figures, int pgid, int sid) {}

    /**
     * Collects /proc state, memory and injected state of {@code node} and writes its images.
     * {@code pagesId}: the pages-N.img its pagemap points to. Its fds go to the dump's file table,
     * which gives the files_id (a table shared with an earlier task through CLONE_FILES is dumped once).
     */
    static Done dump(Shared s, TaskTree.Node node, TaskKobjIdsEntry kobj, int pagesId) {
        int pid = node.pid;
        SeizedThreads threads = node.threads;
        Task task = threads.main();
        Tracer tracer = s.tracer();
        DumpFiles files = s.files();
        ImageDir dir = s.dir();
        // The task may have changed between the checks and the stop.
        Status status = Status.read(pid);
        Stat stat = Stat.read(pid);
        TaskChecks.check(pid, status, stat, s.opts(), tracer.tid(), node.parent == null);
        List<Vma> vmas = s.memory().vmas(pid);
        VmaPlan plan = VmaPlan.build(pid, vmas, files);
        TaskKobjIdsEntry ids = kobj.toBuilder().setFilesId(files.dumpTask(pid)).setTimeNsId(TimeNsDump.id(pid)).build();
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

        long tMem = System.nanoTime();
        // copied by a worker since the tree was seized (TaskMemory), before any injection here;
        // an incremental dump's pages are those not in the parent images, picked (and written
        // by the comparison itself when it reads them) at the task's turn
        java.nio.file.Path pagesFile = dir.path(ImageType.PAGES, pagesId);
        TaskMemory.Copied mem = s.memory().take(pid, plan.areas(),
                sc -> PageScan.againstParent(s.incremental(), pid, sc, plan.entries(), pagesFile), pagesFile);
        PageScan.Result scan = mem.scan();
        LOG.debug("task %d: pages ready after %.1f ms more: %d pages in %d runs", pid, (System.nanoTime() - tMem) / 1e6,
                scan.pagesToWrite(), scan.runs().size());
        try (ImageWriter pm = dir.create(ImageType.PAGEMAP, pid)) {
            pm.write(PagemapHead.newBuilder().setPagesId(pagesId).build());
            for (PageScan.Run run : scan.runs()) pm.write(run.entry());
        }
        s.shmem().dumpTask(pid, plan.entries());
        long memNs = System.nanoTime() - tMem;
        LOG.debug("task %d: memory written in %.1f ms", pid, memNs / 1e6);

        // What only the task (or its tracer) can tell.
        long handled = status.getHex("SigCgt") | status.getHex("SigIgn");
        TracerData td = tracer.call(() -> TracerData.collect(task, handled));
        long[] robust = ThreadDump.robustList(pid);
        int pdeath = tracer.call(() -> ThreadDump.pdeathSig(task));
        List<PosixTimerEntry> posixTimers = tracer.call(() -> PosixTimers.dump(task, pid));
        List<ThreadDump.Data> others = tracer.call(() -> {
            List<ThreadDump.Data> l = new ArrayList<>();
            for (Task t : threads.others()) l.add(ThreadDump.collect(t, pid));
            return l;
        });
        SeccompDump seccomp = s.seccomp();
        Map<Integer, Integer> seccompIdx = tracer.call(() -> {
            Map<Integer, Integer> m = new HashMap<>();
            m.put(pid, seccomp.collect(pid, pid, status.has("Seccomp") ? status.getInt("Seccomp") : 0));
            for (ThreadDump.Data d : others) m.put(d.tid(), seccomp.collect(pid, d.tid(), d.status().has("Seccomp") ? d.status().getInt("Seccomp") : 0));
            return m;
        });

        ThreadInfoX86 ti = ThreadDump.threadInfo(td.rs, td.inj.clearTidAddr(), pid);
        TaskCoreEntry.Builder tc = TaskCoreEntry.newBuilder()
                .setTaskState(td.wasStopped ? Images.TASK_STOPPED : Images.TASK_ALIVE).setExitCode(0)
                .setPersonality(personality).setFlags((int) stat.flags()).setBlkSigset(td.rs.sigmask()).setComm(stat.comm())
                .setTimers(Images.timers(td.inj.itimers()).toBuilder().addAllPosix(posixTimers)).setRlimits(Images.rlimits(limits)).setCgSet(s.cgroups().set(pid, pid))
                .setSignalsS(td.sharedSignals).setLoginuid((int) loginuid).setOomScoreAdj(oomScoreAdj)
                .setChildSubreaper(td.inj.childSubreaper());
        if (td.wasStopped) tc.setStopSigno(Linux.SIGSTOP);
        int membarrier = tracer.call(() -> org.jcriu.mem.Membarrier.registrations(task));
        if (td.inj.thpDisabled() && tracer.call(() -> task.syscallRaw(Nr.PRCTL, Linux.PR_GET_THP_DISABLE, 0, 0, 0, 0)) == THP_DISABLE_EXCEPT_ADVISED) {
            // kernel 6.18: PR_SET_THP_DISABLE with PR_THP_DISABLE_EXCEPT_ADVISED keeps THP for
            // MADV_HUGEPAGE ranges; mm_entry has a bool only (as CRIU's), restored as fully disabled
            LOG.warn("task %d disabled THP except where advised (MADV_HUGEPAGE): CRIU's image has no place for that, "
                    + "it is restored with THP disabled everywhere", pid);
        }
        if (membarrier != 0) tc.setMembarrierRegistrationMask(membarrier);
        // One entry per signal except SIGKILL and SIGSTOP, whose actions cannot change (62 entries, as CRIU).
        for (int sig = 1; sig <= Linux.NSIG; sig++) {
            if (sig != Linux.SIGKILL && sig != Linux.SIGSTOP) tc.addSigactions(Images.sigaction(td.inj.sigactions()[sig - 1]));
        }
        ThreadCoreEntry.Builder thc = ThreadCoreEntry.newBuilder().setFutexRla(robust[0]).setFutexRlaLen((int) robust[1])
                .setSchedNice((int) stat.nice()).setSchedPolicy((int) stat.policy()).setSas(Images.sas(td.inj))
                .setSignalsP(td.privateSignals).setCreds(Images.creds(status, td.inj.secbits())).setComm(stat.comm())
                .setCgSet(s.cgroups().set(pid, pid));
        int prio = ThreadDump.schedPrio(pid, stat);
        if (prio != 0) thc.setSchedPrio(prio);
        if (pdeath != 0) thc.setPdeathSig(pdeath);
        if (td.rs.rseq() != null) thc.setRseqEntry(td.rs.rseq());
        if (seccompIdx.get(pid) >= 0) thc.setSeccompMode(SeccompMode.filter).setSeccompFilter(seccompIdx.get(pid));
        CoreEntry core = Images.core(ti, tc.build(), thc.build());

        MmEntry.Builder mm = MmEntry.newBuilder().setMmStartCode(stat.startCode()).setMmEndCode(stat.endCode())
                .setMmStartData(stat.startData()).setMmEndData(stat.endData()).setMmStartStack(stat.startStack())
                .setMmStartBrk(stat.startBrk()).setMmBrk(td.inj.brk()).setMmArgStart(stat.argStart())
                .setMmArgEnd(stat.argEnd()).setMmEnvStart(stat.envStart()).setMmEnvEnd(stat.envEnd())
                .setExeFileId(exeId).setDumpable(td.inj.dumpable()).setThpDisabled(td.inj.thpDisabled());
        for (long a : auxv) mm.addMmSavedAuxv(a);
        mm.addAllVmas(plan.entries());
        mm.addAllAios(plan.aios());

        Images.writeOne(dir, ImageType.IDS, ids, pid);
        Images.writeOne(dir, ImageType.CORE, core, pid);
        for (ThreadDump.Data d : others) {
            CoreEntry c = ThreadDump.core(d);
            c = c.toBuilder().setThreadCore(c.getThreadCore().toBuilder().setCgSet(s.cgroups().set(pid, d.tid()))).build();
            int sc = seccompIdx.get(d.tid());
            if (sc >= 0) {
                c = c.toBuilder().setThreadCore(c.getThreadCore().toBuilder().setSeccompMode(SeccompMode.filter).setSeccompFilter(sc)).build();
            }
            Images.writeOne(dir, ImageType.CORE, c, d.tid());
        }
        Images.writeOne(dir, ImageType.MM, mm.build(), pid);
        Images.writeOne(dir, ImageType.FS, FsEntry.newBuilder().setCwdId(cwdId).setRootId(rootId).setUmask(status.umask()).build(), pid);
        Figures f = new Figures(memNs, mem.writeNanos(), scan.pagesScanned(), scan.pagesToWrite(), scan.runs().size());
        return new Done(f, stat.pgid(), stat.sid());
    }

    /**
     * core-PID.img of a zombie, as criu's dump_one_zombie writes it: a task core with its state,
     * exit code (the wait status its parent would get, from /proc/PID/stat) and name, nothing else.
     */
    static Done zombie(ImageDir dir, int pid) {
        Stat st = Stat.read(pid);
        TaskCoreEntry tc = TaskCoreEntry.newBuilder().setTaskState(Images.TASK_DEAD).setExitCode(st.exitCode())
                .setPersonality(0).setFlags(0).setBlkSigset(0).setComm(st.comm()).build();
        Images.writeOne(dir, ImageType.CORE, CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64).setTc(tc).build(), pid);
        LOG.info("Dumped zombie %d (exit code %d)", pid, st.exitCode());
        return new Done(new Figures(0, 0, 0, 0, 0), st.pgid(), st.sid());
    }

    /** Everything read on the tracer thread while the task is stopped. */
    private record TracerData(ThreadDump.Regset rs, boolean wasStopped, Injected inj,
                              SignalQueueEntry sharedSignals, SignalQueueEntry privateSignals) {
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
