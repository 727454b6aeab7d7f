package org.jcriu.sys;

import org.jcriu.sys.ffi.Native;

/** errno values (asm-generic/errno-base.h, errno.h) and their names for messages. */
public final class Errno {
    private Errno() {}

    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
            ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16,
            EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24,
            ENOTTY = 25, ETXTBSY = 26, EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EPIPE = 32, ERANGE = 34,
            EDEADLK = 35, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61,
            EOVERFLOW = 75, EBADFD = 77, EBADE = 52, EBADRQC = 56, ENOTSOCK = 88, EOPNOTSUPP = 95,
            ECONNRESET = 104, ENOTSUP = 95, ETIMEDOUT = 110, ESTALE = 116, ERESTARTSYS = 512,
            ERESTARTNOINTR = 513, ERESTARTNOHAND = 514, ERESTART_RESTARTBLOCK = 516;

    private static final String[] NAMES = new String[134];

    static {
        String[] n = {"", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
                "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR",
                "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS",
                "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY",
                "ELOOP"};
        System.arraycopy(n, 0, NAMES, 0, n.length);
        NAMES[52] = "EBADE";
        NAMES[56] = "EBADRQC";
        NAMES[61] = "ENODATA";
        NAMES[75] = "EOVERFLOW";
        NAMES[77] = "EBADFD";
        NAMES[88] = "ENOTSOCK";
        NAMES[95] = "EOPNOTSUPP";
        NAMES[98] = "EADDRINUSE";
        NAMES[104] = "ECONNRESET";
        NAMES[110] = "ETIMEDOUT";
        NAMES[111] = "ECONNREFUSED";
        NAMES[116] = "ESTALE";
    }

    /** "ESRCH", or "errno 123" for values without a name here. */
    public static String name(int errno) {
        if (errno > 0 && errno < NAMES.length && NAMES[errno] != null) return NAMES[errno];
        return switch (errno) {
            case ERESTARTSYS -> "ERESTARTSYS";
            case ERESTARTNOINTR -> "ERESTARTNOINTR";
            case ERESTARTNOHAND -> "ERESTARTNOHAND";
            case ERESTART_RESTARTBLOCK -> "ERESTART_RESTARTBLOCK";
            default -> "errno " + errno;
        };
    }

    /** strerror text, e.g. "No such process". */
    public static String describe(int errno) {
        return errno >= 512 && errno <= 516 ? name(errno) : Native.strerror(errno);
    }
}
