package org.jcriu.action;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;

/**
 * notify_scripts from a real RPC client (pycriu's messages over {@code jcriu swrk}): every action
 * criu reports for a tree without namespaces, in its order, and a refusal at each point that
 * aborts: the dump leaves the task running, the restore leaves nothing behind.
 */
class ActionRpcIT {
    private static final Path PY = Path.of("/usr/bin/python3");

    @TempDir
    Path tmp;
    Workload work;
    Path client;
    String jcriu;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(Files.isExecutable(PY) && new ProcessBuilder(PY.toString(), "-c", "import pycriu").start().waitFor() == 0,
                "no pycriu (apt-get install criu)");
        jcriu = Jcriu.launcher().getFirst();
        assumeTrue(jcriu.endsWith("jcriu"), "needs bin/jcriu");
        // the RPC test client of org.jcriu.service: its "notify" action answers every NOTIFY
        client = tmp.resolve("rpc_client.py");
        try (InputStream in = ActionRpcIT.class.getResourceAsStream("/org/jcriu/service/rpc_client.py")) {
            Files.write(client, in.readAllBytes());
        }
    }

    @AfterEach
    void cleanup() {
        if (work != null) work.close();
    }

    private String notify(String op, Path img, String pid, String refuse) throws Exception {
        Process p = new ProcessBuilder(PY.toString(), client.toString(), jcriu, "notify", op, img.toString(), pid, refuse)
                .redirectErrorStream(true).redirectInput(Path.of("/dev/null").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) throw new AssertionError("client failed: " + out);
        return out;
    }

    @Test
    void refusedPreDumpLeavesTheTaskRunningAndWritesNothing() throws Exception {
        work = Workload.sleep(tmp.resolve("w"));
        Path img = Files.createDirectories(tmp.resolve("img"));
        String r = notify("dump", img, String.valueOf(work.pid()), "pre-dump");
        assertTrue(r.contains("\"notifications\": [\"pre-dump\"]"), r);
        assertTrue(r.contains("\"success\": false") && r.contains("RPC client reported script error for pre-dump"), r);
        assertTrue(work.alive());
        assertEquals('S', org.jcriu.testing.ProcState.state(work.pid()), "not stopped");
        assertEquals("0", org.jcriu.testing.ProcState.field(work.pid(), "TracerPid"), "not traced");
        assertFalse(Files.exists(img.resolve("inventory.img")));
    }

    @Test
    void refusedQueryExtFilesAbortsTheDump() throws Exception {
        work = Workload.sleep(tmp.resolve("w"));
        Path img = Files.createDirectories(tmp.resolve("img"));
        String r = notify("dump", img, String.valueOf(work.pid()), "query-ext-files");
        assertTrue(r.contains("\"notifications\": [\"pre-dump\", \"query-ext-files\"]"), r);
        assertTrue(r.contains("\"success\": false"), r);
        assertTrue(work.alive());
        assertEquals('S', org.jcriu.testing.ProcState.state(work.pid()));
    }

    @Test
    void refusedPreRestoreAndPostRestoreLeaveNothingRestored() throws Exception {
        work = Workload.sleep(tmp.resolve("w"));
        int pid = work.pid();
        Path img = Files.createDirectories(tmp.resolve("img"));
        String r = notify("dump", img, String.valueOf(pid), "-");
        assertTrue(r.contains("\"notifications\": [\"pre-dump\", \"query-ext-files\", \"post-dump\"]"), r);
        work.waitGone(Duration.ofSeconds(5));

        r = notify("restore", img, "-", "pre-restore");
        assertTrue(r.contains("\"notifications\": [\"pre-restore\"]"), r);
        assertTrue(r.contains("\"success\": false") && r.contains("script error for pre-restore"), r);
        assertFalse(Files.exists(Path.of("/proc/" + pid)));

        r = notify("restore", img, "-", "post-restore");
        assertTrue(r.contains("\"notifications\": [\"pre-restore\", \"post-restore:" + pid + "\"]"), r);
        assertTrue(r.contains("\"success\": false") && r.contains("script error for post-restore"), r);
        for (int i = 0; i < 300 && Files.exists(Path.of("/proc/" + pid)); i++) Thread.sleep(10);
        assertFalse(Files.exists(Path.of("/proc/" + pid)), "a refused post-restore kills what was built");

        // criu only logs a refused pre-resume: the tree runs and the restore succeeds
        r = notify("restore", img, "-", "pre-resume");
        assertTrue(r.contains("\"notifications\": [\"pre-restore\", \"post-restore:" + pid + "\", \"pre-resume\", \"post-resume\"]"), r);
        assertTrue(r.contains("\"success\": true"), r);
        assertTrue(Files.exists(Path.of("/proc/" + pid)));
    }
}
