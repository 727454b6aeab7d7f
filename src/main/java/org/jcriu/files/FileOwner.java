package org.jcriu.files;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jcriu.CriuException;
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
    private static final int F_SETOWN_EX = 15, F_GETOWN_EX = 16, F_GETOWNER_UIDS = 17;
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
     * Puts back the signal and O_ASYNC of file {@code e}, open as {@code fd} in the task, and
     * returns its saved owner to be set by {@link #setOwner} once every task and thread of the
     * tree exists (null when it has none). The owner belongs to the struct file, which tasks
     * restored later share, and may be any task or thread of the tree, even one made after the
     * task that opens the file: so it is set last, whichever task restored the file.
     */
    static FownEntry restore(Task task, FileEntry e, int fd) {
        Owned o = owned(e);
        if (o == null) return null;
        FownEntry fown = o.fown();
        int flags = o.flags();
        try {
            if ((flags & O_ASYNC) != 0) {
                // open() stores O_ASYNC without arming the file's fasync; F_SETFL only calls
                // ->fasync when the bit changes, so clear it first, then set it. It records the
                // fd number the kernel reports as si_fd: the task's own, at its place. A
                // terminal's fasync makes its process group the owner; the saved owner comes later.
                long cur = task.syscall(Nr.FCNTL, fd, Linux.F_GETFL);
                task.syscall(Nr.FCNTL, fd, Linux.F_SETFL, cur & ~O_ASYNC);
                task.syscall(Nr.FCNTL, fd, Linux.F_SETFL, cur | O_ASYNC);
            }
            if (fown.getSignum() != 0) task.syscall(Nr.FCNTL, fd, Linux.F_SETSIG, fown.getSignum());
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), "Can't restore the signal " + fown.getSignum() + " or O_ASYNC of file id "
                    + e.getId() + ": " + ex.getMessage(), ex);
        }
        return fown.getPid() != 0 ? fown : null;
    }

    /**
     * Sets the saved owner on jcriu's own copy {@code local} of the file (pidfd_getfd: the same
     * struct file, where the owner lives). The kernel records the setter's uid and euid with it
     * and checks signal permission against them: as CRIU's restore_fown, the owner is set with
     * the saved euid as effective uid (the uid stays jcriu's). A raw setresuid changes the
     * calling thread only, not the rest of the JVM, and is undone at once.
     */
    static void setOwner(int local, FownEntry fown, int fileId) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ids = a.allocate(12);
            Sys.check("getresuid", Nr.GETRESUID, ids.address(), ids.address() + 4, ids.address() + 8);
            long euid = Integer.toUnsignedLong(ids.get(ValueLayout.JAVA_INT, 4));
            boolean switchEuid = Integer.toUnsignedLong(fown.getEuid()) != euid;
            MemorySegment owner = a.allocate(8);
            owner.set(ValueLayout.JAVA_INT, 0, fown.getPidType());
            owner.set(ValueLayout.JAVA_INT, 4, fown.getPid());
            if (switchEuid) {
                Sys.check("setresuid(-1, " + Integer.toUnsignedString(fown.getEuid()) + ", -1) for the owner of file id " + fileId,
                        Nr.SETRESUID, -1, Integer.toUnsignedLong(fown.getEuid()), -1);
            }
            try {
                Sys.check("fcntl(file id " + fileId + ", F_SETOWN_EX)", Nr.FCNTL, local, F_SETOWN_EX, owner.address());
            } finally {
                if (switchEuid) Sys.check("setresuid(-1, " + euid + ", -1)", Nr.SETRESUID, -1, euid, -1);
            }
        } catch (CriuException ex) {
            throw new CriuException(ex.errno(), "Can't restore the owner (type " + fown.getPidType() + " pid " + fown.getPid()
                    + ") of file id " + fileId + ": " + ex.getMessage(), ex);
        }
        LOG.debug("file id %d: owner type %d pid %d", fileId, fown.getPidType(), fown.getPid());
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
