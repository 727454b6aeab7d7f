package org.jcriu.dump;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.jcriu.compel.Regs;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.CredsEntry;
import org.jcriu.image.proto.DumpStatsEntry;
import org.jcriu.image.proto.InventoryEntry;
import org.jcriu.image.proto.ItimerEntry;
import org.jcriu.image.proto.Lsmtype;
import org.jcriu.image.proto.PluginsEntry;
import org.jcriu.image.proto.RlimitEntry;
import org.jcriu.image.proto.RseqEntry;
import org.jcriu.image.proto.SaEntry;
import org.jcriu.image.proto.SeccompEntry;
import org.jcriu.image.proto.StatsEntry;
import org.jcriu.image.proto.TaskCoreEntry;
import org.jcriu.image.proto.TaskKobjIdsEntry;
import org.jcriu.image.proto.TaskRlimitsEntry;
import org.jcriu.image.proto.TaskTimersEntry;
import org.jcriu.image.proto.ThreadCoreEntry;
import org.jcriu.image.proto.ThreadInfoX86;
import org.jcriu.image.proto.ThreadSasEntry;
import org.jcriu.image.proto.TimensEntry;
import org.jcriu.image.proto.Timespec;
import org.jcriu.image.proto.UserDescT;
import org.jcriu.image.proto.UserX86RegsEntry;
import org.jcriu.image.proto.UserX86RegsMode;
import org.jcriu.proc.Status;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/** Builders for the per-task and per-dump images whose content is plain data (no I/O on the task). */
final class Images {
    /**
     * criu's task_state values (compel/include/uapi/task-state.h, what cr-dump.c writes; crit's
     * "gen" dict names them differently, 3 "Zombie" and 6 "Stopped", but criu never writes 6).
     */
    static final int TASK_ALIVE = 1, TASK_DEAD = 2, TASK_STOPPED = 3;
    /** ids of jcriu's own objects and namespaces (inventory root_ids), in the order CRIU numbers them. */
    static final int ROOT_OBJ_ID = 1, TASK_OBJ_ID = 2;
    static final int PID_NS = 1, NET_NS = 2, IPC_NS = 3, UTS_NS = 4, TIME_NS = 5, MNT_NS = 6, USER_NS = 7, CGROUP_NS = 8;

    private Images() {}

    static TaskKobjIdsEntry ids(int obj) {
        return TaskKobjIdsEntry.newBuilder().setVmId(obj).setFilesId(obj).setFsId(obj).setSighandId(obj)
                .setPidNsId(PID_NS).setNetNsId(NET_NS).setIpcNsId(IPC_NS).setUtsNsId(UTS_NS).setMntNsId(MNT_NS)
                .setUserNsId(USER_NS).setCgroupNsId(CGROUP_NS).setTimeNsId(TIME_NS).build();
    }

    static InventoryEntry inventory() {
        return InventoryEntry.newBuilder().setImgVersion(2).setFdinfoPerId(true).setRootIds(ids(ROOT_OBJ_ID))
                .setNsPerId(true).setRootCgSet(1).setLsmtype(lsm()).setNetworkLockMethod(0)
                .setPluginsEntry(PluginsEntry.getDefaultInstance()).setDumpCriuRunId(runId()).build();
    }

    /**
     * A random (version 4) UUID naming this dump run. UUID.randomUUID() would seed a
     * SecureRandom first (~5 ms of a small dump); the id only has to differ between runs.
     */
    static String runId() {
        java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
        long msb = (r.nextLong() & ~0xf000L) | 0x4000L;
        long lsb = (r.nextLong() & ~(0x3L << 62)) | (0x2L << 62);
        return new UUID(msb, lsb).toString();
    }

    private static Lsmtype lsm() {
        try {
            String l = Files.readString(Path.of("/sys/kernel/security/lsm"));
            if (l.contains("selinux")) return Lsmtype.SELINUX;
            if (l.contains("apparmor")) return Lsmtype.APPARMOR;
        } catch (java.io.IOException e) {
            // no securityfs: no LSM jcriu has to care about
        }
        return Lsmtype.NO_LSM;
    }

    static UserX86RegsEntry gpregs(Regs r) {
        return UserX86RegsEntry.newBuilder().setR15(r.get(Regs.R15)).setR14(r.get(Regs.R14)).setR13(r.get(Regs.R13))
                .setR12(r.get(Regs.R12)).setBp(r.get(Regs.RBP)).setBx(r.get(Regs.RBX)).setR11(r.get(Regs.R11))
                .setR10(r.get(Regs.R10)).setR9(r.get(Regs.R9)).setR8(r.get(Regs.R8)).setAx(r.get(Regs.RAX))
                .setCx(r.get(Regs.RCX)).setDx(r.get(Regs.RDX)).setSi(r.get(Regs.RSI)).setDi(r.get(Regs.RDI))
                .setOrigAx(r.get(Regs.ORIG_RAX)).setIp(r.get(Regs.RIP)).setCs(r.get(Regs.CS)).setFlags(r.get(Regs.EFLAGS))
                .setSp(r.get(Regs.RSP)).setSs(r.get(Regs.SS)).setFsBase(r.get(Regs.FS_BASE)).setGsBase(r.get(Regs.GS_BASE))
                .setDs(r.get(Regs.DS)).setEs(r.get(Regs.ES)).setFs(r.get(Regs.FS)).setGs(r.get(Regs.GS))
                .setMode(UserX86RegsMode.NATIVE).build();
    }

