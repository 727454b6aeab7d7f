package org.jcriu.files.tty;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.files.AnonFd;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.Opening;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.TtyFileEntry;
import org.jcriu.image.proto.TtyInfoEntry;
import org.jcriu.image.proto.TtyType;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Rebuilds ptys inside the task being restored, by injected syscalls. The kernel hands out pty
 * indices in increasing order from the lowest free one, so, as CRIU does, /dev/ptmx is opened
 * until it gives the dumped index (at most 32 tries, and only while the index is still ahead).
 * A new master is locked (TIOCSPTLCK): it is unlocked so its slaves can be opened, then termios,
 * locked termios, window size and packet mode are set. What would stop the other fds of the
 * task from being opened (the dumped lock, exclusive mode) and the controlling terminal, which
 * needs the session made already, are put back once every fd is in place.
 */
final class PtyRestore {
    private static final Logger LOG = Log.get("tty");
    private static final Object INFOS = new Object();
    /** tty-data.img: tty-info id -> bytes queued for that side's reader, taken as restored. */
    private static final Object DATA = new Object();
    /** Indices of the pty masters made so far in any task of the restore. */
    private static final Object MASTERS = new Object();
    private static final int PTMX_TRIES = 32;

    /** What this task has opened so far: tty-info of each pty side, by index. */
    private static final class Opened {
        final Map<Integer, TtyInfoEntry> masters = new LinkedHashMap<>();
        final Map<Integer, TtyInfoEntry> slaves = new LinkedHashMap<>();
        boolean finishing;
    }

    private final FileRestorer r;
    private final Map<Integer, TtyInfoEntry> infos;

    private PtyRestore(FileRestorer r, Map<Integer, TtyInfoEntry> infos) {
        this.r = r;
        this.infos = infos;
    }

    static PtyRestore of(FileRestorer r) {
        return new PtyRestore(r, r.state(INFOS, () -> readInfos(r)));
    }

    private static Map<Integer, TtyInfoEntry> readInfos(FileRestorer r) {
        Map<Integer, TtyInfoEntry> m = new HashMap<>();
        try (ImageReader in = r.images().openOptional(ImageType.TTY_INFO)) {
            if (in != null) {
                TtyInfoEntry e;
                while ((e = in.read(TtyInfoEntry.parser())) != null) m.put(e.getId(), e);
            }
        }
        return m;
    }

    Opening open(FileEntry fe) {
        TtyFileEntry tf = fe.getTty();
        TtyInfoEntry tie = infos.get(tf.getTtyInfoId());
        if (tie == null) {
            throw new CriuException("No tty-info id " + tf.getTtyInfoId() + " for tty file id " + fe.getId() + " in "
                    + r.images().path(ImageType.TTY_INFO));
        }
        String ext = "tty[" + Integer.toHexString(tie.getRdev()) + ":" + Integer.toHexString(tie.getDev()) + "]";
        int inherited = r.inheritedFd(ext);
        if (inherited >= 0) {
            int fd = r.pullFromRestorer(inherited, tf.getFlags());
            // As CRIU: the terminal given for an --external one gets the dumped state.
            if (tie.getType() == TtyType.EXT_TTY) {
                if (tie.hasTermios()) setParams(fd, tie);
                if (tie.getSid() != 0) makeControlling(fd, tie, "external terminal " + ext);
            }
            return new Opening.Opened(fd);
        }
        if (tie.getType() == TtyType.CTTY) return openCtty(tf, tie);
        if (tie.getType() == TtyType.EXT_TTY) {
            throw new CriuException("the terminal was external at dump (--external " + ext + "): give it with --inherit-fd fd[N]:" + ext);
        }
        if (tie.getType() != TtyType.PTY || !tie.hasPty()) {
            throw new CriuException("terminal of type " + tie.getType() + " (tty-info id " + tie.getId() + ") is not supported; "
                    + "give it with --inherit-fd fd[N]:" + ext);
        }
        int index = tie.getPty().getIndex();
        boolean master = (tf.getTtyInfoId() & 1) != 0;
        Opened done = r.taskState("tty", Opened::new);
        if (!done.finishing) {
            done.finishing = true;
            r.whenDone(() -> finish(done));
        }
        java.util.Set<Integer> mastersEver = r.state(MASTERS, java.util.HashSet::new);
        if (master) {
            int fd = openMaster(index, tf.getFlags(), tie);
            done.masters.put(index, tie);
            mastersEver.add(index);
            return new Opening.Opened(fd);
        }
        if (!hasMaster(index)) return unpairedSlave(tf, ext);
        // the master may be held by an earlier task of the tree (a terminal emulator and its shell)
        if (!done.masters.containsKey(index) && !mastersEver.contains(index)) return new Opening.NotYet("the master of pty " + index);
        int fd = r.openPath("/dev/pts/" + index, tf.getFlags());
        if (tie.hasTermios()) setParams(fd, tie);
        done.slaves.put(index, tie);
        requeue(index, fd);
        return new Opening.Opened(fd);
    }

