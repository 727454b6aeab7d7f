package org.jcriu.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.SeccompEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged images give one ImageException naming the file and the byte offset, never another
 * exception, a hang or a huge allocation. Built from images written here, plus seeded random
 * mutations of the CRIU fixtures when they are present.
 */
class ImageCorruptionTest {
    @TempDir
    Path tmp;

    private Path pstree(int n) {
        Path p = tmp.resolve("pstree.img");
        try (ImageWriter w = ImageWriter.create(p, ImageType.PSTREE)) {
            for (int i = 0; i < n; i++) {
                w.write(PstreeEntry.newBuilder().setPid(100 + i).setPpid(i == 0 ? 0 : 100).setPgid(100).setSid(100).addThreads(100 + i).build());
            }
        }
        return p;
    }

    private static byte[] bytes(Path p) throws Exception {
        return Files.readAllBytes(p);
    }

    private Path write(String name, byte[] b) throws Exception {
        Path p = tmp.resolve(name);
        Files.write(p, b);
        return p;
    }

    @Test
    void writesHeadAndTypeMagicsThenSizedEntries() throws Exception {
        byte[] b = bytes(pstree(1));
        assertEquals(Head.IMG_COMMON_MAGIC, ImageReader.le32(Arrays.copyOfRange(b, 0, 4)));
        assertEquals(ImageType.PSTREE.magic(), ImageReader.le32(Arrays.copyOfRange(b, 4, 8)));
        assertEquals(b.length - 12, ImageReader.le32(Arrays.copyOfRange(b, 8, 12)));
    }

    @Test
    void cleanEndAfterLastEntryIsNotAnError() throws Exception {
        try (ImageReader r = ImageReader.open(pstree(2), ImageType.PSTREE)) {
            assertEquals(100, r.read(PstreeEntry.parser()).getPid());
            assertEquals(101, r.read(PstreeEntry.parser()).getPid());
            assertNull(r.read(PstreeEntry.parser()));
            assertNull(r.read(PstreeEntry.parser()));
        }
    }

    @Test
    void everyTruncationIsCleanEndOrShortReadWithOffset() throws Exception {
        byte[] whole = bytes(pstree(3));
        int entry = (whole.length - 8) / 3;
        for (int len = 0; len < whole.length; len++) {
            Path p = write("pstree.img", Arrays.copyOf(whole, len));
            boolean boundary = len >= 8 && (len - 8) % entry == 0;
            if (boundary) {
                try (ImageReader r = ImageReader.open(p, ImageType.PSTREE)) {
                    assertEquals((len - 8) / entry, ImageFile.readAll(r, true).size());
                }
                continue;
            }
            ImageException e = assertThrows(ImageException.class, () -> {
                try (ImageReader r = ImageReader.open(p, ImageType.PSTREE)) {
                    ImageFile.readAll(r, true);
                }
            }, "length " + len);
            assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
            assertTrue(e.getMessage().contains("short read") && e.getMessage().contains(" at byte "), e.getMessage());
        }
    }

    @Test
    void absurdEntrySizeIsRefusedBeforeAllocating() throws Exception {
        byte[] b = bytes(pstree(1));
        b[8] = b[9] = b[10] = b[11] = (byte) 0xff;
        Path p = write("pstree.img", b);
        ImageException e = assertThrows(ImageException.class, () -> {
            try (ImageReader r = ImageReader.open(p, ImageType.PSTREE)) {
                r.read(PstreeEntry.parser());
            }
        });
        assertEquals(p + ": entry size 4294967295 exceeds the " + (b.length - 12) + " bytes left at byte 8", e.getMessage());
        assertEquals(8, e.offset());
    }

    @Test
    void absurdEntrySizeOnAStreamIsRefused() throws Exception {
        byte[] b = bytes(pstree(1));
        b[11] = (byte) 0x7f;
        try (ImageReader r = ImageReader.probe("<stdin>", new ByteArrayInputStream(b), -1)) {
            ImageException e = assertThrows(ImageException.class, () -> r.read(PstreeEntry.parser()));
            assertTrue(e.getMessage().contains("exceeds the limit"), e.getMessage());
        }
    }

