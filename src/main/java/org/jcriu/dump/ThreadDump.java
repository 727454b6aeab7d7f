package org.jcriu.dump;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

import org.jcriu.compel.Ptrace;
import org.jcriu.compel.Regs;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.RseqEntry;
import org.jcriu.image.proto.SignalQueueEntry;
import org.jcriu.image.proto.ThreadCoreEntry;
import org.jcriu.image.proto.ThreadInfoX86;
import org.jcriu.image.proto.ThreadSasEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.proc.ProcFs;
import org.jcriu.proc.Stat;
import org.jcriu.proc.Status;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The state each thread has of its own (registers, FPU, TLS, signal mask, alternate stack,
 * clear-tid address, robust futex list, rseq, name, scheduling, credentials) and the
 * core-TID.img of a thread that is not the main one: CRIU 4.2 writes those without a
 * task_core_entry and with the blocked mask in thread_core_entry.blk_sigset.
 */
final class ThreadDump {
    private static final Logger LOG = Log.get("dump");
    static final int GDT_ENTRY_TLS_MIN = 12, GDT_ENTRY_TLS_NUM = 3;
    private static final int PTRACE_GET_THREAD_AREA = 25, PTRACE_GET_RSEQ_CONFIGURATION = 0x420f;
    private static final int SCHED_FIFO = 1, SCHED_RR = 2;
    private static final long NR_SCHED_GETPARAM = 143;

    private ThreadDump() {}

