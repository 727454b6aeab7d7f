package org.jcriu.files.unix;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.files.FileRestorer;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.SkOptsEntry;
import org.jcriu.image.proto.SkPacketEntry;
import org.jcriu.image.proto.UnixSkEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Rebuilds the unix sockets of one task. Sockets are made inside the task by injected
 * syscalls (socket, socketpair, bind, listen, connect: the kernel records the caller's
 * credentials as the peer's SO_PEERCRED, so these must run as the task); the rest (options,
 * queued records, shutdown) is done by jcriu on a pidfd_getfd copy of the task's fd.
 *
 * <p>Order, as CRIU: two sockets that are each other's peer are one socketpair; a socket is
 * bound (stale socket file unlinked first) and its queue filled from a temporary sender
 * before it connects anywhere (a connected datagram socket accepts only its peer); listeners
 * listen before anyone connects; a connection waiting in a listener at dump is connected again
 * and so waits to be accepted. Every socket made early waits parked above the image's fd numbers.
 */
final class UnixSkRestore {
    private static final Logger LOG = Log.get("sk unix");

    private final FileRestorer r;
    private final Task task;
    private final Map<Integer, UnixSkEntry> byIno = new HashMap<>();
    private final Map<Integer, List<byte[]>> queues = new HashMap<>();
    /** ino -> fd in the task (parked) once made and bound. */
    private final Map<Integer, Integer> made = new HashMap<>();
    private final Set<Integer> finished = new HashSet<>();
    private int pidfd = -1;

    UnixSkRestore(FileRestorer r) {
        this.r = r;
        this.task = r.task();
        for (FileEntry fe : r.allFiles()) if (fe.getType() == FdTypes.UNIXSK) byIno.put(fe.getUsk().getIno(), fe.getUsk());
        try (ImageReader q = r.images().openOptional(ImageType.SK_QUEUES)) {
            if (q != null) {
                SkPacketEntry p;
                while ((p = q.read(SkPacketEntry.parser())) != null) {
                    if (p.getScmCount() > 0) {
                        throw new CriuException("sk-queues.img: a record for socket id " + p.getIdFor() + " carries SCM_RIGHTS, not supported");
                    }
                    queues.computeIfAbsent(p.getIdFor(), k -> new ArrayList<>()).add(q.readRaw(p.getLength()));
                }
            }
        }
    }

    int open(UnixSkEntry e) {
        if (e.getUflags() == UnixSk.USK_SERVICE) {
            int fd = UnixSkService.open(r, e);
            options(e, fd);
            return fd;
        }
        if (e.getUflags() != 0) {
            throw new CriuException("unix socket " + e.getIno() + " has uflags 0x" + Integer.toHexString(e.getUflags())
                    + " (external, service, callback or inherited sockets are not opened by jcriu)");
        }
        int fd = bound(e);
        if (finished.add(e.getIno())) finish(e, fd);
        return fd;
    }

    /** Records socket {@code ino} at {@code fd} in this task, and with the restorer for later tasks of the tree. */
    private void put(int ino, int fd) {
        made.put(ino, fd);
        r.made(key(ino), fd, fe -> fe.getType() == FdTypes.UNIXSK && fe.getUsk().getIno() == ino);
    }

    private static String key(int ino) {
        return "unix:" + Integer.toUnsignedString(ino);
    }

    private UnixSkEntry entry(int ino, String forWhat) {
        UnixSkEntry e = byIno.get(ino);
        if (e == null) throw new CriuException("No unix socket with inode " + Integer.toUnsignedString(ino) + " in files.img (" + forWhat + ")");
        return e;
    }

    private boolean isPair(UnixSkEntry e) {
        if (e.getPeer() == 0 || e.getState() == UnixSk.TCP_LISTEN) return false;
        UnixSkEntry p = byIno.get(e.getPeer());
        return p != null && p.getPeer() == e.getIno() && p.getIno() != e.getIno() && (p.getUflags() & UnixSk.USK_EXTERN) == 0;
    }