    /** The GDT TLS slots 12..14, as ptrace(PTRACE_GET_THREAD_AREA) returned them (struct user_desc words). */
    static UserDescT tls(int entry, int[] desc) {
        int f = desc[3];
        return UserDescT.newBuilder().setEntryNumber(entry).setBaseAddr(desc[1]).setLimit(desc[2])
                .setSeg32Bit((f & 1) != 0).setContentsH((f & 4) != 0).setContentsL((f & 2) != 0)
                .setReadExecOnly((f & 8) != 0).setLimitInPages((f & 16) != 0).setSegNotPresent((f & 32) != 0)
                .setUsable((f & 64) != 0).build();
    }

    static CredsEntry creds(Status st, int secbits) {
        long[] uid = st.getList("Uid"), gid = st.getList("Gid");
        CredsEntry.Builder c = CredsEntry.newBuilder().setUid((int) uid[0]).setEuid((int) uid[1]).setSuid((int) uid[2])
                .setFsuid((int) uid[3]).setGid((int) gid[0]).setEgid((int) gid[1]).setSgid((int) gid[2])
                .setFsgid((int) gid[3]).setSecbits(secbits);
        caps(c::addCapInh, st.getHex("CapInh"));
        caps(c::addCapPrm, st.getHex("CapPrm"));
        caps(c::addCapEff, st.getHex("CapEff"));
        caps(c::addCapBnd, st.getHex("CapBnd"));
        caps(c::addCapAmb, st.has("CapAmb") ? st.getHex("CapAmb") : 0);
        for (long g : st.getList("Groups")) c.addGroups((int) g);
        if (st.has("NoNewPrivs") && st.getInt("NoNewPrivs") != 0) c.setNoNewPrivs(1);
        return c.build();
    }

    private static void caps(java.util.function.IntConsumer add, long v) {
        add.accept((int) v);
        add.accept((int) (v >>> 32));
    }

    static SaEntry sigaction(long[] sa) {
        return SaEntry.newBuilder().setSigaction(sa[0]).setFlags(sa[1]).setRestorer(sa[2]).setMask(sa[3])
                .setCompatSigaction(false).build();
    }

    static TaskTimersEntry timers(long[][] it) {
        TaskTimersEntry.Builder b = TaskTimersEntry.newBuilder();
        ItimerEntry[] e = new ItimerEntry[3];
        for (int i = 0; i < 3; i++) {
            e[i] = ItimerEntry.newBuilder().setIsec(it[i][0]).setIusec(it[i][1]).setVsec(it[i][2]).setVusec(it[i][3]).build();
        }
        return b.setReal(e[0]).setVirt(e[1]).setProf(e[2]).build();
    }

    static TaskRlimitsEntry rlimits(long[][] l) {
        TaskRlimitsEntry.Builder b = TaskRlimitsEntry.newBuilder();
        for (long[] r : l) b.addRlimits(RlimitEntry.newBuilder().setCur(r[0]).setMax(r[1]));
        return b.build();
    }

    static void writeOne(ImageDir dir, ImageType t, com.google.protobuf.MessageLite m, Object... args) {
        try (ImageWriter w = dir.create(t, args)) {
            w.write(m);
        }
    }

    /** The clocks a time namespace's offsets are computed against on restore (CRIU writes them always). */
    static TimensEntry timens() {
        return TimensEntry.newBuilder().setMonotonic(clock(1)).setBoottime(clock(7)).build();
    }

    private static Timespec clock(int clockId) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ts = a.allocate(16, 8);
            Sys.check("clock_gettime(" + clockId + ")", Nr.CLOCK_GETTIME, clockId, ts.address());
            return Timespec.newBuilder().setTvSec(ts.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0))
                    .setTvNsec(ts.get(java.lang.foreign.ValueLayout.JAVA_LONG, 8)).build();
        }
    }

    static SeccompEntry seccomp() {
        return SeccompEntry.getDefaultInstance();
    }

    static StatsEntry stats(long freezeUs, long frozenUs, long memdumpUs, long memwriteUs, long scanned, long written, long pipes) {
        return StatsEntry.newBuilder().setDump(DumpStatsEntry.newBuilder().setFreezingTime((int) freezeUs)
                .setFrozenTime((int) frozenUs).setMemdumpTime((int) memdumpUs).setMemwriteTime((int) memwriteUs)
                .setPagesScanned(scanned).setPagesSkippedParent(0).setPagesWritten(written).setIrmapResolve(0)
                .setPagesLazy(0).setPagePipes(pipes).setPagePipeBufs(pipes).setShpagesScanned(0)
                .setShpagesSkippedParent(0).setShpagesWritten(0)).build();
    }

    static ThreadSasEntry sas(Injected inj) {
        return ThreadSasEntry.newBuilder().setSsSp(inj.ssSp()).setSsSize(inj.ssSize()).setSsFlags(inj.ssFlags()).build();
    }

    static RseqEntry rseq(long ptr, int size, int sig) {
        return RseqEntry.newBuilder().setRseqAbiPointer(ptr).setRseqAbiSize(size).setSignature(sig).build();
    }

    static CoreEntry core(ThreadInfoX86 ti, TaskCoreEntry tc, ThreadCoreEntry thc) {
        return CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64).setThreadInfo(ti).setTc(tc).setThreadCore(thc).build();
    }


}
