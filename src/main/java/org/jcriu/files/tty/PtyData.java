package org.jcriu.files.tty;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Bytes queued in a pty, as CRIU keeps them (tty-data.img, one entry per side, tty_id = the
 * tty-info id of the side they were read from). A terminal's queue cannot be looked at without
 * taking it, so, as CRIU does, the dump reads each side without blocking and at once writes what
 * it took into the other side, where it is queued again for the same reader (through the line
 * discipline: with output processing or echo on, the replayed bytes may differ; a terminal never
 * was a transport with guaranteed delivery). The restore writes each side's bytes into the other
 * side once both exist.
 */
final class PtyData {
    private static final Logger LOG = Log.get("tty");
    /** More than a pty queues in practice (4 KiB of input, 64 KiB of output buffers). */
    static final int LIMIT = 1 << 17;

    private PtyData() {}

    /** What one pty held: bytes waiting for the master's reader and for the slave's reader. */
    record Queued(byte[] forMaster, byte[] forSlave) {}

    /**
     * Takes the queued bytes of pty {@code index} (both sides) and puts them back at once. The
     * sides are copies (pidfd_getfd) of fds held by the tasks of {@code tree}.
     */
    static Queued take(int index, Set<Integer> tree) {
        int m = copyOf(tree, index, true), s = -1;
        try {
            s = copyOf(tree, index, false);
            if (m < 0 || s < 0) throw new CriuException("pty " + index + ": no task of the dump holds its " + (m < 0 ? "master" : "slave"));
            boolean packet;
            try (Arena a = Arena.ofConfined()) {
                // packet mode is the master's: its reads start with a status byte
                MemorySegment v = a.allocate(4);
                packet = Sys.raw(Nr.IOCTL, m, Termios.TIOCGPKT, v.address()) == 0 && v.get(java.lang.foreign.ValueLayout.JAVA_INT, 0) != 0;
            }
            byte[] forMaster = drain(m, packet, index, "master");
            byte[] forSlave = drain(s, false, index, "slave");
            putBack(s, forMaster, index);
            putBack(m, forSlave, index);
            LOG.info("pty %d: %d byte(s) queued for the master, %d for the slave", index, forMaster.length, forSlave.length);
            return new Queued(forMaster, forSlave);
        } finally {
            if (m >= 0) Sys.close(m);
            if (s >= 0) Sys.close(s);
        }
    }

    /** Writes {@code b} into {@code fd} (the other side of the queue it belongs to). */
    static void putBack(int fd, byte[] b, int index) {
        if (b.length == 0) return;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(b.length);
            buf.copyFrom(MemorySegment.ofArray(b));
            long off = 0;
            while (off < b.length) {
                long n = Sys.raw(Nr.WRITE, fd, buf.address() + off, b.length - off);
                if (n <= 0) {
                    LOG.warn("pty %d: %d of %d queued byte(s) could not be queued again (%s)", index, b.length - off, b.length,
                            n < 0 ? Errno.name((int) -n) : "no room");
                    return;
                }
                off += n;
            }
        }
    }

    /**
     * Reads what side {@code fd} has for its reader, without blocking (O_NONBLOCK for the moment:
     * the flag belongs to the shared open file, so it is put back). In packet mode every read
     * starts with a status byte: only data reads (status 0) are kept, without it.
     */
    private static byte[] drain(int fd, boolean packet, int index, String side) {
        long flags = Sys.syscall(Nr.FCNTL, fd, Linux.F_GETFL);
        if ((flags & Linux.O_NONBLOCK) == 0) Sys.syscall(Nr.FCNTL, fd, Linux.F_SETFL, flags | Linux.O_NONBLOCK);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(16384);
            while (true) {
                long n = Sys.raw(Nr.READ, fd, buf.address(), buf.byteSize());
                if (n == -Errno.EAGAIN || n == 0 || n == -Errno.EIO) break;
                if (n < 0) throw new CriuException((int) -n, "Can't read the queued bytes of pty " + index + " (" + side + "): " + Errno.name((int) -n));
                byte[] got = buf.asSlice(0, n).toArray(JAVA_BYTE);
                if (packet) {
                    if (got[0] != 0) continue;
                    out.write(got, 1, got.length - 1);
                } else {
                    out.write(got, 0, got.length);
                }
                if (out.size() > LIMIT) {
                    throw new CriuException("pty " + index + " has more than " + LIMIT + " bytes queued for its " + side + " side");
                }
            }
        } finally {
            if ((flags & Linux.O_NONBLOCK) == 0) Sys.syscall(Nr.FCNTL, fd, Linux.F_SETFL, flags);
        }
        return out.toByteArray();
    }

    /** A copy in jcriu of an fd of the tree that is side {@code master} of pty {@code index}, or -1. */
    private static int copyOf(Set<Integer> tree, int index, boolean master) {
        for (int pid : tree) {
            int fd = master ? TtyHandler.masterFd(pid, index) : slaveFd(pid, index);
            if (fd < 0) continue;
            int pidfd = Sys.pidfdOpen(pid);
            try {
                return Sys.pidfdGetfd(pidfd, fd);
            } finally {
                Sys.close(pidfd);
            }
        }
        return -1;
    }

    static int slaveFd(int pid, int index) {
        Path dir = Path.of("/proc", Integer.toString(pid), "fd");
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                try {
                    long rdev = Sys.stat(p.toString()).rdev();
                    if (TtyHandler.isPts(rdev) && (Stat.major(rdev) - TtyHandler.PTS_MAJOR_FIRST) * 256 + Stat.minor(rdev) == index) {
                        return Integer.parseInt(p.getFileName().toString());
                    }
                } catch (CriuException e) {
                    // closed while we looked
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
