package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.jcriu.image.Fixtures;
import org.jcriu.testing.Jcriu;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** CRIU 4.2 dumps with what jcriu cannot restore yet fail up front with one clear message, nothing created. */
class RestoreUnsupportedIT {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "sink|fd 19 of the dump (INETSK, file id 23 in fdinfo-2.img) is of a kind jcriu cannot restore yet",
        "tcp|fd 3 of the dump (INETSK, file id 11 in fdinfo-2.img) is of a kind jcriu cannot restore yet"})
    void failsUpFront(String fixture, String message) throws IOException {
        Path root = Fixtures.root();
        assumeTrue(root != null, "no CRIU fixtures (../shared) here");
        Path dump = Files.createDirectory(tmp.resolve(fixture));
        try (Stream<Path> s = Files.list(root.resolve(fixture))) {
            for (Path p : s.filter(Files::isRegularFile).toList()) Files.copy(p, dump.resolve(p.getFileName()));
        }
        Jcriu.Result r = Jcriu.run("restore", "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("Error: " + message), r.stderr());
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }
}
