package org.jcriu.files.signalfd;

import org.jcriu.files.AnonFd;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.SignalfdEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * signalfd: its signal mask (fdinfo "sigmask", hex) and flags; recreated with signalfd4 in the
 * task. Signals it would read are the task's pending signals, which are the task's business.
 */
public final class SignalfdHandler implements FileHandler {
    private static final Logger LOG = Log.get("signalfd");

    @Override
    public FdTypes type() {
        return FdTypes.SIGNALFD;
    }

    @Override
    public String name() {
        return "signalfd";
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        long mask = Long.parseUnsignedLong(AnonFd.field(fd, "sigmask"), 16);
        LOG.info("Dumping id %#x flags %#x sigmask %#x", id, fd.fileFlags(), mask);
        SignalfdEntry e = SignalfdEntry.newBuilder().setId(id).setFlags(fd.fileFlags()).setFown(AnonFd.NO_OWNER).setSigmask(mask).build();
        return FileEntry.newBuilder().setType(FdTypes.SIGNALFD).setId(id).setSgfd(e).build();
    }

    @Override
    public int open(FileEntry fe, FileRestorer r) {
        SignalfdEntry e = fe.getSgfd();
        var t = r.task();
        int fd = (int) AnonFd.withStruct(t, AnonFd.le(new int[] {8}, e.getSigmask()), Nr.SIGNALFD4, 1,
                -1, 0, 8, e.getFlags() & Linux.O_NONBLOCK);
        AnonFd.fileFlags(t, fd, e.getFlags());
        return fd;
    }
}
