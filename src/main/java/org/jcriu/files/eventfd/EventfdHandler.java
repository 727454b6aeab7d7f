package org.jcriu.files.eventfd;

import org.jcriu.files.AnonFd;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.proto.EventfdFileEntry;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * eventfd: the counter and file flags from fdinfo ("eventfd-count" in hex), recreated with
 * eventfd2 in the task. EFD_SEMAPHORE lives in the eventfd's context, not in f_flags, so CRIU
 * 4.2 loses it; jcriu keeps it as bit 0 of eventfd_file_entry.flags, an access-mode bit an
 * eventfd never has (it is always O_RDWR) and which CRIU's F_SETFL on restore ignores.
 */
public final class EventfdHandler implements FileHandler {
    private static final Logger LOG = Log.get("eventfd");
    static final int EFD_SEMAPHORE = 1;

    @Override
    public FdTypes type() {
        return FdTypes.EVENTFD;
    }

    @Override
    public String name() {
        return "eventfd";
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        long counter = Long.parseUnsignedLong(AnonFd.field(fd, "eventfd-count"), 16);
        boolean semaphore = "1".equals(AnonFd.fieldOrNull(fd.info().text(), "eventfd-semaphore"));
        int flags = fd.fileFlags() | (semaphore ? EFD_SEMAPHORE : 0);
        LOG.info("Dumping id %#x flags %#x counter %#x", id, flags, counter);
        EventfdFileEntry e = EventfdFileEntry.newBuilder().setId(id).setFlags(flags).setFown(AnonFd.NO_OWNER).setCounter(counter).build();
        return FileEntry.newBuilder().setType(FdTypes.EVENTFD).setId(id).setEfd(e).build();
    }

    @Override
    public int open(FileEntry fe, FileRestorer r) {
        EventfdFileEntry e = fe.getEfd();
        var t = r.task();
        int flags = (e.getFlags() & EFD_SEMAPHORE) | (e.getFlags() & Linux.O_NONBLOCK);
        // eventfd2 takes an unsigned int; a larger count is added with a write of the 8-byte value.
        boolean fits = Long.compareUnsigned(e.getCounter(), 0xffff_ffffL) <= 0;
        int fd = (int) t.syscall(Nr.EVENTFD2, fits ? e.getCounter() : 0, flags);
        if (!fits) AnonFd.withStruct(t, AnonFd.le(new int[] {8}, e.getCounter()), Nr.WRITE, 1, fd, 0, 8);
        AnonFd.fileFlags(t, fd, e.getFlags());
        return fd;
    }
}
