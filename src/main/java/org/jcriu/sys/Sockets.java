package org.jcriu.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * AF_UNIX sockets as the RPC server needs them: SOCK_SEQPACKET listening and connected sockets,
 * datagram-sized receives (MSG_PEEK|MSG_TRUNC tells the size of the next record without
 * consuming it), sends with an optional SCM_RIGHTS fd, and the peer's credentials.
 */
public final class Sockets {
    private Sockets() {}

    public static final long NR_SENDTO = 44, NR_RECVFROM = 45, NR_SHUTDOWN = 48, NR_LISTEN = 50, NR_SOCKETPAIR = 53,
            NR_ACCEPT4 = 288;
    public static final int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5,
            SOCK_CLOEXEC = Linux.O_CLOEXEC, SOCK_NONBLOCK = Linux.O_NONBLOCK;
    public static final int MSG_PEEK = 2, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000,
            MSG_CMSG_CLOEXEC = 0x40000000;
    public static final int SOL_SOCKET = 1, SO_PEERCRED = 17, SCM_RIGHTS = 1;
    public static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
    /** sizeof(sun_path): a longer address cannot be bound. */
    public static final int UNIX_PATH_MAX = 108;

    /** struct ucred of the process at the other end, as it was when the connection was made. */
    public record Ucred(int pid, int uid, int gid) {}

    public static int socket(int type) {
        return (int) Sys.check("socket(AF_UNIX, " + type + ")", Nr.SOCKET, AF_UNIX, type | SOCK_CLOEXEC, 0);
    }

