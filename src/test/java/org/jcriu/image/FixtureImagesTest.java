package org.jcriu.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.InventoryEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.PstreeEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FixtureImagesTest {
    static Stream<Path> images() {
        List<Path> all = Fixtures.images();
        return all.isEmpty() ? Stream.of((Path) null) : all.stream();
    }

    /** Every fixture image decodes completely and writes back to the very same bytes. */
    @ParameterizedTest
    @MethodSource("images")
    void decodesAndReencodesByteForByte(Path file, @TempDir Path tmp) throws Exception {
        assumeTrue(file != null, "fixtures absent");
        if (Fixtures.isRaw(file)) {
            assertThrows(UnknownMagicException.class, () -> ImageReader.probe(file).close());
            return;
        }
        List<Entry> entries;
        ImageType type;
        try (ImageReader r = ImageReader.probe(file)) {
            type = r.type();
            entries = ImageFile.readAll(r, true);
            assertTrue(r.atEnd(), "bytes left after the last entry");
        }
        assertFalse(entries.isEmpty());
        for (Entry e : entries) {
            // Every field CRIU 4.2 wrote is known to our protos, with its wire type.
            assertNoUnknownFields(e.message(), file.getFileName().toString());
        }
        Path out = tmp.resolve(file.getFileName());
        try (ImageWriter w = ImageWriter.create(out, type)) {
            ImageFile.writeAll(w, entries);
        }
        assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(out), file.toString());
    }

    static void assertNoUnknownFields(com.google.protobuf.Message m, String where) {
        assertTrue(m.getUnknownFields().asMap().isEmpty(), where + ": unknown fields " + m.getUnknownFields().asMap().keySet()
                + " in " + m.getDescriptorForType().getName());
        for (var f : m.getAllFields().entrySet()) {
            if (f.getKey().getJavaType() != com.google.protobuf.Descriptors.FieldDescriptor.JavaType.MESSAGE) {
                continue;
            }
            if (f.getKey().isRepeated()) {
                for (Object o : (List<?>) f.getValue()) {
                    assertNoUnknownFields((com.google.protobuf.Message) o, where);
                }
            } else {
                assertNoUnknownFields((com.google.protobuf.Message) f.getValue(), where);
            }
        }
    }

    @Test
    void sleepDumpReadsThroughImageDir() {
        Path sleep = Fixtures.root() == null ? null : Fixtures.root().resolve("sleep");
        assumeTrue(sleep != null && Files.isDirectory(sleep), "fixtures absent");
        ImageDir dir = new ImageDir(sleep);
        InventoryEntry inv;
        try (ImageReader r = dir.open(ImageType.INVENTORY)) {
            inv = r.readOne(InventoryEntry.parser());
        }
        assertEquals(Head.IMAGES_V1_1, inv.getImgVersion());
        int pid;
        try (ImageReader r = dir.open(ImageType.PSTREE)) {
            PstreeEntry p = r.readOne(PstreeEntry.parser());
            pid = p.getPid();
            assertEquals(List.of(pid), p.getThreadsList());
        }
        try (ImageReader r = dir.open(ImageType.CORE, pid)) {
            CoreEntry c = r.readOne(CoreEntry.parser());
            assertEquals(CoreEntry.March.X86_64, c.getMtype());
            assertEquals("sleep", c.getTc().getComm());
            assertTrue(c.getThreadInfo().getGpregs().getIp() != 0);
        }
        try (ImageReader r = dir.open(ImageType.MM, pid)) {
            assertTrue(r.readOne(MmEntry.parser()).getVmasCount() > 5);
        }
        long pages = 0;
        try (ImageReader r = dir.open(ImageType.PAGEMAP, pid)) {
            int id = r.readOne(PagemapHead.parser()).getPagesId();
            assertTrue(dir.exists(ImageType.PAGES, id));
            PagemapEntry e;
            while ((e = r.read(PagemapEntry.parser())) != null) {
                if ((e.getFlags() & 4) != 0) {
                    pages += e.getNrPages();
                }
            }
            assertEquals(Files.exists(dir.path(ImageType.PAGES, id)) ? pages * 4096 : -1, dir.path(ImageType.PAGES, id).toFile().length());
        }
        assertTrue(dir.openOptional(ImageType.SIGACT, pid) == null);
    }
}