    /** The socket made, bound, filled and (if a listener) listening; made on first use. */
    private int bound(UnixSkEntry e) {
        Integer have = made.get(e.getIno());
        if (have != null) return have;
        // made in an earlier task of the tree (with its peer, or accepted there): the same socket
        int earlier = r.takeMade(key(e.getIno()));
        if (earlier >= 0) {
            made.put(e.getIno(), earlier);
            return earlier;
        }
        if (r.wasMade(key(e.getIno()))) {
            throw new CriuException("unix socket " + Integer.toUnsignedString(e.getIno()) + " was rebuilt in an earlier task and not kept for task " + task.tid());
        }
        if (isPair(e)) {
            UnixSkEntry p = byIno.get(e.getPeer());
            UnixSkEntry l = listenerOf(e);
            if (l == null) l = listenerOf(p);
            if (l != null) {
                // made, with every other connection it accepted, right after it listens
                bound(l);
                Integer fd = made.get(e.getIno());
                if (fd == null) throw new CriuException("unix socket " + e.getIno() + " was not rebuilt as a connection accepted by " + l.getIno());
                return fd;
            }
            int[] sv = socketpair(e.getType());
            put(e.getIno(), sv[0]);
            put(p.getIno(), sv[1]);
            for (UnixSkEntry x : List.of(e, p)) {
                int fd = made.get(x.getIno());
                if (x.getType() == Sockets.SOCK_DGRAM) bind(x, fd);
                options(x, fd);
            }
            fillFrom(e, sv[1], null);
            fillFrom(p, sv[0], null);
            return sv[0];
        }
        int fd = r.park((int) task.syscall(Nr.SOCKET, Sockets.AF_UNIX, e.getType(), 0));
        put(e.getIno(), fd);
        List<byte[]> q = queues.get(e.getId());
        boolean queued = q != null && !q.isEmpty();
        boolean semiClosed = e.getPeer() == 0 && e.getState() == UnixSk.TCP_ESTABLISHED && e.getType() != Sockets.SOCK_DGRAM;
        boolean orphan = e.getPeer() == 0 && e.getType() == Sockets.SOCK_DGRAM && queued && e.getName().isEmpty();
        if (semiClosed || orphan) {
            // Its peer is gone (closed after sending what is still queued): a pair whose other
            // end sends the queue and then closes leaves the socket in that same state.
            task.syscall(Nr.CLOSE, fd);
            int[] sv = socketpair(e.getType());
            fd = sv[0];
            put(e.getIno(), fd);
            options(e, fd);
            fillFrom(e, sv[1], null);
            task.syscall(Nr.CLOSE, sv[1]);
            return fd;
        }
        if (e.getType() == Sockets.SOCK_DGRAM || e.getState() != UnixSk.TCP_ESTABLISHED) bind(e, fd);
        options(e, fd);
        if (queued) {
            if (e.getType() != Sockets.SOCK_DGRAM || e.getName().isEmpty()) {
                throw new CriuException("unix socket " + e.getIno() + " has queued data but no peer in the image to send it from");
            }
            fillFrom(e, -1, e.getName().toByteArray());
        }
        if (e.getState() == UnixSk.TCP_LISTEN) {
            task.syscall(Sockets.NR_LISTEN, fd, e.getBacklog());
            acceptAll(e, fd);
        }
        return fd;
    }

    /**
     * The listener whose name the accepted stream socket {@code e} carries (the kernel gives an
     * accepted socket its listener's address), when that listener is in the image; else null.
     */
    private UnixSkEntry listenerOf(UnixSkEntry e) {
        if (e.getType() == Sockets.SOCK_DGRAM || e.getState() != UnixSk.TCP_ESTABLISHED || e.getName().isEmpty()) return null;
        for (UnixSkEntry l : byIno.values()) {
            if (l.getState() == UnixSk.TCP_LISTEN && l.getType() == e.getType() && l.getName().equals(e.getName())
                    && (l.getUflags() & UnixSk.USK_EXTERN) == 0) return l;
        }
        return null;
    }

