package org.jcriu.crit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jcriu.image.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/jcrit as users run it: stdout exactly crit's, stderr clean (no JVM warnings), exit codes. */
class JcritIT {
    record Run(int rc, String out, String err) {
    }

    static Run jcrit(Path tmp, String... args) throws IOException, InterruptedException {
        Path out = tmp.resolve("stdout");
        Path err = tmp.resolve("stderr");
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of("bin/jcrit").toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError("jcrit did not finish: " + cmd);
            }
        } finally {
            p.destroyForcibly();
        }
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void rawFileFailsWithCritsMessageOnly(@TempDir Path tmp) throws Exception {
        Path raw = tmp.resolve("pages-1.img");
        Files.write(raw, new byte[4096]);
        Run r = jcrit(tmp, "decode", "-i", raw.toString());
        assertEquals(new Run(1, "", "Unknown magic 0x0.\nMaybe you are feeding me an image with raw data(i.e. pages.img)?\n"), r);
    }

    @Test
    void versionAndUsage(@TempDir Path tmp) throws Exception {
        assertEquals(new Run(0, "4.2\n", ""), jcrit(tmp, "--version"));
        assertEquals(2, jcrit(tmp, "decode", "--bogus").rc());
    }

    @Test
    void decodesFixturesLikeCrit(@TempDir Path tmp) throws Exception {
        Path sleep = Fixtures.root() == null ? null : Fixtures.root().resolve("sleep");
        assumeTrue(sleep != null && Files.isDirectory(sleep), "fixtures absent");
        for (String img : List.of("core-21070.img", "mm-21070.img", "inventory.img")) {
            Run r = jcrit(tmp, "show", sleep.resolve(img).toString());
            assertEquals(new Run(0, Files.readString(sleep.resolve("crit/" + img + ".pretty.json")), ""), r, img);
        }
        assertEquals(new Run(0, Files.readString(sleep.resolve("crit/x-ps.txt")), ""), jcrit(tmp, "x", sleep.toString(), "ps"));
        Path out = tmp.resolve("core.img");
        Run r = jcrit(tmp, "encode", "-i", sleep.resolve("crit/core-21070.img.json").toString(), "-o", out.toString());
        assertEquals(new Run(0, "", ""), r);
        assertEquals(-1, Files.mismatch(out, sleep.resolve("core-21070.img")));
    }

    /**
     * What makes a small decode start fast: no protobuf descriptor or generated message class
     * is loaded (the table-driven decoder), and with the AOT cache built by the package phase,
     * jcrit's classes come from it.
     */
    @Test
    void decodeLoadsNoProtobufClassAndUsesTheAotCache(@TempDir Path tmp) throws Exception {
        Path img = tmp.resolve("pstree.img");
        // PSTREE: common and type magics, one entry {pid 1, ppid 0, pgid 1, sid 1, threads [1]}.
        byte[] entry = {8, 1, 16, 0, 24, 1, 32, 1, 40, 1};
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(12 + entry.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(org.jcriu.image.Head.IMG_COMMON_MAGIC).putInt(org.jcriu.image.ImageType.PSTREE.magic()).putInt(entry.length).put(entry);
        Files.write(img, b.array());
        Path log = tmp.resolve("classes.log");
        Path out = tmp.resolve("out");
        ProcessBuilder pb = new ProcessBuilder(Path.of("bin/jcrit").toAbsolutePath().toString(), "decode", "-i", img.toString())
                .redirectOutput(out.toFile()).redirectErrorStream(true);
        pb.environment().put("JCRIU_JAVA_OPTS", "-Xlog:class+load=info:file=" + log);
        Process p = pb.start();
        try {
            assertEquals(true, p.waitFor(60, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        assertEquals("{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1, \"ppid\": 0, \"pgid\": 1, \"sid\": 1, \"threads\": [1]}]}\n",
                Files.readString(out));
        List<String> loaded = Files.readAllLines(log);
        assertEquals(List.of(), loaded.stream().filter(l -> l.contains(" org.jcriu.image.proto.") || l.contains(" com.google.protobuf.Descriptors")).toList());
        String wire = loaded.stream().filter(l -> l.contains(" org.jcriu.crit.Wire ")).findFirst().orElseThrow();
        Path jar = Path.of("target/jcriu.jar");
        Path aot = Path.of("target/jcrit.aot");
        if (Files.exists(aot) && Files.getLastModifiedTime(aot).compareTo(Files.getLastModifiedTime(jar)) > 0) {
            assertTrue(wire.contains("source: shared objects file"), wire);
        }
    }
}
