package org.jcriu.predump;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.mem.PageRun;
import org.jcriu.sys.Sys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Content comparison on this JVM's own memory (process_vm_readv of ourselves): pages equal to
 * the parent image's copy become PE_PARENT, changed and new ones are written, in address order.
 */
class PageCopierTest {
    static final int P = (int) PageRun.PAGE_SIZE, PAGES = 2048; // 8 MiB: two chunks
    @TempDir
    Path tmp;

    @Test
    void equalPagesAreLeftToTheParentAndTheRestWritten() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mem = a.allocate((long) PAGES * P, P);
            for (int i = 0; i < PAGES; i++) mem.asSlice((long) i * P, P).fill((byte) i);
            long base = mem.address();
            // the parent holds the first 2000 pages as they are now
            Path d0 = Files.createDirectories(tmp.resolve("d0"));
            ImageDir parent = new ImageDir(d0);
            try (ImageWriter w = parent.create(ImageType.PAGEMAP, 5)) {
                w.write(PagemapHead.newBuilder().setPagesId(1).build());
                w.write(PagemapEntry.newBuilder().setVaddr(base).setCompatNrPages(0).setNrPages(2000).setFlags(PageRun.PE_PRESENT).build());
            }
            Files.write(d0.resolve("pages-1.img"), mem.asSlice(0, 2000L * P).toArray(ValueLayout.JAVA_BYTE));
            // then pages 10 and 1500 change (one byte each)
            mem.set(ValueLayout.JAVA_BYTE, 10L * P + 7, (byte) 0x55);
            mem.set(ValueLayout.JAVA_BYTE, 1500L * P + 4095, (byte) 0x66);
            Path out = tmp.resolve("pages-1.img");
            PageCopier.Result r;
            try (ParentPages pp = ParentPages.open(parent, 5);
                    FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                r = new PageCopier(Sys.getpid(), pp, false).copy(List.of(new PageRun(base, PAGES, PageRun.PE_PRESENT, 0)), ch, 2);
            }
            int PR = PageRun.PE_PRESENT, PA = PageRun.PE_PARENT;
            assertEquals(List.of(new PageRun(base, 10, PA, 0), new PageRun(base + 10L * P, 1, PR, 0),
                    new PageRun(base + 11L * P, 1489, PA, 0), new PageRun(base + 1500L * P, 1, PR, 0),
                    new PageRun(base + 1501L * P, 499, PA, 0), new PageRun(base + 2000L * P, 48, PR, 0)), r.runs());
            assertEquals(50, r.written());
            assertEquals(1998, r.inParent());
            byte[] want = new byte[50 * P];
            MemorySegment.copy(mem, ValueLayout.JAVA_BYTE, 10L * P, want, 0, P);
            MemorySegment.copy(mem, ValueLayout.JAVA_BYTE, 1500L * P, want, P, P);
            MemorySegment.copy(mem, ValueLayout.JAVA_BYTE, 2000L * P, want, 2 * P, 48 * P);
            assertArrayEquals(want, Files.readAllBytes(out));
        }
    }
}
