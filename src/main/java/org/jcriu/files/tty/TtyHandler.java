package org.jcriu.files.tty;

import org.jcriu.CriuException;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.image.proto.TtyFileEntry;
import org.jcriu.image.proto.TtyInfoEntry;
import org.jcriu.image.proto.TtyPtyEntry;
import org.jcriu.image.proto.TtyType;
import org.jcriu.proc.Stat;
import org.jcriu.sys.Sys;

/**
 * The terminal of a shell job (--shell-job): the task's fds on its controlling terminal belong
 * to the shell outside the dump. Dumped as CRIU does (tty file + tty-info, type PTY for
 * /dev/pts/N); on restore the task gets the terminal jcriu itself runs on (its fd 0, 1 or 2
 * that is a terminal), the way a job resumed from that shell would.
 */
public final class TtyHandler implements FileHandler {
    private static final FownEntry NO_OWNER = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    /** Unix98 pty slaves are majors 136..143. */
    private static final int PTS_MAJOR_FIRST = 136, PTS_MAJOR_LAST = 143;

    public static boolean isTerminal(long rdev) {
        int major = org.jcriu.sys.Stat.major(rdev);
        return (major >= PTS_MAJOR_FIRST && major <= PTS_MAJOR_LAST) || major == 4 || (major == 5 && org.jcriu.sys.Stat.minor(rdev) <= 1);
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
        int major = org.jcriu.sys.Stat.major(rdev);
        if (major < PTS_MAJOR_FIRST || major > PTS_MAJOR_LAST) {
            throw new CriuException("Can't dump " + fd.describe() + ": only pseudo-terminal slaves (/dev/pts/N) are supported");
        }
        int infoId = files.ttyInfoId(rdev, id, () -> {
            Stat st = Stat.read(fd.pid());
            return TtyInfoEntry.newBuilder().setType(TtyType.PTY).setLocked(false).setExclusive(false)
                    .setPacketMode(false).setSid(st.sid()).setPgrp(st.pgid())
                    .setRdev(org.jcriu.sys.Stat.kdev(rdev))
                    .setPty(TtyPtyEntry.newBuilder().setIndex(org.jcriu.sys.Stat.minor(rdev)))
                    .setUid(fd.stat().uid()).setGid(fd.stat().gid());
        });
        TtyFileEntry t = TtyFileEntry.newBuilder().setId(id).setTtyInfoId(infoId).setFlags(fd.fileFlags()).setFown(NO_OWNER).build();
        return FileEntry.newBuilder().setType(FdTypes.TTY).setId(id).setTty(t).build();
    }

    @Override
    public int open(FileEntry e, FileRestorer r) {
        int own = r.restorerTerminalFd();
        if (own < 0) {
            throw new CriuException("Can't restore terminal file id " + e.getId() + ": jcriu's stdin, stdout and stderr "
                    + "are not terminals (a --shell-job restore must run in the terminal the task should use)");
        }
        return r.pullFromRestorer(own, e.getTty().getFlags());
    }

    public static boolean isTty(String path) {
        try {
            return isTerminal(Sys.stat(path).rdev()) && Sys.stat(path).isChr();
        } catch (RuntimeException ex) {
            return false;
        }
    }
}
