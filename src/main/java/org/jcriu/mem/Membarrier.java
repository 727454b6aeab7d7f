package org.jcriu.mem;

import org.jcriu.CriuException;
import org.jcriu.compel.Task;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;

/**
 * membarrier(2) registrations of a task's mm (MEMBARRIER_CMD_REGISTER_*), which the expedited
 * barrier commands require: a restored task that registered and then issues a barrier would get
 * EPERM without them. CRIU keeps them in core's task_core_entry.membarrier_registration_mask, a
 * bit set of the REGISTER commands as MEMBARRIER_CMD_GET_REGISTRATIONS (kernel 6.3+) returns them.
 * Both calls are injected into the stopped task (tracer thread only).
 */
public final class Membarrier {
    private static final long CMD_GET_REGISTRATIONS = 1L << 9;

    private Membarrier() {}

    /** The task's registrations; 0 when the kernel cannot tell (before 6.3) or has no membarrier. */
    public static int registrations(Task t) {
        long r = t.syscallRaw(Nr.MEMBARRIER, CMD_GET_REGISTRATIONS, 0, 0);
        if (r == -Errno.EINVAL || r == -Errno.ENOSYS) return 0;
        return (int) ErrnoException.check(r, "membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS) in task " + t.tid());
    }

    /** Registers the task again for every command in {@code mask}. */
    public static void restore(Task t, int mask) {
        for (int bit = 0; bit < 32; bit++) {
            if ((mask & (1 << bit)) == 0) continue;
            try {
                t.syscall(Nr.MEMBARRIER, 1L << bit, 0, 0);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), String.format("Can't restore membarrier registration 0x%x of task %d: %s",
                        1 << bit, t.tid(), e.getMessage()), e);
            }
        }
    }
}
