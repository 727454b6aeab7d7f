package org.jcriu.service;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

import org.jcriu.CriuException;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * The process at the other end of the RPC socket (SO_PEERCRED) and what may be done on its
 * behalf. fd-valued options are numbers in the client's fd table, reached as
 * /proc/PEER/fd/N exactly as CRIU does.
 */
record Peer(int pid, int uid, int gid) {
    private static final long NR_GETEUID = 107;

    static Peer of(int sk) {
        Sockets.Ucred c = Sockets.peerCred(sk);
        return new Peer(c.pid(), c.uid(), c.gid());
    }

    String fdPath(int fd) {
        return "/proc/" + pid + "/fd/" + fd;
    }

    /**
     * The directory behind the client's fd {@code fd}: its real path when that path names the
     * same directory from here (logs and scripts then show it), else the /proc magic link, which
     * works even across mount namespaces.
     */
    Path directory(int fd, String what) {
        String link = fdPath(fd);
        Stat st;
        try {
            st = Sys.stat(link);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't open " + what + " " + fd + " of client " + pid + " (" + link
                    + "): " + e.getMessage(), e);
        }
        if ((st.mode() & Linux.S_IFMT) != Linux.S_IFDIR) {
            throw new CriuException(Errno.ENOTDIR, what + " " + fd + " of client " + pid + " is not a directory");
        }
        try {
            String real = Sys.readlink(link);
            if (real.startsWith("/")) {
                Stat rs = Sys.stat(real);
                if (rs.dev() == st.dev() && rs.ino() == st.ino()) return Path.of(real);
            }
        } catch (ErrnoException e) {
            // deleted or in another mount namespace: the magic link still works
        }
        return Path.of(link);
    }

    /**
     * A root daemon must not become a way for a user to act on somebody else's processes: unless
     * both ends are root, every task of the tree rooted at {@code root} must belong to the client
     * (real, effective, saved and filesystem uid). Without root ourselves the kernel's ptrace
     * checks already say the same.
     */
    void checkMayDump(int root) {
        if (uid == 0 || Sys.raw(NR_GETEUID) != 0) return;
        Deque<Integer> todo = new ArrayDeque<>();
        todo.add(root);
        while (!todo.isEmpty()) {
            int p = todo.pop();
            String status;
            try {
                status = Sys.readString("/proc/" + p + "/status");
            } catch (ErrnoException e) {
                throw new CriuException(Errno.ESRCH, "Can't read /proc/" + p + "/status: " + e.getMessage(), e);
            }
            for (String line : status.split("\n")) {
                if (!line.startsWith("Uid:")) continue;
                for (String f : line.substring(4).trim().split("\\s+")) {
                    if (Integer.parseInt(f) != uid) {
                        throw new CriuException(Errno.EPERM, "task " + p + " does not belong to the RPC client's uid "
                                + uid + " (" + line.replace('\t', ' ') + "): only root may dump other users' processes");
                    }
                }
            }
            children(p, todo);
        }
    }

    /**
     * A root daemon writes images and logs where a user asks only into directories that user
     * owns: otherwise any user could make it write into /etc.
     */
    void checkOwns(Path dir, String what) {
        if (uid == 0 || Sys.raw(NR_GETEUID) != 0) return;
        Stat st = Sys.stat(dir.toString());
        if (st.uid() != uid) {
            throw new CriuException(Errno.EPERM, what + " " + dir + " belongs to uid " + st.uid()
                    + ", not to the RPC client's uid " + uid);
        }
    }

    private static void children(int pid, Deque<Integer> out) {
        java.io.File[] tasks = new java.io.File("/proc/" + pid + "/task").listFiles();
        if (tasks == null) return;
        for (java.io.File t : tasks) {
            try {
                String c = Sys.readString(t.getPath() + "/children").trim();
                if (c.isEmpty()) continue;
                for (String s : c.split("\\s+")) out.add(Integer.parseInt(s));
            } catch (ErrnoException e) {
                // the thread exited meanwhile
            }
        }
    }
}
