package org.jcriu.crit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.image.Extra;
import org.jcriu.image.Fixtures;
import org.jcriu.image.Head;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.junit.jupiter.api.Test;

/**
 * The table-driven decoder (DirectImage, Wire, Schema) against protobuf-java's (CritImage): the
 * same text wherever the table-driven one answers, and never an answer where protobuf-java
 * refuses the input.
 */
class DirectImageTest {
    /** The outcome of one decoder: its text, or the error it threw. */
    record Outcome(String json, RuntimeException error) {
    }

    static Outcome direct(byte[] img, boolean pretty, boolean nopl) {
        StringBuilder b = new StringBuilder();
        try (ImageReader r = ImageReader.probe("x.img", new ByteArrayInputStream(img), img.length)) {
            DirectImage.write(r, pretty, nopl, b);
            return new Outcome(b.toString(), null);
        } catch (RuntimeException e) {
            return new Outcome(null, e);
        }
    }

    static Outcome protobuf(byte[] img, boolean pretty, boolean nopl) {
        StringBuilder b = new StringBuilder();
        try (ImageReader r = ImageReader.probe("x.img", new ByteArrayInputStream(img), img.length)) {
            CritImage.write(r, pretty, nopl, b);
            return new Outcome(b.toString(), null);
        } catch (RuntimeException e) {
            return new Outcome(null, e);
        }
    }

    /**
     * The property jcrit relies on: where the table-driven decoder answers, protobuf-java gives
     * the same text. Returns whether the table-driven decoder answered.
     */
    static boolean agree(byte[] img, boolean pretty, boolean nopl) {
        Outcome d = direct(img, pretty, nopl);
        Outcome p = protobuf(img, pretty, nopl);
        if (d.json() == null) {
            return false;
        }
        if (p.error() != null) {
            throw new AssertionError("the table-driven decoder accepted what protobuf-java refuses (" + p.error() + ")", p.error());
        }
        assertEquals(p.json(), d.json());
        return true;
    }

    @Test
    void tableIsTheDescriptorsOfThisBuild() {
        String table = SchemaText.text();
        assertFalse(table.isEmpty(), "the build did not write SchemaText's table (SchemaGen in process-classes)");
        assertEquals(SchemaGen.generate(), table);
    }

    @Test
    void everyFixtureTakesTheTableDrivenPathWithCritsText() throws Exception {
        List<Path> images = Fixtures.images().stream().filter(p -> !Fixtures.isRaw(p)).toList();
        assumeTrue(!images.isEmpty(), "fixtures absent");
        int n = 0;
        for (Path p : images) {
            byte[] img = Files.readAllBytes(p);
            for (boolean[] mode : new boolean[][] {{false, false}, {true, false}, {true, true}}) {
                Outcome d = direct(img, mode[0], mode[1]);
                assertNotNull(d.json(), () -> p + ": fell back to protobuf-java: " + d.error());
                assertTrue(agree(img, mode[0], mode[1]), p.toString());
                n++;
            }
        }
        assertTrue(n > 100, "only " + n + " decodes");
    }

