package org.jcriu.files.fsnotify;

import java.nio.file.Files;
import java.nio.file.Path;
import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.files.AnonFd;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.files.reg.RegFileHandler;
import org.jcriu.image.proto.FanotifyFileEntry;
import org.jcriu.image.proto.FanotifyInodeMarkEntry;
import org.jcriu.image.proto.FanotifyMarkEntry;
import org.jcriu.image.proto.FanotifyMountMarkEntry;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.MarkType;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * fanotify: the group's fanotify_init flags and event file flags (fdinfo "fanotify flags:X
 * event-flags:Y") and its marks, one fdinfo line each: inode marks ("ino: sdev: mflags: mask:
 * ignored_mask: fhandle-...", turned into a path like inotify watches) and mount marks
 * ("mnt_id: mflags: mask: ignored_mask:", kept with the mount point's path). Filesystem marks
 * (FAN_MARK_FILESYSTEM, "sdev:" alone) have no CRIU image form and are refused. Restore:
 * fanotify_init and fanotify_mark in the task, the mask and the ignored mask added separately
 * as CRIU does. Queued events, and answers owed to permission events, are not saved.
 */
public final class FanotifyHandler implements FileHandler {
    private static final Logger LOG = Log.get("fsnotify");
    static final int FAN_CLOEXEC = 1, FAN_MARK_ADD = 1, FAN_MARK_MOUNT = 0x10, FAN_MARK_IGNORED_MASK = 0x20;

    @Override
    public FdTypes type() {
        return FdTypes.FANOTIFY;
    }

    @Override
    public String name() {
        return "fanotify";
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        FanotifyFileEntry.Builder e = FanotifyFileEntry.newBuilder().setId(id).setFlags(fd.fileFlags()).setFown(AnonFd.NO_OWNER);
        for (String line : fd.info().text().split("\n")) {
            if (!line.startsWith("fanotify ")) continue;
            java.util.Map<String, String> f = new java.util.HashMap<>();
            for (String w : line.substring(9).strip().split("\\s+")) {
                int c = w.indexOf(':');
                f.put(w.substring(0, c), w.substring(c + 1));
            }
            if (f.containsKey("flags")) {
                e.setFaflags((int) Long.parseLong(f.get("flags"), 16)).setEvflags((int) Long.parseLong(f.get("event-flags"), 16));
                continue;
            }
            FanotifyMarkEntry.Builder m = FanotifyMarkEntry.newBuilder().setId(id)
                    .setMflags((int) Long.parseLong(f.get("mflags"), 16)).setMask((int) Long.parseLong(f.get("mask"), 16))
                    .setIgnoredMask((int) Long.parseLong(f.get("ignored_mask"), 16));
            if (f.containsKey("ino")) {
                int sdev = (int) Long.parseLong(f.get("sdev"), 16);
                var handle = Handles.entry(Integer.parseInt(f.get("fhandle-bytes"), 16), Integer.parseInt(f.get("fhandle-type"), 16),
                        Handles.hex(f.get("f_handle")));
                long ino = Long.parseLong(f.get("ino"), 16);
                String path;
                try {
                    path = Handles.resolve(sdev, ino, handle, files.options().forceIrmap, () -> Irmap.of(files));
                } catch (CriuException ex) {
                    throw new CriuException(ex.errno(), "Can't dump " + fd.describe() + ": the inode " + ino
                            + " of one of its marks: " + ex.getMessage(), ex);
                }
                var fh = handle.toBuilder();
                if (path != null) fh.setPath(path);
                m.setType(MarkType.INODE).setSDev(sdev).setIe(FanotifyInodeMarkEntry.newBuilder().setIIno(ino).setFHandle(fh));
                LOG.info("fanotify id %#x inode mark on %s mask %#x", id, path == null ? "its file handle" : path, m.getMask());
            } else if (f.containsKey("mnt_id")) {
                int mnt = (int) Long.parseLong(f.get("mnt_id"), 16);
                m.setType(MarkType.MOUNT).setSDev(0).setMe(FanotifyMountMarkEntry.newBuilder().setMntId(mnt).setPath(mountPoint(fd, mnt)));
                LOG.info("fanotify id %#x mount mark on mount %d mask %#x", id, mnt, m.getMask());
            } else {
                throw new CriuException("Can't dump " + fd.describe() + ": its filesystem-wide mark (" + line.strip() + ") is not supported");
            }
            e.addMark(m);
        }
        return FileEntry.newBuilder().setType(FdTypes.FANOTIFY).setId(id).setFfy(e).build();
    }

    private static String mountPoint(OpenFd fd, int mntId) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + fd.pid() + "/mountinfo"))) {
                String[] w = l.split(" ");
                if (Integer.parseInt(w[0]) == mntId) return w[4].replace("\\040", " ");
            }
        } catch (java.io.IOException ex) {
            throw new CriuException("Can't read /proc/" + fd.pid() + "/mountinfo: " + ex.getMessage());
        }
        throw new CriuException("Can't dump " + fd.describe() + ": it marks mount " + mntId + ", which task " + fd.pid() + " does not see");
    }

    @Override
    public int open(FileEntry fe, FileRestorer r) {
        FanotifyFileEntry e = fe.getFfy();
        var t = r.task();
        int fd = (int) t.syscall(Nr.FANOTIFY_INIT, e.getFaflags() & ~FAN_CLOEXEC, e.getEvflags());
        for (FanotifyMarkEntry m : e.getMarkList()) {
            Target target = m.getType() == MarkType.MOUNT ? new Target(m.getMe().getPath(), -1, null)
                    : Target.of(m.getIe().getFHandle(), m.getSDev(), r);
            String path = target.path();
            int flags = FAN_MARK_ADD | m.getMflags() | (m.getType() == MarkType.MOUNT ? FAN_MARK_MOUNT : 0);
            try (target; Scratch s = RegFileHandler.pathIn(t, path)) {
                if (m.getMask() != 0) t.syscall(Nr.FANOTIFY_MARK, fd, flags, m.getMask() & 0xffffffffL, Linux.AT_FDCWD, s.addr());
                if (m.getIgnoredMask() != 0) {
                    t.syscall(Nr.FANOTIFY_MARK, fd, flags | FAN_MARK_IGNORED_MASK, m.getIgnoredMask() & 0xffffffffL, Linux.AT_FDCWD, s.addr());
                }
            } catch (CriuException ex) {
                throw new CriuException(ex.errno(), "fanotify mark on " + path + " (mask " + Integer.toHexString(m.getMask()) + "): "
                        + ex.getMessage(), ex);
            }
        }
        AnonFd.fileFlags(t, fd, e.getFlags());
        return fd;
    }
}