    /**
     * /dev/tty: opened by name, which gives the task's controlling terminal. A session leader
     * whose terminal is a pty of the dump takes it first (TIOCSCTTY on its slave, once the
     * master exists); a task that has none gets an error naming why.
     */
    private Opening openCtty(TtyFileEntry tf, TtyInfoEntry tie) {
        Task t = r.task();
        int tid = t.tid();
        if (cttyOf(tid) == 0 && tie.getSid() == tid) {
            TtyInfoEntry pty = null;
            for (TtyInfoEntry e : infos.values()) {
                if (e.getType() == TtyType.PTY && e.hasPty() && e.getSid() == tid) pty = e;
            }
            if (pty != null) {
                int index = pty.getPty().getIndex();
                java.util.Set<Integer> mastersEver = r.state(MASTERS, java.util.HashSet::new);
                if (!mastersEver.contains(index)) return new Opening.NotYet("the master of pty " + index + ", its controlling terminal");
                int c = r.openPath("/dev/pts/" + index, Linux.O_RDONLY);
                try {
                    setControlling(t, c, tie.getPgrp() != 0 ? tie.getPgrp() : pty.getPgrp());
                } finally {
                    t.syscall(Nr.CLOSE, c);
                }
                LOG.info("task %d: pty %d is its controlling terminal again, for /dev/tty", tid, index);
            }
        }
        if (cttyOf(tid) == 0) {
            throw new CriuException("Can't open /dev/tty (tty file id " + tf.getId() + ") in task " + tid + ": it has no controlling "
                    + "terminal (session " + tie.getSid() + " at dump; only its leader takes the terminal back)");
        }
        return new Opening.Opened(r.openPath("/dev/tty", tf.getFlags()));
    }

    /** tty_nr of /proc/TID/stat: the controlling terminal, 0 for none. */
    private static long cttyOf(int tid) {
        String s = new String(Sys.readFile("/proc/" + tid + "/stat"));
        String[] f = s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
        return Long.parseLong(f[4]);
    }

    /**
     * The bytes tty-data.img holds for pty {@code index}, queued again once both sides exist (the
     * first slave opened): the master's through the slave, the slave's through the master.
     */
    private void requeue(int index, int slaveFd) {
        Map<Integer, byte[]> data = r.state(DATA, () -> readData(r));
        byte[] forMaster = data.remove(TtyHandler.infoId(index, true)), forSlave = data.remove(TtyHandler.infoId(index, false));
        if (forMaster == null && forSlave == null) return;
        int tid = r.task().tid();
        int pidfd = Sys.pidfdOpen(tid);
        try {
            if (forMaster != null) {
                int s = Sys.pidfdGetfd(pidfd, slaveFd);
                try {
                    PtyData.putBack(s, forMaster, index);
                } finally {
                    Sys.close(s);
                }
            }
            int mfd = TtyHandler.masterFd(tid, index);
            if (forSlave != null && mfd < 0) LOG.warn("pty %d: %d byte(s) for the slave dropped: its master is not in task %d", index, forSlave.length, tid);
            if (forSlave != null && mfd >= 0) {
                int m = Sys.pidfdGetfd(pidfd, mfd);
                try {
                    PtyData.putBack(m, forSlave, index);
                } finally {
                    Sys.close(m);
                }
            }
        } finally {
            Sys.close(pidfd);
        }
        LOG.info("task %d: pty %d: queued bytes restored (%d for the master, %d for the slave)", tid, index,
                forMaster == null ? 0 : forMaster.length, forSlave == null ? 0 : forSlave.length);
    }

    private static Map<Integer, byte[]> readData(FileRestorer r) {
        Map<Integer, byte[]> m = new HashMap<>();
        try (ImageReader in = r.images().openOptional(ImageType.TTY_DATA)) {
            if (in != null) {
                org.jcriu.image.proto.TtyDataEntry e;
                while ((e = in.read(org.jcriu.image.proto.TtyDataEntry.parser())) != null) m.put(e.getTtyId(), e.getData().toByteArray());
            }
        }
        return m;
    }

