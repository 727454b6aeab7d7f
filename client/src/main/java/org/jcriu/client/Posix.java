package org.jcriu.client;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The few system calls the protocol needs and Java lacks: SOCK_SEQPACKET sockets (NIO has only
 * stream UNIX sockets), record-sized receives, and spawning criu with the socket as its fd 3
 * (ProcessBuilder passes no descriptors beyond 0-2). x86_64 Linux.
 */
final class Posix {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(LINKER.defaultLookup().find("syscall").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));

    static final int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 02000000, MSG_PEEK = 2, MSG_TRUNC = 0x20,
            MSG_NOSIGNAL = 0x4000, EINTR = 4, ECHILD = 10;
    private static final long NR_CLOSE = 3, NR_SOCKET = 41, NR_CONNECT = 42, NR_SENDTO = 44, NR_RECVFROM = 45,
            NR_RECVMSG = 47, NR_SOCKETPAIR = 53, NR_WAIT4 = 61, NR_KILL = 62;

    private Posix() {}

    private static long sys(String what, long nr, long... a) {
        long[] x = new long[6];
        System.arraycopy(a, 0, x, 0, a.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(CAPTURE);
            while (true) {
                long r = (long) SYSCALL.invokeExact(st, nr, x[0], x[1], x[2], x[3], x[4], x[5]);
                if (r != -1) return r;
                int errno = (int) ERRNO.get(st, 0L);
                if (errno == EINTR) continue;
                throw new CriuRpcException(what + " failed: errno " + errno, errno);
            }
        } catch (CriuRpcException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static int[] socketpair() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(JAVA_INT, 2);
            sys("socketpair", NR_SOCKETPAIR, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv.address());
            return new int[] {sv.getAtIndex(JAVA_INT, 0), sv.getAtIndex(JAVA_INT, 1)};
        }
    }

    static int connect(String path) {
        int fd = (int) sys("socket", NR_SOCKET, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined()) {
            byte[] p = path.getBytes(StandardCharsets.UTF_8);
            if (p.length >= 108) throw new CriuRpcException("socket path too long: " + path, 36);
            MemorySegment sa = a.allocate(2 + p.length + 1, 8);
            sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(p, 0, sa, JAVA_BYTE, 2, p.length);
            sys("connect(" + path + ")", NR_CONNECT, fd, sa.address(), sa.byteSize());
            return fd;
        } catch (RuntimeException e) {
            close(fd);
            throw e;
        }
    }

    static void send(int fd, byte[] data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
            sys("send", NR_SENDTO, fd, buf.address(), data.length, MSG_NOSIGNAL, 0, 0);
        }
    }

    /** A record (empty at end of stream) and the descriptor criu passed with it (SCM_RIGHTS), -1 for none. */
    record Received(byte[] data, int fd) {}

    private static final int SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_CMSG_CLOEXEC = 0x40000000;

    /**
     * One whole record with its descriptor: criu sends the orphan-pts-master notification with
     * the pty master attached, which a plain recv would drop (the kernel closes passed fds that
     * find no control buffer).
     */
    static Received recvWithFd(int fd) {
        int len = (int) sys("recv", NR_RECVFROM, fd, 0, 0, MSG_PEEK | MSG_TRUNC, 0, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, len));
            MemorySegment iov = a.allocate(16, 8);
            iov.set(JAVA_LONG, 0, buf.address());
            iov.set(JAVA_LONG, 8, len);
            MemorySegment ctl = a.allocate(64, 8);
            // struct msghdr: name, namelen, iov, iovlen, control, controllen, flags
            MemorySegment msg = a.allocate(56, 8);
            msg.set(JAVA_LONG, 16, iov.address());
            msg.set(JAVA_LONG, 24, 1);
            msg.set(JAVA_LONG, 32, ctl.address());
            msg.set(JAVA_LONG, 40, ctl.byteSize());
            long n = sys("recvmsg", NR_RECVMSG, fd, msg.address(), MSG_CMSG_CLOEXEC);
            int got = -1;
            long ctlLen = msg.get(JAVA_LONG, 40);
            if (ctlLen >= 20 && ctl.get(JAVA_INT, 8) == SOL_SOCKET && ctl.get(JAVA_INT, 12) == SCM_RIGHTS) {
                int fds = (int) ((ctl.get(JAVA_LONG, 0) - 16) / 4);
                for (int i = 0; i < fds; i++) {
                    int f = ctl.get(JAVA_INT, 16 + 4L * i);
                    if (got < 0) got = f;
                    else close(f);
                }
            }
            return new Received(buf.asSlice(0, n).toArray(JAVA_BYTE), got);
        }
    }

    static void close(int fd) {
        try {
            sys("close", NR_CLOSE, fd);
        } catch (CriuRpcException e) {
            // already gone
        }
    }

    static int waitpid(int pid) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(JAVA_INT);
            sys("wait4(" + pid + ")", NR_WAIT4, pid, st.address(), 0, 0);
            return st.get(JAVA_INT, 0);
        }
    }

    static void kill(int pid, int sig) {
        sys("kill(" + pid + ")", NR_KILL, pid, sig);
    }

    /** {@code argv} with {@code fd} as the child's fd 3 and nothing else beyond stdio. */
    /** Linked on first use (a self-checkpoint's latency includes the first call), then kept. */
    private static final class Spawn {
        static final MethodHandle SPAWN = libc("posix_spawnp", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        static final MethodHandle FA_INIT = libc("posix_spawn_file_actions_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle FA_DUP2 = libc("posix_spawn_file_actions_adddup2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        static final MethodHandle FA_CLOSEFROM = libc("posix_spawn_file_actions_addclosefrom_np", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle FA_DESTROY = libc("posix_spawn_file_actions_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    static int spawnWithFd3(List<String> argv, int fd) {
        MethodHandle spawn = Spawn.SPAWN, faInit = Spawn.FA_INIT, faDup2 = Spawn.FA_DUP2, faCloseFrom = Spawn.FA_CLOSEFROM,
                faDestroy = Spawn.FA_DESTROY;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fa = a.allocate(256, 16);
            MemorySegment av = a.allocate(ADDRESS, argv.size() + 1);
            for (int i = 0; i < argv.size(); i++) av.setAtIndex(ADDRESS, i, a.allocateFrom(argv.get(i)));
            var env = System.getenv().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
            MemorySegment ev = a.allocate(ADDRESS, env.size() + 1);
            for (int i = 0; i < env.size(); i++) ev.setAtIndex(ADDRESS, i, a.allocateFrom(env.get(i)));
            MemorySegment pid = a.allocate(JAVA_INT);
            int rc = (int) faInit.invokeExact(fa);
            try {
                if (rc == 0) rc = (int) faDup2.invokeExact(fa, fd, 3);
                if (rc == 0) rc = (int) faCloseFrom.invokeExact(fa, 4);
                if (rc == 0) rc = (int) spawn.invokeExact(pid, a.allocateFrom(argv.getFirst()), fa, MemorySegment.NULL, av, ev);
            } finally {
                int ignored = (int) faDestroy.invokeExact(fa);
            }
            if (rc != 0) throw new CriuRpcException("can't start " + argv.getFirst() + ": errno " + rc, rc);
            return pid.get(JAVA_INT, 0);
        } catch (CriuRpcException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static MethodHandle libc(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), fd);
    }
}
