package org.jcriu.files.pipe;

import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.image.proto.PipeEntry;

/**
 * Anonymous pipes, identified by their inode (pipe_id) as in /proc/PID/fd links "pipe:[INODE]".
 * Restore: with {@code --inherit-fd fd[N]:pipe:[INODE]} the task gets the restorer's fd N (the
 * caller's end of its pipeline); otherwise a new pipe is made in the task, as CRIU does, and
 * every fd of the same pipe_id gets the end its access mode asks for.
 *
 * <p>Not yet: the bytes sitting in a pipe both of whose ends are inside the dump (pipes-data.img).
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
        PipeEntry p = PipeEntry.newBuilder().setId(id).setPipeId((int) fd.stat().ino()).setFlags(fd.fileFlags())
                .setFown(NO_OWNER).build();
        return FileEntry.newBuilder().setType(FdTypes.PIPE).setId(id).setPipe(p).build();
    }

    @Override
    public int open(FileEntry e, FileRestorer r) {
        PipeEntry p = e.getPipe();
        String key = "pipe:[" + Integer.toUnsignedString(p.getPipeId()) + "]";
        int inherited = r.inheritedFd(key);
        if (inherited >= 0) return r.pullFromRestorer(inherited, p.getFlags());
        return r.pipeEnd(p.getPipeId(), p.getFlags());
    }
}
