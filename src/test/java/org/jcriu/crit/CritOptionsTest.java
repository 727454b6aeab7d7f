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
 * dev numbers, 2^64-1) and extra payloads (semaphores, message queues, ghost chunks, socket
 * and TCP queues), checked against crit's output kept in test resources.
 */
class CritOptionsTest {
    @TempDir
    Path tmp;

    private Path resource(String name) throws IOException {
        Path p = tmp.resolve(name);
        if (Files.exists(p)) {
            return p;
        }
        if (name.endsWith(".img")) {
            // No binary images in the repository: the image is crit's JSON encoded, which the
            // fixture tests prove byte-exact; decoding it back must then give crit's texts.
            String json = Files.readString(resource(name + ".json"), StandardCharsets.UTF_8);
            CritGoldenTest.Result e = CritGoldenTest.jcrit(json.getBytes(StandardCharsets.UTF_8), "encode");
            assertEquals(0, e.rc(), e.err());
            Files.write(p, e.out());
            return p;
        }
        try (InputStream in = getClass().getResourceAsStream("/crit-options/" + name)) {
            Files.copy(in, p);
        }
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"inetsk.img", "unixsk.img", "reg-files.img", "mountpoints-1.img", "eventfd.img", "fifo-data.img", "itimers-1.img",
        "ipcns-sem-1.img", "ipcns-msg-1.img", "ghost-file-2.img", "sk-queues.img", "tcp-stream-1.img"})
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
    @ValueSource(strings = {"fifo-data.img", "ipcns-sem-1.img", "ipcns-msg-1.img", "ghost-file-2.img", "sk-queues.img", "tcp-stream-1.img"})
    void noplShowsPayloadSize(String img) throws IOException {
        CritGoldenTest.Result r = CritGoldenTest.jcrit("show", "--nopl", resource(img).toString());
        assertEquals(Files.readString(resource(img + ".nopl.json")), new String(r.out(), StandardCharsets.UTF_8));
    }

    /** crit 3.17 cannot encode shm contents (it passes a str to base64.decodebytes); ours round-trips. */
    @org.junit.jupiter.api.Test
    void shmContentsRoundTrip() {
        String json = "{\"magic\": \"IPCNS_SHM\", \"entries\": [{\"desc\": {\"key\": 1, \"uid\": 0, \"gid\": 0, \"cuid\": 0, \"cgid\": 0, "
                + "\"mode\": 438, \"id\": 7}, \"size\": 6, \"extra\": \"YWJjZGVm\\n\"}]}";
        CritGoldenTest.Result e = CritGoldenTest.jcrit(json.getBytes(StandardCharsets.UTF_8), "encode");
        assertEquals(0, e.rc(), e.err());
        // 8 magics + 4 size + payload + 6 data + 2 padding to 4 bytes
        int payload = (e.out()[8] & 0xff) | (e.out()[9] & 0xff) << 8;
        assertEquals(12 + payload + 8, e.out().length);
        CritGoldenTest.Result d = CritGoldenTest.jcrit(e.out(), "decode");
        assertEquals(json + "\n", new String(d.out(), StandardCharsets.UTF_8));
    }

    @org.junit.jupiter.api.Test
    void infoCountsLikeCritAndNeverCrashes() throws IOException {
        // crit's walk takes queue bytes for entry sizes; where it would crash, the real count is given.
        CritGoldenTest.Result r = CritGoldenTest.jcrit("info", resource("sk-queues.img").toString());
        assertEquals("{\n    \"magic\": \"SK_QUEUES\",\n    \"count\": 1\n}\n", new String(r.out(), StandardCharsets.UTF_8));
        r = CritGoldenTest.jcrit("info", resource("ghost-file-2.img").toString());
        assertEquals("{\n    \"magic\": \"GHOST_FILE\",\n    \"count\": 3\n}\n", new String(r.out(), StandardCharsets.UTF_8));
    }

    /** Linux names are bytes: crit prints non-UTF-8 ones as Python bytes reprs; jcrit also reads them back. */
    @org.junit.jupiter.api.Test
    void nonUtf8NamesPrintLikeCritAndRoundTrip() throws IOException {
        Path p = tmp.resolve("reg-files.img");
        org.jcriu.image.proto.FownEntry fown = org.jcriu.image.proto.FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
        try (org.jcriu.image.ImageWriter w = org.jcriu.image.ImageWriter.create(p, org.jcriu.image.ImageType.REG_FILES)) {
            w.write(org.jcriu.image.proto.RegFileEntry.newBuilder().setId(1).setFlags(2).setPos(0).setFown(fown)
                    .setNameBytes(com.google.protobuf.ByteString.copyFrom(new byte[] {'/', 't', 'm', 'p', '/', (byte) 0xff, (byte) 0xfe, 'a', '\'', '\n'})).build());
            w.write(org.jcriu.image.proto.RegFileEntry.newBuilder().setId(2).setFlags(2).setPos(0).setFown(fown).setName("/ok/\ufffd").build());
        }
        CritGoldenTest.Result r = CritGoldenTest.jcrit("decode", "-i", p.toString());
        String json = new String(r.out(), StandardCharsets.UTF_8);
        assertEquals("{\"magic\": \"REG_FILES\", \"entries\": [{\"id\": 1, \"flags\": 2, \"pos\": 0, \"fown\": {\"uid\": 0, \"euid\": 0, "
                + "\"signum\": 0, \"pid_type\": 0, \"pid\": 0}, \"name\": \"b\\\"/tmp/\\\\xff\\\\xfea'\\\\n\\\"\"}, {\"id\": 2, \"flags\": 2, \"pos\": 0, "
                + "\"fown\": {\"uid\": 0, \"euid\": 0, \"signum\": 0, \"pid_type\": 0, \"pid\": 0}, \"name\": \"/ok/\\ufffd\"}]}\n", json);
        CritGoldenTest.Result e = CritGoldenTest.jcrit(r.out(), "encode");
        assertEquals(0, e.rc(), e.err());
        assertArrayEquals(Files.readAllBytes(p), e.out());
    }

    @org.junit.jupiter.api.Test
    void nonUtf8NameInsideANestedMessage() throws IOException {
        Path p = tmp.resolve("files.img");
        org.jcriu.image.proto.FownEntry fown = org.jcriu.image.proto.FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
        org.jcriu.image.proto.RegFileEntry reg = org.jcriu.image.proto.RegFileEntry.newBuilder().setId(3).setFlags(0).setPos(0).setFown(fown)
                .setNameBytes(com.google.protobuf.ByteString.copyFrom(new byte[] {'/', (byte) 0xe9})).build();
        try (org.jcriu.image.ImageWriter w = org.jcriu.image.ImageWriter.create(p, org.jcriu.image.ImageType.FILES)) {
            w.write(org.jcriu.image.proto.FileEntry.newBuilder().setType(org.jcriu.image.proto.FdTypes.REG).setId(3).setReg(reg).build());
        }
        CritGoldenTest.Result r = CritGoldenTest.jcrit("decode", "--pretty", "-i", p.toString());
        String json = new String(r.out(), StandardCharsets.UTF_8);
        org.junit.jupiter.api.Assertions.assertTrue(json.contains("\"name\": \"b'/\\\\xe9'\""), json);
        CritGoldenTest.Result e = CritGoldenTest.jcrit(r.out(), "encode");
        assertEquals(0, e.rc(), e.err());
        assertArrayEquals(Files.readAllBytes(p), e.out());
    }
}
