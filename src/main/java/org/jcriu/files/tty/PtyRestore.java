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
 * Gives the tasks being restored their ptys. Every master of the images is opened by jcriu
 * first ({@link PtyMasters}: index, termios, window size, packet mode, unlocked), and the task
 * holding one gets it with pidfd_getfd; slaves are opened by path in the task, in whichever task
 * of the tree comes first. A session leader whose session had a pty as controlling terminal
 * takes it as soon as it has called setsid ({@link #newSession}), so the members of its session,
 * cloned after, inherit it as they did at fork. What would stop later opens of a slave (the
 * dumped lock, exclusive mode) is put back at the end: exclusive mode of a slave when its task's
 * fds are in place, the master's lock and exclusive mode once every task has its fds.
 */
final class PtyRestore {
    private static final Logger LOG = Log.get("tty");
    private static final Object INFOS = new Object();
    /** tty-data.img: tty-info id -> bytes queued for that side's reader, taken as restored. */
    private static final Object DATA = new Object();
    /** Session leader tid -> index of the pty it took as controlling terminal at its setsid. */
    private static final Object CTTYS = new Object();
    /** Indices of the ptys whose master's lock and exclusive mode are put back at the end. */
    private static final Object LOCKS = new Object();
    private static final int SIGTTOU = 22;

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
        if (master) {
            int fd = r.pullFromRestorer(masters().fd(index), tf.getFlags());
            done.masters.put(index, tie);
            lockAtEnd(index);
            LOG.info("task %d: pty %d master at fd %d", r.task().tid(), index, fd);
            return new Opening.Opened(fd);
        }
        // the master exists (jcriu's, or a new one handed to the RPC client), whichever task holds it
        if (masters().fd(index) < 0 && !hasMaster(index)) return unpairedSlave(tf, tie, ext);
        int fd = r.openPath(path(tf, "/dev/pts/" + index), tf.getFlags());
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
            if (pty != null && masters().fd(pty.getPty().getIndex()) >= 0) {
                int index = pty.getPty().getIndex();
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
                    + "terminal (session " + tie.getSid() + " at dump: the terminal is given back to a session whose leader is "
                    + "restored, and to the members it clones)");
        }
        return new Opening.Opened(r.openPath(path(tf, "/dev/tty"), tf.getFlags()));
    }

    /**
     * The terminal's path from its reg file entry: regf_id names it (CRIU 4.2); images without
     * regf_id gave it the tty's own id, which files.img's tty entry shadows, so the path the
     * kernel gives such a terminal ({@code fallback}) is used then.
     */
    private String path(TtyFileEntry tf, String fallback) {
        if (!tf.hasRegfId()) return fallback;
        for (FileEntry f : r.allFiles()) {
            if (f.getId() == tf.getRegfId() && f.getType() == FdTypes.REG && f.getReg().getName().startsWith("/")) {
                return f.getReg().getName();
            }
        }
        throw new CriuException("No reg file entry " + tf.getRegfId() + " (the path of tty file id " + tf.getId() + ") in "
                + r.images().path(ImageType.FILES));
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
            if (forSlave != null) PtyData.putBack(masters().fd(index), forSlave, index);
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

    /**
     * A slave whose master is outside: the terminal of a shell job. As CRIU, the terminal jcriu
     * runs on gets the dumped termios, locked termios and window size (the job finds its terminal
     * as it left it: raw mode, no echo, ...).
     */
    private Opening unpairedSlave(TtyFileEntry tf, TtyInfoEntry tie, String ext) {
        if (!r.options().shellJob && r.options().orphanPtsMaster && tie.getSid() == 0) return fakeMaster(tf, tie);
        if (!r.options().shellJob && !r.options().orphanPtsMaster) {
            throw new CriuException("pty slave (tty-info id " + tf.getTtyInfoId() + ") has no master in the images: restore with "
                    + "--shell-job to give the task jcriu's terminal, or with --inherit-fd fd[N]:" + ext);
        }
        int own = r.restorerTerminalFd();
        if (own < 0) {
            throw new CriuException("Can't restore terminal file id " + tf.getId() + ": jcriu's stdin, stdout and stderr "
                    + "are not terminals (a --shell-job restore must run in the terminal the task should use)");
        }
        int fd = r.pullFromRestorer(own, tf.getFlags());
        if (tie.hasTermios()) {
            // TCSETS from a process group in the background of its terminal would stop the whole
            // group (jcriu's too) with SIGTTOU, unless the caller blocks it: blocked meanwhile.
            Task t = r.task();
            byte[] old = sigprocmask(t, 0 /* SIG_BLOCK */, AnonFd.le(new int[] {8}, 1L << (SIGTTOU - 1)));
            try {
                setParams(fd, tie);
            } finally {
                sigprocmask(t, 2 /* SIG_SETMASK */, old);
            }
        }
        return new Opening.Opened(fd);
    }

    /**
     * orphan_pts_master, a slave that was nobody's controlling terminal: as CRIU, the slave of a
     * new pty whose master is closed at once (reads see end of file, writes fail: its other side
     * is gone, as it was at dump for the tree).
     */
    private Opening fakeMaster(TtyFileEntry tf, TtyInfoEntry tie) {
        int index = tie.getPty().getIndex();
        int master = PtyMasters.openAlone(index);
        try {
            int fd = r.openPath(path(tf, "/dev/pts/" + index), tf.getFlags());
            if (tie.hasTermios()) setParams(fd, tie);
            LOG.info("task %d: pty %d slave on a master closed at once (orphan_pts_master, not a controlling terminal)", r.task().tid(), index);
            return new Opening.Opened(fd);
        } finally {
            Sys.close(master);
        }
    }

    /** rt_sigprocmask(how, set, &old) injected in {@code t}; returns the old mask (8 bytes). */
    private static byte[] sigprocmask(Task t, int how, byte[] set) {
        try (Scratch s = t.scratch(16)) {
            s.put(0, set);
            t.syscall(Nr.RT_SIGPROCMASK, how, s.addr(), s.addr() + 8, 8);
            return s.get(8, 8);
        }
    }

    /** jcriu's masters of every pty of the images (opened on first use). */
    private PtyMasters masters() {
        return PtyMasters.of(r, infos);
    }

    /**
     * The master's dumped lock and exclusive mode, put back on jcriu's copy (the same tty) once
     * every task has its fds: a locked pty's slave could not be opened by a later task.
     */
    private void lockAtEnd(int index) {
        if (!r.state(LOCKS, java.util.HashSet::new).add(index)) return;
        TtyInfoEntry m = infos.get(TtyHandler.infoId(index, true));
        if (m == null || !(m.getLocked() || m.getExclusive())) return;
        int fd = masters().fd(index);
        r.whenTreeDone(() -> {
            if (m.getLocked()) PtyMasters.setInt(fd, Termios.TIOCSPTLCK, 1, index);
            if (m.getExclusive()) Sys.check("ioctl(pty " + index + ", TIOCEXCL)", Nr.IOCTL, fd, Termios.TIOCEXCL, 0);
        });
    }

    /**
     * Task {@code t} has just called setsid: if the pty of the images whose session it leads
     * was its controlling terminal, it takes it now (TIOCSCTTY on a slave opened for the purpose),
     * before it clones the members of its session, which inherit it. The kernel gives a
     * controlling terminal only to a session leader that asks (TIOCSCTTY, or an open without
     * O_NOCTTY) and to children at fork: a member cannot take it later.
     */
    void newSession(Task t) {
        int tid = t.tid();
        TtyInfoEntry pty = null;
        for (TtyInfoEntry e : infos.values()) {
            if (e.getType() == TtyType.PTY && e.hasPty() && e.getSid() == tid) pty = e;
        }
        if (pty == null) return;
        int index = pty.getPty().getIndex();
        if (masters().fd(index) < 0) return; // a slave of a terminal outside: no session of ours
        int c = r.openPath("/dev/pts/" + index, Linux.O_RDONLY);
        try {
            t.syscall(Nr.IOCTL, c, Termios.TIOCSCTTY, 0);
        } catch (CriuException e) {
            throw new CriuException(e.errno(), "Can't give pty " + index + " to session " + tid + " as its controlling terminal: "
                    + e.getMessage(), e);
        } finally {
            t.syscall(Nr.CLOSE, c);
        }
        r.state(CTTYS, HashMap<Integer, Integer>::new).put(tid, index);
        LOG.info("task %d: pty %d is the controlling terminal of its new session", tid, index);
    }

    /**
     * The owner of the device node (/dev/pts/N belongs to whoever opened its master), as CRIU's
     * restore_tty_params; then the locked termios first: they restrict what TCSETS may change
     * (CAP_SYS_ADMIN needed).
     */
    private void setParams(int fd, TtyInfoEntry tie) {
        Task t = r.task();
        if (tie.hasUid() && tie.hasGid()) {
            try {
                t.syscall(Nr.FCHOWN, fd, Integer.toUnsignedLong(tie.getUid()), Integer.toUnsignedLong(tie.getGid()));
            } catch (CriuException e) {
                throw new CriuException(e.errno(), "Can't give tty-info id " + tie.getId() + " (fd " + fd + " of task " + t.tid()
                        + ") its owner " + Integer.toUnsignedString(tie.getUid()) + ":" + Integer.toUnsignedString(tie.getGid())
                        + ": " + e.getMessage(), e);
            }
        }
        if (tie.hasTermiosLocked()) AnonFd.withStruct(t, Termios.kernel(tie.getTermiosLocked()), Nr.IOCTL, 2, fd, Termios.TIOCSLCKTRMIOS, 0);
        if (tie.hasTermios()) AnonFd.withStruct(t, Termios.kernel(tie.getTermios()), Nr.IOCTL, 2, fd, Termios.TCSETS, 0);
        if (tie.hasWinsize()) AnonFd.withStruct(t, Termios.kernel(tie.getWinsize()), Nr.IOCTL, 2, fd, Termios.TIOCSWINSZ, 0);
    }

    /**
     * The fds of {@code t} are in place: a session leader that took its controlling terminal at
     * setsid, holding no fd of that pty, gets the terminal's foreground group now.
     */
    void fdsDone(Task t) {
        Map<Integer, Integer> cttys = r.state(CTTYS, HashMap<Integer, Integer>::new);
        Integer index = cttys.remove(t.tid());
        if (index == null) return;
        Opened done = r.taskState("tty", Opened::new);
        if (done.masters.containsKey(index) || done.slaves.containsKey(index)) return; // finish() did it
        controlling(t, index, infos.get(TtyHandler.infoId(index, false)));
    }

    /**
     * Once every fd of the task is in place: exclusive mode of its slaves, and for a session
     * leader its controlling terminal's foreground group (groups exist by now).
     */
    private void finish(Opened done) {
        Task t = r.task();
        int tid = t.tid();
        for (var e : done.slaves.entrySet()) {
            if (!e.getValue().getExclusive()) continue;
            int sfd = slaveFd(tid, e.getKey());
            if (sfd >= 0) t.syscall(Nr.IOCTL, sfd, Termios.TIOCEXCL, 0);
        }
        java.util.Set<Integer> indices = new java.util.LinkedHashSet<>(done.masters.keySet());
        indices.addAll(done.slaves.keySet());
        for (int index : indices) controlling(t, index, done.slaves.get(index));
    }

    /** Foreground group of the controlling terminal of a session leader, once its fds and the groups exist. */
    private void controlling(Task t, int index, TtyInfoEntry slave) {
        int tid = t.tid();
        // the master's tty-info, also when the master is held by another task of the tree
        TtyInfoEntry m = infos.get(TtyHandler.infoId(index, true));
        if (m == null) m = slave; // an orphan pty: its master was the RPC client's
        if (m == null) return;
        int sid = m.getSid() != 0 ? m.getSid() : slave != null ? slave.getSid() : 0;
        int pgrp = m.getPgrp() != 0 ? m.getPgrp() : slave != null ? slave.getPgrp() : 0;
        if (sid == 0) return;
        // setsid() ran when the task was created; with --shell-job the root stays in jcriu's
        // session and cannot own a terminal.
        if (sid != tid || org.jcriu.proc.Stat.read(tid).sid() != tid) {
            LOG.info("task %d: pty %d was the controlling terminal of session %d, not restored here", tid, index, sid);
            return;
        }
        int c = r.openPath("/dev/pts/" + index, Linux.O_RDONLY);
        try {
            setControlling(t, c, pgrp);
        } finally {
            t.syscall(Nr.CLOSE, c);
        }
        LOG.info("task %d: pty %d is its controlling terminal (session %d, foreground group %d)", tid, index, sid, pgrp);
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