    @Test
    void largeButTruncatedEntryOnAStreamGrowsOnlyWithTheData() throws Exception {
        // 200 MiB announced, 10 bytes present: the reader must fail after reading what is there.
        byte[] b = Arrays.copyOf(bytes(pstree(1)), 22);
        int size = 200 << 20;
        b[8] = (byte) size;
        b[9] = (byte) (size >>> 8);
        b[10] = (byte) (size >>> 16);
        b[11] = (byte) (size >>> 24);
        long before = usedHeap();
        try (ImageReader r = ImageReader.probe("<stdin>", new ByteArrayInputStream(b), -1)) {
            ImageException e = assertThrows(ImageException.class, () -> r.read(PstreeEntry.parser()));
            assertEquals("<stdin>: short read: 10 of " + size + " bytes of entry payload at byte 8", e.getMessage());
        }
        assertTrue(usedHeap() - before < 64 << 20, "allocated too much");
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void wrongHeadMagicIsNamed() throws Exception {
        byte[] b = bytes(pstree(1));
        b[0] ^= 1;
        Path p = write("pstree.img", b);
        ImageException e = assertThrows(ImageException.class, () -> ImageReader.open(p, ImageType.PSTREE));
        assertEquals(p + ": bad head magic 0x54564318, expected 0x54564319 (PSTREE) at byte 0", e.getMessage());
        // As crit does, a file with an unknown first word is taken for raw data.
        UnknownMagicException u = assertThrows(UnknownMagicException.class, () -> ImageReader.probe(p));
        assertEquals(0x54564318, u.magic());
    }

    @Test
    void serviceHeadOnAnOrdinaryImageIsRefused() throws Exception {
        byte[] b = bytes(pstree(1));
        byte[] svc = new byte[4];
        ImageWriter.putLe32(svc, 0, Head.IMG_SERVICE_MAGIC);
        System.arraycopy(svc, 0, b, 0, 4);
        Path p = write("pstree.img", b);
        ImageException e = assertThrows(ImageException.class, () -> ImageReader.probe(p));
        assertEquals(p + ": PSTREE image with service head magic at byte 0", e.getMessage());
    }

    @Test
    void probeAcceptsVersionOneImagesWithoutHeadMagic() throws Exception {
        byte[] b = bytes(pstree(1));
        Path p = write("pstree.img", Arrays.copyOfRange(b, 4, b.length));
        try (ImageReader r = ImageReader.probe(p)) {
            assertEquals(ImageType.PSTREE, r.type());
            assertEquals(100, r.readOne(PstreeEntry.parser()).getPid());
        }
        try (ImageReader r = ImageReader.open(p, ImageType.PSTREE)) {
            assertEquals(100, r.readOne(PstreeEntry.parser()).getPid());
            assertNull(r.read(PstreeEntry.parser()));
        }
    }

    @Test
    void imageOfAnotherTypeIsRefused() throws Exception {
        Path p = pstree(1);
        ImageException e = assertThrows(ImageException.class, () -> ImageReader.open(p, ImageType.CORE));
        assertEquals(p + ": bad magic 0x50273030, expected 0x55053847 (CORE) at byte 4", e.getMessage());
    }

    @Test
    void undecodablePayloadNamesEntryAndOffset() throws Exception {
        byte[] b = bytes(pstree(2));
        int second = 8 + (b.length - 8) / 2;
        b[second + 4] = (byte) 0xff; // a tag with wire type 7: invalid
        Path p = write("pstree.img", b);
        try (ImageReader r = ImageReader.open(p, ImageType.PSTREE)) {
            r.read(PstreeEntry.parser());
            ImageException e = assertThrows(ImageException.class, () -> r.read(PstreeEntry.parser()));
            assertTrue(e.getMessage().startsWith(p + ": undecodable entry #1 of "), e.getMessage());
            assertEquals(second, e.offset());
        }
    }

    @Test
    void missingRequiredFieldIsUndecodable() throws Exception {
        Path p = tmp.resolve("core-1.img");
        try (ImageWriter w = ImageWriter.create(p, ImageType.CORE)) {
            w.write(SeccompEntry.getDefaultInstance()); // empty payload: core_entry.mtype missing
        }
        try (ImageReader r = ImageReader.open(p, ImageType.CORE)) {
            ImageException e = assertThrows(ImageException.class, () -> r.read(CoreEntry.parser()));
            assertTrue(e.getMessage().contains("mtype"), e.getMessage());
        }
    }

    @Test
    void missingImageIsNamedAndOptionalOneIsNull() {
        ImageDir dir = new ImageDir(tmp);
        ImageException e = assertThrows(ImageException.class, () -> dir.open(ImageType.CORE, 42));
        assertEquals(tmp.resolve("core-42.img") + ": no such image file", e.getMessage());
        assertNull(dir.openOptional(ImageType.CORE, 42));
    }

    @Test
    void writerIsLazyAndRemovesStaleFileWhenNothingWasWritten() throws Exception {
        ImageDir dir = new ImageDir(tmp);
        Files.writeString(dir.path(ImageType.SIGACT, 7), "stale");
        try (ImageWriter w = dir.create(ImageType.SIGACT, 7)) {
            assertEquals(0, w.offset());
        }
        assertTrue(!dir.exists(ImageType.SIGACT, 7));
        try (ImageWriter w = dir.create(ImageType.STATS, "dump")) {
            w.touch();
        }
        assertEquals(List.of("stats-dump"), Files.list(tmp).map(p -> p.getFileName().toString()).toList());
        byte[] b = Files.readAllBytes(dir.path(ImageType.STATS, "dump"));
        assertEquals(Head.IMG_SERVICE_MAGIC, ImageReader.le32(b));
        assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.path(ImageType.STATS, "dump"))));
    }

    /**
     * 25 mutations per fixture image in the normal suite; a long run for a fuzzing session:
     * {@code mvn test -Dtest=ImageCorruptionTest#seededMutationsOfFixturesFailCleanly
     * -Djcriu.fuzz.rounds=20000 -Djcriu.fuzz.seed=N} (the time limit grows with the rounds).
     */
    @Test
    void seededMutationsOfFixturesFailCleanly() {
        List<Path> images = Fixtures.images().stream().filter(p -> !Fixtures.isRaw(p)).toList();
        assumeTrue(!images.isEmpty(), "fixtures absent");
        int rounds = Integer.getInteger("jcriu.fuzz.rounds", 25);
        Random rnd = new Random(Long.getLong("jcriu.fuzz.seed", 0x5eedL));
        assertTimeoutPreemptively(Duration.ofSeconds(60 + rounds / 10), () -> {
            int failures = 0;
            int runs = 0;
            for (Path img : images) {
                byte[] orig = Files.readAllBytes(img);
                for (int k = 0; k < rounds; k++) {
                    byte[] b = Fixtures.mutate(orig, rnd);
                    runs++;
                    try (ImageReader r = ImageReader.probe(img.getFileName().toString(), new ByteArrayInputStream(b), b.length)) {
                        ImageFile.readAll(r, true);
                    } catch (ImageException e) {
                        failures++;
                        assertTrue(e.getMessage().startsWith(img.getFileName() + ": "), e.getMessage());
                    }
                }
            }
            // The mutations must actually hit the error paths, or this test proves nothing.
            assertTrue(failures > runs / 4, failures + " of " + runs);
        });
    }
}