    /**
     * The images behind CritOptionsTest (crit's JSON encoded): pretty options and payloads the
     * fixtures lack. The table-driven decoder answers for all but the IPC ones.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"inetsk.img", "unixsk.img", "reg-files.img", "mountpoints-1.img", "eventfd.img",
        "fifo-data.img", "itimers-1.img", "ghost-file-2.img", "sk-queues.img", "tcp-stream-1.img", "ipcns-sem-1.img", "ipcns-msg-1.img"})
    void payloadsAndOptionsBeyondTheFixtures(String name) throws Exception {
        byte[] json;
        try (java.io.InputStream in = getClass().getResourceAsStream("/crit-options/" + name + ".json")) {
            json = in.readAllBytes();
        }
        CritGoldenTest.Result e = CritGoldenTest.jcrit(json, "encode");
        assertEquals(0, e.rc(), e.err());
        for (boolean[] mode : new boolean[][] {{false, false}, {true, false}, {true, true}}) {
            boolean answered = agree(e.out(), mode[0], mode[1]);
            assertEquals(!name.startsWith("ipcns-"), answered, name);
        }
    }

    // Hand-made payloads for protobuf's parse rules. PSTREE: pid=1 ppid=2 pgid=3 sid=4 (required
    // uint32), threads=5 (repeated uint32). FILES: type=1 (required enum FdTypes, REG=1), id=2,
    // reg=3 (RegFileEntry: id=1 flags=2 pos=3 fown=5 name=6 required, mnt_id=7 sint32, size=8
    // uint64, ext=9 bool; FownEntry: uid..pid=1..5 required).

    @Test
    void repeatedScalarsPackedAndUnpackedMixLikeProtobuf() {
        byte[] e = cat(pstreeHead(), v(5 << 3), v(7), ld(5, cat(v(8), v(9), v(300))), v(5 << 3), v(10));
        assertDirect(image(ImageType.PSTREE, e), "\"threads\": [7, 8, 9, 300, 10]");
    }

    @Test
    void lastScalarWinsAndUnknownFieldsOfEveryWireTypeAreSkipped() {
        byte[] e = cat(pstreeHead(), v(1 << 3), v(99), v(20 << 3), v(5), v(21 << 3 | 1), new byte[8], ld(22, new byte[] {1, 2}),
                v(23 << 3 | 5), new byte[4], v(2 << 3 | 2), v(0));
        // pid given twice: 99 wins; ppid sent as bytes is not ppid: it is skipped as unknown.
        assertDirect(image(ImageType.PSTREE, e), "\"pid\": 99, \"ppid\": 2");
    }

    @Test
    void messageGivenTwiceIsMergedAndStringsThatAreNotUtf8PrintAsBytes() {
        byte[] fownA = cat(v(1 << 3), v(1), v(2 << 3), v(2), v(3 << 3), v(3));
        byte[] fownB = cat(v(4 << 3), v(4), v(5 << 3), v(5), v(1 << 3), v(11));
        byte[] reg = cat(v(1 << 3), v(7), v(2 << 3), v(02000002), v(3 << 3), v(-1L), ld(5, fownA), ld(5, fownB),
                ld(6, new byte[] {'/', 't', (byte) 0xff, '\''}), v(7 << 3), v(3), v(8 << 3), v(-2L), v(9 << 3), v(2));
        byte[] file = cat(v(1 << 3), v(1), v(2 << 3), v(7), ld(3, reg), v(1 << 3), v(99));
        byte[] img = image(ImageType.FILES, file);
        assertDirect(img, "\"uid\": 11, \"euid\": 2, \"signum\": 3, \"pid_type\": 4, \"pid\": 5}");
        assertDirect(img, "\"name\": \"b\\\"/t\\\\xff'\\\"\", \"mnt_id\": -2, \"size\": 18446744073709551614, \"ext\": true");
        // The unknown enum value 99 given last leaves REG in place (proto2 enums are closed).
        assertDirect(img, "{\"type\": \"REG\", \"id\": 7");
        assertTrue(agree(img, true, false));
        String pretty = direct(img, true, false).json();
        assertTrue(pretty.contains("\"flags\": \"O_RDWR | O_CLOEXEC\""), pretty);
        byte[] fffd = cat(v(1 << 3), v(1), v(2 << 3), v(7), ld(3, cat(v(1 << 3), v(7), v(2 << 3), v(0), v(3 << 3), v(0), ld(5, cat(fownA, fownB)),
                ld(6, "/\uFFFD".getBytes(StandardCharsets.UTF_8)))));
        assertDirect(image(ImageType.FILES, fffd), "\"name\": \"/\\ufffd\"");
    }

    @Test
    void tenByteVarintEndingInAnEvenByteDecodesAsProtobufJavaDoes() {
        // size = nine bytes with continuation, then 0x00 as tenth byte (found by ImageFuzzTest).
        byte[] size = {(byte) 0xb8, (byte) 0xf7, (byte) 0xb7, (byte) 0xb7, (byte) 0xbd, (byte) 0xd7, (byte) 0xe2, (byte) 0xc2, (byte) 0xab, 0};
        byte[] fown = cat(v(1 << 3), v(0), v(2 << 3), v(0), v(3 << 3), v(0), v(4 << 3), v(0), v(5 << 3), v(0));
        byte[] reg = cat(v(1 << 3), v(7), v(2 << 3), v(0), v(3 << 3), v(0), ld(5, fown), ld(6, new byte[] {'/'}), v(8 << 3), size);
        byte[] img = image(ImageType.FILES, cat(v(1 << 3), v(1), v(2 << 3), v(7), ld(3, reg)));
        assertTrue(agree(img, false, false));
        assertTrue(agree(img, true, false));
    }

    @Test
    void inputProtobufRefusesIsLeftToIt() {
        // Missing required sid; a truncated varint; a length past the end; field number 0; an
        // unknown enum value in a required field.
        byte[][] bad = {
            cat(v(1 << 3), v(1), v(2 << 3), v(2), v(3 << 3), v(3)),
            cat(pstreeHead(), new byte[] {5 << 3, (byte) 0x80}),
            cat(pstreeHead(), v(6 << 3 | 2), v(50), new byte[] {1}),
            cat(pstreeHead(), v(0), v(1)),
            cat(v(1 << 3), v(99), v(2 << 3), v(7)),
        };
        for (byte[] e : bad) {
            ImageType t = e == bad[bad.length - 1] ? ImageType.FILES : ImageType.PSTREE;
            byte[] img = image(t, e);
            assertTrue(direct(img, false, false).error() != null, () -> "decoded " + direct(img, false, false).json());
            assertTrue(protobuf(img, false, false).error() instanceof CriuException, () -> String.valueOf(protobuf(img, false, false).error()));
        }
    }

    @Test
    void groupsAreLeftToProtobuf() {
        // An unknown field written as a (deprecated) group: valid, and rare enough to leave to protobuf-java.
        byte[] img = image(ImageType.PSTREE, cat(pstreeHead(), v(6 << 3 | 3), v(7 << 3), v(1), v(6 << 3 | 4)));
        assertTrue(direct(img, false, false).error() instanceof Wire.Unsupported);
        assertEquals("{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1, \"ppid\": 2, \"pgid\": 3, \"sid\": 4}]}",
                protobuf(img, false, false).json());
    }

    @Test
    void payloadsFollowTheirEntriesAndTheSummaryGivesTheirSize() {
        // PIPES_DATA: pipe_id=1, bytes=2, then that many bytes.
        byte[] img = cat(image(ImageType.PIPES_DATA, cat(v(1 << 3), v(5), v(2 << 3), v(3))), new byte[] {'a', 'b', 'c'});
        assertDirect(img, "\"extra\": \"YWJj\\n\"");
        assertTrue(agree(img, true, true));
        assertTrue(direct(img, true, true).json().contains("\"extra\": \"... <3B>\""));
        // Short payload: left to protobuf-java, which names the offset.
        byte[] shortImg = java.util.Arrays.copyOf(img, img.length - 1);
        assertTrue(direct(shortImg, false, false).error() != null);
        assertTrue(protobuf(shortImg, false, false).error().getMessage().startsWith("x.img: "), protobuf(shortImg, false, false).error().getMessage());
        assertEquals(Extra.PIPE_DATA, ImageType.PIPES_DATA.extra());
    }

    private static void assertDirect(byte[] img, String expected) {
        Outcome d = direct(img, false, false);
        assertNotNull(d.json(), () -> "fell back: " + d.error());
        assertTrue(d.json().contains(expected), d.json());
        assertTrue(agree(img, false, false));
    }

    private static byte[] pstreeHead() {
        return cat(v(1 << 3), v(1), v(2 << 3), v(2), v(3 << 3), v(3), v(4 << 3), v(4));
    }

    static byte[] image(ImageType t, byte[]... entries) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        if (t.head() != Head.NONE) {
            le32(b, t.head().magic());
        }
        le32(b, t.magic());
        for (byte[] e : entries) {
            le32(b, e.length);
            b.writeBytes(e);
        }
        return b.toByteArray();
    }

    private static void le32(ByteArrayOutputStream b, int v) {
        b.write(v);
        b.write(v >>> 8);
        b.write(v >>> 16);
        b.write(v >>> 24);
    }

    static byte[] v(long x) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while ((x & ~0x7fL) != 0) {
            b.write((int) (x & 0x7f) | 0x80);
            x >>>= 7;
        }
        b.write((int) x);
        return b.toByteArray();
    }

    static byte[] ld(int field, byte[] body) {
        return cat(v(field << 3 | 2), v(body.length), body);
    }

    static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }
}
