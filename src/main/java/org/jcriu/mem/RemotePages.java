package org.jcriu.mem;

import java.lang.foreign.MemorySegment;
import java.util.function.LongConsumer;

import org.jcriu.CriuException;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/**
 * Reads the pages of another task into local memory: process_vm_readv for the bulk, and
 * /proc/PID/mem for what it cannot read. process_vm_readv stops at the first page without
 * PROT_READ (or unmapped); /proc/PID/mem reads through PROT_NONE because the kernel serves it
 * with FOLL_FORCE. Safe for several threads: the /proc/PID/mem fd is opened on first need and
 * shared until {@link #close}.
 */
public final class RemotePages implements AutoCloseable {
    private final int pid;
    private int memFd = -1;

    public RemotePages(int pid) {
        this.pid = pid;
    }

    public int pid() {
        return pid;
    }

    /**
     * Fills {@code buf} with the {@code n} ranges {@code addr[i]}, {@code len[i]}, one after the
     * other. A page that neither call can read is given to {@code lost} as its byte offset in
     * {@code buf} (a task that runs may unmap pages after they were listed), or fails naming the
     * task and address when {@code lost} is null. The task being gone altogether always fails.
     */
    public void read(MemorySegment buf, long[] addr, long[] len, int n, LongConsumer lost) {
        long bytes = 0;
        for (int i = 0; i < n; i++) bytes += len[i];
        long got;
        try {
            got = n == 1 ? Sys.processVmReadv(pid, buf, addr[0], len[0]) : Sys.processVmReadv(pid, buf, addr, len, n);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EFAULT && e.errno() != Errno.EIO) throw e;
            got = 0;
        }
        if (got < bytes) readRest(buf, addr, len, n, got, lost);
    }

    /** One range: {@link #read(MemorySegment, long[], long[], int, LongConsumer)}. */
    public void read(MemorySegment buf, long addr, long len, LongConsumer lost) {
        read(buf, new long[] {addr}, new long[] {len}, 1, lost);
    }

    private void readRest(MemorySegment buf, long[] addr, long[] len, int n, long from, LongConsumer lost) {
        int fd = memFd();
        long off = 0;
        for (int i = 0; i < n; i++) {
            long end = off + len[i];
            if (end > from) {
                long skip = Math.max(0, from - off);
                MemorySegment dst = buf.asSlice(off + skip, len[i] - skip);
                long remote = addr[i] + skip;
                if (lost == null) {
                    readStrict(fd, dst, remote);
                } else if (!readFully(fd, dst, remote)) {
                    // page by page after a failure, so that one vanished page costs only itself
                    for (long p = 0; p < dst.byteSize(); p += Linux.PAGE_SIZE) {
                        if (!readFully(fd, dst.asSlice(p, Math.min(Linux.PAGE_SIZE, dst.byteSize() - p)), remote + p)) {
                            lost.accept(off + skip + p);
                        }
                    }
                }
            }
            off = end;
        }
    }

    private void readStrict(int fd, MemorySegment dst, long remote) {
        ErrnoException[] err = new ErrnoException[1];
        long done = readUpTo(fd, dst, remote, err);
        if (done == dst.byteSize()) return;
        String where = String.format("Can't read memory of task %d at 0x%x (%d bytes)", pid, remote + done, dst.byteSize() - done);
        if (err[0] != null) throw new CriuException(err[0].errno(), where + ": " + err[0].getMessage());
        throw new CriuException(where);
    }

    private static boolean readFully(int fd, MemorySegment dst, long remote) {
        ErrnoException[] err = new ErrnoException[1];
        boolean all = readUpTo(fd, dst, remote, err) == dst.byteSize();
        if (err[0] != null && err[0].errno() == Errno.ESRCH) throw err[0]; // the task is gone, not a page
        return all;
    }

    /** Bytes read into {@code dst} before the first failure or end of data; the failure in {@code err[0]}. */
    private static long readUpTo(int fd, MemorySegment dst, long remote, ErrnoException[] err) {
        long done = 0;
        while (done < dst.byteSize()) {
            long r;
            try {
                r = Sys.pread(fd, dst.asSlice(done), dst.byteSize() - done, remote + done);
            } catch (ErrnoException e) {
                err[0] = e;
                return done;
            }
            if (r <= 0) return done;
            done += r;
        }
        return done;
    }

    private synchronized int memFd() {
        if (memFd < 0) memFd = Sys.open("/proc/" + pid + "/mem", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        return memFd;
    }

    @Override
    public synchronized void close() {
        if (memFd >= 0) Sys.close(memFd);
        memFd = -1;
    }
}
