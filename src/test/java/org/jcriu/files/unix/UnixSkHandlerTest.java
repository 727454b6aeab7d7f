package org.jcriu.files.unix;

import static org.junit.jupiter.api.Assertions.*;

import org.jcriu.CriuException;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandlers;
import org.jcriu.files.OpenFd;
import org.jcriu.opts.Options;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Sys;
import org.junit.jupiter.api.Test;

/** Classification of this JVM's own fds: unix sockets by their family, other sockets refused. */
class UnixSkHandlerTest {
    private static OpenFd self(int fd) {
        for (OpenFd o : DumpFiles.scan(Sys.getpid())) if (o.fd() == fd) return o;
        throw new AssertionError("no fd " + fd);
    }

    @Test
    void unixSocketsOfEveryTypeGoToTheUnixHandler() {
        for (int type : new int[] {Sockets.SOCK_STREAM, Sockets.SOCK_DGRAM, Sockets.SOCK_SEQPACKET}) {
            int s = Sockets.socket(type);
            try {
                assertSame(FileHandlers.UNIXSK, FileHandlers.classify(self(s), new Options()), UnixSk.typeName(type));
            } finally {
                Sys.close(s);
            }
        }
    }

    @Test
    void otherSocketFamiliesAreRefused() {
        int s = (int) Sys.check("socket(AF_INET)", Nr.SOCKET, 2, Sockets.SOCK_DGRAM | Sockets.SOCK_CLOEXEC, 0);
        try {
            CriuException e = assertThrows(CriuException.class, () -> FileHandlers.classify(self(s), new Options()));
            assertTrue(e.getMessage().contains("a socket is not supported"), e.getMessage());
        } finally {
            Sys.close(s);
        }
    }

    @Test
    void namesShowAsUsersWriteThem() {
        assertEquals("@abc", UnixSk.show(new byte[] {0, 'a', 'b', 'c'}));
        assertEquals("/run/x.sock", UnixSk.show("/run/x.sock\0".getBytes()));
        assertEquals("(unbound)", UnixSk.show(null));
        assertNull(UnixSk.path(new byte[] {0, 'a'}));
    }
}
