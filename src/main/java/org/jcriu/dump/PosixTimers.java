package org.jcriu.dump;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.proto.PosixTimerEntry;
import org.jcriu.proc.ProcFs;
import org.jcriu.sys.Nr;

/**
 * POSIX timers (timer_create) of a process. /proc/PID/timers gives each timer's id, clock,
 * signal, sigev value and how it notifies (the kernel prints SIGEV_THREAD_ID as "tid"); the time
 * left and the interval come from timer_gettime and the overrun count from timer_getoverrun,
 * injected into the task (timers belong to the whole thread group, any thread may ask).
 */
final class PosixTimers {
    static final int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2, SIGEV_THREAD_ID = 4;

    private PosixTimers() {}

    /** One timer as /proc/PID/timers describes it. */
    record Proc(int id, int signo, long sival, int how, int notifyTid, int clock) {}

    static List<Proc> parse(String text, int pid) {
        List<Proc> out = new ArrayList<>();
        String[] l = text.split("\n");
        for (int i = 0; i + 3 < l.length && l[i].startsWith("ID:"); i += 4) {
            try {
                int id = Integer.parseInt(l[i].substring(3).strip());
                String sig = l[i + 1].substring("signal:".length()).strip();
                int slash = sig.indexOf('/');
                int signo = Integer.parseInt(sig.substring(0, slash));
                long sival = Long.parseUnsignedLong(sig.substring(slash + 1), 16);
                String nt = l[i + 2].substring("notify:".length()).strip();
                int s2 = nt.indexOf('/'), dot = nt.lastIndexOf('.');
                String how = nt.substring(0, s2), who = nt.substring(s2 + 1, dot);
                int notify = switch (how) {
                    case "signal" -> SIGEV_SIGNAL;
                    case "none" -> SIGEV_NONE;
                    case "thread" -> SIGEV_THREAD;
                    default -> throw new CriuException("/proc/" + pid + "/timers: unknown notify " + nt);
                };
                int tid = 0;
                if (who.equals("tid")) {
                    notify |= SIGEV_THREAD_ID;
                    tid = Integer.parseInt(nt.substring(dot + 1));
                }
                int clock = Integer.parseInt(l[i + 3].substring("ClockID:".length()).strip());
                out.add(new Proc(id, signo, sival, notify, tid, clock));
            } catch (RuntimeException e) {
                if (e instanceof CriuException c) throw c;
                throw new CriuException("Can't parse /proc/" + pid + "/timers near line " + (i + 1) + ": " + e.getMessage());
            }
        }
        return out;
    }

    /** Runs on the tracer thread with {@code t} stopped. */
    static List<PosixTimerEntry> dump(Task t, int pid) {
        List<Proc> timers = parse(ProcFs.readString(pid, "timers"), pid);
        List<PosixTimerEntry> out = new ArrayList<>();
        if (timers.isEmpty()) return out;
        try (Scratch s = t.scratch(32)) {
            for (Proc p : timers) {
                t.syscall(Nr.TIMER_GETTIME, p.id(), s.addr());
                ByteBuffer b = ByteBuffer.wrap(s.get(0, 32)).order(ByteOrder.LITTLE_ENDIAN);
                int overrun = (int) t.syscall(Nr.TIMER_GETOVERRUN, p.id());
                PosixTimerEntry.Builder e = PosixTimerEntry.newBuilder().setItId(p.id()).setClockId(p.clock())
                        .setSiSigno(p.signo()).setItSigevNotify(p.how()).setSivalPtr(p.sival()).setOverrun(overrun)
                        .setIsec(b.getLong(0)).setInsec(b.getLong(8)).setVsec(b.getLong(16)).setVnsec(b.getLong(24));
                if ((p.how() & SIGEV_THREAD_ID) != 0) e.setNotifyThreadId(p.notifyTid());
                out.add(e.build());
            }
        }
        return out;
    }
}
