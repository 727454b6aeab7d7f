package org.jcriu.files.tty;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Map;
import java.util.TreeMap;
import org.jcriu.CriuException;
import org.jcriu.action.Actions;
import org.jcriu.files.FileRestorer;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.TtyInfoEntry;
import org.jcriu.image.proto.TtyType;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Action;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * The master of every pty of the images, opened by jcriu itself the first time any task needs
 * a pty (its master, a slave, or its controlling terminal), before any of them: a slave can then
 * be opened in whichever task comes first in the tree, and a session leader can take its
 * controlling terminal while it is created, before it clones the members of its session (they
 * inherit it: the kernel lets only a session leader acquire one). The task holding a master
 * gets jcriu's one with pidfd_getfd, the same open file description. The kernel hands out pty
 * indices from the lowest free one, so the masters are opened in increasing index order, /dev/ptmx
 * opened again until it gives each index (the ones in between are closed at the end).
 */
final class PtyMasters implements AutoCloseable {
    private static final Logger LOG = Log.get("tty");
    private static final int PTMX_TRIES = 32;

    /** pty index -> jcriu's fd of its master. */
    private final Map<Integer, Integer> fds = new TreeMap<>();

    private PtyMasters() {}

    /** The masters of the images, opened on first use for the whole restore. */
    static PtyMasters of(FileRestorer r, Map<Integer, TtyInfoEntry> infos) {
        return r.state(PtyMasters.class, () -> open(r, infos));
    }

    /** jcriu's fd of the master of pty {@code index}, or -1 when the images have no such master. */
    int fd(int index) {
        Integer fd = fds.get(index);
        return fd == null ? -1 : fd;
    }

    private static PtyMasters open(FileRestorer r, Map<Integer, TtyInfoEntry> infos) {
        // index -> the master's file flags (access mode): one file per master, a pty per open of ptmx
        Map<Integer, Integer> wanted = new TreeMap<>();
        for (FileEntry f : r.allFiles()) {
            if (f.getType() != FdTypes.TTY || (f.getTty().getTtyInfoId() & 1) == 0) continue;
            TtyInfoEntry tie = infos.get(f.getTty().getTtyInfoId());
            if (tie == null || tie.getType() != TtyType.PTY || !tie.hasPty()) continue;
            wanted.putIfAbsent(tie.getPty().getIndex(), f.getTty().getFlags());
        }
        java.util.Set<Integer> orphans = orphans(r, infos, wanted.keySet());
        for (int index : orphans) wanted.put(index, Linux.O_RDWR);
        PtyMasters m = new PtyMasters();
        java.util.List<Integer> others = new ArrayList<>();
        boolean ok = false;
        try {
            for (var w : wanted.entrySet()) {
                int index = w.getKey();
                int fd = openIndex(index, w.getValue(), others);
                m.fds.put(index, fd);
                setInt(fd, Termios.TIOCSPTLCK, 0, index);
                if (orphans.contains(index)) {
                    LOG.info("pty %d: master opened by jcriu for the RPC client (fd %d)", index, fd);
                    continue;
                }
                TtyInfoEntry tie = infos.get(TtyHandler.infoId(index, true));
                setParams(fd, tie, "master of pty " + index);
                if (tie.getPacketMode()) setInt(fd, Termios.TIOCPKT, 1, index);
                LOG.info("pty %d: master opened by jcriu (fd %d)", index, fd);
            }
            for (int o : others) Sys.close(o);
            others.clear();
            for (int index : orphans) m.handOver(r, index);
            ok = true;
        } finally {
            for (int o : others) Sys.close(o);
            if (!ok) m.close();
        }
        return m;
    }

    /**
     * RPC orphan_pts_master: the ptys whose slave was a session's controlling terminal and whose
     * master was outside the dump (a container's console, held by runc). As CRIU, at most one.
     */
    private static java.util.Set<Integer> orphans(FileRestorer r, Map<Integer, TtyInfoEntry> infos, java.util.Set<Integer> masters) {
        java.util.Set<Integer> found = new java.util.TreeSet<>();
        if (!r.options().orphanPtsMaster) return found;
        for (FileEntry f : r.allFiles()) {
            if (f.getType() != FdTypes.TTY || (f.getTty().getTtyInfoId() & 1) != 0) continue;
            TtyInfoEntry tie = infos.get(f.getTty().getTtyInfoId());
            if (tie == null || tie.getType() != TtyType.PTY || !tie.hasPty() || tie.getSid() == 0) continue;
            if (!masters.contains(tie.getPty().getIndex())) found.add(tie.getPty().getIndex());
        }
        if (found.size() > 1) {
            throw new CriuException("Can't restore ptys " + found + ": their slaves have no master in the images, and only one "
                    + "such pty can be handed to the RPC client (orphan_pts_master)");
        }
        return found;
    }

