package org.jcriu.crit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.jcriu.image.Fixtures;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.BinfmtMiscEntry;
import org.jcriu.image.proto.PidfdEntry;
import org.jcriu.image.proto.SiginfoEntry;
import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jcrit's behaviour on bad input: one line on stderr, exit 1 (2 for usage), never a trace. */
class CritErrorsTest {
    @TempDir
    Path tmp;

    private static void assertOneLineError(CritGoldenTest.Result r, String expected) {
        assertEquals(1, r.rc());
        assertEquals(expected, r.err());
    }

    @Test
    void rawPagesFileGetsCritsMessage() throws Exception {
        Path p = tmp.resolve("pages-1.img");
        Files.write(p, new byte[] {0x48, (byte) 0x83, (byte) 0xec, 0x08, 0, 0, 0, 0});
        CritGoldenTest.Result r = CritGoldenTest.jcrit("decode", "-i", p.toString());
        assertOneLineError(r, "Unknown magic 0x8ec8348.\nMaybe you are feeding me an image with raw data(i.e. pages.img)?\n");
        assertEquals(0, r.out().length);
        Files.write(p, new byte[] {0, 0, 0, (byte) 0x80});
        assertOneLineError(CritGoldenTest.jcrit("info", p.toString()),
                "Unknown magic -0x80000000.\nMaybe you are feeding me an image with raw data(i.e. pages.img)?\n");
    }

    @Test
    void missingFileIsNamed() {
        Path p = tmp.resolve("nope.img");
        assertOneLineError(CritGoldenTest.jcrit("show", p.toString()), "jcrit: " + p + ": no such image file\n");
    }

    @Test
    void usageErrorsExitTwo() {
        CritGoldenTest.Result r = CritGoldenTest.jcrit("frobnicate");
        assertEquals(2, r.rc());
        assertTrue(r.err().endsWith("jcrit: error: argument {decode,encode,info,x,show}: invalid choice: 'frobnicate'\n"), r.err());
        assertEquals(2, CritGoldenTest.jcrit("x", tmp.toString(), "files").rc());
        assertEquals(2, CritGoldenTest.jcrit("info").rc());
        r = CritGoldenTest.jcrit();
        assertEquals(1, r.rc());
        assertTrue(r.err().endsWith("jcrit: error: too few arguments\n"), r.err());
    }

    @Test
    void encodeRejectsNonJsonAndUnknownMagic() {
        assertOneLineError(CritGoldenTest.jcrit(new byte[] {0x19, 0x43, 0x56, 0x54, (byte) 0xff, (byte) 0xfe}, "encode"),
                "jcrit: Cannot read JSON.\nMaybe you are feeding me an image with protobuf data? Encode expects JSON input.\n");
        assertOneLineError(CritGoldenTest.jcrit("{\"magic\": \"NOPE\", \"entries\": []}".getBytes(StandardCharsets.UTF_8), "encode"),
                "jcrit: No handler found for image with magic NOPE\n");
        assertOneLineError(CritGoldenTest.jcrit("{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1}]".getBytes(StandardCharsets.UTF_8), "encode"),
                "jcrit: Expecting ',' delimiter: line 1 column 44 (char 43)\n");
        CritGoldenTest.Result r = CritGoldenTest.jcrit("{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1}]}".getBytes(StandardCharsets.UTF_8), "encode");
        assertEquals(1, r.rc());
        assertTrue(r.err().startsWith("jcrit: entries[0]: ") && r.err().contains("ppid"), r.err());
        r = CritGoldenTest.jcrit("{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": -1, \"ppid\": 0, \"pgid\": 1, \"sid\": 1}]}".getBytes(StandardCharsets.UTF_8), "encode");
        assertOneLineError(r, "jcrit: entries[0].pid: value -1 out of range for uint32\n");
    }

