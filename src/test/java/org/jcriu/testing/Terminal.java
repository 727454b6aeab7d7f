package org.jcriu.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Terminals for tests through script(1) (util-linux): a job whose stdin, stdout and stderr are a
 * pseudo-terminal it leads the session of, as under a shell, and a jcriu restore run in another
 * new terminal, as a user restoring a shell job does.
 */
public final class Terminal {
    public static final Path SCRIPT = Path.of("/usr/bin/script");

    private Terminal() {}

    /** Skips the test where script(1) is not installed. */
    public static void assumePresent() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(SCRIPT), "script(1) not installed");
    }

    /**
     * {@code sleep 1000} in a new terminal, after the shell commands {@code setup} (e.g. stty)
     * ran there; returns once the pid is sleep, asleep.
     */
    public static Workload sleepingJob(Path dir, String setup) {
        Workload w = Workload.start(dir, List.of(SCRIPT.toString(), "-qec",
                "exec sh -c '" + setup + "echo $$ > " + dir + "/ready; exec sleep 1000'", "/dev/null"), false);
        return w.awaitExec("sleep", 'S');
    }

    /**
     * Runs {@code restore -D imgs -d ARGS -v4 -o restore.log} in a new terminal after the shell
     * commands {@code before}, and waits until the restore is over (the pid exists from the
     * clone3 on; checks need the whole restore); it must exit 0. Returns the new terminal's
     * name. The terminal stays open (its shell sleeps) until {@code w} is closed. Its files are
     * term.name, restore.rc and term.out in {@code tmp}.
     */
    public static String restoreIn(Workload w, Path imgs, Path tmp, String before, String args) throws Exception {
        Path name = tmp.resolve("term.name"), rc = tmp.resolve("restore.rc"), out = tmp.resolve("term.out");
        String restore = "tty > " + name + "; " + before + String.join(" ", Jcriu.launcher()) + " restore -D " + imgs
                + " -d " + args + " -v4 -o restore.log; echo $? > " + rc + "; sleep 10";
        Process term = new ProcessBuilder(SCRIPT.toString(), "-qec", restore, "/dev/null")
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectErrorStream(true).start();
        w.alsoClose(term::destroyForcibly);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!(Files.exists(rc) && Files.size(rc) > 0) && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(Files.exists(rc), "restore did not finish: " + Files.readString(out));
        assertEquals("0", Files.readString(rc).strip(), "restore failed: " + Files.readString(out));
        return Files.readString(name).strip();
    }
}
