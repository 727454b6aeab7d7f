package org.jcriu.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Every AF_UNIX socket of jcriu's network namespace as NETLINK_SOCK_DIAG reports it
 * (linux/unix_diag.h): name, bound inode, peer, in-flight connections of listeners, queue
 * lengths, shutdown state. The kernel tells these from outside the owning process; what it
 * does not (options, queued bytes) is read on a stolen fd.
 */
public final class UnixDiag {
    private UnixDiag() {}

    static final int AF_NETLINK = 16, NETLINK_SOCK_DIAG = 4, SOCK_DIAG_BY_FAMILY = 20;
    static final int NLM_F_REQUEST = 1, NLM_F_DUMP = 0x300, NLMSG_ERROR = 2, NLMSG_DONE = 3;
    static final int UDIAG_SHOW_NAME = 1, UDIAG_SHOW_VFS = 2, UDIAG_SHOW_PEER = 4, UDIAG_SHOW_ICONS = 8,
            UDIAG_SHOW_RQLEN = 0x10, UDIAG_SHOW_MEMINFO = 0x20, UDIAG_SHOW_UID = 0x40;
    static final int UNIX_DIAG_NAME = 0, UNIX_DIAG_VFS = 1, UNIX_DIAG_PEER = 2, UNIX_DIAG_ICONS = 3,
            UNIX_DIAG_RQLEN = 4, UNIX_DIAG_SHUTDOWN = 6, UNIX_DIAG_UID = 7;

    /**
     * One socket. {@code name} is the bound address as the kernel keeps it (abstract names start
     * with NUL, filesystem ones usually end with the NUL the binder counted), null when unbound.
     * For a listener {@code rqlen} is the number of connections waiting for accept() and
     * {@code wqlen} the backlog; otherwise they are bytes queued to read / not yet consumed by
     * the peer. {@code icons}: the inodes of the sockets whose connections wait in a listener.
     */
    public record Sk(int ino, int type, int state, byte[] name, long vfsDev, long vfsIno, int peer, int[] icons,
                     int rqlen, int wqlen, int shutdown, int uid) {}

    /** All unix sockets, by inode. */
    public static Map<Integer, Sk> all() {
        int show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
        Map<Integer, Sk> out = new HashMap<>();
        int fd = (int) Sys.check("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", Nr.SOCKET, AF_NETLINK,
                Sockets.SOCK_DGRAM | Sockets.SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        try (Arena a = Arena.ofConfined()) {
            // struct nlmsghdr (16) + struct unix_diag_req (24)
            MemorySegment req = a.allocate(40, 8);
            req.set(JAVA_INT, 0, 40);
            req.set(JAVA_SHORT, 4, (short) SOCK_DIAG_BY_FAMILY);
            req.set(JAVA_SHORT, 6, (short) (NLM_F_REQUEST | NLM_F_DUMP));
            req.set(JAVA_INT, 8, 1);
            req.set(JAVA_BYTE, 16, (byte) Sockets.AF_UNIX);
            req.set(JAVA_INT, 20, -1);              // udiag_states: every state
            req.set(JAVA_INT, 28, show);
            Sys.check("sendto(NETLINK_SOCK_DIAG)", Sockets.NR_SENDTO, fd, req.address(), 40, 0, 0, 0);
            MemorySegment buf = a.allocate(64 * 1024, 8);
            while (true) {
                long n = Sys.check("recv(NETLINK_SOCK_DIAG)", Sockets.NR_RECVFROM, fd, buf.address(), buf.byteSize(), 0, 0, 0);
                long off = 0;
                while (off + 16 <= n) {
                    int len = buf.get(JAVA_INT, off);
                    int type = buf.get(JAVA_SHORT, off + 4) & 0xffff;
                    if (type == NLMSG_DONE) return out;
                    if (type == NLMSG_ERROR) {
                        int err = -buf.get(JAVA_INT, off + 16);
                        throw new ErrnoException(err, "NETLINK_SOCK_DIAG(AF_UNIX)");
                    }
                    if (type == SOCK_DIAG_BY_FAMILY) {
                        Sk sk = parse(buf.asSlice(off + 16, len - 16));
                        out.put(sk.ino(), sk);
                    }
                    if (len < 16) break;
                    off += (len + 3) & ~3;
                }
            }
        } finally {
            Sys.close(fd);
        }
    }

    /** struct unix_diag_msg (16 bytes) followed by netlink attributes. */
    private static Sk parse(MemorySegment m) {
        int type = m.get(JAVA_BYTE, 1) & 0xff, state = m.get(JAVA_BYTE, 2) & 0xff, ino = m.get(JAVA_INT, 4);
        byte[] name = null;
        long vdev = 0, vino = 0;
        int peer = 0, rq = 0, wq = 0, shut = 0, uid = -1;
        int[] icons = new int[0];
        long off = 16;
        while (off + 4 <= m.byteSize()) {
            int alen = m.get(JAVA_SHORT, off) & 0xffff;
            int atype = m.get(JAVA_SHORT, off + 2) & 0x3fff;
            if (alen < 4) break;
            MemorySegment d = m.asSlice(off + 4, alen - 4);
            switch (atype) {
                case UNIX_DIAG_NAME -> name = d.toArray(JAVA_BYTE);
                case UNIX_DIAG_VFS -> {
                    vino = Integer.toUnsignedLong(d.get(JAVA_INT, 0));
                    vdev = Integer.toUnsignedLong(d.get(JAVA_INT, 4));
                }
                case UNIX_DIAG_PEER -> peer = d.get(JAVA_INT, 0);
                case UNIX_DIAG_ICONS -> icons = d.toArray(JAVA_INT);
                case UNIX_DIAG_RQLEN -> {
                    rq = d.get(JAVA_INT, 0);
                    wq = d.get(JAVA_INT, 4);
                }
                case UNIX_DIAG_SHUTDOWN -> shut = d.get(JAVA_BYTE, 0) & 0xff;
                case UNIX_DIAG_UID -> uid = d.get(JAVA_INT, 0);
                default -> { }
            }
            off += (alen + 3) & ~3;
        }
        return new Sk(ino, type, state, name, vdev, vino, peer, icons, rq, wq, shut, uid);
    }
}
