package org.jcriu.crit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pretty-printing options the CRIU fixtures do not exercise (ipadd with IPv6 and IPv4-mapped
 * addresses, quoted-printable unix names, sk dictionaries with unknown values, open flags,
 * dev numbers, 2^64-1), checked against crit's output kept in test resources.
 */
class CritOptionsTest {
    @TempDir
    Path tmp;

    private Path resource(String name) throws IOException {
        Path p = tmp.resolve(name);
        try (InputStream in = getClass().getResourceAsStream("/crit-options/" + name)) {
            Files.copy(in, p);
        }
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"inetsk.img", "unixsk.img", "reg-files.img", "mountpoints-1.img", "eventfd.img", "fifo-data.img", "itimers-1.img"})
    void matchesCritAndEncodesBack(String img) throws IOException {
        Path file = resource(img);
        byte[] bytes = Files.readAllBytes(file);
        for (String kind : new String[] {".json", ".pretty.json"}) {
            String expected = Files.readString(resource(img + kind), StandardCharsets.UTF_8);
            CritGoldenTest.Result r = kind.equals(".json") ? CritGoldenTest.jcrit("decode", "-i", file.toString())
                    : CritGoldenTest.jcrit("decode", "--pretty", "-i", file.toString());
            assertEquals(0, r.rc(), r.err());
            assertEquals(expected, new String(r.out(), StandardCharsets.UTF_8), img + kind);
            CritGoldenTest.Result e = CritGoldenTest.jcrit(expected.getBytes(StandardCharsets.UTF_8), "encode");
            assertEquals(0, e.rc(), e.err());
            assertArrayEquals(bytes, e.out(), img + kind + " encode");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"fifo-data.img"})
    void noplShowsPayloadSize(String img) throws IOException {
        CritGoldenTest.Result r = CritGoldenTest.jcrit("show", "--nopl", resource(img).toString());
        assertEquals(Files.readString(resource(img + ".nopl.json")), new String(r.out(), StandardCharsets.UTF_8));
    }
}
