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
 * the unlinked file (or a new empty directory or FIFO in place of a removed one), re-created from ghost-file-ID.img next to its old path as
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
        if (e.getRemapType() == RemapType.LINKED) return linked(reg, e, r);
        if (e.getRemapType() != RemapType.GHOST) {
            throw new CriuException("Can't restore " + reg.getName() + " (file id " + reg.getId() + "): remap of type "
                    + e.getRemapType() + " in " + dir.path(ImageType.REMAP_FPATH) + " is not supported");
        }
        int id = e.getRemapId();
        String p = made.get(id);
        if (p != null) return p;
        // At its own name when that is free, so that the fd names it again once unlinked;
        // otherwise at CRIU's name for ghosts beside it.
        String name = survivingParent(reg.getName());
        p = name;
        if (!create(p, id)) {
            p = String.format("%s.cr.%x.ghost", name, id);
            if (!create(p, id)) throw new CriuException("Can't re-create ghost file " + p + ": it exists");
        }
        made.put(id, p);
        String path = p;
        // once the whole tree is restored, not after this task's fds: a mapping made before and
        // the fds and mappings of later tasks must all reach this one inode, as at dump
        r.whenTreeDone(() -> unlink(id, path));
        return p;
    }

    /**
     * {@code name} moved up into its nearest directory that still exists, as CRIU's
     * trim_last_parent: a ghost whose directory was removed too (an open directory, then its
     * parent, both rmdir'ed) is re-created there ("/a/b/c" with /a/b gone becomes "/a/c").
     */
    static String survivingParent(String name) {
        int slash = name.lastIndexOf('/');
        String dir = name.substring(0, slash), base = name.substring(slash + 1);
        while (!dir.isEmpty() && !java.nio.file.Files.isDirectory(java.nio.file.Path.of(dir))) dir = dir.substring(0, dir.lastIndexOf('/'));
        String p = (dir.isEmpty() ? "" : dir) + "/" + base;
        if (!p.equals(name)) LOG.info("the directory of %s is gone too: re-created as %s", name, p);
        return p;
    }

    /** ids of link remaps opened so far; each is unlinked once the fds are in place, as CRIU does. */
    private final java.util.Set<Integer> linksOpened = new java.util.HashSet<>();

    private String linked(RegFileEntry reg, RemapFilePathEntry e, FileRestorer r) {
        String link = r.file(e.getRemapId()).getReg().getName();
        if (linksOpened.add(e.getRemapId())) r.whenDone(() -> unlinkPath(link));
        // Opened through a second link at its own name when that is free, so that the fd names
        // it again once that is unlinked (CRIU leaves it naming link_remap.N).
        String orig = reg.getName();
        try (Arena a = Arena.ofConfined()) {
            long rc = Sys.raw(Nr.LINKAT, Linux.AT_FDCWD, a.allocateFrom(link).address(), Linux.AT_FDCWD, a.allocateFrom(orig).address(), 0);
            if (rc == 0) {
                r.whenDone(() -> unlinkPath(orig));
                return orig;
            }
        }
        // already linked back there for another file id of the same inode (a shared and a
        // private mapping of it are two reg files, each with its own link remap)
        if (sameInode(orig, link)) return orig;
        return link;
    }

    private static boolean sameInode(String a, String b) {
        try {
            var x = Sys.stat(a);
            var y = Sys.stat(b);
            return x.dev() == y.dev() && x.ino() == y.ino();
        } catch (org.jcriu.sys.ErrnoException e) {
            return false;
        }
    }

    private static void unlinkPath(String path) {
        try (Arena a = Arena.ofConfined()) {
            Sys.check("unlink(" + path + ")", Nr.UNLINK, a.allocateFrom(path).address());
        }
        LOG.debug("%s unlinked again", path);
    }

    private void unlink(int id, String path) {
        if (made.remove(id) == null) return;
        try (Arena a = Arena.ofConfined()) {
            boolean isDir = dirs.remove(id);
            Sys.check((isDir ? "rmdir(" : "unlink(") + path + ")", isDir ? Nr.RMDIR : Nr.UNLINK, a.allocateFrom(path).address());
        }
        LOG.debug("ghost %#x unlinked again at %s", id, path);
    }

    /** Creates ghost {@code id} at {@code path}; false if something already has that name. */
    private boolean create(String path, int id) {
        try (ImageReader r = dir.open(ImageType.GHOST_FILE, id)) {
            GhostFileEntry g = r.readOne(GhostFileEntry.parser());
            int type = g.getMode() & Linux.S_IFMT;
            if (type == Linux.S_IFDIR || type == Linux.S_IFIFO) return createNode(path, id, g, type == Linux.S_IFDIR);
            if (type != Linux.S_IFREG) {
                throw new CriuException(String.format("Ghost file %s has mode 0%o: only regular files, directories and FIFOs "
                        + "are supported as ghosts", dir.path(ImageType.GHOST_FILE, id), g.getMode()));
            }
            int fd;
            try {
                fd = Sys.open(path, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_EXCL, 0600);
            } catch (org.jcriu.sys.ErrnoException ex) {
                if (ex.errno() == org.jcriu.sys.Errno.EEXIST) return false;
                throw new CriuException(ex.errno(), "Can't re-create ghost file " + path + ": " + ex.getMessage(), ex);
            }
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
            return true;
        }
    }

    /** ghost ids re-created as directories (removed again with rmdir). */
    private final java.util.Set<Integer> dirs = new java.util.HashSet<>();

    /**
     * A removed directory (empty: nothing can be created in one) or an unlinked FIFO (its queued
     * bytes come from fifo-data.img) with the ghost's owner, mode and times; false if the name is taken.
     */
    private boolean createNode(String path, int id, GhostFileEntry g, boolean isDir) {
        String what = isDir ? "directory" : "FIFO";
        try (Arena a = Arena.ofConfined()) {
            long p = a.allocateFrom(path).address();
            long rc = isDir ? Sys.raw(Nr.MKDIR, p, g.getMode() & 07777)
                    : Sys.raw(Nr.MKNODAT, Linux.AT_FDCWD, p, Linux.S_IFIFO | (g.getMode() & 07777), 0);
            if (rc == -org.jcriu.sys.Errno.EEXIST) return false;
            if (rc < 0) {
                throw new CriuException((int) -rc, "Can't re-create ghost " + what + " " + path + ": " + org.jcriu.sys.Errno.name((int) -rc)
                        + (rc == -org.jcriu.sys.Errno.ENOENT ? " (its parent directory is gone too)" : ""));
            }
            try {
                Sys.check("fchownat(" + path + ")", Nr.FCHOWNAT, Linux.AT_FDCWD, p, g.getUid(), g.getGid(), Linux.AT_SYMLINK_NOFOLLOW);
                // after the owner, which clears set-uid/gid bits, and past jcriu's umask
                Sys.check("fchmodat(" + path + ")", Nr.FCHMODAT, Linux.AT_FDCWD, p, g.getMode() & 07777);
                if (g.hasAtim() && g.hasMtim()) {
                    Sys.check("utimensat(" + path + ")", Nr.UTIMENSAT, Linux.AT_FDCWD, p, timespecs(a, g).address(), Linux.AT_SYMLINK_NOFOLLOW);
                }
            } catch (RuntimeException ex) {
                Sys.raw(isDir ? Nr.RMDIR : Nr.UNLINK, p);
                throw ex;
            }
        }
        if (isDir) dirs.add(id);
        LOG.info("ghost %#x re-created at %s (%s, mode 0%o)", id, path, what, g.getMode());
        return true;
    }

    private static MemorySegment timespecs(Arena a, GhostFileEntry g) {
        MemorySegment ts = a.allocate(32);
        ts.set(ValueLayout.JAVA_LONG, 0, g.getAtim().getTvSec());
        ts.set(ValueLayout.JAVA_LONG, 8, g.getAtim().getTvUsec() * 1000);
        ts.set(ValueLayout.JAVA_LONG, 16, g.getMtim().getTvSec());
        ts.set(ValueLayout.JAVA_LONG, 24, g.getMtim().getTvUsec() * 1000);
        return ts;
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
            // utimensat(fd, NULL, ...) sets the times of the open file itself
            Sys.check("utimensat(" + path + ")", Nr.UTIMENSAT, fd, 0, timespecs(a, g).address(), 0);
        }
    }
}
