package org.jcriu.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Upstream CRIU's crit (/usr/bin/crit, package criu) where the machine has it: the check that
 * jcriu's images are CRIU's, decoded by CRIU's own tool.
 */
public final class Crit {
    public static final Path BIN = Path.of("/usr/bin/crit");

    private Crit() {}

    public static boolean present() {
        return Files.isExecutable(BIN);
    }

    /** {@code crit ARGS...}: its output (stdout and stderr); fails the test unless crit exits 0. */
    public static String run(Object... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(BIN.toString()));
        for (Object a : args) cmd.add(String.valueOf(a));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), String.join(" ", cmd.subList(1, cmd.size())) + ": " + out);
        return out;
    }

    /** {@code crit decode -i IMG}: the image as crit's JSON. */
    public static String decode(Path img) throws IOException, InterruptedException {
        return run("decode", "-i", img);
    }

    /** Each of {@code names} in {@code dir} decodes with crit; nothing is checked when crit is missing. */
    public static void decodes(Path dir, String... names) throws IOException, InterruptedException {
        if (!present()) return;
        for (String n : names) decode(dir.resolve(n));
    }
}
