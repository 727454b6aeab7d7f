package org.jcriu.files.pipe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jcriu.CriuException;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The bytes sitting in a pipe, copied without taking them out: a new reader is opened on the
 * pipe through /proc/PID/fd/N (anonymous pipes reopen like FIFOs), and tee(2) duplicates its
 * content into a pipe of ours, which we drain. The task's pipe keeps its data, so a dump that
 * fails or leaves the task running changes nothing.
 */
public final class PipeData {
    static final int SPLICE_F_NONBLOCK = 2;

    /** The pipe buffer size and its queued bytes; null when it cannot be reopened (then nothing is saved). */
    public record Content(int size, byte[] bytes) {}

    private PipeData() {}

    public static Content peek(int pid, int fd) {
        int in;
        try {
            in = Sys.open("/proc/" + pid + "/fd/" + fd, Linux.O_RDONLY | Linux.O_NONBLOCK, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't open pipe fd " + fd + " of task " + pid + " to read its data: " + e.getMessage());
        }
        try (Arena a = Arena.ofConfined()) {
            int size = (int) Sys.check("fcntl(F_GETPIPE_SZ)", Nr.FCNTL, in, Linux.F_GETPIPE_SZ);
            MemorySegment ends = a.allocate(8, 4);
            Sys.check("pipe2", Nr.PIPE2, ends.address(), Linux.O_CLOEXEC | Linux.O_NONBLOCK);
            int r = ends.get(JAVA_INT, 0), w = ends.get(JAVA_INT, 4);
            try {
                Sys.check("fcntl(F_SETPIPE_SZ)", Nr.FCNTL, w, Linux.F_SETPIPE_SZ, size);
                long n = Sys.raw(Nr.TEE, in, w, size, SPLICE_F_NONBLOCK);
                if (n == -Errno.EAGAIN || n == 0) return new Content(size, new byte[0]);
                ErrnoException.check(n, "tee(pipe fd " + fd + " of task " + pid + ")");
                MemorySegment buf = a.allocate(n);
                long got = 0;
                while (got < n) got += Sys.read(r, buf.asSlice(got), n - got);
                return new Content(size, buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            } finally {
                Sys.close(r);
                Sys.close(w);
            }
        } finally {
            Sys.close(in);
        }
    }

    /** Queues {@code data} into the pipe whose write end is fd {@code wfd} of task {@code pid}, after setting its size. */
    public static void fill(int pid, int wfd, int size, byte[] data) {
        int out = Sys.open("/proc/" + pid + "/fd/" + wfd, Linux.O_WRONLY | Linux.O_NONBLOCK, 0);
        try (Arena a = Arena.ofConfined()) {
            if (size > 0) Sys.check("fcntl(F_SETPIPE_SZ)", Nr.FCNTL, out, Linux.F_SETPIPE_SZ, size);
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, data.length);
            long put = 0;
            while (put < data.length) put += Sys.write(out, buf.asSlice(put), data.length - put);
        } finally {
            Sys.close(out);
        }
    }
}
