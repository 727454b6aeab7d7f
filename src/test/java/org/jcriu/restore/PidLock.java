package org.jcriu.restore;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Tests that restore a fixture at its fixed PID take this lock first: test runs of several
 * worktrees share the machine, and two restores of PID 21070 (or one run's cleanup killing the
 * other's restored task) would make both fail for nothing.
 */
final class PidLock implements AutoCloseable {
    private final FileChannel ch;
    private final FileLock lock;

    private PidLock(FileChannel ch, FileLock lock) {
        this.ch = ch;
        this.lock = lock;
    }

    static PidLock take(int pid) throws IOException {
        FileChannel ch = FileChannel.open(Path.of("/tmp/jcriu-test-pid-" + pid + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        return new PidLock(ch, ch.lock());
    }

    /** The lock of a fixture's {@code pid}; the test is skipped (lock released) when that pid is in use here. */
    static PidLock takeFree(int pid) throws IOException {
        PidLock l = take(pid);
        if (Procs.exists(pid)) {
            l.close();
            org.junit.jupiter.api.Assumptions.abort("PID " + pid + " is in use on this machine");
        }
        return l;
    }

    @Override
    public void close() throws IOException {
        lock.release();
        ch.close();
    }
}
