package org.jcriu.files.fsnotify;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jcriu.CriuException;
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
 * device (which needs CAP_DAC_READ_SEARCH).
 */
final class Handles {
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

    /** The path of the inode {@code handle} names on the filesystem of kernel device {@code sdev}. */
    static String path(int sdev, FhEntry handle) {
        String mnt = mountOf(sdev);
        byte[] h = bytes(handle);
        // an O_PATH mount fd gets EBADF from open_by_handle_at here (6.18): open the directory
        int mfd = Sys.open(mnt, Linux.O_RDONLY | O_DIRECTORY | Linux.O_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fh = a.allocate(8 + h.length, 4);
            fh.set(JAVA_INT, 0, h.length);
            fh.set(JAVA_INT, 4, handle.getType());
            MemorySegment.copy(h, 0, fh, JAVA_BYTE, 8, h.length);
            long fd = Sys.raw(Nr.OPEN_BY_HANDLE_AT, mfd, fh.address(), O_PATH | Linux.O_CLOEXEC);
            ErrnoException.check(fd, "open_by_handle_at(" + mnt + ")");
            try {
                String p = Sys.readlink("/proc/self/fd/" + fd);
                if (p.endsWith(" (deleted)")) throw new CriuException("it was deleted (" + p + ")");
                return p;
            } finally {
                Sys.close((int) fd);
            }
        } finally {
            Sys.close(mfd);
        }
    }

    /** A mount point (in jcriu's mount namespace, which is the task's) of the kernel device {@code sdev}. */
    private static String mountOf(int sdev) {
        String dev = (sdev >>> 20) + ":" + (sdev & 0xfffff);
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f[2].equals(dev)) return f[4].replace("\\040", " ");
            }
        } catch (java.io.IOException e) {
            throw new CriuException("Can't read /proc/self/mountinfo: " + e.getMessage());
        }
        throw new CriuException("no mount of device " + dev);
    }
}
