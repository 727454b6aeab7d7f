package org.jcriu.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.UnknownFieldSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.PstreeEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageTypeTest {
    @Test
    void fileNamesFollowCriuPatterns() {
        assertEquals("core-42.img", ImageType.CORE.fileName(42));
        assertEquals("core-42.img", ImageType.CORE.fileName(42L));
        assertEquals("ghost-file-1f.img", ImageType.GHOST_FILE.fileName(31));
        assertEquals("tcp-stream-3edf0.img", ImageType.TCP_STREAM.fileName(0x3edf0));
        assertEquals("pagemap-shmem-4508.img", ImageType.SHMEM_PAGEMAP.fileName(4508));
        assertEquals("stats-dump", ImageType.STATS.fileName("dump"));
        assertEquals("inventory.img", ImageType.INVENTORY.fileName());
        assertEquals("signal-p-7.img", ImageType.PSIGNAL.fileName(7));
    }

    @Test
    void patternsAreDistinctAndAliasesResolveToTheFirstType() {
        Set<String> seen = new HashSet<>();
        for (ImageType t : ImageType.values()) {
            assertTrue(seen.add(t.pattern()) || t == ImageType.PAGES_OLD, t + " " + t.pattern());
            if (!t.isRaw()) {
                assertNotNull(t.firstEntry(), t.toString());
                assertSame(t.canonical(), ImageType.byMagic(t.magic()));
            }
        }
        assertSame(ImageType.PAGEMAP, ImageType.SHMEM_PAGEMAP.canonical());
        assertSame(ImageType.SIGNAL, ImageType.PSIGNAL.canonical());
        assertSame(ImageType.BINFMT_MISC, ImageType.BINFMT_MISC_OLD.canonical());
        assertNull(ImageType.byMagic(0));
        assertEquals(Head.NONE, ImageType.INVENTORY.head());
        assertEquals(Head.SERVICE, ImageType.IRMAP_CACHE.head());
        assertEquals(Extra.TCP_QUEUES, ImageType.TCP_STREAM.extra());
    }

    @Test
    void unknownFieldsOfNewerImagesSurviveARoundTrip(@TempDir Path tmp) throws Exception {
        // A future CRIU adds field 99 to fdinfo_entry: reading and rewriting must keep it.
        FdinfoEntry e = FdinfoEntry.newBuilder().setId(1).setFlags(2).setType(FdTypes.PIPE).setFd(3)
                .setUnknownFields(UnknownFieldSet.newBuilder().addField(99, UnknownFieldSet.Field.newBuilder().addVarint(7).build()).build())
                .build();
        Path a = tmp.resolve("a.img");
        try (ImageWriter w = ImageWriter.create(a, ImageType.FDINFO)) {
            w.write(e);
        }
        FdinfoEntry back;
        try (ImageReader r = ImageReader.open(a, ImageType.FDINFO)) {
            back = r.readOne(FdinfoEntry.parser());
        }
        assertEquals(7L, back.getUnknownFields().getField(99).getVarintList().get(0));
        Path b = tmp.resolve("b.img");
        try (ImageWriter w = ImageWriter.create(b, ImageType.FDINFO)) {
            w.write(back);
        }
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void inventoryHasNoHeadMagic(@TempDir Path tmp) throws Exception {
        ImageDir dir = new ImageDir(tmp);
        try (ImageWriter w = dir.create(ImageType.INVENTORY)) {
            w.write(org.jcriu.image.proto.InventoryEntry.newBuilder().setImgVersion(Head.IMAGES_V1_1).build());
        }
        byte[] b = Files.readAllBytes(dir.path(ImageType.INVENTORY));
        assertArrayEquals(new byte[] {0x16, 0x31, 0x31, 0x58}, java.util.Arrays.copyOf(b, 4));
        try (ImageReader r = ImageReader.probe(dir.path(ImageType.INVENTORY))) {
            assertSame(ImageType.INVENTORY, r.type());
        }
    }

    @Test
    void emptyMessageIsALegalEntry(@TempDir Path tmp) throws Exception {
        Path p = tmp.resolve("seccomp.img");
        try (ImageWriter w = ImageWriter.create(p, ImageType.SECCOMP)) {
            w.write(org.jcriu.image.proto.SeccompEntry.getDefaultInstance());
        }
        assertEquals(12, Files.size(p));
        try (ImageReader r = ImageReader.open(p, ImageType.SECCOMP)) {
            assertNotNull(r.read(org.jcriu.image.proto.SeccompEntry.parser()));
            assertNull(r.read(PstreeEntry.parser()));
            assertEquals(12, r.offset());
        }
    }
}
