package org.jcriu.files.pipe;

import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.image.proto.PipeEntry;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * Anonymous pipes, identified by their inode (pipe_id) as in /proc/PID/fd links "pipe:[INODE]".
 * Restore: with {@code --inherit-fd fd[N]:pipe:[INODE]} the task gets the restorer's fd N (the
 * caller's end of its pipeline); otherwise a new pipe is made in the task, as CRIU does, and
 * every fd of the same pipe_id gets the end its access mode asks for.
 *
 * The bytes queued in a pipe are saved in pipes-data.img (copied with tee, see {@link PipeData})
 * and queued again in a pipe the restore creates.
 */
public final class PipeHandler implements FileHandler {
    private static final FownEntry NO_OWNER = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();

    @Override
    public FdTypes type() {
        return FdTypes.PIPE;
    }

    @Override
    public String name() {
        return "pipe";
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        int pipeId = (int) fd.stat().ino();
        if (!files.hasPipeData(pipeId)) {
            PipeData.Content c = PipeData.peek(fd.pid(), fd.fd());
            files.addPipeData(pipeId, c.size(), c.bytes());
        }
        PipeEntry p = PipeEntry.newBuilder().setId(id).setPipeId((int) fd.stat().ino()).setFlags(fd.fileFlags())
                .setFown(NO_OWNER).build();
        return FileEntry.newBuilder().setType(FdTypes.PIPE).setId(id).setPipe(p).build();
    }

    @Override
    public int open(FileEntry e, FileRestorer r) {
        PipeEntry p = e.getPipe();
        String key = "pipe:[" + Integer.toUnsignedString(p.getPipeId()) + "]";
        int inherited = r.inheritedFd(key);
        // An inherited pipe is the caller's live pipe: its content is the caller's business.
        if (inherited >= 0) return r.pullFromRestorer(inherited, p.getFlags());
        FileRestorer.PipeEnds ends = r.pipe(p.getPipeId());
        if (ends.fresh()) {
            PipeData.Content data = r.pipeData(p.getPipeId());
            if (data != null) PipeData.fill(r.task().tid(), ends.write(), data.size(), data.bytes());
        }
        int fd = (p.getFlags() & Linux.O_ACCMODE) == Linux.O_WRONLY ? ends.write() : ends.read();
        if ((p.getFlags() & Linux.O_NONBLOCK) != 0) r.task().syscall(Nr.FCNTL, fd, Linux.F_SETFL, Linux.O_NONBLOCK);
        return fd;
    }
}
