package org.jcriu.files.fsnotify;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Stat;
import org.jcriu.image.proto.FhEntry;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * File handles of watched inodes (struct file_handle) as fsnotify marks carry them: kept in
 * fh_entry as the handle bytes packed into little-endian u64 words (at least 16 of them, as
 * CRIU writes), and turned back into a path with open_by_handle_at on a mount of the same
 * device (which needs CAP_DAC_READ_SEARCH), or reopened by the handle itself at restore.
 */
final class Handles {
    private static final Logger LOG = Log.get("fsnotify");
    /** fh_entry's minimum number of u64 words (FhEntrySizes.min_entries). */
    static final int MIN_WORDS = 16;
    /** Bits inotify reports but does not take in a mask: IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED, IN_ISDIR. */
    static final int IN_KERNEL_ONLY = 0x2000 | 0x4000 | 0x8000 | 0x40000000;
    private static final int O_PATH = 010000000, O_DIRECTORY = 0200000;

    private Handles() {}

    static byte[] hex(String s) {
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    static FhEntry entry(int bytes, int type, byte[] handle) {
        int words = Math.max(MIN_WORDS, (handle.length + 7) / 8);
        ByteBuffer b = ByteBuffer.allocate(words * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.put(handle).rewind();
        FhEntry.Builder e = FhEntry.newBuilder().setBytes(bytes).setType(type);
        for (int i = 0; i < words; i++) e.addHandle(b.getLong());
        return e.build();
    }

    static byte[] bytes(FhEntry e) {
        ByteBuffer b = ByteBuffer.allocate(e.getHandleCount() * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long w : e.getHandleList()) b.putLong(w);
        return java.util.Arrays.copyOf(b.array(), e.getBytes());
    }

    /**
     * The path to record for the inode a mark watches (CRIU's check_open_handle), or null to
     * record none and reopen the inode by its handle at restore. The handle is opened through
     * each mount of the device; the name the kernel gives the result is kept when it still
     * leads to that inode. When no mount opens the handle at all, or when one does but no name
     * leads back and --force-irmap is given, the inode is looked for by scanning
     * ({@link Irmap}). On tmpfs and devtmpfs, whose inode numbers and handles do not outlive
     * the mount, a path is required.
     */
    static String resolve(int sdev, long ino, FhEntry handle, boolean forceIrmap, java.util.function.Supplier<Irmap> irmap) {
        boolean opened = false;
        String fsType = null;
        for (org.jcriu.files.reg.MountInfo m : mountsOf(sdev)) {
            int fd = openThrough(m, handle);
            if (fd < 0) continue;
            opened = true;
            fsType = m.fsType();
            String p;
            try {
                p = Sys.readlink("/proc/self/fd/" + fd);
            } finally {
                Sys.close(fd);
            }
            try {
                Stat st = Sys.stat(p);
                if (Stat.kdev(st.dev()) == sdev && st.ino() == ino) return p;
            } catch (ErrnoException ex) {
                // a deleted or hidden name
            }
            LOG.debug("handle %x:%x opens as %s, which does not lead back to it", sdev, ino, p);
        }
        if (opened) {
            if ("tmpfs".equals(fsType) || "devtmpfs".equals(fsType)) {
                throw new CriuException(String.format("no path leads to inode %d of %s device %s (its handle will not survive the mount)",
                        ino, fsType, kdevName(sdev)));
            }
            if (!forceIrmap) return null;
        }
        String p = irmap.get().lookup(sdev, ino);
        if (p == null) {
            throw new CriuException(String.format("no path for inode %d of device %s found%s", ino, kdevName(sdev), opened
                    ? " by the irmap scan" : " (no mount of the device opens its handle; irmap scan found none either)"));
        }
        return p;
    }

    static String kdevName(int sdev) {
        return (sdev >>> 20) + ":" + (sdev & 0xfffff);
    }

    private static List<org.jcriu.files.reg.MountInfo> mountsOf(int sdev) {
        String dev = kdevName(sdev);
        List<org.jcriu.files.reg.MountInfo> out = new java.util.ArrayList<>();
        for (var m : org.jcriu.files.reg.MountInfo.of("self")) if (m.dev().equals(dev)) out.add(m);
        return out;
    }

    /** open_by_handle_at(O_PATH) through mount {@code m}; -1 when that mount cannot open it. */
    private static int openThrough(org.jcriu.files.reg.MountInfo m, FhEntry handle) {
        int mfd;
        try {
            // an O_PATH mount fd gets EBADF from open_by_handle_at here (6.18): open the directory
            mfd = Sys.open(m.mountPoint(), Linux.O_RDONLY | O_DIRECTORY | Linux.O_CLOEXEC, 0);
        } catch (ErrnoException ex) {
            return -1;
        }
        byte[] h = bytes(handle);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fh = a.allocate(8 + h.length, 4);
            fh.set(JAVA_INT, 0, h.length);
            fh.set(JAVA_INT, 4, handle.getType());
            MemorySegment.copy(h, 0, fh, JAVA_BYTE, 8, h.length);
            long fd = Sys.raw(Nr.OPEN_BY_HANDLE_AT, mfd, fh.address(), O_PATH | Linux.O_CLOEXEC);
            if (fd < 0) return -1;
            // the mount point may be covered by another file system whose handles look alike
            Stat st = Sys.fstat((int) fd);
            if (!kdevName(Stat.kdev(st.dev())).equals(m.dev())) {
                Sys.close((int) fd);
                return -1;
            }
            return (int) fd;
        } finally {
            Sys.close(mfd);
        }
    }

    /**
     * Restore of a mark recorded without a path: jcriu's O_PATH fd on the inode, opened by its
     * handle through a mount of device {@code sdev} (the caller closes it).
     */
    static int open(int sdev, FhEntry handle) {
        for (org.jcriu.files.reg.MountInfo m : mountsOf(sdev)) {
            int fd = openThrough(m, handle);
            if (fd >= 0) return fd;
        }
        throw new CriuException("Can't open the file handle of device " + kdevName(sdev) + " (type " + handle.getType()
                + "): no mount of the device here opens it");
    }
}
