package org.jcriu.sys;

import org.jcriu.CriuException;

/** A syscall (local or injected into a task) failed; message {@code call: strerror (ENAME)}. */
public class ErrnoException extends CriuException {
    private final String call;

    public ErrnoException(int errno, String call) {
        super(errno, call + ": " + Errno.describe(errno) + " (" + Errno.name(errno) + ")");
        this.call = call;
    }

    public String call() {
        return call;
    }

    /** Checks a raw syscall result ({@code -errno} on failure), returning it when it succeeded. */
    public static long check(long rc, String call) {
        if (rc < 0 && rc > -4096) throw new ErrnoException((int) -rc, call);
        return rc;
    }
}
