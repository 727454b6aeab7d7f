package org.jcriu.crit;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.jcriu.image.ImageType;

/**
 * Training run for jcrit's AOT cache (bin/jcrit --build-aot [DIR...]): loads every image
 * message class and exercises decode, pretty decode, info, show, encode and the explorers, so
 * that the JVM records the classes a real invocation needs. Images in the given dump
 * directories are used when present; a small built-in image otherwise.
 */
public final class Train {
    private Train() {
    }

    private static final String SAMPLE = "{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1, \"ppid\": 0, \"pgid\": 1, \"sid\": 1, \"threads\": [1]}]}";

    public static void main(String[] args) throws IOException {
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8);
        for (ImageType t : ImageType.values()) {
            if (!t.isRaw()) {
                t.firstEntry().getDescriptorForType().getFields().forEach(f -> PbJson.opts(f));
            }
        }
        Main quiet = new Main(new ByteArrayInputStream(SAMPLE.getBytes(StandardCharsets.UTF_8)), sink, sink);
        quiet.run(new String[] {"encode"});
        ByteArrayOutputStream img = new ByteArrayOutputStream();
        new Main(new ByteArrayInputStream(SAMPLE.getBytes(StandardCharsets.UTF_8)), new PrintStream(img), sink).run(new String[] {"encode"});
        for (String[] a : List.of(new String[] {"decode"}, new String[] {"decode", "--pretty"})) {
            new Main(new ByteArrayInputStream(img.toByteArray()), sink, sink).run(a);
        }
        for (String dir : args) {
            List<Path> files;
            try (Stream<Path> s = Files.list(Path.of(dir))) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            }
            for (Path f : files) {
                Main m = new Main(InputStreamHolder.EMPTY, sink, sink);
                m.run(new String[] {"decode", "-i", f.toString()});
                m.run(new String[] {"decode", "--pretty", "-i", f.toString()});
                m.run(new String[] {"info", f.toString()});
                m.run(new String[] {"show", "--nopl", f.toString()});
            }
            for (String what : new String[] {"ps", "fds", "mems", "rss"}) {
                new Main(InputStreamHolder.EMPTY, sink, sink).run(new String[] {"x", dir, what});
            }
        }
        sink.flush();
    }

    private static final class InputStreamHolder {
        static final ByteArrayInputStream EMPTY = new ByteArrayInputStream(new byte[0]);
    }
}