    /** Whether the images hold the master of pty {@code index}. */
    private boolean hasMaster(int index) {
        int id = TtyHandler.infoId(index, true);
        for (FileEntry f : r.allFiles()) if (f.getType() == FdTypes.TTY && f.getTty().getTtyInfoId() == id) return true;
        return false;
    }

    /** A slave whose master is outside: the terminal of a shell job. */
    private Opening unpairedSlave(TtyFileEntry tf, String ext) {
        if (!r.options().shellJob) {
            throw new CriuException("pty slave (tty-info id " + tf.getTtyInfoId() + ") has no master in the images: restore with "
                    + "--shell-job to give the task jcriu's terminal, or with --inherit-fd fd[N]:" + ext);
        }
        int own = r.restorerTerminalFd();
        if (own < 0) {
            throw new CriuException("Can't restore terminal file id " + tf.getId() + ": jcriu's stdin, stdout and stderr "
                    + "are not terminals (a --shell-job restore must run in the terminal the task should use)");
        }
        return new Opening.Opened(r.pullFromRestorer(own, tf.getFlags()));
    }

    private int openMaster(int index, int flags, TtyInfoEntry tie) {
        // The pty of the dumped task is freed some time after the task died (the kernel releases
        // a tty from a work queue): an index still taken is asked again for a little while.
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (true) {
            try {
                return openMasterOnce(index, flags, tie);
            } catch (IndexTaken e) {
                if (System.nanoTime() > deadline) throw new CriuException(e.getMessage());
                LOG.debug("pty %d still taken, asking again", index);
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new CriuException(e.getMessage());
                }
            }
        }
    }

    private static final class IndexTaken extends RuntimeException {
        IndexTaken(String m) {
            super(m, null, false, false);
        }
    }

    private int openMasterOnce(int index, int flags, TtyInfoEntry tie) {
        Task t = r.task();
        List<Integer> others = new ArrayList<>();
        int fd = -1;
        try {
            for (int i = 0; i < PTMX_TRIES; i++) {
                int m = r.openPath("/dev/ptmx", flags);
                int got = getInt(t, m, Termios.TIOCGPTN);
                LOG.debug("task %d: ptmx opened with index %d (want %d)", t.tid(), got, index);
                if (got == index) {
                    fd = m;
                    break;
                }
                others.add(m);
                if (got > index) {
                    throw new IndexTaken("Can't restore pty " + index + ": /dev/ptmx gave index " + got
                            + " (pty " + index + " is in use by another terminal)");
                }
                if (index - got >= PTMX_TRIES) {
                    throw new CriuException("Can't restore pty " + index + ": /dev/ptmx gave index " + got
                            + " (pty " + index + " is in use by another terminal)");
                }
            }
            if (fd < 0) throw new CriuException("Can't restore pty " + index + ": no index " + index + " after " + PTMX_TRIES + " opens of /dev/ptmx");
        } finally {
            for (int o : others) t.syscall(Nr.CLOSE, o);
        }
        setInt(t, fd, Termios.TIOCSPTLCK, 0);
        setParams(fd, tie);
        if (tie.getPacketMode()) setInt(t, fd, Termios.TIOCPKT, 1);
        LOG.info("task %d: pty %d master at fd %d", t.tid(), index, fd);
        return fd;
    }

    /** Locked termios first: they restrict what TCSETS may change (CAP_SYS_ADMIN needed). */
    private void setParams(int fd, TtyInfoEntry tie) {
        Task t = r.task();
        if (tie.hasTermiosLocked()) AnonFd.withStruct(t, Termios.kernel(tie.getTermiosLocked()), Nr.IOCTL, 2, fd, Termios.TIOCSLCKTRMIOS, 0);
        if (tie.hasTermios()) AnonFd.withStruct(t, Termios.kernel(tie.getTermios()), Nr.IOCTL, 2, fd, Termios.TCSETS, 0);
        if (tie.hasWinsize()) AnonFd.withStruct(t, Termios.kernel(tie.getWinsize()), Nr.IOCTL, 2, fd, Termios.TIOCSWINSZ, 0);
    }

    /** Once every fd of the task is in place: lock, exclusive mode, controlling terminal. */
    private void finish(Opened done) {
        Task t = r.task();
        int tid = t.tid();
        java.util.Set<Integer> indices = new java.util.LinkedHashSet<>(done.masters.keySet());
        indices.addAll(done.slaves.keySet());
        for (int index : indices) {
            // the master's tty-info, also when the master is held by another task of the tree
            TtyInfoEntry m = infos.get(TtyHandler.infoId(index, true));
            if (m == null) continue;
            int mfd = TtyHandler.masterFd(tid, index);
            if (mfd >= 0 && done.masters.containsKey(index)) {
                if (m.getLocked()) setInt(t, mfd, Termios.TIOCSPTLCK, 1);
                if (m.getExclusive()) t.syscall(Nr.IOCTL, mfd, Termios.TIOCEXCL, 0);
            }
            TtyInfoEntry s = done.slaves.get(index);
            if (s != null && s.getExclusive()) {
                int sfd = slaveFd(tid, index);
                if (sfd >= 0) t.syscall(Nr.IOCTL, sfd, Termios.TIOCEXCL, 0);
            }
            int sid = m.getSid() != 0 ? m.getSid() : s != null ? s.getSid() : 0;
            int pgrp = m.getPgrp() != 0 ? m.getPgrp() : s != null ? s.getPgrp() : 0;
            if (sid == 0) continue;
            // setsid() ran before the fds (TaskStateRestorer.restoreIds); with --shell-job the
            // task stays in jcriu's session and cannot own a terminal.
            if (sid != tid || org.jcriu.proc.Stat.read(tid).sid() != tid) {
                LOG.info("task %d: pty %d was the controlling terminal of session %d, not restored", tid, index, sid);
                continue;
            }
            int c = r.openPath("/dev/pts/" + index, Linux.O_RDONLY);
            try {
                setControlling(t, c, pgrp);
            } finally {
                t.syscall(Nr.CLOSE, c);
            }
            LOG.info("task %d: pty %d is its controlling terminal again (session %d, foreground group %d)", tid, index, sid, pgrp);
        }
    }

    /**
     * The terminal given for an --external one was the controlling terminal of the dumped
     * session leader: it takes it again as CRIU does (TIOCSCTTY with 1 steals it from the
     * session that had it, which needs CAP_SYS_ADMIN).
     */
    private void makeControlling(int fd, TtyInfoEntry tie, String what) {
        Task t = r.task();
        int tid = t.tid();
        if (tie.getSid() != tid || org.jcriu.proc.Stat.read(tid).sid() != tid) {
            LOG.info("task %d: %s was the controlling terminal of session %d, not restored", tid, what, tie.getSid());
            return;
        }
        // its foreground group, when that was a group of the dump (the task's own)
        int pgrp = tie.getPgrp() == org.jcriu.proc.Stat.read(tid).pgid() ? tie.getPgrp() : 0;
        setControlling(t, fd, pgrp);
        LOG.info("task %d: %s is its controlling terminal (foreground group %d)", tid, what, tie.getPgrp());
    }

    private static void setControlling(Task t, int fd, int pgrp) {
        t.syscall(Nr.IOCTL, fd, Termios.TIOCSCTTY, 1);
        if (pgrp != 0) AnonFd.withStruct(t, AnonFd.le(new int[] {4}, pgrp), Nr.IOCTL, 2, fd, Termios.TIOCSPGRP, 0);
    }

    private static int slaveFd(int tid, int index) {
        Path dir = Path.of("/proc", Integer.toString(tid), "fd");
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                long rdev = Sys.stat(p.toString()).rdev();
                if (TtyHandler.isPts(rdev) && (Stat.major(rdev) - TtyHandler.PTS_MAJOR_FIRST) * 256 + Stat.minor(rdev) == index) {
                    return Integer.parseInt(p.getFileName().toString());
                }
            }
        } catch (IOException e) {
            throw new CriuException("Can't list " + dir + ": " + e.getMessage());
        }
        return -1;
    }

    private static int getInt(Task t, int fd, long cmd) {
        try (Scratch s = t.scratch(4)) {
            t.syscall(Nr.IOCTL, fd, cmd, s.addr());
            byte[] b = s.get(0, 4);
            return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
        }
    }

    private static void setInt(Task t, int fd, long cmd, int v) {
        AnonFd.withStruct(t, AnonFd.le(new int[] {4}, v), Nr.IOCTL, 2, fd, cmd, 0);
    }
}