    /**
     * Rebuilds the connections listener {@code l} had accepted, before any connection still
     * waiting in it is made again (accept takes the oldest): each client connects, the listener
     * accepts in the task, so the accepted end carries the listener's name as it did. A
     * socketpair would give the right data path but an unnamed socket (getsockname differs).
     */
    private void acceptAll(UnixSkEntry l, int lfd) {
        List<UnixSkEntry> accepted = new ArrayList<>();
        for (UnixSkEntry s : byIno.values()) if (isPair(s) && listenerOf(s) == l && !made.containsKey(s.getIno())) accepted.add(s);
        accepted.sort(java.util.Comparator.comparingInt(UnixSkEntry::getId));
        for (UnixSkEntry s : accepted) {
            UnixSkEntry c = byIno.get(s.getPeer());
            if (made.containsKey(s.getIno()) || made.containsKey(c.getIno())) continue;
            int cfd = r.park((int) task.syscall(Nr.SOCKET, Sockets.AF_UNIX, c.getType(), 0));
            if (!c.getName().isEmpty() && !c.getName().equals(l.getName())) bind(c, cfd);
            connect(c, cfd, l.getName().toByteArray());
            int sfd = r.park((int) task.syscall(Sockets.NR_ACCEPT4, lfd, 0, 0, 0));
            put(c.getIno(), cfd);
            put(s.getIno(), sfd);
            options(c, cfd);
            options(s, sfd);
            fillFrom(s, cfd, null);
            fillFrom(c, sfd, null);
        }
    }

    /** x86_64 numbers of the path calls done in jcriu itself. */
    private static final long NR_RENAME = 82, NR_UNLINK = 87, NR_CHMOD = 90, NR_LCHOWN = 94;

    /** Connect (if it has a non-pair peer), shutdown, file flags: what comes after everyone is bound. */
    private void finish(UnixSkEntry e, int fd) {
        if (e.getPeer() != 0 && !isPair(e)) {
            UnixSkEntry p = entry(e.getPeer(), "peer of " + e.getIno());
            if ((p.getUflags() & UnixSk.USK_EXTERN) != 0) {
                if (p.getName().isEmpty() || e.getType() != Sockets.SOCK_DGRAM) {
                    // dumped with --external unix[INO]: nothing to connect to by name
                    throw new CriuException("unix socket " + Integer.toUnsignedString(e.getIno()) + " was connected to a peer outside the "
                            + "process (dumped with --external unix[" + Integer.toUnsignedString(e.getIno()) + "]): give it with "
                            + "--inherit-fd fd[N]:socket:[" + Integer.toUnsignedString(e.getIno()) + "]");
                }
                if (!r.options().extUnixSk && r.options().extUnixSkIds.isEmpty()) {
                    throw new CriuException("unix socket " + e.getIno() + " was connected to " + UnixSk.show(p.getName().toByteArray())
                            + " outside the process; restore it with --ext-unix-sk");
                }
            } else if (!r.wasMade(key(p.getIno())) || made.containsKey(p.getIno())) {
                // a listener an earlier task of the tree rebuilt is there already, bound to its name
                bound(p);
            }
            connect(e, fd, p.getName().toByteArray());
        }
        if (e.hasShutdown() && e.getShutdown().getNumber() != 0) {
            int how = switch (e.getShutdown()) {
                case READ -> Sockets.SHUT_RD;
                case WRITE -> Sockets.SHUT_WR;
                default -> Sockets.SHUT_RDWR;
            };
            withCopy(fd, s -> Sockets.shutdown(s, how));
        }
        int fl = e.getFlags() & (Linux.O_NONBLOCK | Linux.O_APPEND);
        if (fl != 0) task.syscall(Nr.FCNTL, fd, Linux.F_SETFL, fl);
        LOG.debug("task %d: unix socket %d (%s %s) at fd %d", task.tid(), e.getIno(), UnixSk.typeName(e.getType()),
                UnixSk.show(e.getName().toByteArray()), fd);
    }

