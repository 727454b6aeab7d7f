package org.jcriu.sys;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** struct stat as x86_64 lays it out (144 bytes); times in nanoseconds since the epoch. */
public record Stat(long dev, long ino, long nlink, int mode, int uid, int gid, long rdev, long size,
                   long blksize, long blocks, long atimeNs, long mtimeNs, long ctimeNs) {
    public static final long SIZE = 144;

    static Stat of(MemorySegment s) {
        return new Stat(s.get(JAVA_LONG, 0), s.get(JAVA_LONG, 8), s.get(JAVA_LONG, 16), s.get(JAVA_INT, 24),
                s.get(JAVA_INT, 28), s.get(JAVA_INT, 32), s.get(JAVA_LONG, 40), s.get(JAVA_LONG, 48),
                s.get(JAVA_LONG, 56), s.get(JAVA_LONG, 64), ns(s, 72), ns(s, 88), ns(s, 104));
    }

    private static long ns(MemorySegment s, long off) {
        return s.get(JAVA_LONG, off) * 1_000_000_000L + s.get(JAVA_LONG, off + 8);
    }

    public int type() {
        return mode & Linux.S_IFMT;
    }

    public boolean isReg() {
        return type() == Linux.S_IFREG;
    }

    public boolean isDir() {
        return type() == Linux.S_IFDIR;
    }

    public boolean isChr() {
        return type() == Linux.S_IFCHR;
    }

    public boolean isFifo() {
        return type() == Linux.S_IFIFO;
    }

    public boolean isSock() {
        return type() == Linux.S_IFSOCK;
    }

    /** The kernel's new_encode_dev(): what /proc/PID/fdinfo and CRIU's images show as dev numbers. */
    public static int kdev(long glibcDev) {
        long major = ((glibcDev >>> 8) & 0xfff) | ((glibcDev >>> 32) & ~0xfffL);
        long minor = (glibcDev & 0xff) | ((glibcDev >>> 12) & ~0xffL);
        return (int) ((major << 20) | minor);
    }

    public static int major(long glibcDev) {
        return (int) (((glibcDev >>> 8) & 0xfff) | ((glibcDev >>> 32) & ~0xfffL));
    }

    public static int minor(long glibcDev) {
        return (int) ((glibcDev & 0xff) | ((glibcDev >>> 12) & ~0xffL));
    }
}
