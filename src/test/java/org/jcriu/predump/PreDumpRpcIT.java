package org.jcriu.predump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pre-dumps through CRIU RPC with upstream pycriu's messages over {@code jcriu swrk}: a PRE_DUMP,
 * PRE_DUMP, DUMP sequence on one session with parent_img and track_mem, restored by the command
 * line; and a SINGLE_PRE_DUMP. Skips where pycriu is not installed.
 */
class PreDumpRpcIT {
    @TempDir
    Path tmp;

    static void assumePycriu() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "no python3");
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import pycriu").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assumeTrue(p.waitFor() == 0, "pycriu is not installed (apt-get install criu)");
    }

    private String client(String action, int pid) throws Exception {
        Path script = tmp.resolve("predump_rpc.py");
        try (InputStream in = PreDumpRpcIT.class.getResourceAsStream("predump_rpc.py")) {
            Files.write(script, in.readAllBytes());
        }
        Path out = tmp.resolve(action + ".out");
        Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), Path.of("bin", "jcriu").toAbsolutePath().toString(), action,
                Integer.toString(pid), tmp.toString()).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(Path.of("/dev/null").toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("rpc client hung: " + Files.readString(out));
        }
        String s = Files.readString(out).strip();
        assertEquals(0, p.exitValue(), s);
        return s;
    }

    @Test
    void preDumpPreDumpDumpOnOneSessionRestores() throws Exception {
        assumePycriu();
        try (Workload w = Workload.c("predump", tmp.resolve("w"), Integer.toString(PreDumpIT.MIB))) {
            for (String d : new String[] {"d0", "d1", "d2"}) Files.createDirectories(tmp.resolve(d));
            String r = client("loop", w.pid());
            assertEquals("[{\"type\": \"PRE_DUMP\", \"success\": true, \"errmsg\": \"\"}, "
                    + "{\"type\": \"PRE_DUMP\", \"success\": true, \"errmsg\": \"\"}, "
                    + "{\"type\": \"DUMP\", \"success\": true, \"errmsg\": \"\"}]", r);
            w.waitGone(Duration.ofSeconds(10));
            assertEquals(Path.of("../d0"), Files.readSymbolicLink(tmp.resolve("d1/parent")));
            assertEquals(Path.of("../d1"), Files.readSymbolicLink(tmp.resolve("d2/parent")));
            PreDumpIT.assertAboutChanged(tmp.resolve("d1/pages-1.img"), "second PRE_DUMP");
            PreDumpIT.assertAboutChanged(tmp.resolve("d2/pages-1.img"), "DUMP");
            Jcriu.Result rr = Jcriu.run("restore", "-d", "-D", tmp.resolve("d2"));
            assertEquals(0, rr.exit(), rr.all());
            PreDumpIT.round(w, 3);
            assertEquals("PASS rounds=3", w.terminateAndVerdict());
        }
    }

    @Test
    void singlePreDumpLeavesTheTaskRunning() throws Exception {
        assumePycriu();
        try (Workload w = Workload.c("predump", tmp.resolve("w"), "4")) {
            Files.createDirectories(tmp.resolve("d0"));
            String r = client("single", w.pid());
            assertEquals("[{\"type\": \"SINGLE_PRE_DUMP\", \"success\": true, \"errmsg\": \"\"}]", r);
            PreDumpIT.assertRunningUntraced(w.pid());
            assertTrue(Files.size(tmp.resolve("d0/pages-1.img")) >= 4 << 20);
            PreDumpIT.round(w, 1);
            assertEquals("PASS rounds=1", w.terminateAndVerdict());
        }
    }
}
