package org.jcriu.sys;

import org.jcriu.sys.ffi.Native;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Typed syscalls for jcriu's own process. Every call either returns its result or throws an
 * {@link ErrnoException} naming the call and its main argument; EINTR is retried here and
 * nowhere else.
 */
public final class Sys {
    private Sys() {}

    /** Per-thread buffers for small out-parameters (iovecs, stat, wait status). */
    private static final ThreadLocal<MemorySegment> SMALL = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(512, 16));

    /** The raw result: a value, or -errno. EINTR is retried. */
    public static long raw(long nr, long... a) {
        long r;
        do {
            r = Native.syscall(nr, arg(a, 0), arg(a, 1), arg(a, 2), arg(a, 3), arg(a, 4), arg(a, 5));
        } while (r == -Errno.EINTR);
        return r;
    }

    private static long arg(long[] a, int i) {
        return i < a.length ? a[i] : 0;
    }

    /** A syscall that must succeed; {@code what} names it in the error ("openat(/proc/1/mem)"). */
    public static long check(String what, long nr, long... a) {
        return ErrnoException.check(raw(nr, a), what);
    }

    public static long syscall(long nr, long... a) {
        return check("syscall " + nr, nr, a);
    }

    /** Links what {@link #posixSpawn} calls, ahead of time (warm-up threads). */
    public static void prepareSpawn() {
        Native.linkSpawn();
    }

    public static int getpid() {
        return (int) raw(Nr.GETPID);
    }

    public static int gettid() {
        return (int) raw(Nr.GETTID);
    }

    public static void kill(int pid, int sig) {
        check("kill(" + pid + ", " + sig + ")", Nr.KILL, pid, sig);
    }

    public static void tgkill(int tgid, int tid, int sig) {
        check("tgkill(" + tgid + ", " + tid + ", " + sig + ")", Nr.TGKILL, tgid, tid, sig);
    }

    public static int pidfdOpen(int pid) {
        return (int) check("pidfd_open(" + pid + ")", Nr.PIDFD_OPEN, pid, 0);
    }

    /** Duplicates fd {@code targetFd} of the process behind {@code pidfd} into ours (O_CLOEXEC). */
    public static int pidfdGetfd(int pidfd, int targetFd) {
        return (int) check("pidfd_getfd(" + targetFd + ")", Nr.PIDFD_GETFD, pidfd, targetFd, 0);
    }

    public static void close(int fd) {
        // close() is never retried: the fd is gone even when it reports EINTR.
        long r = Native.syscall(Nr.CLOSE, fd, 0, 0, 0, 0, 0);
        if (r < 0 && r != -Errno.EINTR) throw new ErrnoException((int) -r, "close(" + fd + ")");
    }

    public static int open(String path, int flags, int mode) {
        try (Arena a = Arena.ofConfined()) {
            return (int) check("open(" + path + ")", Nr.OPENAT, Linux.AT_FDCWD, a.allocateFrom(path).address(),
                    flags | Linux.O_CLOEXEC, mode);
        }
    }

    public static long read(int fd, MemorySegment buf, long len) {
        return check("read(" + fd + ")", Nr.READ, fd, buf.address(), len);
    }

    public static long write(int fd, MemorySegment buf, long len) {
        return check("write(" + fd + ")", Nr.WRITE, fd, buf.address(), len);
    }

    public static long pread(int fd, MemorySegment buf, long len, long off) {
        return check("pread(" + fd + ")", Nr.PREAD64, fd, buf.address(), len, off);
    }

    public static long pwrite(int fd, MemorySegment buf, long len, long off) {
        return check("pwrite(" + fd + ")", Nr.PWRITE64, fd, buf.address(), len, off);
    }

    /** A whole file read with read(2) until EOF: correct for /proc and /sys files, whose size is 0. */
    public static byte[] readFile(String path) {
        int fd = open(path, Linux.O_RDONLY, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(65536);
            byte[] out = new byte[0];
            int n = 0;
            while (true) {
                long r = read(fd, buf, buf.byteSize());
                if (r == 0) break;
                if (n + r > out.length) out = Arrays.copyOf(out, (int) Math.max(out.length * 2L, n + r));
                MemorySegment.copy(buf, JAVA_BYTE_LAYOUT, 0, out, n, (int) r);
                n += (int) r;
            }
            return n == out.length ? out : Arrays.copyOf(out, n);
        } finally {
            close(fd);
        }
    }

    private static final java.lang.foreign.ValueLayout.OfByte JAVA_BYTE_LAYOUT = java.lang.foreign.ValueLayout.JAVA_BYTE;

    public static String readString(String path) {
        return new String(readFile(path), StandardCharsets.UTF_8);
    }

    public static String readlink(String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(4097);
            long n = check("readlink(" + path + ")", Nr.READLINKAT, Linux.AT_FDCWD, a.allocateFrom(path).address(),
                    buf.address(), 4096);
            byte[] b = buf.asSlice(0, n).toArray(JAVA_BYTE_LAYOUT);
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    public static Stat stat(String path) {
        return fstatat(Linux.AT_FDCWD, path, 0);
    }

    public static Stat lstat(String path) {
        return fstatat(Linux.AT_FDCWD, path, Linux.AT_SYMLINK_NOFOLLOW);
    }

    public static Stat fstat(int fd) {
        return fstatat(fd, "", Linux.AT_EMPTY_PATH);
    }

    private static Stat fstatat(int dirfd, String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(Stat.SIZE, 8);
            check(path.isEmpty() ? "fstat(" + dirfd + ")" : "stat(" + path + ")", Nr.NEWFSTATAT, dirfd,
                    a.allocateFrom(path).address(), st.address(), flags);
            return Stat.of(st);
        }
    }

    /** wait4(); null when {@code WNOHANG} found nothing to report. */
    public static WaitStatus waitpid(int pid, int options) {
        MemorySegment st = SMALL.get();
        long r = check("wait4(" + pid + ")", Nr.WAIT4, pid, st.address(), options, 0);
        return r == 0 ? null : new WaitStatus((int) r, st.get(JAVA_INT, 0));
    }

    /** Reads {@code len} bytes at {@code remote} in task {@code pid}; returns how many were read. */
    public static long processVmReadv(int pid, MemorySegment local, long remote, long len) {
        return pvm(Nr.PROCESS_VM_READV, "process_vm_readv", pid, local, remote, len);
    }

    public static long processVmWritev(int pid, MemorySegment local, long remote, long len) {
        return pvm(Nr.PROCESS_VM_WRITEV, "process_vm_writev", pid, local, remote, len);
    }

    private static long pvm(long nr, String name, int pid, MemorySegment local, long remote, long len) {
        MemorySegment iov = SMALL.get();
        iov.set(JAVA_LONG, 0, local.address());
        iov.set(JAVA_LONG, 8, len);
        iov.set(JAVA_LONG, 16, remote);
        iov.set(JAVA_LONG, 24, len);
        // The message is only built on failure, without String.format (tens of ms the first time
        // in a JVM): this runs once per chunk of a memory dump, and fails on purpose when
        // compel writes to a read-only mapping before falling back to /proc/PID/mem.
        long r = raw(nr, pid, iov.address(), 1, iov.address() + 16, 1, 0);
        if (r < 0 && r > -4096) throw new ErrnoException((int) -r, name + "(" + pid + ", 0x" + Long.toHexString(remote) + ", " + len + ")");
        return r;
    }

    /**
     * Scatter form: one contiguous local buffer, {@code n} remote ranges (at most 1024, IOV_MAX).
     * Returns the byte count; a partial count means the range it stops in faulted.
     */
    public static long processVmReadv(int pid, MemorySegment local, long[] remote, long[] lens, int n) {
        return pvmv(Nr.PROCESS_VM_READV, "process_vm_readv", pid, local, remote, lens, n);
    }

    public static long processVmWritev(int pid, MemorySegment local, long[] remote, long[] lens, int n) {
        return pvmv(Nr.PROCESS_VM_WRITEV, "process_vm_writev", pid, local, remote, lens, n);
    }

    private static long pvmv(long nr, String name, int pid, MemorySegment local, long[] remote, long[] lens, int n) {
        if (n > 1024) throw new IllegalArgumentException("more than IOV_MAX ranges");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment liov = a.allocate(16, 8);
            MemorySegment riov = a.allocate(16L * n, 8);
            long total = 0;
            for (int i = 0; i < n; i++) {
                riov.set(JAVA_LONG, 16L * i, remote[i]);
                riov.set(JAVA_LONG, 16L * i + 8, lens[i]);
                total += lens[i];
            }
            liov.set(JAVA_LONG, 0, local.address());
            liov.set(JAVA_LONG, 8, total);
            long r = raw(nr, pid, liov.address(), 1, riov.address(), n, 0);
            if (r < 0 && r > -4096) {
                throw new ErrnoException((int) -r, name + "(" + pid + ", " + n + " ranges from 0x" + Long.toHexString(remote[0]) + ")");
            }
            return r;
        }
    }

    /** Bytes of task memory through /proc/PID/mem, which also reaches pages the task cannot write. */
    public static long memRead(int memFd, MemorySegment local, long remote, long len) {
        return pread(memFd, local, len, remote);
    }

    public static long memWrite(int memFd, MemorySegment local, long remote, long len) {
        return pwrite(memFd, local, len, remote);
    }

    /**
     * Starts {@code path} with posix_spawn: every fd >= 3 closed in the child, {@code stdio[i]} (a
     * fd of ours, or -1 to inherit ours) as its fd i, empty signal mask, default dispositions. Never
     * use ProcessBuilder for anything jcriu will trace: the JDK's reaper thread waits on its
     * children and steals their ptrace stops.
     */
    public static int posixSpawn(String path, List<String> argv, List<String> env, int[] stdio, boolean newSession) {
        int r = Native.posixSpawn(path, argv, env, stdio, newSession);
        if (r < 0) throw new ErrnoException(-r, "posix_spawn(" + path + ")");
        return r;
    }

    /** Pins thread {@code tid} (0 = the calling thread) to the CPUs in {@code mask}. */
    public static void setAffinity(int tid, long mask) {
        MemorySegment m = SMALL.get();
        m.set(JAVA_LONG, 0, mask);
        check("sched_setaffinity(" + tid + ")", Nr.SCHED_SETAFFINITY, tid, 8, m.address());
    }

    public static long getAffinity(int tid) {
        MemorySegment m = SMALL.get();
        m.set(JAVA_LONG, 0, 0);
        check("sched_getaffinity(" + tid + ")", Nr.SCHED_GETAFFINITY, tid, 8, m.address());
        return m.get(JAVA_LONG, 0);
    }
}
