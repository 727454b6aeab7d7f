package org.jcriu.service;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Upstream pycriu (Debian's criu package) driving bin/jcriu, through rpc_client.py. Tests skip
 * when this machine has no pycriu (scripts/test.sh installs it).
 */
final class PyCriu {
    static final String PYTHON = "/usr/bin/python3";

    private PyCriu() {}

    static void assumeAvailable() throws Exception {
        assumeTrue(Files.isExecutable(Path.of(PYTHON)), "no " + PYTHON);
        Process p = new ProcessBuilder(PYTHON, "-c", "import pycriu").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assumeTrue(p.waitFor() == 0, "pycriu is not installed (apt-get install criu)");
    }

    static Path jcriu() {
        return Path.of("bin", "jcriu").toAbsolutePath();
    }

    /** One run of the client script; its JSON line. */
    static String run(Path tmp, String target, String action, String... args) throws Exception {
        return runAs(List.of(), tmp, target, action, args);
    }

    /** With {@code prefix} before python (e.g. setpriv to run as another user). */
    static String runAs(List<String> prefix, Path tmp, String target, String action, String... args) throws Exception {
        Path script = tmp.resolve("rpc_client.py");
        if (!Files.exists(script)) {
            try (InputStream in = PyCriu.class.getResourceAsStream("rpc_client.py")) {
                Files.write(script, in.readAllBytes());
            }
        }
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(PYTHON, script.toString(), target, action));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "py", ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(Path.of("/dev/null").toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("rpc client hung: " + cmd + "\n" + Files.readString(out));
        }
        String s = Files.readString(out);
        if (p.exitValue() != 0) throw new AssertionError("rpc client failed: " + cmd + "\n" + s);
        return s.strip();
    }

    /** The first {@code "key": value} in a JSON text, unquoted. */
    static String field(String json, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\": (\"(?:[^\"\\\\]|\\\\.)*\"|[^,}\\]]+)").matcher(json);
        if (!m.find()) return null;
        String v = m.group(1).strip();
        return v.startsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    static double seconds(String json) {
        return Double.parseDouble(field(json, "seconds"));
    }

    static void delete(Path p) throws IOException {
        Files.deleteIfExists(p);
    }
}
