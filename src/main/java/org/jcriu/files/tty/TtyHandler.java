package org.jcriu.files.tty;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jcriu.CriuException;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileHandlers;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.files.Opening;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.image.proto.TtyFileEntry;
import org.jcriu.image.proto.TtyInfoEntry;
import org.jcriu.image.proto.TtyPtyEntry;
import org.jcriu.image.proto.TtyType;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.proc.FdInfo;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Unix98 pseudo-terminals, in CRIU's format: per fd a tty.img entry (plus a reg entry naming
 * /dev/ptmx or /dev/pts/N, its regf_id), per pty side one tty-info.img entry with id
 * {@code index * 2 + (master ? 1 : 0)} holding termios, locked termios, window size, packet
 * mode, lock and exclusive state, the session and foreground group the pty leads, and the
 * owner of its device node (restored with fchown, as CRIU's restore_tty_params).
 *
 * <p>A pty whose master the task holds is rebuilt inside the task ({@link PtyRestore}). A slave
 * whose master is outside (the terminal of a shell job) needs --shell-job: on restore the task
 * gets the terminal jcriu itself runs on, the way a job resumed from that shell would; or
 * --external tty[RDEV:DEV], and then --inherit-fd fd[N]:tty[RDEV:DEV] on restore.
 *
 * <p>Bytes queued in a pty are kept in tty-data.img as CRIU does ({@link PtyData}). Not supported,
 * refused by name: hung-up ptys, consoles and serial lines (unless --external). /dev/tty (CRIU's CTTY) is
 * reopened by name once the task's controlling terminal is back: a pty of the dump, or with
 * --shell-job jcriu's own terminal.
 */
public final class TtyHandler implements FileHandler {
    private static final Logger LOG = Log.get("tty");
    static final FownEntry NO_OWNER = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    /** Unix98 pty slaves are majors 136..143; /dev/ptmx is 5:2. */
    static final int PTS_MAJOR_FIRST = 136, PTS_MAJOR_LAST = 143;

    public static boolean isTerminal(long rdev) {
        int major = Stat.major(rdev);
        return isPts(rdev) || major == 4 || (major == 5 && Stat.minor(rdev) <= 2);
    }

    /** tty-info id of /dev/tty: CRIU's CTTY_INDEX 1006, numbered as a slave side. */
    static final int CTTY_INFO_ID = 1006 << 1;

    /** /dev/tty (5:0): an alias of the opener's controlling terminal (CRIU's CTTY). */
    static boolean isCtty(long rdev) {
        return Stat.major(rdev) == 5 && Stat.minor(rdev) == 0;
    }

    static boolean isPts(long rdev) {
        int major = Stat.major(rdev);
        return major >= PTS_MAJOR_FIRST && major <= PTS_MAJOR_LAST;
    }

    static boolean isPtmx(long rdev) {
        return Stat.major(rdev) == 5 && Stat.minor(rdev) == 2;
    }

    /** tty-info id of one side of pty {@code index}, as CRIU numbers them. */
    static int infoId(int index, boolean master) {
        return (index << 1) + (master ? 1 : 0);
    }

    /**
     * Why {@code fd}, a terminal, cannot be dumped with these options, or null. Only a pty
     * slave whose master the task holds too, or the master itself, is the task's own.
     */
    public static String refusal(OpenFd fd, Options opts) {
        long rdev = fd.stat().rdev();
        if (isPtmx(rdev) || external(fd, opts)) return null;
        if (isCtty(rdev)) return cttyRefusal(fd, opts);
        if (!isPts(rdev)) {
            return "Can't dump " + fd.describe() + ": only Unix98 pseudo-terminals (/dev/ptmx, /dev/pts/N) are supported; "
                    + "a terminal of the outside can be named with --external " + key(fd);
        }
        if (isPts(rdev) && masterInDump(fd, PtyProbe.slaveIndex(fd), opts)) return null;
        // RPC orphan_pts_master: the master is the client's (a container's console), made anew at restore
        if (opts.shellJob || opts.orphanPtsMaster) return null;
        return fd.describe() + " is a terminal: dump it with --shell-job (-j), restore then gives the task jcriu's terminal; "
                + "or name it with --external " + key(fd) + " and give it back with --inherit-fd fd[N]:" + key(fd) + " on restore";
    }

    /**
     * /dev/tty is dumped as CRIU's CTTY and reopened by that name once the task has its
     * controlling terminal again: so that terminal must be a pty of the dump, or (--shell-job)
     * the terminal jcriu runs on at restore.
     */
    private static String cttyRefusal(OpenFd fd, Options opts) {
        if (opts.shellJob || opts.orphanPtsMaster) return null;
        long nr = ctty(fd.pid())[0];
        int major = (int) ((nr >> 8) & 0xfff), minor = (int) ((nr & 0xff) | ((nr >> 12) & 0xfff00));
        if (major >= PTS_MAJOR_FIRST && major <= PTS_MAJOR_LAST && masterInDump(fd, (major - PTS_MAJOR_FIRST) * 256 + minor, opts)) {
            return null;
        }
        return "Can't dump " + fd.describe() + ": /dev/tty stands for the task's controlling terminal ("
                + (nr == 0 ? "none" : major + ":" + minor) + "), which is not a pty of the dump; dump with --shell-job (-j) "
                + "if it is the terminal of the shell job";
    }

    /** criu(8)'s name of a terminal for --external and --inherit-fd: tty[RDEV:DEV], st_rdev and st_dev in hex. */
    static String key(OpenFd fd) {
        return "tty[" + Long.toHexString(fd.stat().rdev()) + ":" + Long.toHexString(fd.stat().dev()) + "]";
    }

    private static boolean external(OpenFd fd, Options opts) {
        return opts.external.contains(key(fd));
    }

    /** Whether a task of the dump (the tree under -t) holds the master of pty {@code index}. */
    static boolean masterInDump(OpenFd fd, int index, Options opts) {
        for (int pid : org.jcriu.files.DumpTree.pids(opts.pid, fd.pid())) if (masterFd(pid, index) >= 0) return true;
        return false;
    }

    /** The fd of {@code pid} that is the master of pty {@code index} ("tty-index:" in its fdinfo), or -1. */
    static int masterFd(int pid, int index) {
        Path dir = Path.of("/proc", Integer.toString(pid), "fd");
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                int fd = Integer.parseInt(p.getFileName().toString());
                try {
                    if (!isPtmx(Sys.stat(p.toString()).rdev())) continue;
                    String idx = org.jcriu.files.AnonFd.fieldOrNull(FdInfo.read(pid, fd).text(), "tty-index");
                    if (idx != null && Integer.parseInt(idx) == index) return fd;
                } catch (CriuException e) {
                    // closed while we looked
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    @Override
    public FdTypes type() {
        return FdTypes.TTY;
    }

    @Override
    public String name() {
        return "tty";
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        long rdev = fd.stat().rdev();
        if (external(fd, files.options())) return dumpExternal(fd, id, files);
        if (isCtty(rdev)) return dumpCtty(fd, id, files);
        boolean master = isPtmx(rdev);
        if (!master && !isPts(rdev)) {
            throw new CriuException("Can't dump " + fd.describe() + ": only Unix98 pseudo-terminals (/dev/ptmx, /dev/pts/N) are supported");
        }
        PtyProbe p;
        try {
            p = PtyProbe.read(fd, master);
        } catch (PtyProbe.HungUp e) {
            throw new CriuException("Can't dump " + fd.describe() + ": the pty is hung up (its other side was closed); "
                    + "hung-up terminals are not supported");
        }
        java.util.Set<Integer> tree = org.jcriu.files.DumpTree.pids(files.options().pid, fd.pid());
        boolean paired = master || masterInDump(fd, p.index(), files.options());
        if (paired && files.state(PtyData.class, java.util.HashSet::new).add(p.index())) {
            boolean slaveHeld = false;
            for (int pid : tree) slaveHeld |= PtyData.slaveFd(pid, p.index()) >= 0;
            if (slaveHeld) {
                // once per pty, both sides: taken and queued again at once (see PtyData)
                PtyData.Queued q = PtyData.take(p.index(), tree);
                if (q.forMaster().length > 0) files.addImageEntry(org.jcriu.image.ImageType.TTY_DATA, org.jcriu.image.proto.TtyDataEntry
                        .newBuilder().setTtyId(infoId(p.index(), true)).setData(com.google.protobuf.ByteString.copyFrom(q.forMaster())).build(), null);
                if (q.forSlave().length > 0) files.addImageEntry(org.jcriu.image.ImageType.TTY_DATA, org.jcriu.image.proto.TtyDataEntry
                        .newBuilder().setTtyId(infoId(p.index(), false)).setData(com.google.protobuf.ByteString.copyFrom(q.forSlave())).build(), null);
            } else if (p.queued() > 0) {
                throw new CriuException("Can't dump " + fd.describe() + ": pty " + p.index() + " has " + p.queued() + " unread bytes queued "
                        + "for its master side and no task of the dump holds its slave to queue them again");
            }
        }
        int sid = p.sid(), pgrp = p.pgrp();
        if (!master) {
            // TIOCGSID/TIOCGPGRP on a slave answer only in the session it is the controlling
            // terminal of; /proc/PID/stat says the same from outside (tty_nr, tpgid).
            long[] ctty = ctty(fd.pid());
            if (ctty[0] == (int) rdev) {
                sid = org.jcriu.proc.Stat.read(fd.pid()).sid();
                pgrp = (int) Math.max(0, ctty[1]);
            }
        }
        if (paired && sid != 0 && !tree.contains(sid)) {
            throw new CriuException("Can't dump " + fd.describe() + ": pty " + p.index() + " is the controlling terminal of session " + sid
                    + ", whose leader is not part of the dump");
        }
        if (paired && pgrp != 0 && !groupInDump(pgrp, tree)) {
            throw new CriuException("Can't dump " + fd.describe() + ": pty " + p.index() + " has process group " + pgrp
                    + " in the foreground, which is not part of the dump");
        }
        if (paired && sid != 0 && files.state(CttyCheck.class, java.util.HashSet::new).add(p.index())) membersWithout(p.index(), sid, tree);
        int infoId = infoId(p.index(), master);
        int fsid = sid, fpgrp = pgrp;
        files.ttyInfo(infoId, () -> TtyInfoEntry.newBuilder().setType(TtyType.PTY).setLocked(p.locked())
                .setExclusive(p.exclusive()).setPacketMode(p.packet()).setSid(fsid).setPgrp(fpgrp)
                .setRdev((int) rdev).setDev((int) fd.stat().dev())
                .setTermios(Termios.entry(p.termios())).setTermiosLocked(Termios.entry(p.termiosLocked()))
                .setWinsize(Termios.winsize(p.winsize())).setPty(TtyPtyEntry.newBuilder().setIndex(p.index()))
                .setUid(fd.stat().uid()).setGid(fd.stat().gid()));
        LOG.info("Dumping tty %d with id %#x (%s index %d)", fd.fd(), id, master ? "ptmx" : "pts", p.index());
        TtyFileEntry t = TtyFileEntry.newBuilder().setId(id).setTtyInfoId(infoId).setFlags(fd.fileFlags()).setFown(NO_OWNER)
                .setRegfId(pathEntry(fd, files)).build();
        return FileEntry.newBuilder().setType(FdTypes.TTY).setId(id).setTty(t).build();
    }

    /**
     * The terminal's path as a reg file entry of its own id, written before the tty entry, which
     * names it in regf_id: CRIU 4.2's layout (older CRIU gave the reg entry the tty's own id,
     * which restore still accepts).
     */
    private static int pathEntry(OpenFd fd, DumpFiles files) {
        return files.addFile(rid -> FileHandlers.REG.dump(fd, rid, files));
    }

    /** Key of the set of pty indices whose session members were checked. */
    private static final class CttyCheck {}

    /**
     * Members of session {@code sid} without pty {@code index} as controlling terminal (forked
     * before their leader took it, or TIOCNOTTY): CRIU's images say which session a pty leads,
     * not which task has it, and restore gives it to every member the leader clones. Said in the
     * log, as the restored task differs there.
     */
    private static void membersWithout(int index, int sid, java.util.Set<Integer> tree) {
        int major = PTS_MAJOR_FIRST + index / 256, minor = index % 256;
        long ttyNr = (minor & 0xff) | ((long) major << 8) | ((long) (minor & ~0xff) << 12);
        for (int pid : tree) {
            try {
                if (org.jcriu.proc.Stat.read(pid).sid() != sid || pid == sid) continue;
                if (ctty(pid)[0] != ttyNr) {
                    LOG.warn("task %d of session %d has no pty %d as controlling terminal; restore gives it the session's "
                            + "terminal (the images do not record which member has it)", pid, sid, index);
                }
            } catch (CriuException e) {
                // a task gone meanwhile
            }
        }
    }

    private static boolean groupInDump(int pgrp, java.util.Set<Integer> tree) {
        for (int pid : tree) {
            try {
                if (org.jcriu.proc.Stat.read(pid).pgid() == pgrp) return true;
            } catch (CriuException e) {
                // a task gone meanwhile
            }
        }
        return false;
    }

    /**
     * /dev/tty: CRIU's CTTY entry (tty-info id 2012, the session and foreground group of the
     * task's controlling terminal, its termios), and a reg entry naming /dev/tty.
     */
    private FileEntry dumpCtty(OpenFd fd, int id, DumpFiles files) {
        PtyProbe p;
        try {
            p = PtyProbe.read(fd, false);
        } catch (PtyProbe.HungUp e) {
            throw new CriuException("Can't dump " + fd.describe() + ": the terminal is hung up");
        }
        long[] ctty = ctty(fd.pid());
        int sid = ctty[0] != 0 ? org.jcriu.proc.Stat.read(fd.pid()).sid() : 0;
        int pgrp = ctty[0] != 0 ? (int) Math.max(0, ctty[1]) : 0;
        files.ttyInfo(CTTY_INFO_ID, () -> TtyInfoEntry.newBuilder().setType(TtyType.CTTY).setLocked(false)
                .setExclusive(p.exclusive()).setPacketMode(false).setSid(sid).setPgrp(pgrp)
                .setRdev((int) fd.stat().rdev()).setDev((int) fd.stat().dev())
                .setTermios(Termios.entry(p.termios())).setTermiosLocked(Termios.entry(p.termiosLocked()))
                .setWinsize(Termios.winsize(p.winsize()))
                .setUid(fd.stat().uid()).setGid(fd.stat().gid()));
        LOG.info("Dumping tty %d with id %#x (ctty of session %d)", fd.fd(), id, sid);
        TtyFileEntry t = TtyFileEntry.newBuilder().setId(id).setTtyInfoId(CTTY_INFO_ID).setFlags(fd.fileFlags()).setFown(NO_OWNER)
                .setRegfId(pathEntry(fd, files)).build();
        return FileEntry.newBuilder().setType(FdTypes.TTY).setId(id).setTty(t).build();
    }

    /**
     * A terminal named with --external: only its state is saved (CRIU's EXT_TTY, tty-info id 0,
     * no reg entry); restore needs --inherit-fd fd[N]:tty[RDEV:DEV] and applies the state to it.
     */
    private FileEntry dumpExternal(OpenFd fd, int id, DumpFiles files) {
        long rdev = fd.stat().rdev();
        PtyProbe p;
        try {
            p = PtyProbe.read(fd, false);
        } catch (PtyProbe.HungUp e) {
            throw new CriuException("Can't dump " + fd.describe() + ": the terminal is hung up");
        }
        long[] ctty = ctty(fd.pid());
        int sid = ctty[0] == (int) rdev ? org.jcriu.proc.Stat.read(fd.pid()).sid() : 0;
        int pgrp = ctty[0] == (int) rdev ? (int) Math.max(0, ctty[1]) : 0;
        int infoId = 0;
        files.ttyInfo(infoId, () -> TtyInfoEntry.newBuilder().setType(TtyType.EXT_TTY).setLocked(false)
                .setExclusive(p.exclusive()).setPacketMode(false).setSid(sid).setPgrp(pgrp)
                .setRdev((int) rdev).setDev((int) fd.stat().dev())
                .setTermios(Termios.entry(p.termios())).setTermiosLocked(Termios.entry(p.termiosLocked()))
                .setWinsize(Termios.winsize(p.winsize()))
                .setUid(fd.stat().uid()).setGid(fd.stat().gid()));
        LOG.info("Dumping external tty %d with id %#x (%s)", fd.fd(), id, key(fd));
        TtyFileEntry t = TtyFileEntry.newBuilder().setId(id).setTtyInfoId(infoId).setFlags(fd.fileFlags()).setFown(NO_OWNER).build();
        return FileEntry.newBuilder().setType(FdTypes.TTY).setId(id).setTty(t).build();
    }

    /**
     * tty_nr and tpgid of /proc/PID/stat (fields 7 and 8). tty_nr is new_encode_dev(), which is
     * also how a 32-bit st_rdev reads; CRIU's tty_info rdev/dev are st_rdev/st_dev cut to 32 bits.
     */
    private static long[] ctty(int pid) {
        String s = new String(Sys.readFile("/proc/" + pid + "/stat"));
        String[] f = s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
        return new long[] {Long.parseLong(f[4]), Long.parseLong(f[5])};
    }

    @Override
    public Opening tryOpen(FileEntry e, FileRestorer r) {
        return PtyRestore.of(r).open(e);
    }

    @Override
    public int open(FileEntry e, FileRestorer r) {
        throw new IllegalStateException("tty files are opened by tryOpen");
    }

    /**
     * Task {@code t} has just called setsid while it is created: it takes its session's pty as
     * controlling terminal now, so that the members of its session, cloned next, inherit it.
     */
    public static void newSession(FileRestorer r, org.jcriu.compel.Task t) {
        PtyRestore.of(r).newSession(t);
    }

    /** The fds of {@code t} are in place (see {@link PtyRestore#fdsDone}). */
    public static void fdsDone(FileRestorer r, org.jcriu.compel.Task t) {
        PtyRestore.of(r).fdsDone(t);
    }

    public static boolean isTty(String path) {
        try {
            Stat st = Sys.stat(path);
            return st.isChr() && isTerminal(st.rdev()) && !isPtmx(st.rdev());
        } catch (RuntimeException ex) {
            return false;
        }
    }
}
