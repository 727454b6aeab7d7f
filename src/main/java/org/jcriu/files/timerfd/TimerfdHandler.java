package org.jcriu.files.timerfd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jcriu.CriuException;
import org.jcriu.files.AnonFd;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.TimerfdEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * timerfd: clock, settime flags, unread expirations (ticks) and the time left (fdinfo's
 * it_value is what remains, even for an absolute timer) with the interval. As with CRIU, the
 * time left is kept, not the deadline: a timer due in 3 s at dump fires 3 s after restore (for a
 * TFD_TIMER_ABSTIME timer the current clock is added back). Ticks are put back with the
 * TFD_IOC_SET_TICKS ioctl (kernel CONFIG_CHECKPOINT_RESTORE).
 */
public final class TimerfdHandler implements FileHandler {
    private static final Logger LOG = Log.get("timerfd");
    static final int TFD_TIMER_ABSTIME = 1;
    /** _IOW('T', 0, __u64) */
    static final long TFD_IOC_SET_TICKS = 0x40085400L;
    private static final int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7, CLOCK_REALTIME_ALARM = 8,
            CLOCK_BOOTTIME_ALARM = 9;

    @Override
    public FdTypes type() {
        return FdTypes.TIMERFD;
    }

    @Override
    public String name() {
        return "timerfd";
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        long[] value = AnonFd.pair(AnonFd.field(fd, "it_value"));
        long[] interval = AnonFd.pair(AnonFd.field(fd, "it_interval"));
        TimerfdEntry e = TimerfdEntry.newBuilder().setId(id).setFlags(fd.fileFlags()).setFown(AnonFd.NO_OWNER)
                .setClockid(Integer.parseInt(AnonFd.field(fd, "clockid")))
                .setTicks(Long.parseUnsignedLong(AnonFd.field(fd, "ticks")))
                .setSettimeFlags(Integer.parseInt(AnonFd.field(fd, "settime flags"), 8))
                .setVsec(value[0]).setVnsec(value[1]).setIsec(interval[0]).setInsec(interval[1]).build();
        LOG.info("Dumping id %#x clockid %d it_value(%d, %d) it_interval(%d, %d) ticks %d", id, e.getClockid(),
                e.getVsec(), e.getVnsec(), e.getIsec(), e.getInsec(), e.getTicks());
        return FileEntry.newBuilder().setType(FdTypes.TIMERFD).setId(id).setTfd(e).build();
    }

    @Override
    public int open(FileEntry fe, FileRestorer r) {
        TimerfdEntry e = fe.getTfd();
        int c = e.getClockid();
        if (c != CLOCK_REALTIME && c != CLOCK_MONOTONIC && c != CLOCK_BOOTTIME && c != CLOCK_REALTIME_ALARM && c != CLOCK_BOOTTIME_ALARM) {
            throw new CriuException("timerfd id " + e.getId() + " has unknown clock " + c);
        }
        var t = r.task();
        int fd = (int) t.syscall(Nr.TIMERFD_CREATE, c, e.getFlags() & Linux.O_NONBLOCK);
        long vsec = e.getVsec(), vnsec = e.getVnsec();
        if (vsec == 0 && vnsec == 0 && e.getTicks() != 0 && (e.getIsec() != 0 || e.getInsec() != 0)) {
            // A periodic timer that expired with nobody reading yet: the kernel moves it to its
            // next period only at the read, so fdinfo shows no time left. Setting 0 would disarm
            // it; the next expiry is at most one interval away.
            vsec = e.getIsec();
            vnsec = e.getInsec();
        }
        if ((e.getSettimeFlags() & TFD_TIMER_ABSTIME) != 0 && (vsec != 0 || vnsec != 0)) vsec += now(c, t.tid());
        byte[] its = AnonFd.le(new int[] {8, 8, 8, 8}, e.getIsec(), e.getInsec(), vsec, vnsec);
        AnonFd.withStruct(t, its, Nr.TIMERFD_SETTIME, 2, fd, e.getSettimeFlags(), 0, 0);
        if (e.getTicks() != 0) AnonFd.withStruct(t, AnonFd.le(new int[] {8}, e.getTicks()), Nr.IOCTL, 2, fd, TFD_IOC_SET_TICKS, 0);
        AnonFd.fileFlags(t, fd, e.getFlags());
        LOG.debug("timerfd id %#x armed: it_value(%d, %d) it_interval(%d, %d) ticks %d", e.getId(), vsec, vnsec,
                e.getIsec(), e.getInsec(), e.getTicks());
        return fd;
    }

    /**
     * Seconds of clock {@code clock} now as task {@code tid} reads it: CLOCK_MONOTONIC and
     * CLOCK_BOOTTIME are shifted in a task restored in a time namespace of its own, and the
     * deadline is given to timerfd_settime in the task's namespace.
     */
    private static long now(int clock, int tid) {
        int base = clock == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME : clock == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : clock;
        if (base == CLOCK_MONOTONIC || base == CLOCK_BOOTTIME) return org.jcriu.ns.TimeNs.clockOf(tid, base) / 1_000_000_000L;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ts = a.allocate(16, 8);
            Sys.check("clock_gettime", Nr.CLOCK_GETTIME, base, ts.address());
            return ts.get(JAVA_LONG, 0);
        }
    }
}
