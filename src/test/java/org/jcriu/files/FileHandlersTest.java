package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;

import org.jcriu.CriuException;
import org.jcriu.opts.Options;
import org.jcriu.proc.FdInfo;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Stat;
import org.junit.jupiter.api.Test;

class FileHandlersTest {
    private static OpenFd fd(int n, String link, int mode, long rdev) {
        return new OpenFd(42, n, link, new Stat(1, 99, 1, mode, 0, 0, rdev, 0, 4096, 0, 0, 0, 0), new FdInfo(0, 0, 1, 99, ""));
    }

    private static long dev(int major, int minor) {
        return ((long) major << 8) | minor;
    }

    @Test
    void tableSendsEachKindToItsHandler() {
        Options o = new Options();
        assertSame(FileHandlers.REG, FileHandlers.classify(fd(3, "/etc/passwd", Linux.S_IFREG | 0644, 0), o));
        assertSame(FileHandlers.REG, FileHandlers.classify(fd(3, "/tmp", Linux.S_IFDIR | 0755, 0), o));
        assertSame(FileHandlers.REG, FileHandlers.classify(fd(0, "/dev/null", Linux.S_IFCHR | 0666, dev(1, 3)), o));
        assertSame(FileHandlers.PIPE, FileHandlers.classify(fd(1, "pipe:[1234]", Linux.S_IFIFO | 0600, 0), o));
        assertSame(FileHandlers.EVENTFD, FileHandlers.classify(fd(3, "anon_inode:[eventfd]", 0600, 0), o));
        assertSame(FileHandlers.EVENTPOLL, FileHandlers.classify(fd(3, "anon_inode:[eventpoll]", 0600, 0), o));
        assertSame(FileHandlers.SIGNALFD, FileHandlers.classify(fd(3, "anon_inode:[signalfd]", 0600, 0), o));
        assertSame(FileHandlers.TIMERFD, FileHandlers.classify(fd(3, "anon_inode:[timerfd]", 0600, 0), o));
        assertSame(FileHandlers.INOTIFY, FileHandlers.classify(fd(3, "anon_inode:inotify", 0600, 0), o));
        assertSame(FileHandlers.FANOTIFY, FileHandlers.classify(fd(3, "anon_inode:[fanotify]", 0600, 0), o));
        assertSame(FileHandlers.PIDFD, FileHandlers.classify(fd(3, "anon_inode:[pidfd]", 0600, 0), o));
        assertSame(FileHandlers.MEMFD, FileHandlers.classify(fd(3, "/memfd:x (deleted)", Linux.S_IFREG | 0777, 0), o));
        o.shellJob = true;
        assertSame(FileHandlers.TTY, FileHandlers.classify(fd(0, "/dev/pts/3", Linux.S_IFCHR | 0620, dev(136, 3)), o));
    }

    @Test
    void refusalsNameFdLinkAndTask() {
        Options o = new Options();
        CriuException e = assertThrows(CriuException.class, () -> FileHandlers.classify(fd(5, "socket:[77]", Linux.S_IFSOCK | 0777, 0), o));
        assertEquals("Can't dump fd 5 (socket:[77]) of task 42: a socket is not supported", e.getMessage());
        e = assertThrows(CriuException.class, () -> FileHandlers.classify(fd(4, "anon_inode:[userfaultfd]", 0600, 0), o));
        assertEquals("Can't dump fd 4 (anon_inode:[userfaultfd]) of task 42: an anonymous inode ([userfaultfd]) is not supported", e.getMessage());
        e = assertThrows(CriuException.class, () -> FileHandlers.classify(fd(4, "anon_inode:[io_uring]", 0600, 0), o));
        assertTrue(e.getMessage().contains("an anonymous inode ([io_uring])"), e.getMessage());
        e = assertThrows(CriuException.class, () -> FileHandlers.classify(fd(4, "anon_inode:[bpf-map]", 0600, 0), o));
        assertTrue(e.getMessage().contains("an anonymous inode ([bpf-map])"), e.getMessage());
        e = assertThrows(CriuException.class, () -> FileHandlers.classify(fd(3, "/tmp/f (deleted)", Linux.S_IFREG | 0644, 0), o));
        assertTrue(e.getMessage().contains("the file was unlinked but has 1 other hard link(s); dump with --link-remap"), e.getMessage());
        e = assertThrows(CriuException.class, () -> FileHandlers.classify(fd(3, "/tmp/d (deleted)", Linux.S_IFDIR | 0755, 0), o));
        assertTrue(e.getMessage().contains("an unlinked directory is not supported"), e.getMessage());
        e = assertThrows(CriuException.class, () -> FileHandlers.classify(fd(0, "/dev/pts/3", Linux.S_IFCHR | 0620, dev(136, 3)), o));
        assertTrue(e.getMessage().contains("is a terminal: dump it with --shell-job"), e.getMessage());
        e = assertThrows(CriuException.class, () -> FileHandlers.classify(fd(6, "/dev/sda", Linux.S_IFBLK | 0660, dev(8, 0)), o));
        assertTrue(e.getMessage().contains("a block device"), e.getMessage());
    }
}
