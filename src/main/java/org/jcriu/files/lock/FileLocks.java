package org.jcriu.files.lock;

import java.util.ArrayList;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.files.OpenFd;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FileLockEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;

/**
 * File locks (CRIU's file-lock.c, filelocks.img): flock(2), POSIX (F_SETLK) and OFD
 * (F_OFD_SETLK) locks, and leases (F_SETLEASE) that no open is breaking. The kernel lists in /proc/PID/fdinfo/N, as "lock:" lines, the locks
 * taken through that open file by this task (for POSIX locks: owned by its files_struct), so
 * each lock is tied to an fd without guessing from /proc/locks. At restore they are taken
 * again by the restored task itself, through injected flock/fcntl, once its fds are in place:
 * POSIX locks belong to the process that takes them, flock and OFD locks to the open file.
 */
public final class FileLocks {
    private static final Logger LOG = Log.get("file-lock");

    /** file_lock_entry.flag values (CRIU's own, not the kernel's FL_*). */
    static final int FL_POSIX = 1, FL_FLOCK = 2, FL_OFD = 4, FL_LEASE = 8;
    static final int F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
    private static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;
    private static final int F_SETLK = 6, F_OFD_SETLK = 37, F_SETLEASE = 1024;

    private FileLocks() {}

    /** The locks held through {@code fd}, as file_lock_entry for task {@code pid} (empty if none). */
    public static List<FileLockEntry> of(OpenFd fd) {
        List<FileLockEntry> out = new ArrayList<>();
        for (String line : fd.info().text().split("\n")) {
            if (!line.startsWith("lock:")) continue;
            out.add(parse(line.substring(5).strip(), fd));
        }
        return out;
    }

    /**
     * One lock as the kernel prints it (fs/locks.c lock_get_status), e.g.
     * {@code 1: POSIX  ADVISORY  WRITE 1234 00:2d:5678 10 29}: kind, mode, type, pid,
     * dev:ino, first byte, last byte or EOF.
     */
    static FileLockEntry parse(String s, OpenFd fd) {
        String[] t = s.split("\\s+");
        if (t.length < 8) throw new CriuException("Can't parse lock \"" + s + "\" of " + fd.describe());
        int flag = switch (t[1]) {
            case "POSIX" -> FL_POSIX;
            case "FLOCK" -> FL_FLOCK;
            case "OFDLCK" -> FL_OFD;
            case "LEASE" -> FL_LEASE;
            case "DELEG" -> throw new CriuException("Can't dump " + fd.describe() + ": it holds a delegation; delegations are not supported");
            default -> throw new CriuException("Can't dump " + fd.describe() + ": lock of unknown kind \"" + s + "\"");
        };
        if (flag == FL_LEASE && !t[2].equals("ACTIVE")) {
            // a lease some open is breaking: CRIU re-creates the break; not supported here
            throw new CriuException("Can't dump " + fd.describe() + ": its lease is being broken (" + t[2].toLowerCase()
                    + "); leases being broken are not supported yet");
        }
        if (flag != FL_LEASE && !t[2].equals("ADVISORY")) {
            throw new CriuException("Can't dump " + fd.describe() + ": " + t[2].toLowerCase() + " lock \"" + s + "\" is not supported");
        }
        int type = switch (t[3]) {
            case "READ" -> F_RDLCK;
            case "WRITE" -> F_WRLCK;
            default -> throw new CriuException("Can't dump " + fd.describe() + ": lock of type " + t[3] + " is not supported");
        };
        long start = Long.parseLong(t[6]);
        // the kernel prints the last byte; the image has a length, 0 meaning to the end of file
        long len = t[7].equals("EOF") ? 0 : Long.parseLong(t[7]) + 1 - start;
        // A POSIX lock belongs to a process, not to the open file: a file shared across fork
        // shows its child's locks too, with the child's pid. The others belong to the open file.
        int pid = flag == FL_POSIX ? Integer.parseInt(t[4]) : fd.pid();
        return FileLockEntry.newBuilder().setFlag(flag).setType(type).setPid(pid).setFd(fd.fd()).setStart(start).setLen(len).build();
    }

    /** Whether {@code l} is a POSIX lock, owned by the process {@code l.getPid()} rather than by the open file. */
    public static boolean ownedByProcess(FileLockEntry l) {
        return (l.getFlag() & FL_POSIX) != 0;
    }

    /** The locks of filelocks.img that task {@code pid} held. */
    public static List<FileLockEntry> read(ImageDir dir, int pid) {
        List<FileLockEntry> out = new ArrayList<>();
        try (ImageReader r = dir.openOptional(ImageType.FILE_LOCKS)) {
            if (r == null) return out;
            FileLockEntry e;
            while ((e = r.read(FileLockEntry.parser())) != null) if (e.getPid() == pid) out.add(e);
        }
        return out;
    }

    /**
     * Takes {@code l} again in {@code task}, whose fd {@code l.fd} is in place. Non-blocking: a
     * lock someone else took meanwhile fails the restore instead of hanging it.
     */
    public static void restore(Task task, FileLockEntry l) {
        try {
            if ((l.getFlag() & FL_FLOCK) != 0) {
                int op = switch (l.getType()) {
                    case F_RDLCK -> LOCK_SH;
                    case F_WRLCK -> LOCK_EX;
                    default -> throw new CriuException("Unknown flock type " + l.getType() + " in filelocks.img");
                };
                task.syscall(Nr.FLOCK, l.getFd(), op | LOCK_NB);
            } else if ((l.getFlag() & (FL_POSIX | FL_OFD)) != 0) {
                int cmd = (l.getFlag() & FL_OFD) != 0 ? F_OFD_SETLK : F_SETLK;
                // struct flock (x86_64): short l_type, short l_whence, off_t l_start @8, off_t l_len @16, pid_t l_pid @24
                byte[] b = new byte[32];
                java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                bb.putShort(0, (short) l.getType()).putShort(2, (short) 0).putLong(8, l.getStart()).putLong(16, l.getLen());
                try (Scratch s = task.scratch(32)) {
                    s.put(0, b);
                    task.syscall(Nr.FCNTL, l.getFd(), cmd, s.addr());
                }
            } else if ((l.getFlag() & FL_LEASE) != 0) {
                // root may take a lease on any file (CAP_LEASE); the task is still root here
                task.syscall(Nr.FCNTL, l.getFd(), F_SETLEASE, l.getType());
            } else {
                throw new CriuException("Unknown file lock kind " + l.getFlag() + " in filelocks.img");
            }
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), String.format("Can't take %s lock (type %d, bytes %d+%d) on fd %d of task %d again: %s",
                    kind(l.getFlag()), l.getType(), l.getStart(), l.getLen(), l.getFd(), task.tid(), ex.getMessage()), ex);
        }
        LOG.info("task %d: %s lock type %d on fd %d (start %d, len %d) taken again", task.tid(), kind(l.getFlag()), l.getType(),
                l.getFd(), l.getStart(), l.getLen());
    }

    static String kind(int flag) {
        return (flag & FL_FLOCK) != 0 ? "flock" : (flag & FL_OFD) != 0 ? "OFD" : (flag & FL_LEASE) != 0 ? "lease" : "POSIX";
    }
}
