package org.jcriu.cgroup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.jcriu.CriuException;
import org.jcriu.image.proto.CgroupPerms;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/** Reads and writes of cgroupfs files, each error naming the file. */
final class CgFs {
    private CgFs() {}

    static boolean exists(Path p) {
        try {
            Sys.stat(p.toString());
            return true;
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENOENT) return false;
            throw new CriuException(e.errno(), "Failed accessing cgroup file " + p + ": " + e.getMessage(), e);
        }
    }

    static Stat stat(Path p) {
        try {
            return Sys.stat(p.toString());
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "failed statting cgroup " + p + ": " + e.getMessage(), e);
        }
    }

    static String read(Path p) {
        try {
            return new String(Sys.readFile(p.toString()), StandardCharsets.UTF_8);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Failed reading cgroup file " + p + ": " + e.getMessage(), e);
        }
    }

    /** One write(2) of {@code value}: the kernel parses cgroup files per write. */
    static void write(Path p, String value) {
        write(p, value, Linux.O_WRONLY);
    }

    static void write(Path p, String value, int flags) {
        int fd;
        try {
            fd = Sys.open(p.toString(), flags, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "bad cgroup path " + p + ": " + e.getMessage(), e);
        }
        try (Arena a = Arena.ofConfined()) {
            byte[] b = value.getBytes(StandardCharsets.UTF_8);
            MemorySegment seg = a.allocate(Math.max(1, b.length));
            MemorySegment.copy(b, 0, seg, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, b.length);
            long n = Sys.write(fd, seg, b.length);
            if (n != b.length) throw new CriuException("Short write of \"" + value + "\" to " + p);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Failed writing \"" + value + "\" to " + p + ": " + e.getMessage(), e);
        } finally {
            Sys.close(fd);
        }
    }

    /** Owner and mode of a cgroup file or directory, as dumped (cr_fchperm). */
    static void chperm(Path p, CgroupPerms perms, boolean dir) {
        if (perms == null) return;
        int fd;
        try {
            // fchown/fchmod refuse O_PATH descriptors; properties are opened for writing, as CRIU does
            fd = Sys.open(p.toString(), dir ? Linux.O_RDONLY | Linux.O_DIRECTORY : Linux.O_WRONLY, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "failed to open " + p + " for chowning: " + e.getMessage(), e);
        }
        try {
            Sys.syscall(Nr.FCHOWN, fd, perms.getUid() & 0xffffffffL, perms.getGid() & 0xffffffffL);
            Sys.syscall(Nr.FCHMOD, fd, perms.getMode() & 07777);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Unable to set perms of " + p + " to " + perms.getUid() + ":" + perms.getGid()
                    + " " + Integer.toOctalString(perms.getMode() & 07777) + ": " + e.getMessage(), e);
        } finally {
            Sys.close(fd);
        }
    }
}
