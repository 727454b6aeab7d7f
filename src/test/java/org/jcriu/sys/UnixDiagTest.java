package org.jcriu.sys;

import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** sock_diag and queue peeking on sockets of this JVM (real kernel, nothing mocked). */
class UnixDiagTest {
    private static int ino(int fd) {
        return (int) Sys.fstat(fd).ino();
    }

    private static int openFds() {
        return new File("/proc/self/fd").list().length;
    }

    @Test
    void socketpairEndsArePeersOfEachOther() {
        int[] sv = Sockets.socketpair(Sockets.SOCK_STREAM);
        try {
            Sockets.send(sv[0], "abc".getBytes(), -1);
            Map<Integer, UnixDiag.Sk> all = UnixDiag.all();
            UnixDiag.Sk a = all.get(ino(sv[0])), b = all.get(ino(sv[1]));
            assertNotNull(a);
            assertNotNull(b);
            assertEquals(ino(sv[1]), a.peer());
            assertEquals(ino(sv[0]), b.peer());
            assertEquals(Sockets.SOCK_STREAM, a.type());
            assertEquals(1, a.state(), "TCP_ESTABLISHED");
            assertEquals(3, b.rqlen(), "bytes waiting in b");
            assertNull(a.name());
        } finally {
            Sys.close(sv[0]);
            Sys.close(sv[1]);
        }
    }

    @Test
    void peekKeepsDatagramsTheirBoundariesAndThePeekOffset() {
        int[] sv = Sockets.socketpair(Sockets.SOCK_DGRAM);
        try {
            Sockets.send(sv[0], "one".getBytes(), -1);
            Sockets.send(sv[0], new byte[1000], -1);
            Sockets.send(sv[0], "3".getBytes(), -1);
            List<Sockets.Queued> q = Sockets.peekQueue(sv[1], 4096);
            assertEquals(3, q.size());
            assertArrayEquals("one".getBytes(), q.get(0).data());
            assertEquals(1000, q.get(1).data().length);
            assertArrayEquals("3".getBytes(), q.get(2).data());
            assertEquals(-1, Sockets.getInt(sv[1], Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF), "peek offset put back");
            assertArrayEquals("one".getBytes(), Sockets.recv(sv[1], 100), "the queue is still there");
            assertThrows(ErrnoException.class, () -> Sockets.peekQueue(sv[1], 10), "a datagram larger than the buffer is an error");
        } finally {
            Sys.close(sv[0]);
            Sys.close(sv[1]);
        }
    }

    @Test
    void peekedRightsAreCountedAndClosed() {
        int[] sv = Sockets.socketpair(Sockets.SOCK_STREAM);
        try {
            Sockets.send(sv[0], "fd".getBytes(), sv[0]);
            int before = openFds();
            List<Sockets.Queued> q = Sockets.peekQueue(sv[1], 4096);
            assertEquals(1, q.size());
            assertEquals(1, q.get(0).rights());
            assertEquals(before, openFds(), "the fd installed by the peek is closed");
        } finally {
            Sys.close(sv[0]);
            Sys.close(sv[1]);
        }
    }

    @Test
    void listenerShowsItsNameAndTheConnectionWaitingInIt() {
        String name = "\0jcriu-diag-" + ProcessHandle.current().pid();
        int l = Sockets.socket(Sockets.SOCK_STREAM);
        int c = Sockets.socket(Sockets.SOCK_STREAM);
        try {
            Sockets.bind(l, name);
            Sockets.listen(l, 5);
            Sockets.connect(c, name);
            Map<Integer, UnixDiag.Sk> all = UnixDiag.all();
            UnixDiag.Sk ls = all.get(ino(l));
            assertEquals(10, ls.state(), "TCP_LISTEN");
            assertEquals(1, ls.rqlen(), "one connection to accept");
            assertEquals(5, ls.wqlen(), "backlog");
            // Sockets.bind counts the terminating NUL in the address length, so it is part of the name
            assertArrayEquals((name + "\0").getBytes(), ls.name());
            assertArrayEquals(new int[] {ino(c)}, ls.icons());
            assertEquals(0, all.get(ino(c)).peer(), "the embryo has no inode");
        } finally {
            Sys.close(l);
            Sys.close(c);
        }
    }
}
