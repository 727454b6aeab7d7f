package org.jcriu.files;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * The SIGIO owner of an open file (CRIU's fown_entry): who gets a signal when I/O becomes
 * possible (F_SETOWN / F_SETOWN_EX), which signal (F_SETSIG), and with which credentials it was
 * set (F_GETOWNER_UIDS). All of it lives in struct file, so at dump jcriu reads it from its own
 * copy of the task's fd (pidfd_getfd: the same open file description) without running anything
 * in the task. Every kind of file_entry carries a fown field in its own sub-message; this class
 * finds it generically, for every kind CRIU records an owner for (regular files, pipes, unix
 * sockets, terminals and the anonymous-inode kinds).
 */
public final class FileOwner {
    private static final Logger LOG = Log.get("fown");
    private static final int F_SETOWN_EX = 15, F_GETOWN_EX = 16, F_GETOWNER_UIDS = 17, F_OWNER_TID = 0;
    private static final int O_ASYNC = 020000;

    private FileOwner() {}

    /** {@code e} with the owner of {@code fd} in its fown field, or {@code e} itself when it has none. */
    static FileEntry dump(FileEntry e, OpenFd fd) {
        if (!hasOwner(e)) return e;
        if ((fd.info().flags() & Linux.O_PATH) != 0) return e; // O_PATH files have no owner
        FownEntry fown = read(fd);
        if (fown.getSignum() == 0 && fown.getPid() == 0) return e;
        // protobuf reflection only for the rare file with an owner: its first use costs ~20 ms
        Message.Builder sub = sub(e);
        if (sub == null) return e;
        // fds are restored before the other threads exist, so an owner that is one of them
        // could not be set again (ESRCH): refused here rather than failing the restore
        if (fown.getPidType() == F_OWNER_TID && fown.getPid() != fd.pid()) {
            throw new CriuException("Can't dump " + fd.describe() + ": its SIGIO owner is thread " + fown.getPid()
                    + " (F_OWNER_TID); an owner thread other than the main one is not supported yet");
        }
        FieldDescriptor f = sub.getDescriptorForType().findFieldByName("fown");
        sub.setField(f, fown);
        FileEntry.Builder b = e.toBuilder();
        FieldDescriptor sf = subField(e);
        b.setField(sf, sub.build());
        LOG.debug("%s: owner type %d pid %d signal %d", fd.describe(), fown.getPidType(), fown.getPid(), fown.getSignum());
        return b.build();
    }

    private static FownEntry read(OpenFd fd) {
        int pidfd = Sys.pidfdOpen(fd.pid());
        int local;
        try {
            local = Sys.pidfdGetfd(pidfd, fd.fd());
        } finally {
            Sys.close(pidfd);
        }
        try (Arena a = Arena.ofConfined()) {
            FownEntry.Builder b = FownEntry.newBuilder().setUid(0).setEuid(0).setPidType(0).setPid(0);
            b.setSignum((int) Sys.check("fcntl(" + fd.describe() + ", F_GETSIG)", Nr.FCNTL, local, Linux.F_GETSIG));
            MemorySegment owner = a.allocate(8);
            Sys.check("fcntl(" + fd.describe() + ", F_GETOWN_EX)", Nr.FCNTL, local, F_GETOWN_EX, owner.address());
            int pid = owner.get(ValueLayout.JAVA_INT, 4);
            if (pid != 0) {
                MemorySegment uids = a.allocate(8);
                Sys.check("fcntl(" + fd.describe() + ", F_GETOWNER_UIDS)", Nr.FCNTL, local, F_GETOWNER_UIDS, uids.address());
                b.setPidType(owner.get(ValueLayout.JAVA_INT, 0)).setPid(pid)
                        .setUid(uids.get(ValueLayout.JAVA_INT, 0)).setEuid(uids.get(ValueLayout.JAVA_INT, 4));
            }
            return b.build();
        } finally {
            Sys.close(local);
        }
    }

    /**
     * Puts back the owner, signal and O_ASYNC of file {@code e}, open as {@code fd} in the task.
     * The owner is set with jcriu's (root) credentials, not the saved uid/euid: the kernel then
     * checks signal permission against root, which allows at least what the task had.
     */
    static void restore(Task task, FileEntry e, int fd) {
        Owned o = owned(e);
        if (o == null) return;
        FownEntry fown = o.fown();
        int flags = o.flags();
        try {
            if ((flags & O_ASYNC) != 0) {
                // open() stores O_ASYNC without arming the file's fasync; F_SETFL only calls
                // ->fasync when the bit changes, so clear it first, then set it. First: a
                // terminal's fasync makes its process group the owner, the saved owner comes after.
                long cur = task.syscall(Nr.FCNTL, fd, Linux.F_GETFL);
                task.syscall(Nr.FCNTL, fd, Linux.F_SETFL, cur & ~O_ASYNC);
                task.syscall(Nr.FCNTL, fd, Linux.F_SETFL, cur | O_ASYNC);
            }
            if (fown.getSignum() != 0) task.syscall(Nr.FCNTL, fd, Linux.F_SETSIG, fown.getSignum());
            if (fown.getPid() != 0) {
                byte[] b = new byte[8];
                java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, fown.getPidType()).putInt(4, fown.getPid());
                try (Scratch s = task.scratch(8)) {
                    s.put(0, b);
                    task.syscall(Nr.FCNTL, fd, F_SETOWN_EX, s.addr());
                }
            }
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), "Can't restore the owner (type " + fown.getPidType() + " pid " + fown.getPid()
                    + " signal " + fown.getSignum() + ") of file id " + e.getId() + ": " + ex.getMessage(), ex);
        }
    }

    /** The file_entry field holding the kind-specific sub-message (reg, pipe, usk...). */
    private static FieldDescriptor subField(FileEntry e) {
        for (var en : e.getAllFields().entrySet()) {
            FieldDescriptor f = en.getKey();
            if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !f.isRepeated()
                    && f.getMessageType().findFieldByName("fown") != null) {
                return f;
            }
        }
        return null;
    }

    /** The owner and the open flags in a file_entry's kind-specific sub-message. */
    private record Owned(FownEntry fown, int flags) {}

    /**
     * The owner and flags of {@code e}, null for a kind without an owner. Typed getters rather
     * than protobuf reflection, whose first use costs ~20 ms on every restore.
     */
    private static Owned owned(FileEntry e) {
        return switch (e.getType()) {
            case REG -> new Owned(e.getReg().getFown(), e.getReg().getFlags());
            case PIPE -> new Owned(e.getPipe().getFown(), e.getPipe().getFlags());
            case UNIXSK -> new Owned(e.getUsk().getFown(), e.getUsk().getFlags());
            case TTY -> new Owned(e.getTty().getFown(), e.getTty().getFlags());
            case EVENTFD -> new Owned(e.getEfd().getFown(), e.getEfd().getFlags());
            case EVENTPOLL -> new Owned(e.getEpfd().getFown(), e.getEpfd().getFlags());
            case SIGNALFD -> new Owned(e.getSgfd().getFown(), e.getSgfd().getFlags());
            case TIMERFD -> new Owned(e.getTfd().getFown(), e.getTfd().getFlags());
            case INOTIFY -> new Owned(e.getIfy().getFown(), e.getIfy().getFlags());
            case FANOTIFY -> new Owned(e.getFfy().getFown(), e.getFfy().getFlags());
            case MEMFD -> new Owned(e.getMemfd().getFown(), e.getMemfd().getFlags());
            default -> null;
        };
    }

    /** The kinds CRIU records an owner for and jcriu restores; a pidfd's owner means nothing. */
    private static boolean hasOwner(FileEntry e) {
        return switch (e.getType()) {
            case REG, PIPE, UNIXSK, TTY, EVENTFD, EVENTPOLL, SIGNALFD, TIMERFD, INOTIFY, FANOTIFY, MEMFD -> true;
            default -> false;
        };
    }

    private static Message.Builder sub(FileEntry e) {
        if (!hasOwner(e)) return null;
        FieldDescriptor f = subField(e);
        return f == null ? null : ((Message) e.getField(f)).toBuilder();
    }
}
