package org.jcriu.crit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jcriu.image.Fixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * jcrit against upstream crit 4.2's saved output for every fixture: decode, decode --pretty,
 * info, x ps|fds|mems|rss byte for byte, and encode of crit's JSON (plain and pretty) giving
 * back the original image bytes. Skipped when the shared fixtures are absent.
 */
class CritGoldenTest {
    record Result(int rc, byte[] out, String err) {
    }

    static Result jcrit(byte[] stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = new Main(new ByteArrayInputStream(stdin), new PrintStream(out, false, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Result(rc, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    }

    static Result jcrit(String... args) {
        return jcrit(new byte[0], args);
    }

    @TestFactory
    Stream<DynamicTest> matchesCrit() {
        List<Path> dumps = Fixtures.dumps();
        assumeTrue(!dumps.isEmpty(), "fixtures absent");
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dump : dumps) {
            Path crit = dump.resolve("crit");
            for (Path img : Fixtures.images().stream().filter(p -> p.getParent().equals(dump)).toList()) {
                String name = img.getFileName().toString();
                String label = dump.getFileName() + "/" + name;
                add(tests, crit.resolve(name + ".json"), label + " decode", () -> jcrit("decode", "-i", img.toString()));
                add(tests, crit.resolve(name + ".pretty.json"), label + " decode --pretty", () -> jcrit("decode", "--pretty", "-i", img.toString()));
                add(tests, crit.resolve(name + ".pretty.json"), label + " show", () -> jcrit("show", img.toString()));
                add(tests, crit.resolve(name + ".info.json"), label + " info", () -> jcrit("info", img.toString()));
                for (String kind : new String[] {".json", ".pretty.json"}) {
                    Path json = crit.resolve(name + kind);
                    if (Files.exists(json)) {
                        tests.add(DynamicTest.dynamicTest(label + " encode" + kind, () -> {
                            Result r = jcrit(Files.readAllBytes(json), "encode");
                            assertEquals(0, r.rc(), r.err());
                            assertArrayEquals(Files.readAllBytes(img), r.out());
                        }));
                    }
                }
            }
            for (String what : new String[] {"ps", "fds", "mems", "rss"}) {
                add(tests, crit.resolve("x-" + what + ".txt"), dump.getFileName() + " x " + what, () -> jcrit("x", dump.toString(), what));
            }
        }
        assumeTrue(tests.size() > 100, "too few fixtures");
        return tests.stream();
    }

    private static void add(List<DynamicTest> tests, Path expected, String label, java.util.function.Supplier<Result> run) {
        if (!Files.exists(expected)) {
            return;
        }
        tests.add(DynamicTest.dynamicTest(label, () -> {
            Result r = run.get();
            assertEquals(0, r.rc(), r.err());
            assertEquals(read(expected), new String(r.out(), StandardCharsets.UTF_8));
        }));
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    /** With -o, crit writes the JSON without the newline it adds on stdout; encode -o writes the image. */
    @org.junit.jupiter.api.Test
    void outputFiles(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Path sleep = Fixtures.root() == null ? null : Fixtures.root().resolve("sleep");
        assumeTrue(sleep != null && Files.isDirectory(sleep), "fixtures absent");
        Path json = tmp.resolve("pstree.json");
        Result r = jcrit("decode", "-i", sleep.resolve("pstree.img").toString(), "-o", json.toString());
        assertEquals(0, r.rc(), r.err());
        assertEquals(0, r.out().length);
        String expected = read(sleep.resolve("crit/pstree.img.json"));
        assertEquals(expected.substring(0, expected.length() - 1), Files.readString(json));
        Path img = tmp.resolve("pstree.img");
        r = jcrit("encode", "--in=" + json, "--out", img.toString());
        assertEquals(0, r.rc(), r.err());
        assertEquals(-1, Files.mismatch(img, sleep.resolve("pstree.img")));
    }
}
