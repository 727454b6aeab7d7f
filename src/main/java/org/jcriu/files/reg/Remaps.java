package org.jcriu.files.reg;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import org.jcriu.CriuException;
import org.jcriu.files.FileRestorer;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.GhostChunkEntry;
import org.jcriu.image.proto.GhostFileEntry;
import org.jcriu.image.proto.RegFileEntry;
import org.jcriu.image.proto.RemapFilePathEntry;
import org.jcriu.image.proto.RemapType;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * Restore side of remap-fpath.img: a reg file remapped to a ghost is opened through a copy of
 * the unlinked file, re-created from ghost-file-ID.img next to its old path as
 * {@code PATH.cr.ID.ghost} (CRIU's name, on the same file system so any hard-link games stay
 * possible), and unlinked again once the task's fds are in place: the task ends up, as before
 * the dump, holding an fd on an unlinked file with the same contents, mode, size and times.
 */
final class Remaps {
    private static final Logger LOG = Log.get("ghost");

    private final ImageDir dir;
    private final Map<Integer, RemapFilePathEntry> byFile = new HashMap<>();
    /** ghost id -> the path it was re-created at, while it exists. */
    private final Map<Integer, String> made = new HashMap<>();

    private Remaps(ImageDir dir) {
        this.dir = dir;
        try (ImageReader r = dir.openOptional(ImageType.REMAP_FPATH)) {
            if (r == null) return;
            RemapFilePathEntry e;
            while ((e = r.read(RemapFilePathEntry.parser())) != null) byFile.put(e.getOrigId(), e);
        }
    }

    static Remaps of(FileRestorer r) {
        return r.state(Remaps.class, () -> new Remaps(r.images()));
    }

    boolean remapped(RegFileEntry reg) {
        return byFile.containsKey(reg.getId());
    }

    /** The path to open for {@code reg}: its own name, or the re-created ghost it is remapped to. */
    String pathFor(RegFileEntry reg, FileRestorer r) {
        RemapFilePathEntry e = byFile.get(reg.getId());
        if (e == null) return reg.getName();
        if (e.getRemapType() != RemapType.GHOST) {
            throw new CriuException("Can't restore " + reg.getName() + " (file id " + reg.getId() + "): remap of type "
                    + e.getRemapType() + " in " + dir.path(ImageType.REMAP_FPATH) + " is not supported");
        }
        int id = e.getRemapId();
        String p = made.get(id);
        if (p != null) return p;
        p = String.format("%s.cr.%x.ghost", reg.getName(), id);
        create(p, id);
        made.put(id, p);
        String path = p;
        r.whenDone(() -> unlink(id, path));
        return p;
    }

    private void unlink(int id, String path) {
        if (made.remove(id) == null) return;
        try (Arena a = Arena.ofConfined()) {
            Sys.check("unlink(" + path + ")", Nr.UNLINK, a.allocateFrom(path).address());
        }
        LOG.debug("ghost %#x unlinked again at %s", id, path);
    }

    private void create(String path, int id) {
        try (ImageReader r = dir.open(ImageType.GHOST_FILE, id)) {
            GhostFileEntry g = r.readOne(GhostFileEntry.parser());
            if ((g.getMode() & Linux.S_IFMT) != Linux.S_IFREG) {
                throw new CriuException(String.format("Ghost file %s has mode 0%o: only regular ghost files are supported",
                        dir.path(ImageType.GHOST_FILE, id), g.getMode()));
            }
            int fd = Sys.open(path, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_EXCL, 0600);
            try {
                if (g.getChunks()) {
                    if (!g.hasSize()) throw new CriuException("Ghost file " + dir.path(ImageType.GHOST_FILE, id) + " has chunks but no size");
                    // the holes between chunks stay holes: only data is written
                    Sys.check("ftruncate(" + path + ")", Nr.FTRUNCATE, fd, g.getSize());
                    GhostChunkEntry c;
                    while ((c = r.read(GhostChunkEntry.parser())) != null) {
                        write(fd, path, c.getOff(), r.readRaw(Math.toIntExact(c.getLen())));
                    }
                } else {
                    write(fd, path, 0, r.readRest());
                }
                Sys.check("fchown(" + path + ")", Nr.FCHOWN, fd, g.getUid(), g.getGid());
                // after fchown, which clears set-uid/gid bits
                Sys.check("fchmod(" + path + ")", Nr.FCHMOD, fd, g.getMode() & 07777);
                if (g.hasAtim() && g.hasMtim()) times(fd, path, g);
            } catch (RuntimeException ex) {
                Sys.close(fd);
                fd = -1;
                try (Arena a = Arena.ofConfined()) {
                    Sys.raw(Nr.UNLINK, a.allocateFrom(path).address());
                }
                throw ex;
            } finally {
                if (fd >= 0) Sys.close(fd);
            }
            LOG.info("ghost %#x re-created at %s (mode 0%o)", id, path, g.getMode());
        }
    }

    private static void write(int fd, String path, long off, byte[] data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            long done = 0;
            while (done < data.length) done += Sys.pwrite(fd, buf.asSlice(done), data.length - done, off + done);
        }
    }

    private static void times(int fd, String path, GhostFileEntry g) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ts = a.allocate(32);
            ts.set(ValueLayout.JAVA_LONG, 0, g.getAtim().getTvSec());
            ts.set(ValueLayout.JAVA_LONG, 8, g.getAtim().getTvUsec() * 1000);
            ts.set(ValueLayout.JAVA_LONG, 16, g.getMtim().getTvSec());
            ts.set(ValueLayout.JAVA_LONG, 24, g.getMtim().getTvUsec() * 1000);
            // utimensat(fd, NULL, ...) sets the times of the open file itself
            Sys.check("utimensat(" + path + ")", Nr.UTIMENSAT, fd, 0, ts.address(), 0);
        }
    }
}
