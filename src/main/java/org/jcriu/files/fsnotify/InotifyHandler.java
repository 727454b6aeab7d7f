package org.jcriu.files.fsnotify;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.files.AnonFd;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.files.reg.RegFileHandler;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FhEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.InotifyFileEntry;
import org.jcriu.image.proto.InotifyWdEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * inotify: each watch (fdinfo "inotify wd:N ino:HEX sdev:HEX mask:HEX ignored_mask:HEX
 * fhandle-bytes:N fhandle-type:N f_handle:HEX") with the file handle the kernel gives for the
 * watched inode. The kernel only knows the inode, so the dump turns the handle back into a
 * path with open_by_handle_at (as CRIU does; it is written in f_handle.path) and restore adds
 * the watch by that path. The watch gets its number back with INOTIFY_IOC_SETNEXTWD (kernel
 * CONFIG_CHECKPOINT_RESTORE); without it, since the kernel numbers watches in increasing order,
 * a watch that comes back with a lower number is removed and added again until it gets its own.
 * Events queued at dump time are not saved (nor does CRIU save them).
 */
public final class InotifyHandler implements FileHandler {
    private static final Logger LOG = Log.get("fsnotify");
    /** wd numbers below the one wanted are skipped by removing and re-adding; more than this is absurd. */
    private static final int MAX_WD_TRIES = 1 << 16;
    /** _IOW('I', 0, __s32) */
    static final long INOTIFY_IOC_SETNEXTWD = 0x40044900L;

    @Override
    public FdTypes type() {
        return FdTypes.INOTIFY;
    }

    @Override
    public String name() {
        return "inotify";
    }

    static List<InotifyWdEntry.Builder> parse(String fdinfo) {
        List<InotifyWdEntry.Builder> out = new ArrayList<>();
        for (String line : fdinfo.split("\n")) {
            if (!line.startsWith("inotify ")) continue;
            InotifyWdEntry.Builder b = InotifyWdEntry.newBuilder().setId(0);
            int bytes = 0, type = 0;
            String handle = "";
            for (String w : line.substring(8).strip().split("\\s+")) {
                int c = w.indexOf(':');
                String k = w.substring(0, c), v = w.substring(c + 1);
                switch (k) {
                    case "wd" -> b.setWd(Integer.parseInt(v));
                    case "ino" -> b.setIIno(Long.parseLong(v, 16));
                    case "sdev" -> b.setSDev((int) Long.parseLong(v, 16));
                    case "mask" -> b.setMask((int) Long.parseLong(v, 16));
                    case "ignored_mask" -> b.setIgnoredMask((int) Long.parseLong(v, 16));
                    case "fhandle-bytes" -> bytes = Integer.parseInt(v, 16);
                    case "fhandle-type" -> type = Integer.parseInt(v, 16);
                    case "f_handle" -> handle = v;
                    default -> { }
                }
            }
            b.setFHandle(Handles.entry(bytes, type, Handles.hex(handle)));
            out.add(b);
        }
        return out;
    }

    /** An inode an inotify watch or a fanotify inode mark is on. */
    record Mark(int sdev, long ino, FhEntry handle) {}

    /** The inodes watched or marked in an inotify or fanotify fdinfo (mount marks have none). */
    static List<Mark> inodeMarks(String fdinfo) {
        List<Mark> out = new ArrayList<>();
        for (InotifyWdEntry.Builder w : parse(fdinfo)) out.add(new Mark(w.getSDev(), w.getIIno(), w.getFHandle()));
        for (String line : fdinfo.split("\n")) {
            if (!line.startsWith("fanotify ino:")) continue;
            java.util.Map<String, String> f = new java.util.HashMap<>();
            for (String w : line.substring(9).strip().split("\\s+")) {
                int c = w.indexOf(':');
                f.put(w.substring(0, c), w.substring(c + 1));
            }
            out.add(new Mark((int) Long.parseLong(f.get("sdev"), 16), Long.parseLong(f.get("ino"), 16),
                    Handles.entry(Integer.parseInt(f.get("fhandle-bytes"), 16), Integer.parseInt(f.get("fhandle-type"), 16),
                            Handles.hex(f.get("f_handle")))));
        }
        return out;
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        InotifyFileEntry.Builder e = InotifyFileEntry.newBuilder().setId(id).setFlags(fd.fileFlags()).setFown(AnonFd.NO_OWNER);
        for (InotifyWdEntry.Builder w : parse(fd.info().text())) {
            String path;
            try {
                path = Handles.resolve(w.getSDev(), w.getIIno(), w.getFHandle(), files.options().forceIrmap, () -> Irmap.of(files));
            } catch (CriuException ex) {
                throw new CriuException(ex.errno(), "Can't dump " + fd.describe() + ": the inode " + w.getIIno() + " its watch "
                        + w.getWd() + " is on: " + ex.getMessage(), ex);
            }
            if (path != null) w.setFHandle(w.getFHandle().toBuilder().setPath(path));
            LOG.info("inotify id %#x wd %d mask %#x on %s", id, w.getWd(), w.getMask(), path == null ? "its file handle" : path);
            e.addWd(w);
        }
        return FileEntry.newBuilder().setType(FdTypes.INOTIFY).setId(id).setIfy(e).build();
    }

    @Override
    public int open(FileEntry fe, FileRestorer r) {
        InotifyFileEntry e = fe.getIfy();
        var t = r.task();
        int fd = (int) t.syscall(Nr.INOTIFY_INIT1, e.getFlags() & Linux.O_NONBLOCK);
        List<InotifyWdEntry> wds = new ArrayList<>(e.getWdList());
        wds.sort(Comparator.comparingInt(InotifyWdEntry::getWd));
        for (InotifyWdEntry w : wds) {
            Target target = Target.of(w.getFHandle(), w.getSDev(), r);
            String path = target.path();
            // the kernel's own bits (IN_IGNORED, IN_ISDIR...) are not accepted back; IN_MASK_ADD would merge
            int mask = w.getMask() & ~Handles.IN_KERNEL_ONLY;
            try (target; Scratch s = RegFileHandler.pathIn(t, path)) {
                long set = t.syscallRaw(Nr.IOCTL, fd, INOTIFY_IOC_SETNEXTWD, w.getWd());
                if (set < 0 && set != -org.jcriu.sys.Errno.ENOTTY) {
                    throw new CriuException("ioctl(INOTIFY_IOC_SETNEXTWD, " + w.getWd() + "): " + org.jcriu.sys.Errno.name((int) -set));
                }
                int got = -1;
                for (int i = 0; i < MAX_WD_TRIES; i++) {
                    got = (int) t.syscall(Nr.INOTIFY_ADD_WATCH, fd, s.addr(), mask & 0xffffffffL);
                    if (got >= w.getWd()) break;
                    t.syscall(Nr.INOTIFY_RM_WATCH, fd, got);
                }
                if (got != w.getWd()) {
                    throw new CriuException("inotify watch on " + path + " came back as wd " + got + ", not " + w.getWd());
                }
            } catch (CriuException ex) {
                throw new CriuException(ex.errno(), "inotify watch " + w.getWd() + " on " + path + ": " + ex.getMessage(), ex);
            }
        }
        AnonFd.fileFlags(t, fd, e.getFlags());
        return fd;
    }
}
