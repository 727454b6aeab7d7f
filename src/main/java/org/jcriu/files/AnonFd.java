package org.jcriu.files;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * What the handlers of anonymous-inode files (eventfd, epoll, signalfd, timerfd, inotify, pidfd)
 * share: reading the "key: value" lines the kernel adds to /proc/PID/fdinfo/N for them, passing
 * small structs to injected syscalls, and the file flags a new fd gets back.
 */
public final class AnonFd {
    /** No F_SETOWN owner: what CRIU writes for a file nobody asked signals from. */
    public static final FownEntry NO_OWNER = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();

    private AnonFd() {}

    /** The value of the first fdinfo line {@code key: value}, stripped; an error naming the fd when absent. */
    public static String field(OpenFd fd, String key) {
        String v = fieldOrNull(fd.info().text(), key);
        if (v == null) throw new CriuException("Can't dump " + fd.describe() + ": no \"" + key + ":\" in its fdinfo");
        return v;
    }

    public static String fieldOrNull(String fdinfo, String key) {
        for (String line : fdinfo.split("\n")) {
            if (line.startsWith(key + ":")) return line.substring(key.length() + 1).strip();
        }
        return null;
    }

    /** "(SEC, NSEC)" as two longs. */
    public static long[] pair(String v) {
        String s = v.replace("(", "").replace(")", "");
        int comma = s.indexOf(',');
        return new long[] {Long.parseLong(s.substring(0, comma).strip()), Long.parseLong(s.substring(comma + 1).strip())};
    }

    /** Little-endian bytes of the given longs (each {@code widths[i]} bytes wide: 4 or 8), as structs are laid out. */
    public static byte[] le(int[] widths, long... values) {
        int n = 0;
        for (int w : widths) n += w;
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            if (widths[i] == 4) b.putInt((int) values[i]);
            else b.putLong(values[i]);
        }
        return b.array();
    }

    /** Runs {@code nr} in the task with {@code data} copied to task memory as the argument {@code argIndex}. */
    public static long withStruct(Task t, byte[] data, long nr, int argIndex, long... args) {
        try (Scratch s = t.scratch(data.length)) {
            s.put(0, data);
            long[] a = args.clone();
            a[argIndex] = s.addr();
            return t.syscall(nr, a);
        }
    }

    /** Sets O_NONBLOCK / O_APPEND on task fd {@code fd} as {@code fileFlags} has them (other status flags are not settable). */
    public static void fileFlags(Task t, int fd, int fileFlags) {
        int settable = Linux.O_APPEND | Linux.O_NONBLOCK;
        long cur = t.syscall(Nr.FCNTL, fd, Linux.F_GETFL);
        if ((cur & settable) != (fileFlags & settable)) t.syscall(Nr.FCNTL, fd, Linux.F_SETFL, (cur & ~settable) | (fileFlags & settable));
    }
}
