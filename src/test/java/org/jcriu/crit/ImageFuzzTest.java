package org.jcriu.crit;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.jcriu.CriuException;
import org.jcriu.image.Fixtures;
import org.jcriu.image.ImageFile;
import org.jcriu.image.ImageReader;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing (Jazzer) of the image reader and both of jcrit's decoders, seeded with
 * every fixture image. Properties: reading any bytes ends in the image or in one CriuException
 * naming the file; the table-driven decoder never accepts what protobuf-java refuses and prints
 * exactly its text; jcrit decode never reports an internal error.
 *
 * <p>The build runs it in its own surefire execution (the agent instruments every class loaded
 * after it, which must not touch the other tests): 10 s of fuzzing with JAZZER_FUZZ=1, or only the
 * seeds when -Djcriu.fuzz= is empty. A long run: {@code mvn test -Dtest=ImageFuzzTest
 * -Djazzer.max_duration=30m}. Inputs that fail are written to
 * src/test/resources/org/jcriu/crit/ImageFuzzTestInputs/ and replayed by every later run.
 */
class ImageFuzzTest {
    static Stream<byte[]> fixtureImages() {
        return Fixtures.images().stream().filter(p -> !Fixtures.isRaw(p)).map(ImageFuzzTest::read);
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @MethodSource("fixtureImages")
    @FuzzTest(maxDuration = "10s")
    void imageDecodesOrFailsCleanly(byte[] img) {
        try (ImageReader r = ImageReader.probe("fuzz.img", new ByteArrayInputStream(img), img.length)) {
            ImageFile.readAll(r, true);
        } catch (CriuException e) {
            if (!e.getMessage().startsWith("fuzz.img: ")) {
                throw new AssertionError("error without the file's name: " + e.getMessage(), e);
            }
        }
        for (boolean[] mode : new boolean[][] {{false, false}, {true, false}, {true, true}}) {
            DirectImageTest.agree(img, mode[0], mode[1]);
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        new Main(new ByteArrayInputStream(img), new PrintStream(OutputStream.nullOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(new String[] {"decode", "--pretty"});
        String e = err.toString(StandardCharsets.UTF_8);
        boolean oneLine = e.isEmpty() || e.startsWith("Unknown magic") || e.indexOf('\n') == e.length() - 1;
        if (e.contains("internal error") || !oneLine) {
            throw new AssertionError("jcrit decode: " + e);
        }
    }
}