    private int[] socketpair(int type) {
        try (Scratch s = task.scratch(8)) {
            task.syscall(Sockets.NR_SOCKETPAIR, Sockets.AF_UNIX, type, 0, s.addr());
            byte[] b = s.get(0, 8);
            int a = (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
            int c = (b[4] & 0xff) | (b[5] & 0xff) << 8 | (b[6] & 0xff) << 16 | (b[7] & 0xff) << 24;
            return new int[] {r.park(a), r.park(c)};
        }
    }

    private static byte[] sockaddr(byte[] name) {
        byte[] sa = new byte[2 + name.length];
        sa[0] = (byte) Sockets.AF_UNIX;
        System.arraycopy(name, 0, sa, 2, name.length);
        return sa;
    }

    private void bind(UnixSkEntry e, int fd) {
        byte[] name = e.getName().toByteArray();
        if (name.length == 0) return;
        String path = UnixSk.path(name);
        String aside = null;
        if (path != null && e.getDeleted()) {
            // Its file was unlinked before the dump: bind (a file at that path now, someone
            // else's, is moved aside meanwhile), and unlink once every socket of the task is
            // connected, since peers connect by that name.
            aside = path + ".jcriu-" + Integer.toUnsignedString(e.getIno());
            try {
                Sys.lstat(path);
                Sys.check("rename(" + path + ")", NR_RENAME, addr(path), addr(aside));
            } catch (ErrnoException ex) {
                if (ex.errno() != org.jcriu.sys.Errno.ENOENT) throw ex;
                aside = null;
            }
            String back = aside;
            r.whenDone(() -> {
                Sys.check("unlink(" + path + ")", NR_UNLINK, addr(path));
                if (back != null) Sys.check("rename(" + back + ")", NR_RENAME, addr(back), addr(path));
            });
        } else if (path != null) {
            // The dumped task's socket file is still there: the name must be free again (CRIU
            // removes stale socket files, never anything else).
            try {
                Stat st = Sys.lstat(path);
                if (st.isSock()) Sys.check("unlink(" + path + ")", NR_UNLINK, addr(path));
            } catch (ErrnoException ex) {
                if (ex.errno() != org.jcriu.sys.Errno.ENOENT) throw ex;
            }
        }
        byte[] sa = sockaddr(name);
        try (Scratch s = task.scratch(sa.length)) {
            s.put(0, sa);
            task.syscall(Nr.BIND, fd, s.addr(), sa.length);
        } catch (CriuException ex) {
            throw new CriuException(ex.errno(), "bind(" + UnixSk.show(name) + ") of unix socket " + e.getIno() + " in task " + task.tid() + ": " + ex.getMessage(), ex);
        }
        if (path != null && e.hasFilePerms() && !e.getDeleted()) {
            var fp = e.getFilePerms();
            Sys.check("chmod(" + path + ")", NR_CHMOD, addr(path), fp.getMode() & 07777);
            Sys.check("lchown(" + path + ")", NR_LCHOWN, addr(path), fp.getUid(), fp.getGid());
        }
    }

    private final java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofAuto();

    private long addr(String path) {
        return arena.allocateFrom(path).address();
    }

    private void connect(UnixSkEntry e, int fd, byte[] name) {
        byte[] sa = sockaddr(name);
        try (Scratch s = task.scratch(sa.length)) {
            s.put(0, sa);
            task.syscall(Nr.CONNECT, fd, s.addr(), sa.length);
        } catch (CriuException ex) {
            throw new CriuException(ex.errno(), "connect(" + UnixSk.show(name) + ") of unix socket " + e.getIno() + " in task " + task.tid() + ": " + ex.getMessage(), ex);
        }
    }

    /** Queues the records dumped for {@code e}: sent from {@code senderFd} (its pair) or, with {@code to}, from a socket of jcriu's. */
    private void fillFrom(UnixSkEntry e, int senderFd, byte[] to) {
        List<byte[]> q = queues.get(e.getId());
        if (q == null || q.isEmpty()) return;
        if (senderFd >= 0) {
            withCopy(senderFd, s -> {
                for (byte[] b : q) send(e, s, b, null);
            });
        } else {
            int s = Sockets.socket(Sockets.SOCK_DGRAM);
            try {
                Sockets.setInt(s, Sockets.SOL_SOCKET, Sockets.SO_SNDBUFFORCE, 8 << 20);
                for (byte[] b : q) send(e, s, b, to);
            } finally {
                Sys.close(s);
            }
        }
        LOG.debug("unix socket %d: %d queued record(s) restored", e.getIno(), q.size());
    }

    /** One record, without blocking: a queue that no longer fits fails the restore instead of hanging it. */
    private static void send(UnixSkEntry e, int s, byte[] b, byte[] to) {
        try {
            Sockets.sendTo(s, b, to, Sockets.MSG_DONTWAIT);
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), "Can't queue " + b.length + " bytes into unix socket " + Integer.toUnsignedString(e.getIno())
                    + ": " + ex.getMessage());
        }
    }

    private void options(UnixSkEntry e, int fd) {
        SkOptsEntry o = e.getOpts();
        withCopy(fd, s -> {
            int sol = Sockets.SOL_SOCKET;
            // getsockopt reports twice what setsockopt asked for (kernel bookkeeping): ask for half.
            if (o.getSoSndbuf() != 0 && Sockets.getInt(s, sol, Sockets.SO_SNDBUF) != o.getSoSndbuf())
                Sockets.setInt(s, sol, Sockets.SO_SNDBUFFORCE, o.getSoSndbuf() / 2);
            if (o.getSoRcvbuf() != 0 && Sockets.getInt(s, sol, Sockets.SO_RCVBUF) != o.getSoRcvbuf())
                Sockets.setInt(s, sol, Sockets.SO_RCVBUFFORCE, o.getSoRcvbuf() / 2);
            if (o.getSoSndTmoSec() != 0 || o.getSoSndTmoUsec() != 0)
                Sockets.setTimeval(s, Sockets.SO_SNDTIMEO, o.getSoSndTmoSec(), o.getSoSndTmoUsec());
            if (o.getSoRcvTmoSec() != 0 || o.getSoRcvTmoUsec() != 0)
                Sockets.setTimeval(s, Sockets.SO_RCVTIMEO, o.getSoRcvTmoSec(), o.getSoRcvTmoUsec());
            if (o.getSoPasscred()) Sockets.setInt(s, sol, Sockets.SO_PASSCRED, 1);
            if (o.getSoPasssec()) Sockets.setInt(s, sol, Sockets.SO_PASSSEC, 1);
            if (o.getReuseaddr()) Sockets.setInt(s, sol, Sockets.SO_REUSEADDR, 1);
            if (o.getSoReuseport()) Sockets.setInt(s, sol, Sockets.SO_REUSEPORT, 1);
            if (o.getSoKeepalive()) Sockets.setInt(s, sol, Sockets.SO_KEEPALIVE, 1);
            if (o.getSoBroadcast()) Sockets.setInt(s, sol, Sockets.SO_BROADCAST, 1);
            if (o.getSoDontroute()) Sockets.setInt(s, sol, Sockets.SO_DONTROUTE, 1);
            if (o.getSoOobinline() != 0) Sockets.setInt(s, sol, Sockets.SO_OOBINLINE, 1);
            if (o.getSoPriority() != 0) Sockets.setInt(s, sol, Sockets.SO_PRIORITY, o.getSoPriority());
            if (o.hasSoRcvlowat() && o.getSoRcvlowat() > 1) Sockets.setInt(s, sol, Sockets.SO_RCVLOWAT, o.getSoRcvlowat());
            if (o.getSoMark() != 0) Sockets.setInt(s, sol, Sockets.SO_MARK, o.getSoMark());
            if (o.getSoBufLock() != 0) Sockets.setInt(s, sol, Sockets.SO_BUF_LOCK, o.getSoBufLock());
        });
    }

    private interface OnFd {
        void run(int fd);
    }

    /** Runs {@code f} on a copy in jcriu of the task's fd {@code fd} (the same socket). */
    private void withCopy(int fd, OnFd f) {
        if (pidfd < 0) pidfd = Sys.pidfdOpen(task.tid());
        int s = Sys.pidfdGetfd(pidfd, fd);
        try {
            f.run(s);
        } finally {
            Sys.close(s);
        }
    }
}
