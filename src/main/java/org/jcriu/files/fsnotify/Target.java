package org.jcriu.files.fsnotify;

import org.jcriu.files.FileRestorer;
import org.jcriu.image.proto.FhEntry;

/**
 * What a watch or mark is put on at restore, as a path the task can resolve: the path recorded
 * at dump, or, for a mark recorded with only its file handle, /proc/self/fd/N of an O_PATH fd
 * jcriu opened by that handle and handed to the task (the kernel follows the magic link to
 * the very inode). {@link #close()} closes that fd in the task.
 */
record Target(String path, int taskFd, FileRestorer r) implements AutoCloseable {

    static Target of(FhEntry fh, int sdev, FileRestorer r) {
        if (fh.hasPath()) return new Target(fh.getPath(), -1, null);
        int own = Handles.open(sdev, fh);
        try {
            int fd = r.pullFromRestorer(own, 0);
            return new Target("/proc/self/fd/" + fd, fd, r);
        } finally {
            org.jcriu.sys.Sys.close(own);
        }
    }

    @Override
    public void close() {
        if (taskFd >= 0) r.task().syscall(org.jcriu.sys.Nr.CLOSE, taskFd);
    }
}
