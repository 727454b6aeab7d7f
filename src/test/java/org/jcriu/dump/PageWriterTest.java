package org.jcriu.dump;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jcriu.CriuException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PageWriter on this JVM's own memory: file layout in pagemap order across chunks and readers, and failures. */
class PageWriterTest {
    @TempDir Path tmp;

    @Test
    void runsLandInOrderAcrossChunksAndReaders() throws Exception {
        int pages = 5 * (PageWriter.CHUNK / 4096) + 3;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate((long) pages * 4096, 4096);
            for (long i = 0; i < m.byteSize() / 8; i++) m.setAtIndex(ValueLayout.JAVA_LONG, i, i * 31 + 7);
            long base = m.address();
            // two runs with a hole of 2 pages between them
            List<PageScan.Run> runs = List.of(new PageScan.Run(base, 10, PageScan.PE_PRESENT),
                    new PageScan.Run(base + 12 * 4096L, pages - 12, PageScan.PE_PRESENT));
            Path out = tmp.resolve("pages-1.img");
            for (int threads : new int[] {1, 2, 4}) {
                new PageWriter((int) ProcessHandle.current().pid()).write(runs, out, threads);
                byte[] f = Files.readAllBytes(out);
                assertEquals((long) (pages - 2) * 4096, f.length);
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(f).order(java.nio.ByteOrder.nativeOrder());
                for (long word = 0; word < f.length / 8; word += 509) {
                    long src = word < 10 * 512 ? word : word + 2 * 512;
                    assertEquals(src * 31 + 7, b.getLong((int) word * 8), "word " + word + " with " + threads + " threads");
                }
            }
        }
    }

    @Test
    void unreadableMemoryNamesTaskAndAddress() {
        int self = (int) ProcessHandle.current().pid();
        List<PageScan.Run> runs = List.of(new PageScan.Run(0x1000, 1, PageScan.PE_PRESENT));
        CriuException e = assertThrows(CriuException.class,
                () -> new PageWriter(self).write(runs, tmp.resolve("pages-1.img"), 2));
        assertTrue(e.getMessage().contains("task " + self) && e.getMessage().contains("0x1000"), e.getMessage());
    }
}