    /** Images crit has no handler for decode and re-encode too. */
    @Test
    void decodesSignalBinfmtMiscAndPidfdImages() {
        ImageDir dir = new ImageDir(tmp);
        try (ImageWriter w = dir.create(ImageType.PSIGNAL, 5)) {
            w.write(SiginfoEntry.newBuilder().setSiginfo(ByteString.copyFrom(new byte[] {10, 0, 0, 0})).build());
        }
        try (ImageWriter w = dir.create(ImageType.BINFMT_MISC)) {
            w.write(BinfmtMiscEntry.newBuilder().setName("qemu-arm").setEnabled(true).setInterpreter("/usr/bin/qemu-arm").setFlags("F")
                    .setExtension("").setMagic("7f454c46").setMask("ffffffff").setOffset(0).build());
        }
        try (ImageWriter w = dir.create(ImageType.PIDFD)) {
            w.write(PidfdEntry.newBuilder().setId(3).setIno(77).setFlags(0x80000).setNspid(42).setFown(
                    org.jcriu.image.proto.FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0)).build());
        }
        CritGoldenTest.Result r = CritGoldenTest.jcrit("decode", "-i", dir.path(ImageType.PSIGNAL, 5).toString());
        assertEquals(0, r.rc(), r.err());
        assertEquals("{\"magic\": \"SIGNAL\", \"entries\": [{\"siginfo\": \"CgAAAA==\\n\"}]}\n", new String(r.out(), StandardCharsets.UTF_8));
        for (Path p : List.of(dir.path(ImageType.PSIGNAL, 5), dir.path(ImageType.BINFMT_MISC), dir.path(ImageType.PIDFD))) {
            r = CritGoldenTest.jcrit("decode", "-i", p.toString());
            assertEquals(0, r.rc(), r.err());
            CritGoldenTest.Result e = CritGoldenTest.jcrit(r.out(), "encode");
            assertEquals(0, e.rc(), e.err());
            try {
                assertArrayEquals(Files.readAllBytes(p), e.out(), p.toString());
            } catch (java.io.IOException x) {
                throw new java.io.UncheckedIOException(x);
            }
        }
    }

    @Test
    void zombieTasksDoNotBreakExplorers() {
        Path sink = Fixtures.root() == null ? null : Fixtures.root().resolve("sink");
        assumeTrue(sink != null && Files.isDirectory(sink), "fixtures absent");
        for (String what : new String[] {"fds", "mems", "rss"}) {
            CritGoldenTest.Result r = CritGoldenTest.jcrit("x", sink.toString(), what);
            assertEquals(0, r.rc(), r.err());
            String out = new String(r.out(), StandardCharsets.UTF_8);
            // 21251 is the zombie: listed, with nothing under it.
            assertTrue(out.endsWith("\n21251\n"), what + ":\n" + out);
        }
        String fds = new String(CritGoldenTest.jcrit("x", sink.toString(), "fds").out(), StandardCharsets.UTF_8);
        assertTrue(fds.contains("\t      9: unix[257163 (0) /srv/jcriu-fixture/sink-dir/listen.sock=00]\n"), fds);
    }

    /** Seeded random damage to every fixture image through the whole decode path. */
    @Test
    void mutatedFixturesNeverCrashTheTool() {
        List<Path> images = Fixtures.images().stream().filter(p -> !Fixtures.isRaw(p)).toList();
        assumeTrue(!images.isEmpty(), "fixtures absent");
        Random rnd = new Random(42);
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            int errors = 0;
            int runs = 0;
            for (Path img : images) {
                byte[] orig = Files.readAllBytes(img);
                for (int k = 0; k < 10; k++) {
                    byte[] b = Fixtures.mutate(orig, rnd);
                    Path p = tmp.resolve(img.getFileName());
                    Files.write(p, b);
                    for (String[] args : new String[][] {{"decode", "--pretty", "-i", p.toString()}, {"info", p.toString()}, {"show", "--nopl", p.toString()}}) {
                        CritGoldenTest.Result r = CritGoldenTest.jcrit(args);
                        runs++;
                        if (r.rc() != 0) {
                            errors++;
                            assertEquals(1, r.rc());
                            assertFalse(r.err().contains("internal error") || r.err().contains("\tat "), r.err());
                            assertTrue(r.err().startsWith("jcrit: " + p + ": ") || r.err().startsWith("Unknown magic"), r.err());
                        }
                    }
                    // Stdin has no known length: the same damage must be caught as well.
                    CritGoldenTest.Result r = CritGoldenTest.jcrit(b, "decode");
                    assertFalse(r.err().contains("internal error"), r.err());
                }
            }
            assertTrue(errors > runs / 5, errors + " of " + runs);
        });
    }
}
