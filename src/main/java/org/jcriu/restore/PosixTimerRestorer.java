package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.proto.PosixTimerEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;

/**
 * POSIX timers, created again with their ids: with prctl(PR_TIMER_CREATE_RESTORE_IDS) on,
 * timer_create takes the id to use from *timer_id (Linux 6.17; earlier kernels hand out ids in
 * their own order). Created once every thread exists, since a SIGEV_THREAD_ID timer names its
 * thread; armed with the time that was left at dump and the interval. The overrun count has no
 * setter in the kernel: it starts again from 0.
 */
final class PosixTimerRestorer {
    private static final Logger LOG = Log.get("restore");
    static final int PR_TIMER_CREATE_RESTORE_IDS = 77;
    static final int SIGEV_THREAD_ID = 4;

    private PosixTimerRestorer() {}

    static void restore(Task task, List<PosixTimerEntry> timers) {
        if (timers.isEmpty()) return;
        try {
            task.syscall(Nr.PRCTL, PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't restore the POSIX timers of task " + task.tid()
                    + ": this kernel cannot create a timer with a given id (prctl PR_TIMER_CREATE_RESTORE_IDS: " + e.getMessage() + ")");
        }
        try (Scratch s = task.scratch(128)) {
            for (PosixTimerEntry t : timers) {
                ByteBuffer b = ByteBuffer.allocate(128).order(ByteOrder.LITTLE_ENDIAN);
                b.putLong(0, t.getSivalPtr());                                  // sigev_value
                b.putInt(8, t.getSiSigno());                                     // sigev_signo
                b.putInt(12, t.getItSigevNotify());                              // sigev_notify
                if ((t.getItSigevNotify() & SIGEV_THREAD_ID) != 0) b.putInt(16, t.getNotifyThreadId()); // _tid
                b.putInt(64, t.getItId());                                       // the id wanted
                b.putLong(72, t.getIsec()).putLong(80, t.getInsec()).putLong(88, t.getVsec()).putLong(96, t.getVnsec());
                s.put(0, b.array());
                try {
                    task.syscall(Nr.TIMER_CREATE, t.getClockId(), s.addr(), s.addr() + 64);
                } catch (ErrnoException e) {
                    throw new CriuException(e.errno() == Errno.EBUSY ? Errno.EEXIST : e.errno(), String.format(
                            "Can't create POSIX timer %d (clock %d, notify %d, signal %d) in task %d: %s", t.getItId(),
                            t.getClockId(), t.getItSigevNotify(), t.getSiSigno(), task.tid(), e.getMessage()), e);
                }
                int got = ByteBuffer.wrap(s.get(64, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
                if (got != t.getItId()) {
                    throw new CriuException("POSIX timer " + t.getItId() + " of task " + task.tid() + " was created with id " + got);
                }
                if (t.getVsec() != 0 || t.getVnsec() != 0) task.syscall(Nr.TIMER_SETTIME, t.getItId(), 0, s.addr() + 72, 0);
                if (t.getOverrun() != 0) LOG.debug("timer %d of task %d: overrun %d not restored", t.getItId(), task.tid(), t.getOverrun());
            }
        } finally {
            task.syscall(Nr.PRCTL, PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
        }
    }
}
