package org.jcriu.files.tty;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jcriu.CriuException;
import org.jcriu.files.OpenFd;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * What the kernel keeps in one side of a pty, read through a copy of the task's fd
 * (pidfd_getfd: the same open file, so nothing is reopened: reopening /dev/ptmx would make a new
 * pty). These ioctls act on the file, not on the caller, so jcriu may ask them itself; the
 * exceptions are TIOCGSID/TIOCGPGRP on a slave, which answer only the session the slave is the
 * controlling terminal of (see {@link TtyHandler}).
 *
 * @param queued bytes the side's reader would get now (FIONREAD). A terminal has no way to look
 *        at them without taking them; in canonical mode the count leaves out an unfinished line.
 */
record PtyProbe(int index, int sid, int pgrp, boolean locked, boolean exclusive, boolean packet, byte[] termios,
                byte[] termiosLocked, byte[] winsize, int queued) {

    /** The pty's other side is gone (the kernel answers EIO): CRIU's "hung up" terminal. */
    static final class HungUp extends RuntimeException {
        HungUp() {
            super(null, null, false, false);
        }
    }

    static PtyProbe read(OpenFd fd, boolean master) {
        int pidfd = Sys.pidfdOpen(fd.pid());
        int lfd;
        try {
            lfd = Sys.pidfdGetfd(pidfd, fd.fd());
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't copy " + fd.describe() + " to read its terminal state: " + e.getMessage());
        } finally {
            Sys.close(pidfd);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(64, 8);
            int index = master ? getInt(lfd, Termios.TIOCGPTN, buf, fd, "TIOCGPTN") : slaveIndex(fd);
            int sid = master ? getInt(lfd, Termios.TIOCGSID, buf, fd, "TIOCGSID") : 0;
            int pgrp = master ? getInt(lfd, Termios.TIOCGPGRP, buf, fd, "TIOCGPGRP") : 0;
            boolean excl = getInt(lfd, Termios.TIOCGEXCL, buf, fd, "TIOCGEXCL") != 0;
            boolean pckt = getInt(lfd, Termios.TIOCGPKT, buf, fd, "TIOCGPKT") != 0;
            boolean lock = getInt(lfd, Termios.TIOCGPTLCK, buf, fd, "TIOCGPTLCK") != 0;
            byte[] t = getBytes(lfd, Termios.TCGETS, Termios.SIZE, buf, fd, "TCGETS");
            byte[] tl = getBytes(lfd, Termios.TIOCGLCKTRMIOS, Termios.SIZE, buf, fd, "TIOCGLCKTRMIOS");
            byte[] w = getBytes(lfd, Termios.TIOCGWINSZ, Termios.WINSIZE_SIZE, buf, fd, "TIOCGWINSZ");
            int queued = getInt(lfd, Termios.FIONREAD, buf, fd, "FIONREAD");
            return new PtyProbe(index, sid, pgrp, lock, excl, pckt, t, tl, w, queued);
        } finally {
            Sys.close(lfd);
        }
    }

    /** /dev/pts/N: Unix98 slaves are majors 136..143, 256 minors each. */
    static int slaveIndex(OpenFd fd) {
        long rdev = fd.stat().rdev();
        return (org.jcriu.sys.Stat.major(rdev) - TtyHandler.PTS_MAJOR_FIRST) * 256 + org.jcriu.sys.Stat.minor(rdev);
    }

    /** ENOTTY (the driver has no such ioctl, or the tty is not the caller's) reads as 0, as CRIU does. */
    private static int getInt(int lfd, long cmd, MemorySegment buf, OpenFd fd, String what) {
        buf.set(JAVA_INT, 0, 0);
        long r = Sys.raw(Nr.IOCTL, lfd, cmd, buf.address());
        if (r == -Errno.ENOTTY) return 0;
        check(r, fd, what);
        return buf.get(JAVA_INT, 0);
    }

    private static byte[] getBytes(int lfd, long cmd, int len, MemorySegment buf, OpenFd fd, String what) {
        buf.fill((byte) 0);
        check(Sys.raw(Nr.IOCTL, lfd, cmd, buf.address()), fd, what);
        return buf.asSlice(0, len).toArray(JAVA_BYTE);
    }

    private static void check(long r, OpenFd fd, String what) {
        if (r == -Errno.EIO) throw new HungUp();
        if (r < 0) throw new ErrnoException((int) -r, "ioctl(" + what + ") on " + fd.describe());
    }
}
