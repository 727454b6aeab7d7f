package org.jcriu.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chains of pagemaps written by hand: every page resolves to the layer holding its data, runs
 * are cut where the layer changes, and broken chains fail naming the image.
 */
class PageChainTest {
    static final long P = PageRun.PAGE_SIZE, BASE = 0x10000000L;
    @TempDir
    Path tmp;

    /** A pagemap of pid 7 in {@code name}: entries {vaddr page index, pages, flags}; present pages hold byte {@code mark}+index. */
    Path layer(String name, String parent, int mark, long[]... entries) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        if (parent != null) Files.createSymbolicLink(d.resolve("parent"), Path.of(parent));
        ImageDir dir = new ImageDir(d);
        try (ImageWriter w = dir.create(ImageType.PAGEMAP, 7)) {
            w.write(PagemapHead.newBuilder().setPagesId(1).build());
            for (long[] e : entries) {
                w.write(PagemapEntry.newBuilder().setVaddr(BASE + e[0] * P).setCompatNrPages(0).setNrPages(e[1]).setFlags((int) e[2]).build());
            }
        }
        java.io.ByteArrayOutputStream pages = new java.io.ByteArrayOutputStream();
        for (long[] e : entries) {
            if ((e[2] & PageRun.PE_PRESENT) == 0) continue;
            for (long i = 0; i < e[1]; i++) {
                byte[] page = new byte[(int) P];
                java.util.Arrays.fill(page, (byte) (mark + e[0] + i));
                pages.write(page);
            }
        }
        Files.write(d.resolve("pages-1.img"), pages.toByteArray());
        return d;
    }

    /** The byte every page of [from, from+n) reads as through the chain. */
    static byte[] read(PageChain c, long from, int n) {
        byte[] out = new byte[n];
        try (LocalPageSource src = new LocalPageSource(c.files()); Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(P);
            for (int k = 0; k < n; k++) {
                long va = BASE + (from + k) * P;
                PageRun r = c.runs().get(c.firstEndingAfter(va));
                src.read(r, va - r.vaddr(), buf);
                out[k] = buf.get(ValueLayout.JAVA_BYTE, P - 1);
            }
        }
        return out;
    }

    static final int PRESENT = PageRun.PE_PRESENT, PARENT = PageRun.PE_PARENT;

    @Test
    void pagesComeFromTheLayerThatHasThem() throws Exception {
        layer("d0", null, 0, new long[] {0, 8, PRESENT});
        layer("d1", "../d0", 40, new long[] {0, 2, PARENT}, new long[] {2, 2, PRESENT}, new long[] {4, 4, PARENT});
        Path d2 = layer("d2", "../d1", 80, new long[] {0, 3, PARENT}, new long[] {3, 1, PRESENT}, new long[] {4, 4, PARENT});
        PageChain c = PageChain.load(new ImageDir(d2), ImageType.PAGEMAP, 7);
        assertEquals(3, c.files().size());
        assertTrue(c.usesParents());
        // pages 0,1 from d0; 2 from d1; 3 from d2; 4..7 from d0
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7).stream().map(i -> (byte) (i == 2 ? 42 : i == 3 ? 83 : i)).toList(),
                toList(read(c, 0, 8)));
        for (PageRun r : c.runs()) {
            long end = PageChain.offsetInLayer(r.sourceOffset()) + r.bytes();
            assertTrue(end <= Files.size(c.files().get(PageChain.layer(r.sourceOffset()))), "a run stays inside its layer's file");
        }
        assertEquals(c.files(), PageChain.layerFiles(new ImageDir(d2), ImageType.PAGEMAP, 7, d2.resolve("pages-1.img")));
    }

    static List<Byte> toList(byte[] b) {
        java.util.ArrayList<Byte> l = new java.util.ArrayList<>();
        for (byte x : b) l.add(x);
        return l;
    }

    @Test
    void aPageTheParentLacksIsAnError() throws Exception {
        layer("d0", null, 0, new long[] {0, 2, PRESENT});
        Path d1 = layer("d1", "../d0", 40, new long[] {0, 3, PARENT});
        CriuException e = assertThrows(CriuException.class, () -> PageChain.load(new ImageDir(d1), ImageType.PAGEMAP, 7));
        assertTrue(e.getMessage().contains("pagemap-7.img") && e.getMessage().contains(Long.toHexString(BASE + 2 * P)), e.getMessage());
    }

    @Test
    void inParentWithoutAParentLinkIsAnError() throws Exception {
        Path d1 = layer("d1", null, 40, new long[] {0, 1, PARENT});
        CriuException e = assertThrows(CriuException.class, () -> PageChain.load(new ImageDir(d1), ImageType.PAGEMAP, 7));
        assertTrue(e.getMessage().contains("no 'parent' link"), e.getMessage());
    }

    @Test
    void aTruncatedParentPagesFileIsAnError() throws Exception {
        Path d0 = layer("d0", null, 0, new long[] {0, 4, PRESENT});
        Path d1 = layer("d1", "../d0", 40, new long[] {0, 4, PARENT});
        Files.write(d0.resolve("pages-1.img"), new byte[(int) P]);
        CriuException e = assertThrows(CriuException.class, () -> PageChain.load(new ImageDir(d1), ImageType.PAGEMAP, 7));
        assertTrue(e.getMessage().contains("pages-1.img is truncated"), e.getMessage());
    }

    @Test
    void aLoopOfParentLinksEnds() throws Exception {
        Path d0 = layer("d0", "../d0", 0, new long[] {0, 1, PARENT});
        CriuException e = assertThrows(CriuException.class, () -> PageChain.load(new ImageDir(d0), ImageType.PAGEMAP, 7));
        assertTrue(e.getMessage().contains("leads back to"), e.getMessage());
    }
}