    /** What ptrace tells about a stopped thread. */
    record Regset(Regs regs, byte[] xstate, long sigmask, int[][] tls, RseqEntry rseq) {
        static Regset read(Task t) {
            Regs regs = t.regs();
            byte[] xs = t.xstate();
            int[][] tls = new int[GDT_ENTRY_TLS_NUM][];
            RseqEntry rseq = null;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment d = a.allocate(32, 8);
                for (int i = 0; i < GDT_ENTRY_TLS_NUM; i++) {
                    d.fill((byte) 0);
                    Ptrace.request(PTRACE_GET_THREAD_AREA, t.tid(), GDT_ENTRY_TLS_MIN + i, d.address(), "PTRACE_GET_THREAD_AREA");
                    tls[i] = new int[] {d.get(JAVA_INT, 0), d.get(JAVA_INT, 4), d.get(JAVA_INT, 8), d.get(JAVA_INT, 12)};
                }
                d.fill((byte) 0);
                try {
                    Ptrace.request(PTRACE_GET_RSEQ_CONFIGURATION, t.tid(), 24, d.address(), "PTRACE_GET_RSEQ_CONFIGURATION");
                    long ptr = d.get(JAVA_LONG, 0);
                    if (ptr != 0) rseq = Images.rseq(ptr, d.get(JAVA_INT, 8), d.get(JAVA_INT, 12));
                } catch (ErrnoException e) {
                    LOG.debug("no rseq configuration for task %d: %s", t.tid(), e.getMessage());
                }
            }
            return new Regset(regs, xs, t.sigmask(), tls, rseq);
        }
    }

    /** A non-main thread, with what only it can tell (asked by injected syscalls in it). */
    record Data(int tid, Regset rs, SignalQueueEntry pending, long clearTid, ThreadSasEntry sas, int secbits, long[] robust,
                Stat stat, Status status, int schedPrio, int pdeathSig) {}

    /** Runs on the tracer thread, after memory was copied (the scratch space is on the thread's stack). */
    static Data collect(Task t, int pid) {
        Regset rs = Regset.read(t);
        SignalQueueEntry pending = pendingSignals(t.tid(), false); // before injections, as for the main thread
        long clearTid;
        ThreadSasEntry sas;
        try (Scratch s = t.scratch(64)) {
            t.syscall(Nr.PRCTL, Linux.PR_GET_TID_ADDRESS, s.addr());
            t.syscall(Nr.SIGALTSTACK, 0, s.addr() + 8);
            ByteBuffer b = ByteBuffer.wrap(s.get(0, 32)).order(ByteOrder.LITTLE_ENDIAN);
            clearTid = b.getLong(0);
            sas = ThreadSasEntry.newBuilder().setSsSp(b.getLong(8)).setSsFlags(b.getInt(16)).setSsSize(b.getLong(24)).build();
        }
        int secbits = (int) t.syscall(Nr.PRCTL, Linux.PR_GET_SECUREBITS);
        int pdeath = pdeathSig(t);
        Path dir = ProcFs.pidDir(pid).resolve("task").resolve(Integer.toString(t.tid()));
        Stat stat = Stat.parse(ProcFs.read(dir.resolve("stat")), t.tid());
        Status status = Status.parse(new String(ProcFs.read(dir.resolve("status")), java.nio.charset.StandardCharsets.ISO_8859_1), t.tid());
        return new Data(t.tid(), rs, pending, clearTid, sas, secbits, robustList(t.tid()), stat, status, schedPrio(t.tid(), stat), pdeath);
    }

    static ThreadInfoX86 threadInfo(Regset rs, long clearTid, int tid) {
        ThreadInfoX86.Builder ti = ThreadInfoX86.newBuilder().setClearTidAddr(clearTid)
                .setGpregs(Images.gpregs(Dumper.restartable(rs.regs(), tid))).setFpregs(X86Fpu.toImage(rs.xstate()));
        for (int i = 0; i < GDT_ENTRY_TLS_NUM; i++) ti.addTls(Images.tls(GDT_ENTRY_TLS_MIN + i, rs.tls()[i]));
        return ti.build();
    }

    /** core-TID.img of a thread other than the main one. */
    static CoreEntry core(Data d) {
        ThreadCoreEntry.Builder thc = ThreadCoreEntry.newBuilder().setFutexRla(d.robust()[0]).setFutexRlaLen((int) d.robust()[1])
                .setSchedNice((int) d.stat().nice()).setSchedPolicy((int) d.stat().policy()).setBlkSigset(d.rs().sigmask())
                .setSas(d.sas()).setSignalsP(d.pending()).setCreds(Images.creds(d.status(), d.secbits()))
                .setComm(d.stat().comm()).setCgSet(1);
        if (d.schedPrio() != 0) thc.setSchedPrio(d.schedPrio());
        if (d.pdeathSig() != 0) thc.setPdeathSig(d.pdeathSig());
        if (d.rs().rseq() != null) thc.setRseqEntry(d.rs().rseq());
        return CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64).setThreadInfo(threadInfo(d.rs(), d.clearTid(), d.tid()))
                .setThreadCore(thc).build();
    }

    /**
     * The thread's parent-death signal (PR_GET_PDEATHSIG, asked in the thread: the kernel keeps
     * one per thread, and each is sent when the thread that created the process exits); 0 for none.
     */
    static int pdeathSig(Task t) {
        try (Scratch s = t.scratch(8)) {
            t.syscall(Nr.PRCTL, Linux.PR_GET_PDEATHSIG, s.addr(), 0, 0, 0);
            return ByteBuffer.wrap(s.get(0, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        }
    }

    /**
     * Signals queued for the thread group ({@code shared}) or for the thread, as raw
     * siginfo_t (128 bytes each), read with PTRACE_PEEKSIGINFO without dequeuing them.
     */
    static SignalQueueEntry pendingSignals(int tid, boolean shared) {
        final int siginfoSize = 128, batch = 32, peekShared = 1;
        var q = SignalQueueEntry.newBuilder();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment args = a.allocate(16, 8);
            MemorySegment buf = a.allocate((long) siginfoSize * batch, 8);
            for (long off = 0; ; ) {
                args.set(JAVA_LONG, 0, off);
                args.set(JAVA_INT, 8, shared ? peekShared : 0);
                args.set(JAVA_INT, 12, batch);
                long n = Ptrace.request(Ptrace.PEEKSIGINFO, tid, args.address(), buf.address(), "PTRACE_PEEKSIGINFO");
                if (n <= 0) break;
                for (int i = 0; i < n; i++) {
                    byte[] si = buf.asSlice((long) i * siginfoSize, siginfoSize).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    q.addSignals(org.jcriu.image.proto.SiginfoEntry.newBuilder().setSiginfo(com.google.protobuf.ByteString.copyFrom(si)));
                }
                off += n;
            }
        }
        return q.build();
    }

    /** get_robust_list() of a thread, asked from outside: {head, len}. */
    static long[] robustList(int tid) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment head = a.allocate(8, 8), len = a.allocate(8, 8);
            Sys.check("get_robust_list(" + tid + ")", Nr.GET_ROBUST_LIST, tid, head.address(), len.address());
            return new long[] {head.get(JAVA_LONG, 0), len.get(JAVA_LONG, 0)};
        }
    }

    /** The real-time priority (sched_getparam); 0 for the other policies, where criu leaves it out. */
    static int schedPrio(int tid, Stat stat) {
        if (stat.policy() != SCHED_FIFO && stat.policy() != SCHED_RR) return 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(4, 4);
            Sys.check("sched_getparam(" + tid + ")", NR_SCHED_GETPARAM, tid, p.address());
            return p.get(JAVA_INT, 0);
        }
    }
}
