package org.jcriu.files.lock;

import static org.junit.jupiter.api.Assertions.*;

import org.jcriu.CriuException;
import org.jcriu.files.OpenFd;
import org.jcriu.image.proto.FileLockEntry;
import org.jcriu.proc.FdInfo;
import org.junit.jupiter.api.Test;

class FileLocksTest {
    private static OpenFd fd(String fdinfo) {
        return new OpenFd(42, 5, "/tmp/f", null, FdInfo.parse(fdinfo));
    }

    @Test
    void fdinfoLockLinesBecomeCriuEntries() {
        var locks = FileLocks.of(fd("pos:\t0\nflags:\t02\nmnt_id:\t30\nino:\t5678\n"
                + "lock:\t1: POSIX  ADVISORY  WRITE 42 00:2d:5678 10 29\n"
                + "lock:\t2: FLOCK  ADVISORY  READ 42 00:2d:5678 0 EOF\n"
                + "lock:\t3: OFDLCK ADVISORY  READ  -1 00:2d:5678 100 EOF\n"));
        assertEquals(3, locks.size());
        FileLockEntry p = locks.get(0);
        assertEquals(FileLocks.FL_POSIX, p.getFlag());
        assertEquals(FileLocks.F_WRLCK, p.getType());
        assertEquals(10, p.getStart());
        assertEquals(20, p.getLen(), "the kernel prints the last byte, the image holds a length");
        assertEquals(42, p.getPid());
        assertEquals(5, p.getFd());
        assertEquals(FileLocks.FL_FLOCK, locks.get(1).getFlag());
        assertEquals(FileLocks.F_RDLCK, locks.get(1).getType());
        assertEquals(0, locks.get(1).getLen(), "EOF is length 0");
        assertEquals(FileLocks.FL_OFD, locks.get(2).getFlag());
        assertEquals(100, locks.get(2).getStart());
    }

    @Test
    void noLockLinesNoLocks() {
        assertTrue(FileLocks.of(fd("pos:\t0\nflags:\t02\n")).isEmpty());
    }

    @Test
    void activeLeaseIsKeptBreakingOneRefused() {
        FileLockEntry l = FileLocks.of(fd("pos:\t0\nlock:\t1: LEASE  ACTIVE    READ 42 00:2d:5678 0 EOF\n")).get(0);
        assertEquals(FileLocks.FL_LEASE, l.getFlag());
        assertEquals(FileLocks.F_RDLCK, l.getType());
        CriuException ex = assertThrows(CriuException.class,
                () -> FileLocks.of(fd("pos:\t0\nlock:\t1: LEASE  BREAKING  READ 42 00:2d:5678 0 EOF\n")));
        assertEquals("Can't dump fd 5 (/tmp/f) of task 42: its lease is being broken (breaking); leases being broken are not supported yet",
                ex.getMessage());
    }
}
