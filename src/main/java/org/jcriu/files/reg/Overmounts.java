package org.jcriu.files.reg;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.proc.FdInfo;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Open files whose path now leads elsewhere because a mount was put over it (a tmpfs mounted
 * on their directory or on a directory above it). /proc/PID/fd/N still names the path the file
 * was opened by, but that path resolves into the new mount. CRIU refuses such files ("Unaccessible
 * path opened"); jcriu reaches them the way the kernel still does, through the mount the file
 * lives on: a private, non-recursive clone of that mount (open_tree(OPEN_TREE_CLONE)) shows its
 * own directories without whatever was mounted on them since.
 *
 * <p>The dump records the mount in reg_file_entry.mnt_id (CRIU's field; CRIU writes it only
 * when it dumps mount namespaces, so an entry that has it outside one is such a file), and the
 * name stays the path the file had. Restore, in the same mount namespace, finds that mount by
 * id in /proc/self/mountinfo and opens the name relative to its mount point in a fresh clone.
 * The opened file keeps the detached clone alive for as long as it is open.
 */
public final class Overmounts {
    private static final Logger LOG = Log.get("reg");
    /** open_tree(2) flags. */
    private static final int OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = Linux.O_CLOEXEC;

    private Overmounts() {}

    /**
     * -1 when {@code path} leads to the file {@code st} describes (the common case: one stat),
     * otherwise the id of the mount through which it is still reached. {@code fdMntId} is the
     * mount fdinfo names for an fd, or 0 when there is no fd (a mapping): then every mount of
     * the file's device above the path is tried, deepest first.
     */
    static int hiddenMount(String path, Stat st, int fdMntId, String who) {
        Stat now = null;
        try {
            now = Sys.stat(path);
            if (now.dev() == st.dev() && now.ino() == st.ino()) return -1;
        } catch (ErrnoException ex) {
            // ENOENT, ENOTDIR...: the path is gone from view, not necessarily the file
        }
        List<MountInfo> mounts = MountInfo.of("self");
        List<MountInfo> cands = new ArrayList<>();
        MountInfo own = fdMntId > 0 ? MountInfo.byId(mounts, fdMntId) : null;
        if (own != null) {
            cands.add(own);
        } else {
            // no fd, or an fd on a mount outside the namespace: a detached clone, as a restored
            // overmounted file is; its path is then relative to the clone's root, which for a
            // clone of / is the path, found again through the mount it was cloned from
            String dev = MountInfo.dev(st.dev());
            for (MountInfo m : mounts) if (m.dev().equals(dev) && m.relative(path) != null) cands.add(m);
            cands.sort(Comparator.comparingInt((MountInfo m) -> m.mountPoint().length()).reversed());
        }
        String why = null;
        for (MountInfo m : cands) {
            String rel = m.relative(path);
            if (rel == null) continue;
            try {
                int fd = openIn(m, rel, Linux.O_PATH);
                try {
                    Stat s = Sys.fstat(fd);
                    if (s.dev() == st.dev() && s.ino() == st.ino()) {
                        LOG.info("%s: %s is overmounted; reached through mount %d at %s", who, path, m.id(), m.mountPoint());
                        return m.id();
                    }
                } finally {
                    Sys.close(fd);
                }
            } catch (CriuException ex) {
                if (why == null) why = ex.getMessage();
            }
        }
        String seen = now == null ? "does not exist" : String.format("leads to another file (%s ino %d)", MountInfo.dev(now.dev()), now.ino());
        if (fdMntId > 0 && own == null) seen += " and the file is on mount " + fdMntId + ", which is not in the task's mount namespace (a detached mount?)";
        throw new CriuException(String.format("Can't dump %s: its path %s %s, need %s ino %d%s", who, path, seen,
                MountInfo.dev(st.dev()), st.ino(), why == null ? "" : "; under its mount: " + why));
    }

    /**
     * Restore: jcriu's own fd on {@code name}, opened with {@code flags} through a clone of
     * mount {@code mntId} (the caller hands it to the task and closes it).
     */
    public static int open(String name, int mntId, int flags) {
        MountInfo m = MountInfo.byId(MountInfo.of("self"), mntId);
        if (m == null) {
            throw new CriuException(String.format("%s was reached through mount %d at dump (its path was overmounted); "
                    + "there is no mount %d here any more", name, mntId, mntId));
        }
        String rel = m.relative(name);
        if (rel == null) throw new CriuException(name + " is not below mount " + mntId + " at " + m.mountPoint());
        return openIn(m, rel, flags);
    }

    /**
     * openat({@code rel}) in a private clone of mount {@code m}, which must be visible at its mount
     * point (the clone of a mount that is itself covered could only be reached through its parent,
     * and a clone of the parent is not recursive).
     */
    private static int openIn(MountInfo m, String rel, int flags) {
        int mp;
        try {
            mp = Sys.open(m.mountPoint(), Linux.O_PATH, 0);
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), "Can't open mount point " + m.mountPoint() + " of mount " + m.id() + ": " + ex.getMessage(), ex);
        }
        int tree = -1;
        try {
            int seen = FdInfo.parse(Sys.readString("/proc/self/fdinfo/" + mp)).mntId();
            if (seen != m.id()) {
                throw new CriuException(String.format("mount %d at %s is itself overmounted (mount %d is on top of it)",
                        m.id(), m.mountPoint(), seen));
            }
            try (Arena a = Arena.ofConfined()) {
                tree = (int) Sys.check("open_tree(" + m.mountPoint() + ", OPEN_TREE_CLONE)", Nr.OPEN_TREE, mp,
                        a.allocateFrom("").address(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | Linux.AT_EMPTY_PATH);
                return (int) Sys.check("openat(mount " + m.id() + ", " + rel + ")", Nr.OPENAT, tree,
                        a.allocateFrom(rel.isEmpty() ? "." : rel).address(), flags | Linux.O_CLOEXEC | Linux.O_NOCTTY, 0);
            }
        } finally {
            if (tree >= 0) Sys.close(tree);
            Sys.close(mp);
        }
    }
}