    /** A connected pair, both ends close-on-exec. */
    public static int[] socketpair(int type) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(JAVA_INT, 2);
            Sys.check("socketpair(AF_UNIX, " + type + ")", NR_SOCKETPAIR, AF_UNIX, type | SOCK_CLOEXEC, 0, sv.address());
            return new int[] {sv.getAtIndex(JAVA_INT, 0), sv.getAtIndex(JAVA_INT, 1)};
        }
    }

    public static void bind(int fd, String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = sockaddr(a, path);
            Sys.check("bind(" + path + ")", Nr.BIND, fd, sa.address(), sa.byteSize());
        }
    }

    public static void connect(int fd, String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = sockaddr(a, path);
            Sys.check("connect(" + path + ")", Nr.CONNECT, fd, sa.address(), sa.byteSize());
        }
    }

    public static void listen(int fd, int backlog) {
        Sys.check("listen(" + fd + ")", NR_LISTEN, fd, backlog);
    }

    /** A new connection, close-on-exec. */
    public static int accept(int fd) {
        return (int) Sys.check("accept4(" + fd + ")", NR_ACCEPT4, fd, 0, 0, SOCK_CLOEXEC);
    }

    public static void shutdown(int fd, int how) {
        Sys.check("shutdown(" + fd + ")", NR_SHUTDOWN, fd, how);
    }

    /** struct sockaddr_un with the path NUL-terminated; the length counts family + path + NUL. */
    private static MemorySegment sockaddr(Arena a, String path) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= UNIX_PATH_MAX) {
            throw new ErrnoException(Errno.ENAMETOOLONG, "socket address " + path);
        }
        MemorySegment sa = a.allocate(2 + p.length + 1, 8);
        sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(p, 0, sa, JAVA_BYTE, 2, p.length);
        return sa;
    }

    /**
     * The size of the next record without consuming it (recv with MSG_PEEK|MSG_TRUNC returns the
     * real datagram length even with a zero-sized buffer); 0 means the peer closed the socket.
     */
    public static int peekSize(int fd) {
        return (int) Sys.check("recv(" + fd + ", MSG_PEEK|MSG_TRUNC)", NR_RECVFROM, fd, 0, 0, MSG_PEEK | MSG_TRUNC, 0, 0);
    }

    /** Receives one record of at most {@code max} bytes; an empty array means end of stream. */
    public static byte[] recv(int fd, int max) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(max, 1));
            long n = Sys.check("recv(" + fd + ")", NR_RECVFROM, fd, buf.address(), max, 0, 0, 0);
            return buf.asSlice(0, Math.min(n, max)).toArray(JAVA_BYTE);
        }
    }

    /** The next record's bytes, left in the queue (MSG_PEEK). */
    public static byte[] recvPeek(int fd, int max) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(max, 1));
            long n = Sys.check("recv(" + fd + ", MSG_PEEK)", NR_RECVFROM, fd, buf.address(), max, MSG_PEEK, 0, 0);
            return buf.asSlice(0, Math.min(n, max)).toArray(JAVA_BYTE);
        }
    }

    /** Sends one record; {@code passFd} >= 0 goes along as SCM_RIGHTS. MSG_NOSIGNAL: a gone peer is EPIPE, not a signal. */
    public static void send(int fd, byte[] data, int passFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(data.length, 1));
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
            // struct msghdr (56 bytes), one iovec, and a cmsghdr(16) + int padded to CMSG_SPACE = 24.
            MemorySegment msg = a.allocate(56, 8);
            MemorySegment iov = a.allocate(16, 8);
            iov.set(JAVA_LONG, 0, buf.address());
            iov.set(JAVA_LONG, 8, data.length);
            msg.set(JAVA_LONG, 16, iov.address());
            msg.set(JAVA_LONG, 24, 1);
            if (passFd >= 0) {
                MemorySegment cmsg = a.allocate(24, 8);
                cmsg.set(JAVA_LONG, 0, 20);          // cmsg_len = CMSG_LEN(sizeof(int))
                cmsg.set(JAVA_INT, 8, SOL_SOCKET);
                cmsg.set(JAVA_INT, 12, SCM_RIGHTS);
                cmsg.set(JAVA_INT, 16, passFd);
                msg.set(JAVA_LONG, 32, cmsg.address());
                msg.set(JAVA_LONG, 40, 24);
            }
            long n = Sys.check("sendmsg(" + fd + ")", Nr.SENDMSG, fd, msg.address(), MSG_NOSIGNAL);
            if (n != data.length) throw new ErrnoException(Errno.EIO, "sendmsg(" + fd + "): short send of " + n + " bytes");
        }
    }

    /** One record and the fds that came with it (close-on-exec); used by tests acting as clients. */
    public record Received(byte[] data, int[] fds) {}

    public static Received recvWithFds(int fd, int max) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(max, 1));
            MemorySegment msg = a.allocate(56, 8);
            MemorySegment iov = a.allocate(16, 8);
            MemorySegment cbuf = a.allocate(256, 8);
            iov.set(JAVA_LONG, 0, buf.address());
            iov.set(JAVA_LONG, 8, max);
            msg.set(JAVA_LONG, 16, iov.address());
            msg.set(JAVA_LONG, 24, 1);
            msg.set(JAVA_LONG, 32, cbuf.address());
            msg.set(JAVA_LONG, 40, cbuf.byteSize());
            long n = Sys.check("recvmsg(" + fd + ")", Nr.RECVMSG, fd, msg.address(), MSG_CMSG_CLOEXEC);
            long clen = msg.get(JAVA_LONG, 40);
            int[] fds = new int[0];
            long off = 0;
            while (off + 16 <= clen) {
                long len = cbuf.get(JAVA_LONG, off);
                if (len < 16) break;
                if (cbuf.get(JAVA_INT, off + 8) == SOL_SOCKET && cbuf.get(JAVA_INT, off + 12) == SCM_RIGHTS) {
                    int k = (int) ((len - 16) / 4);
                    int[] more = new int[fds.length + k];
                    System.arraycopy(fds, 0, more, 0, fds.length);
                    for (int i = 0; i < k; i++) more[fds.length + i] = cbuf.get(JAVA_INT, off + 16 + 4L * i);
                    fds = more;
                }
                off += (len + 7) & ~7L;
            }
            return new Received(buf.asSlice(0, Math.min(n, max)).toArray(JAVA_BYTE), fds);
        }
    }

    public static Ucred peerCred(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cred = a.allocate(12, 4);
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, 12);
            Sys.check("getsockopt(" + fd + ", SO_PEERCRED)", Nr.GETSOCKOPT, fd, SOL_SOCKET, SO_PEERCRED, cred.address(),
                    len.address());
            return new Ucred(cred.get(JAVA_INT, 0), cred.get(JAVA_INT, 4), cred.get(JAVA_INT, 8));
        }
    }

    public static final int SO_REUSEADDR = 2, SO_DONTROUTE = 5, SO_BROADCAST = 6, SO_SNDBUF = 7, SO_RCVBUF = 8,
            SO_KEEPALIVE = 9, SO_OOBINLINE = 10, SO_NO_CHECK = 11, SO_PRIORITY = 12, SO_LINGER = 13, SO_REUSEPORT = 15,
            SO_PASSCRED = 16, SO_RCVLOWAT = 18, SO_RCVTIMEO = 20, SO_SNDTIMEO = 21, SO_SNDBUFFORCE = 32,
            SO_RCVBUFFORCE = 33, SO_PASSSEC = 34, SO_MARK = 36, SO_PEEK_OFF = 42, SO_BUF_LOCK = 72;
    public static final int SCM_CREDENTIALS = 2;

    public static int getInt(int fd, int level, int opt) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, 4);
            Sys.check("getsockopt(" + fd + ", " + level + ", " + opt + ")", Nr.GETSOCKOPT, fd, level, opt, v.address(), len.address());
            return v.get(JAVA_INT, 0);
        }
    }

    public static void setInt(int fd, int level, int opt, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            v.set(JAVA_INT, 0, value);
            Sys.check("setsockopt(" + fd + ", " + level + ", " + opt + ", " + value + ")", Nr.SETSOCKOPT, fd, level, opt, v.address(), 4);
        }
    }

    /** SO_RCVTIMEO / SO_SNDTIMEO as {seconds, microseconds} (struct timeval). */
    public static long[] getTimeval(int fd, int opt) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(16, 8);
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, 16);
            Sys.check("getsockopt(" + fd + ", SOL_SOCKET, " + opt + ")", Nr.GETSOCKOPT, fd, SOL_SOCKET, opt, v.address(), len.address());
            return new long[] {v.get(JAVA_LONG, 0), v.get(JAVA_LONG, 8)};
        }
    }

    public static void setTimeval(int fd, int opt, long sec, long usec) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(16, 8);
            v.set(JAVA_LONG, 0, sec);
            v.set(JAVA_LONG, 8, usec);
            Sys.check("setsockopt(" + fd + ", SOL_SOCKET, " + opt + ")", Nr.SETSOCKOPT, fd, SOL_SOCKET, opt, v.address(), 16);
        }
    }

    /** One queued record: its bytes, and how many fds ride along with it as SCM_RIGHTS. */
    public record Queued(byte[] data, int rights) {}

    /**
     * The receive queue of {@code fd}, record by record, left in place: with SO_PEEK_OFF enabled
     * each MSG_PEEK starts where the previous one stopped (a datagram per call, stream data in
     * chunks), and the socket's own peek offset is put back afterwards. Fds passed with
     * SCM_RIGHTS are installed in jcriu by a peek too: they are closed at once and counted.
     * {@code max} must exceed the largest datagram (a truncated one fails).
     */
    public static java.util.List<Queued> peekQueue(int fd, int max) {
        java.util.List<Queued> out = new java.util.ArrayList<>();
        int saved = getInt(fd, SOL_SOCKET, SO_PEEK_OFF);
        setInt(fd, SOL_SOCKET, SO_PEEK_OFF, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(max, 1));
            MemorySegment msg = a.allocate(56, 8);
            MemorySegment iov = a.allocate(16, 8);
            MemorySegment cbuf = a.allocate(1024, 8);
            while (true) {
                iov.set(JAVA_LONG, 0, buf.address());
                iov.set(JAVA_LONG, 8, max);
                msg.fill((byte) 0);
                msg.set(JAVA_LONG, 16, iov.address());
                msg.set(JAVA_LONG, 24, 1);
                msg.set(JAVA_LONG, 32, cbuf.address());
                msg.set(JAVA_LONG, 40, cbuf.byteSize());
                long n = Sys.raw(Nr.RECVMSG, fd, msg.address(), MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n == -Errno.EAGAIN || n == 0) break;
                ErrnoException.check(n, "recvmsg(" + fd + ", MSG_PEEK)");
                int flags = msg.get(JAVA_INT, 48);
                if ((flags & MSG_TRUNC) != 0) {
                    throw new ErrnoException(Errno.E2BIG, "recvmsg(" + fd + ", MSG_PEEK): a queued datagram exceeds " + max + " bytes");
                }
                int rights = 0;
                long clen = msg.get(JAVA_LONG, 40), off = 0;
                while (off + 16 <= clen) {
                    long len = cbuf.get(JAVA_LONG, off);
                    if (len < 16) break;
                    if (cbuf.get(JAVA_INT, off + 8) == SOL_SOCKET && cbuf.get(JAVA_INT, off + 12) == SCM_RIGHTS) {
                        for (long i = 0; i < (len - 16) / 4; i++) {
                            Sys.raw(Nr.CLOSE, cbuf.get(JAVA_INT, off + 16 + 4 * i));
                            rights++;
                        }
                    }
                    off += (len + 7) & ~7L;
                }
                out.add(new Queued(buf.asSlice(0, n).toArray(JAVA_BYTE), rights));
            }
        } finally {
            setInt(fd, SOL_SOCKET, SO_PEEK_OFF, saved);
        }
        return out;
    }

    /**
     * Sends {@code data} as one record, to the raw address {@code sunPath} (sun_path bytes as the
     * kernel reported them, abstract names starting with NUL) or, when null, to the connected peer.
     * Blocks until all of it is queued.
     */
    public static void sendTo(int fd, byte[] data, byte[] sunPath) {
        sendTo(fd, data, sunPath, 0);
    }

    /** {@link #sendTo(int, byte[], byte[])} with extra MSG_* flags (MSG_DONTWAIT: EAGAIN instead of blocking). */
    public static void sendTo(int fd, byte[] data, byte[] sunPath, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(data.length, 1));
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
            MemorySegment sa = MemorySegment.NULL;
            long salen = 0;
            if (sunPath != null) {
                sa = a.allocate(2 + UNIX_PATH_MAX, 8);
                sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
                MemorySegment.copy(sunPath, 0, sa, JAVA_BYTE, 2, sunPath.length);
                salen = 2 + sunPath.length;
            }
            long put = 0;
            do {
                long n = Sys.check("sendto(" + fd + ", " + data.length + " bytes)", NR_SENDTO, fd, buf.address() + put,
                        data.length - put, MSG_NOSIGNAL | flags, sa.address(), salen);
                put += n;
            } while (put < data.length);
        }
    }
}