    /**
     * The new master of an orphan pty goes to the RPC client with the orphan-pts-master
     * notification (SCM_RIGHTS), once opened and unlocked, as CRIU does; the client must accept
     * it or the restore fails. Without notify_scripts there is no one to take it: the slave is
     * then given jcriu's terminal as for a shell job, as CRIU falls back to its stdin.
     */
    private void handOver(FileRestorer r, int index) {
        int fd = fds.get(index);
        boolean sent;
        try {
            sent = Actions.sendFd(r.options(), Action.ORPHAN_PTS_MASTER, fd);
        } catch (CriuException e) {
            throw new CriuException(e.errno(), "Can't hand the master of pty " + index + " to the RPC client: " + e.getMessage(), e);
        }
        if (sent) {
            LOG.info("pty %d: master handed to the RPC client", index);
            return;
        }
        LOG.info("pty %d: no RPC client takes its master (notify_scripts not set): the slave gets jcriu's terminal", index);
        fds.remove(index);
        Sys.close(fd);
    }

    /** The master of a new pty {@code index}, unlocked, for a slave that must exist without one of the images. */
    static int openAlone(int index) {
        java.util.List<Integer> others = new ArrayList<>();
        try {
            int fd = openIndex(index, Linux.O_RDWR, others);
            setInt(fd, Termios.TIOCSPTLCK, 0, index);
            return fd;
        } finally {
            for (int o : others) Sys.close(o);
        }
    }

    /** /dev/ptmx opened until it gives {@code index}; lower indices it gives meanwhile go to {@code others}. */
    private static int openIndex(int index, int flags, java.util.List<Integer> others) {
        // The pty of the dumped task is freed some time after the task died (the kernel releases
        // a tty from a work queue): an index still taken is asked again for a little while.
        long deadline = System.nanoTime() + 2_000_000_000L;
        int accmode = flags & Linux.O_ACCMODE;
        for (int tries = 0; ; ) {
            int fd = Sys.open("/dev/ptmx", accmode | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0);
            int got = getInt(fd, Termios.TIOCGPTN, index);
            if (got == index) return fd;
            if (got < index && ++tries < PTMX_TRIES) {
                others.add(fd);
                continue;
            }
            Sys.close(fd);
            if (got < index) {
                throw new CriuException("Can't restore pty " + index + ": no index " + index + " after " + PTMX_TRIES + " opens of /dev/ptmx");
            }
            if (System.nanoTime() > deadline) {
                throw new CriuException("Can't restore pty " + index + ": /dev/ptmx gave index " + got + " (pty " + index
                        + " is in use by another terminal)");
            }
            LOG.debug("pty %d still taken (ptmx gave %d), asking again", index, got);
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CriuException("interrupted while waiting for pty " + index);
            }
        }
    }

    /**
     * Locked termios first: they restrict what TCSETS may change (CAP_SYS_ADMIN needed). The
     * owner in the master's tty-info is that of the ptmx node it was opened through, shared by
     * every pty: CRIU would fchown it; jcriu leaves /dev/ptmx alone.
     */
    static void setParams(int fd, TtyInfoEntry tie, String what) {
        try (Arena a = Arena.ofConfined()) {
            if (tie.hasTermiosLocked()) ioctl(a, fd, Termios.TIOCSLCKTRMIOS, Termios.kernel(tie.getTermiosLocked()), what);
            if (tie.hasTermios()) ioctl(a, fd, Termios.TCSETS, Termios.kernel(tie.getTermios()), what);
            if (tie.hasWinsize()) ioctl(a, fd, Termios.TIOCSWINSZ, Termios.kernel(tie.getWinsize()), what);
        }
    }

    private static void ioctl(Arena a, int fd, long cmd, byte[] data, String what) {
        MemorySegment s = a.allocate(data.length);
        s.copyFrom(MemorySegment.ofArray(data));
        Sys.check("ioctl(" + what + ", " + Long.toHexString(cmd) + ")", Nr.IOCTL, fd, cmd, s.address());
    }

    static int getInt(int fd, long cmd, int index) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(4);
            Sys.check("ioctl(pty " + index + ", " + Long.toHexString(cmd) + ")", Nr.IOCTL, fd, cmd, s.address());
            return s.get(ValueLayout.JAVA_INT, 0);
        }
    }

    static void setInt(int fd, long cmd, int v, int index) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(4);
            s.set(ValueLayout.JAVA_INT, 0, v);
            Sys.check("ioctl(pty " + index + ", " + Long.toHexString(cmd) + ")", Nr.IOCTL, fd, cmd, s.address());
        }
    }

    @Override
    public void close() {
        for (int fd : fds.values()) Sys.close(fd);
        fds.clear();
    }
}
