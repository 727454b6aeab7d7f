package org.jcriu.files.fifo;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileHandlers;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.files.pipe.PipeData;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FifoEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.PipeDataEntry;
import org.jcriu.image.proto.RegFileEntry;
import org.jcriu.sys.Linux;

/**
 * Named pipes. As CRIU, the path is kept in a reg file entry of its own (fifo_entry.regf_id)
 * and the queued bytes in fifo-data.img (same entries as pipes-data.img, keyed by the FIFO's
 * inode). Restore opens the path O_RDWR first: opening one end of a FIFO blocks until the
 * other end is opened, and a read-write open is both; that fake end also queues the data.
 */
public final class FifoHandler implements FileHandler {
    @Override
    public FdTypes type() {
        return FdTypes.FIFO;
    }

    @Override
    public String name() {
        return "fifo";
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        // the fd's own reg file, as CRIU: its path (a ghost when unlinked, its mount when overmounted)
        int regId = files.addFile(rid -> FileHandlers.REG.dump(fd, rid, files));
        int pipeId = (int) fd.stat().ino();
        Set<Integer> seen = files.state(FifoHandler.class, HashSet::new);
        if (seen.add(pipeId)) {
            PipeData.Content c = PipeData.peek(fd.pid(), fd.fd());
            // an entry even when empty: it carries the capacity
            files.addImageEntry(ImageType.FIFO_DATA, PipeDataEntry.newBuilder().setPipeId(pipeId).setBytes(c.bytes().length)
                    .setSize(c.size()).build(), c.bytes());
        }
        FifoEntry f = FifoEntry.newBuilder().setId(id).setPipeId(pipeId).setRegfId(regId).build();
        return FileEntry.newBuilder().setType(FdTypes.FIFO).setId(id).setFifo(f).build();
    }

    /** fifo-data.img by pipe_id, and which FIFOs got their data (once per restore: a FIFO open in several tasks is one pipe). */
    private static final class State {
        final Map<Integer, PipeData.Content> data = new HashMap<>();
        final Set<Integer> filled = new HashSet<>();
    }

    @Override
    public int open(FileEntry e, FileRestorer r) {
        FifoEntry f = e.getFifo();
        RegFileEntry reg = r.file(f.getRegfId()).getReg();
        State st = r.state(State.class, () -> {
            State s = new State();
            try (ImageReader in = r.images().openOptional(ImageType.FIFO_DATA)) {
                if (in != null) {
                    PipeDataEntry p;
                    while ((p = in.read(PipeDataEntry.parser())) != null) s.data.put(p.getPipeId(), new PipeData.Content(p.getSize(), in.readRaw(p.getBytes())));
                }
            }
            return s;
        });
        // through the reg file: its path, a ghost FIFO re-created for it, or its overmounted mount
        int fake = FileHandlers.REG.openIn(reg, Linux.O_RDWR, false, r);
        try {
            int fd = FileHandlers.REG.openIn(reg, reg.getFlags() & ~(Linux.O_CREAT | Linux.O_EXCL | Linux.O_TRUNC | Linux.O_CLOEXEC), false, r);
            PipeData.Content c = st.data.get(f.getPipeId());
            if (c != null && st.filled.add(f.getPipeId())) PipeData.fill(r.task().tid(), fake, c.size(), c.bytes());
            return fd;
        } finally {
            r.task().syscall(org.jcriu.sys.Nr.CLOSE, fake);
        }
    }
}
