package org.jcriu.client;

/** The RPC failed: criu said so ({@link #errno()} is cr_errno, the message cr_errmsg), or the transport broke. */
public class CriuRpcException extends RuntimeException {
    private final int errno;

    public CriuRpcException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** cr_errno from criu, or the failing system call's errno; 0 when there is none. */
    public int errno() {
        return errno;
    }
}
