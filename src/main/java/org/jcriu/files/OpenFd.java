package org.jcriu.files;

import org.jcriu.proc.FdInfo;
import org.jcriu.sys.Stat;

/**
 * One open fd of a task being dumped, as seen from outside: the /proc/PID/fd/N link target,
 * stat(2) of what it points to, and /proc/PID/fdinfo/N.
 */
public record OpenFd(int pid, int fd, String link, Stat stat, FdInfo info) {

    /** The file's f_flags without O_CLOEXEC, which is a property of the fd, not of the file. */
    public int fileFlags() {
        return info.flags() & ~org.jcriu.sys.Linux.O_CLOEXEC;
    }

    /** fdinfo_entry.flags: the fd's own flags, i.e. FD_CLOEXEC. */
    public int fdFlags() {
        return (info.flags() & org.jcriu.sys.Linux.O_CLOEXEC) != 0 ? org.jcriu.sys.Linux.FD_CLOEXEC : 0;
    }

    public String describe() {
        return "fd " + fd + " (" + link + ") of task " + pid;
    }
}
