package org.jcriu.files;

import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;

/**
 * Everything jcriu knows about one kind of open file (CRIU's fdtype_ops): how to describe it
 * in files.img at dump time and how to open it again inside a restored task. Handlers are
 * listed, in classification order, in {@link FileHandlers}.
 */
public interface FileHandler {
    /** The file_entry type this handler writes and reads. */
    FdTypes type();

    /** Log prefix and name in messages ("reg", "pipe", "tty"). */
    String name();

    /** Describes the open file {@code fd} as a file_entry with id {@code id}. */
    FileEntry dump(OpenFd fd, int id, DumpFiles files);

    /**
     * Opens the file described by {@code entry} inside the task being restored and returns the
     * fd number it got there (any number: the caller moves it to its place). Runs on the tracer
     * thread.
     */
    int open(FileEntry entry, FileRestorer restorer);

    /**
     * Like {@link #open}, for files that may have to wait for other fds of the task (see
     * {@link FileRestorer#installed}): returns {@link Opening.NotYet} without touching the task
     * when they are not in place yet.
     */
    default Opening tryOpen(FileEntry entry, FileRestorer restorer) {
        return new Opening.Opened(open(entry, restorer));
    }
}
