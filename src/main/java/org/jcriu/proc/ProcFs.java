package org.jcriu.proc;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.jcriu.CriuException;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Sys;

/**
 * /proc/PID files for the parsers: each read once, whole (Sys.readFile reads to end of file,
 * as seq_files need), with a message that says the process is likely gone when it is.
 */
public final class ProcFs {
    private ProcFs() {}

    public static Path pidDir(int pid) {
        return Path.of("/proc", Integer.toString(pid));
    }

    public static byte[] read(int pid, String name) {
        return read(pidDir(pid).resolve(name));
    }

    public static byte[] read(Path p) {
        try {
            return Sys.readFile(p.toString());
        } catch (ErrnoException e) {
            throw gone(p, e);
        }
    }

    public static String readString(int pid, String name) {
        return new String(read(pid, name), StandardCharsets.ISO_8859_1);
    }

    /** The target of a /proc symlink (fd/N, cwd, exe, map_files/...). */
    public static String readlink(Path p) {
        try {
            return Sys.readlink(p.toString());
        } catch (ErrnoException e) {
            throw gone(p, e);
        }
    }

    private static CriuException gone(Path p, ErrnoException e) {
        if (e.errno() == Errno.ENOENT || e.errno() == Errno.ESRCH) {
            return new CriuException(Errno.ESRCH, "Can't read " + p + ": no such file (process gone?)");
        }
        return new CriuException(e.errno(), "Can't read " + p + ": " + e.getMessage(), e);
    }
}
