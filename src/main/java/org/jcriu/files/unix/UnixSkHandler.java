package org.jcriu.files.unix;

import com.google.protobuf.ByteString;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FilePermsEntry;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.image.proto.SkOptsEntry;
import org.jcriu.image.proto.SkPacketEntry;
import org.jcriu.image.proto.SkShutdown;
import org.jcriu.image.proto.UnixSkEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;
import org.jcriu.sys.UnixDiag;

/**
 * AF_UNIX sockets (files.img entries of type UNIXSK, queued records in sk-queues.img), as CRIU
 * writes them. The kernel's sock_diag tells the socket's name, peer, in-flight connections and
 * queue lengths from outside; options and queued bytes are read on a copy of the task's fd
 * taken with pidfd_getfd (same socket), the queue with MSG_PEEK so that the task keeps it.
 *
 * <p>Refused, each with its reason: records carrying fds (SCM_RIGHTS), a peer outside the
 * process unless --ext-unix-sk (and then only a named datagram peer, as CRIU), stream halves of
 * outside connections, relative socket names, in-flight connections with data.
 * Restore: see {@link UnixSkRestore}.
 */
public final class UnixSkHandler implements FileHandler {
    private static final Logger LOG = Log.get("sk unix");
    private static final long NR_GETXATTR = 191;
    private static final FownEntry NO_OWNER = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();

    @Override
    public FdTypes type() {
        return FdTypes.UNIXSK;
    }

    @Override
    public String name() {
        return "unixsk";
    }

