package org.jcriu.crit;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.image.Extra;
import org.jcriu.image.Head;
import org.jcriu.image.ImageType;

/**
 * Training run for jcrit's AOT cache (bin/jcrit --build-aot [DIR...]). The cache keeps, and
 * loads at every start, the classes the training loaded, so it trains what should start fast
 * and nothing else: decode, pretty decode, show and info of a synthetic image of every type
 * the table-driven decoder covers (every field set, so that every rendering runs). encode,
 * x and the protobuf fallback stay out: they would put protobuf-java's classes in the cache
 * and make every decode load them. Files of the given directories are decoded too.
 */
public final class Train {
    private Train() {
    }

    public static void main(String[] args) throws IOException {
        // Plain loops and no temporary-file API: whatever the training loads (streams, lambda
        // spinning, SecureRandom for temp names) is loaded again at every start.
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8);
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"), "jcrit-train-" + System.nanoTime());
        Files.createDirectory(tmp);
        List<Path> made = new ArrayList<>();
        try {
            List<Path> files = new ArrayList<>();
            for (ImageType t : ImageType.values()) {
                String[] names = t.isRaw() || t.canonical() != t ? null : Schema.imageType(t.name());
                if (names == null || t.extra() != Extra.NONE && t.extra() != Extra.PIPE_DATA) {
                    continue;
                }
                Path f = tmp.resolve(t.name() + ".img");
                Files.write(f, image(t, names));
                made.add(f);
                files.add(f);
            }
            for (String dir : args) {
                String[] names = new java.io.File(dir).list();
                java.util.Arrays.sort(names);
                for (String n : names) {
                    if (n.endsWith(".img")) {
                        files.add(Path.of(dir, n));
                    }
                }
            }
            for (Path f : files) {
                Main m = new Main(new ByteArrayInputStream(new byte[0]), sink, sink);
                m.run(new String[] {"decode", "-i", f.toString()});
                m.run(new String[] {"decode", "--pretty", "-i", f.toString()});
                m.run(new String[] {"info", f.toString()});
                m.run(new String[] {"show", "--nopl", f.toString()});
                new Main(new ByteArrayInputStream(Files.readAllBytes(f)), sink, sink).run(new String[] {"decode"});
            }
        } finally {
            for (Path f : made) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(tmp);
        }
        sink.flush();
    }

    /** Magics and two entries of {@code t}, every field of them set. */
    private static byte[] image(ImageType t, String[] names) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        if (t.head() != Head.NONE) {
            u32(b, t.head().magic());
        }
        u32(b, t.magic());
        for (String name : new String[] {names[0], names[1]}) {
            byte[] m = message(Schema.message(name), 0);
            u32(b, m.length);
            b.writeBytes(m);
            if (t.extra() == Extra.PIPE_DATA) {
                b.writeBytes(new byte[1]);
            }
        }
        return b.toByteArray();
    }

    private static byte[] message(Schema.Message m, int depth) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Schema.Field f : m.fields) {
            if (f.kind == Schema.MESSAGE && depth > 4) {
                continue;
            }
            for (int k = 0; k < (f.repeated ? 2 : 1); k++) {
                varint(b, (long) f.number << 3 | f.wireType());
                switch (f.kind) {
                    case Schema.MESSAGE -> bytes(b, message(f.message(), depth + 1));
                    case Schema.STRING -> bytes(b, "/x\u00e9".getBytes(StandardCharsets.UTF_8));
                    case Schema.BYTES -> bytes(b, new byte[] {1, 2, 3});
                    case Schema.ENUM -> varint(b, f.enumType().names.keySet().iterator().next());
                    case Schema.FIXED32, Schema.SFIXED32, Schema.FLOAT -> u32(b, 1);
                    case Schema.FIXED64, Schema.SFIXED64, Schema.DOUBLE -> {
                        u32(b, 1);
                        u32(b, 0);
                    }
                    // 1 fits every field that sizes an extra payload.
                    default -> varint(b, 1);
                }
            }
        }
        return b.toByteArray();
    }

    private static void bytes(ByteArrayOutputStream b, byte[] v) {
        varint(b, v.length);
        b.writeBytes(v);
    }

    private static void varint(ByteArrayOutputStream b, long v) {
        while ((v & ~0x7fL) != 0) {
            b.write((int) (v & 0x7f) | 0x80);
            v >>>= 7;
        }
        b.write((int) v);
    }

    private static void u32(ByteArrayOutputStream b, int v) {
        b.write(v);
        b.write(v >>> 8);
        b.write(v >>> 16);
        b.write(v >>> 24);
    }
}
