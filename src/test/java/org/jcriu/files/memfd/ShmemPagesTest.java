package org.jcriu.files.memfd;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.jcriu.image.Fixtures;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.MemfdInodeEntry;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** memfd contents in CRIU's shmem page format: CRIU 4.2's are read back, ours round-trip with their holes. */
class ShmemPagesTest {
    @TempDir Path tmp;

    private static int memfd(Arena a) {
        return (int) Sys.check("memfd_create", Nr.MEMFD_CREATE, a.allocateFrom("t").address(), 0);
    }

    private static byte[] read(int fd, long off, int n, Arena a) {
        MemorySegment b = a.allocate(n);
        long got = Sys.pread(fd, b, n, off);
        assertEquals(n, got);
        return b.toArray(JAVA_BYTE);
    }

    @Test
    void criu42SinkMemfdContentsAreRestored() {
        Path root = Fixtures.root();
        assumeTrue(root != null, "no CRIU 4.2 fixtures");
        ImageDir dir = new ImageDir(root.resolve("sink"));
        MemfdInodeEntry mie = null;
        try (ImageReader r = dir.open(ImageType.MEMFD_INODE)) {
            MemfdInodeEntry e;
            while ((e = r.read(MemfdInodeEntry.parser())) != null) if (e.getName().equals("fixture-memfd")) mie = e;
        }
        assertNotNull(mie);
        try (Arena a = Arena.ofConfined()) {
            int fd = memfd(a);
            try {
                ShmemPages.fill(dir, mie.getShmid(), fd, mie.getSize());
                assertEquals(6, Sys.fstat(fd).size());
                assertEquals("memfd!", new String(read(fd, 0, 6, a)));
            } finally {
                Sys.close(fd);
            }
        }
    }

    @Test
    void dataAndHolesRoundTrip() {
        try (Arena a = Arena.ofConfined()) {
            int src = memfd(a), dst = memfd(a);
            try {
                long size = (3 << 20) + 5;
                Sys.check("ftruncate", Nr.FTRUNCATE, src, size);
                Sys.pwrite(src, a.allocateFrom("head"), 4, 10);
                Sys.pwrite(src, a.allocateFrom("tail"), 4, size - 4);
                ShmemPages.Content c = ShmemPages.read(src, size);
                assertEquals(2, c.pageCount(), "only the two pages with data are saved");
                ImageDir dir = new ImageDir(tmp);
                ShmemPages.write(dir, 99, 5, c);
                ShmemPages.fill(dir, 99, dst, size);
                assertEquals(size, Sys.fstat(dst).size());
                assertEquals("head", new String(read(dst, 10, 4, a)));
                assertEquals("tail", new String(read(dst, size - 4, 4, a)));
                assertArrayEquals(new byte[64], read(dst, 1 << 20, 64, a));
            } finally {
                Sys.close(src);
                Sys.close(dst);
            }
        }
    }
}
