package org.jcriu.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs jcriu as a separate process, as users do: bin/jcriu when the cli has it, else the
 * packaged target/jcriu.jar on the JDK 25 java. A separate process keeps jcriu's ptrace away
 * from this JVM's process reaper; restored tasks become children of that jcriu process and are
 * re-parented to init when it exits, like the original workloads (see {@link Workload}).
 */
public final class Jcriu {
    /** @param stdin the write end of jcriu's stdin pipe when asked for with {@link #runWithStdinPipe}, else null */
    public record Result(int exit, String stdout, String stderr, java.io.OutputStream stdin) {
        public String all() {
            return stdout + stderr;
        }
    }

    private Jcriu() {}

    public static Result run(Object... args) {
        return run(null, args);
    }

    /** Runs jcriu and fails the test unless it exits 0; the message is everything it printed. */
    public static Result ok(Object... args) {
        Result r = run(args);
        org.junit.jupiter.api.Assertions.assertEquals(0, r.exit(), r.all());
        return r;
    }

    /** {@link #ok} timed: the wall time of the whole command in ms, JVM start included. */
    public static long okMillis(Object... args) {
        long t0 = System.nanoTime();
        ok(args);
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /**
     * {@code dump -t PID -D imgs -v4 -o dump.log EXTRA...}, which must exit 0 (the failure quotes
     * the log), then waits until the dumped pid is gone: killed, and reaped by init, so that a
     * restore can take it again. Creates {@code imgs} and returns it.
     */
    public static Path dumpKilled(Workload w, Path imgs, Object... extra) {
        okLogged(imgs, "dump.log", List.of("dump", "-t", w.pid(), "-D", imgs, "-v4", "-o", "dump.log"), extra);
        w.waitGone(java.time.Duration.ofSeconds(10));
        return imgs;
    }

    /**
     * {@code restore -D imgs -d -v4 -o restore.log EXTRA...}, which must exit 0 (the failure
     * quotes the log); then the workload's pid must be running, untraced.
     */
    public static void restored(Workload w, Path imgs, Object... extra) {
        okLogged(imgs, "restore.log", List.of("restore", "-D", imgs, "-d", "-v4", "-o", "restore.log"), extra);
        org.junit.jupiter.api.Assertions.assertTrue(w.alive(), "restored task " + w.pid() + " is not running: " + ProcState.describe(w.pid()));
        org.junit.jupiter.api.Assertions.assertEquals(0, ProcState.tracerPid(w.pid()), "restored task " + w.pid() + " is still traced");
    }

    private static void okLogged(Path imgs, String log, List<Object> args, Object... extra) {
        try {
            Files.createDirectories(imgs);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        List<Object> all = new ArrayList<>(args);
        all.addAll(List.of(extra));
        Result r = run(all.toArray());
        org.junit.jupiter.api.Assertions.assertEquals(0, r.exit(), () -> r.all() + Logs.tail(imgs.resolve(log)));
    }

    /**
     * {@code dump -t PID -D imgs EXTRA...} that jcriu must refuse: exit 1, and the task left
     * running, untraced. Returns the result, whose stderr the test checks.
     */
    public static Result dumpRefused(Workload w, Path imgs, Object... extra) {
        try {
            Files.createDirectories(imgs);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        List<Object> args = new ArrayList<>(List.of("dump", "-t", w.pid(), "-D", imgs));
        args.addAll(List.of(extra));
        Result r = run(args.toArray());
        org.junit.jupiter.api.Assertions.assertEquals(1, r.exit(), r.all());
        org.junit.jupiter.api.Assertions.assertTrue(w.alive(), "a refused dump killed task " + w.pid());
        org.junit.jupiter.api.Assertions.assertEquals(0, ProcState.tracerPid(w.pid()), "a refused dump left task " + w.pid() + " traced");
        return r;
    }

    /** The round trip most tests make: {@link #dumpKilled}, then {@link #restored}. */
    public static void dumpAndRestore(Workload w, Path imgs, Object... dumpExtra) {
        dumpKilled(w, imgs, dumpExtra);
        restored(w, imgs);
    }

    /**
     * With a pipe as jcriu's stdin whose write end stays open in {@link Result#stdin()} (close it
     * when done): a restored task given that pipe (--inherit-fd fd[0]:pipe:[INODE]) keeps a
     * writer, like a task whose pipeline is still there.
     */
    public static Result runWithStdinPipe(Object... args) {
        return run(ProcessBuilder.Redirect.PIPE, args);
    }

    /** With {@code stdin} as the child's stdin (null: /dev/null). */
    public static Result run(ProcessBuilder.Redirect stdin, Object... args) {
        List<String> cmd = new ArrayList<>(launcher());
        for (Object a : args) cmd.add(String.valueOf(a));
        try {
            Path out = Files.createTempFile("jcriu-out", ".txt");
            Path err = Files.createTempFile("jcriu-err", ".txt");
            try {
                ProcessBuilder pb = new ProcessBuilder(cmd)
                        .redirectOutput(out.toFile()).redirectError(err.toFile())
                        .redirectInput(stdin != null ? stdin : ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
                Process p = pb.start();
                if (!p.waitFor(120, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException("jcriu timed out: " + cmd);
                }
                return new Result(p.exitValue(), Files.readString(out), Files.readString(err),
                        stdin == ProcessBuilder.Redirect.PIPE ? p.getOutputStream() : null);
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The command that runs jcriu (bin/jcriu, or java -jar target/jcriu.jar). */
    public static List<String> launcher() {
        Path bin = Path.of("bin", "jcriu").toAbsolutePath();
        if (Files.isExecutable(bin)) return List.of(bin.toString());
        String home = System.getenv().getOrDefault("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64");
        return List.of(home + "/bin/java", "--enable-native-access=ALL-UNNAMED", "-jar",
                Path.of("target", "jcriu.jar").toAbsolutePath().toString());
    }
}