    /** Whether the socket behind {@code fd} is AF_UNIX (the kernel names socket families in this xattr). */
    public static boolean isUnix(OpenFd fd) {
        if (!fd.stat().isSock()) return false;
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            var path = a.allocateFrom("/proc/" + fd.pid() + "/fd/" + fd.fd());
            var name = a.allocateFrom("system.sockprotoname");
            var buf = a.allocate(64);
            long n = Sys.raw(NR_GETXATTR, path.address(), name.address(), buf.address(), 64);
            if (n <= 0) return false;
            return new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    java.nio.charset.StandardCharsets.US_ASCII).startsWith("UNIX");
        }
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        UnixSkTable table = files.state(UnixSkTable.class, UnixSkTable::new);
        int ino = (int) fd.stat().ino();
        UnixDiag.Sk sk = table.diag.get(ino);
        String what = "unix socket " + Integer.toUnsignedString(ino) + " at " + fd.describe();
        if (sk == null) throw new CriuException("Can't dump " + what + ": sock_diag does not know it (another network namespace?)");
        UnixSkEntry.Builder e = UnixSkEntry.newBuilder().setId(id).setIno(ino).setType(sk.type()).setState(sk.state())
                .setFlags(fd.fileFlags()).setUflags(0).setBacklog(sk.wqlen()).setPeer(sk.peer()).setFown(NO_OWNER)
                .setName(ByteString.copyFrom(sk.name() == null ? new byte[0] : sk.name()));
        String path = UnixSk.path(sk.name());
        if (sk.name() != null && sk.name().length > 0 && sk.name()[0] != 0) {
            if (path == null || !path.startsWith("/")) {
                throw new CriuException("Can't dump " + what + ": it is bound to the relative name " + UnixSk.show(sk.name()));
            }
            Stat st;
            try {
                st = Sys.stat(path);
            } catch (ErrnoException ex) {
                st = null;
            }
            if (st == null || st.ino() != sk.vfsIno() || !st.isSock()) {
                // Bound, then its file was unlinked (or replaced): nobody can reach it by name
                // any more, but getsockname still says it. Restore binds and unlinks it again.
                e.setDeleted(true);
            } else {
                e.setFilePerms(FilePermsEntry.newBuilder().setMode(st.mode()).setUid(st.uid()).setGid(st.gid()));
            }
        }
        int shut = sk.shutdown() & (UnixSk.RCV_SHUTDOWN | UnixSk.SEND_SHUTDOWN);
        if (shut != 0) {
            e.setShutdown(shut == 3 ? SkShutdown.BOTH : shut == UnixSk.RCV_SHUTDOWN ? SkShutdown.READ : SkShutdown.WRITE);
        }
        if (UnixSkService.isClientEnd(sk, files.options())) UnixSkService.mark(e);
        else peer(fd, sk, e, table, files, what);

        int stolen = steal(fd);
        try {
            e.setOpts(options(stolen));
            if (sk.rqlen() != 0 && sk.state() != UnixSk.TCP_LISTEN) queue(stolen, id, files, what);
        } finally {
            Sys.close(stolen);
        }
        LOG.debug("%s: %s, file id %d, state %d, peer %d, name %s", what, UnixSk.typeName(sk.type()), id, sk.state(), e.getPeer(),
                UnixSk.show(sk.name()));
        return FileEntry.newBuilder().setType(FdTypes.UNIXSK).setId(id).setUsk(e).build();
    }

    private static void peer(OpenFd fd, UnixDiag.Sk sk, UnixSkEntry.Builder e, UnixSkTable table, DumpFiles files, String what) {
        Options opts = files.options();
        if (sk.peer() != 0) {
            UnixDiag.Sk peer = table.diag.get(sk.peer());
            if (peer == null) throw new CriuException("Can't dump " + what + ": its peer " + Integer.toUnsignedString(sk.peer()) + " is unknown to sock_diag");
            if (peer.peer() != sk.ino() && (peer.name() == null || peer.name().length == 0)) {
                throw new CriuException("Can't dump " + what + ": its peer " + Integer.toUnsignedString(sk.peer()) + " is unreachable (no name, connected elsewhere)");
            }
            if (table.heldInDump(fd.pid(), opts.pid).contains(sk.peer())) return;
            // criu(8) --external unix[INO], INO this socket: its peer is outside and may stay
            // disconnected (any type, even name-less); restore gives it with --inherit-fd
            // fd[N]:socket:[INO]
            boolean excepted = opts.external.contains("unix[" + Integer.toUnsignedString(sk.ino()) + "]");
            if (excepted) {
                externalPeer(sk, peer, table, files);
                return;
            }
            if (!external(opts, sk.peer())) {
                throw new CriuException("Can't dump " + what + ": it is connected to " + Integer.toUnsignedString(sk.peer()) + " "
                        + UnixSk.show(peer.name()) + " outside the process tree; use --ext-unix-sk (or --external unix["
                        + Integer.toUnsignedString(sk.peer()) + "]) to dump it anyway");
            }
            if (sk.type() != Sockets.SOCK_DGRAM || peer.name() == null || peer.name().length == 0) {
                throw new CriuException("Can't dump " + what + ": half of a " + UnixSk.typeName(sk.type())
                        + " connection to " + UnixSk.show(peer.name()) + " outside the process tree (only named datagram peers can be external)");
            }
            externalPeer(sk, peer, table, files);
            return;
        }
        if (sk.state() == UnixSk.TCP_ESTABLISHED && sk.type() != Sockets.SOCK_DGRAM) {
            Integer listener = table.iconOf.get(sk.ino());
            if (listener == null) {
                if ((sk.shutdown() & 3) == 3) return;   // semi-closed: its peer is gone
                throw new CriuException("Can't dump " + what + ": dangling connection (no peer, not waiting in a listener)");
            }
            UnixDiag.Sk l = table.diag.get(listener);
            if (l == null || l.state() != UnixSk.TCP_LISTEN) throw new CriuException("Can't dump " + what + ": in-flight connection on a socket that does not listen");
            if (sk.wqlen() != 0) {
                throw new CriuException("Can't dump " + what + ": it sent " + sk.wqlen() + " bytes to a connection not yet accepted (the kernel gives no way to read them)");
            }
            if (!table.heldInDump(fd.pid(), opts.pid).contains(listener)) {
                throw new CriuException("Can't dump " + what + ": its connection waits in listener " + Integer.toUnsignedString(listener) + " outside the process tree");
            }
            e.setPeer(listener);
        } else if (sk.state() == UnixSk.TCP_LISTEN) {
            for (int c : sk.icons()) {
                if (c == 0) throw new CriuException("Can't dump " + what + ": a connection waiting in it was closed by its client (its data cannot be checked)");
                if (!table.heldInDump(fd.pid(), opts.pid).contains(c)) {
                    throw new CriuException("Can't dump " + what + ": connection " + Integer.toUnsignedString(c) + " waiting in it comes from outside the process tree");
                }
            }
        }
    }

    /** CRIU's external peer entry: a nameholder the restore connects to, never opened itself. */
    private static void externalPeer(UnixDiag.Sk sk, UnixDiag.Sk peer, UnixSkTable table, DumpFiles files) {
        if (table.externals.containsKey(sk.peer())) return;
        byte[] name = peer.name() == null ? new byte[0] : peer.name();
        int pid = files.addFile(xid -> FileEntry.newBuilder().setType(FdTypes.UNIXSK).setId(xid).setUsk(UnixSkEntry.newBuilder()
                .setId(xid).setIno(sk.peer()).setType(Sockets.SOCK_DGRAM).setState(UnixSk.TCP_LISTEN).setFlags(0)
                .setUflags(UnixSk.USK_EXTERN).setBacklog(0).setPeer(0).setFown(NO_OWNER).setOpts(zeroOpts())
                .setName(ByteString.copyFrom(name))).build());
        table.externals.put(sk.peer(), pid);
    }

    private static boolean external(Options opts, int peerIno) {
        String ino = Integer.toUnsignedString(peerIno);
        if (opts.extUnixSkIds.contains(ino)) return true;
        if (opts.extUnixSk && opts.extUnixSkIds.isEmpty()) return true;
        for (String x : opts.external) if (x.equals("unix[" + ino + "]") || x.startsWith("unix[" + ino + "]:")) return true;
        return false;
    }

    private static int steal(OpenFd fd) {
        int pidfd = Sys.pidfdOpen(fd.pid());
        try {
            return Sys.pidfdGetfd(pidfd, fd.fd());
        } finally {
            Sys.close(pidfd);
        }
    }

    static SkOptsEntry zeroOpts() {
        return SkOptsEntry.newBuilder().setSoSndbuf(0).setSoRcvbuf(0).setSoSndTmoSec(0).setSoSndTmoUsec(0)
                .setSoRcvTmoSec(0).setSoRcvTmoUsec(0).build();
    }

    /** The options CRIU records for every socket (dump_socket_opts), in its field order. */
    static SkOptsEntry options(int s) {
        int sol = Sockets.SOL_SOCKET;
        long[] snd = Sockets.getTimeval(s, Sockets.SO_SNDTIMEO), rcv = Sockets.getTimeval(s, Sockets.SO_RCVTIMEO);
        SkOptsEntry.Builder b = SkOptsEntry.newBuilder()
                .setSoSndbuf(Sockets.getInt(s, sol, Sockets.SO_SNDBUF)).setSoRcvbuf(Sockets.getInt(s, sol, Sockets.SO_RCVBUF))
                .setSoSndTmoSec(snd[0]).setSoSndTmoUsec(snd[1]).setSoRcvTmoSec(rcv[0]).setSoRcvTmoUsec(rcv[1])
                .setReuseaddr(Sockets.getInt(s, sol, Sockets.SO_REUSEADDR) != 0)
                .setSoPriority(Sockets.getInt(s, sol, Sockets.SO_PRIORITY))
                .setSoRcvlowat(Sockets.getInt(s, sol, Sockets.SO_RCVLOWAT));
        int mark = Sockets.getInt(s, sol, Sockets.SO_MARK);
        if (mark != 0) b.setSoMark(mark);
        b.setSoPasscred(Sockets.getInt(s, sol, Sockets.SO_PASSCRED) != 0)
                .setSoPasssec(Sockets.getInt(s, sol, Sockets.SO_PASSSEC) != 0)
                .setSoDontroute(Sockets.getInt(s, sol, Sockets.SO_DONTROUTE) != 0)
                .setSoNoCheck(Sockets.getInt(s, sol, Sockets.SO_NO_CHECK) != 0)
                .setSoReuseport(Sockets.getInt(s, sol, Sockets.SO_REUSEPORT) != 0)
                .setSoBroadcast(Sockets.getInt(s, sol, Sockets.SO_BROADCAST) != 0)
                .setSoKeepalive(Sockets.getInt(s, sol, Sockets.SO_KEEPALIVE) != 0)
                .setSoOobinline(Sockets.getInt(s, sol, Sockets.SO_OOBINLINE));
        b.setSoBufLock(Sockets.getInt(s, sol, Sockets.SO_BUF_LOCK));
        return b.build();
    }

    private static void queue(int s, int id, DumpFiles files, String what) {
        int max = Math.max(Sockets.getInt(s, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF), Sockets.getInt(s, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF));
        List<Sockets.Queued> q;
        try {
            q = Sockets.peekQueue(s, Math.max(max, 256 * 1024));
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), "Can't read the queue of " + what + ": " + ex.getMessage());
        }
        for (Sockets.Queued p : q) {
            if (p.rights() > 0) {
                throw new CriuException("Can't dump " + what + ": a queued message carries " + p.rights()
                        + " file descriptor(s) (SCM_RIGHTS in flight is not supported)");
            }
            files.addImageEntry(ImageType.SK_QUEUES, SkPacketEntry.newBuilder().setIdFor(id).setLength(p.data().length).build(), p.data());
        }
        LOG.debug("%s: %d queued record(s)", what, q.size());
    }

    @Override
    public int open(FileEntry entry, FileRestorer restorer) {
        // --inherit-fd fd[N]:socket:[INO]: the caller's socket stands for this one (CRIU's USK_INHERIT)
        int inherited = restorer.inheritedFd("socket:[" + Integer.toUnsignedString(entry.getUsk().getIno()) + "]");
        if (inherited >= 0) return restorer.pullFromRestorer(inherited, entry.getUsk().getFlags());
        return restorer.taskState("unixsk", () -> new UnixSkRestore(restorer)).open(entry.getUsk());
    }
}
