package org.jcriu.files.pidfd;

import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.files.AnonFd;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.PidfdEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * pidfd: the process it refers to (fdinfo "NSpid", -1 once that process is dead and reaped). As
 * with CRIU, only a process of the dumped tree can be referred to (it exists again after
 * restore, with its pid); here that is the task itself. A pidfd of a dead process is restored
 * as a pidfd of a stand-in that jcriu starts and reaps, pulled into the task: it reports the
 * process gone, as the original did. PIDFD_THREAD pidfds are refused, as CRIU does.
 */
public final class PidfdHandler implements FileHandler {
    private static final Logger LOG = Log.get("pidfd");
    /** PIDFD_THREAD is O_EXCL. */
    static final int PIDFD_THREAD = 0200;

    @Override
    public FdTypes type() {
        return FdTypes.PIDFD;
    }

    @Override
    public String name() {
        return "pidfd";
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        int pid = Integer.parseInt(AnonFd.field(fd, "Pid"));
        String[] ns = AnonFd.field(fd, "NSpid").split("\\s+");
        int nspid = Integer.parseInt(ns[ns.length - 1]);
        if ((fd.fileFlags() & PIDFD_THREAD) != 0) {
            throw new CriuException("Can't dump " + fd.describe() + ": PIDFD_THREAD pidfds are not supported");
        }
        if (pid != -1 && pid != fd.pid()) {
            throw new CriuException("Can't dump " + fd.describe() + ": it refers to process " + pid
                    + ", which is not part of the dumped tree");
        }
        int flags = fd.fileFlags() & ~Linux.O_RDWR;
        LOG.info("Dumping id %#x flags %#x NSpid %d ino %d", id, flags, nspid, fd.stat().ino());
        PidfdEntry e = PidfdEntry.newBuilder().setId(id).setIno((int) fd.stat().ino()).setFlags(flags).setNspid(nspid)
                .setFown(AnonFd.NO_OWNER).build();
        return FileEntry.newBuilder().setType(FdTypes.PIDFD).setId(id).setPidfd(e).build();
    }

    @Override
    public int open(FileEntry fe, FileRestorer r) {
        PidfdEntry e = fe.getPidfd();
        int nonblock = e.getFlags() & Linux.O_NONBLOCK;
        if (e.getNspid() != -1) return (int) r.task().syscall(Nr.PIDFD_OPEN, e.getNspid(), nonblock);
        int helper = Sys.posixSpawn("/bin/true", List.of("true"), List.of(), new int[] {-1, -1, -1}, true);
        int pidfd;
        try {
            pidfd = Sys.pidfdOpen(helper);
        } finally {
            Sys.waitpid(helper, 0);
        }
        try {
            return r.pullFromRestorer(pidfd, e.getFlags());
        } finally {
            Sys.close(pidfd);
        }
    }
}
