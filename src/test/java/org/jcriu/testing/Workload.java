package org.jcriu.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A workload process under test, started so that nothing in the test JVM can interfere with
 * jcriu's ptrace of it, and so that the original and the restored process are handled alike.
 *
 * <p>How it starts: {@code setsid -f CMD} (util-linux) forks, the intermediate {@code setsid}
 * exits at once and the workload is re-parented to init in a new session. The test JVM's
 * process reaper only ever waits for that short-lived {@code setsid}; the workload, like a task
 * restored by a {@code bin/jcriu} run that has exited, is nobody's child here. Its pid is
 * learnt from the protocol below, never from a {@link Process}.
 *
 * <p>Protocol every workload follows (see src/test/resources/workloads/*): it gets its own
 * directory as first argument, builds its state, writes its pid to DIR/ready, and on SIGTERM
 * verifies its state and writes DIR/verdict ("PASS ..." or "FAIL what differs"). stdout and
 * stderr go to DIR/out and DIR/err; stdin is /dev/null, or with {@link #withStdinPipe} a pipe
 * whose write end this object holds open (an fd shared with the outside, like a shell pipeline).
 *
 * <p>Typical test:
 * <pre>{@code
 * try (Workload w = Workload.c("counter", dir.resolve("w"))) {
 *     Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", imgs, "-R");
 *     ...
 *     assertEquals("PASS", w.terminateAndVerdict().split(" ")[0]);
 * }   // close() SIGKILLs the pid if it is still alive
 * }</pre>
 * Restored tasks keep their pid, so {@link #close()} also cleans up after a restore; pids
 * added with {@link #alsoKill} are killed too. A dump kills the task but its parent (init) reaps
 * it a little later: call {@link #waitGone} before restoring, or the pid is still taken.
 * Round trip: see org.jcriu.dump.RoundTripIT.
 */
public final class Workload implements AutoCloseable {
    private final Path dir;
    private final int pid;
    private final Process setsid;
    private final List<Integer> extra = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    private Workload(Path dir, int pid, Process setsid) {
        this.dir = dir;
        this.pid = pid;
        this.setsid = setsid;
    }

    /** A compiled C workload from src/test/resources/workloads/NAME.c. */
    public static Workload c(String name, Path dir, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Workloads.binary(name).toString());
        cmd.add(dir.toString());
        cmd.addAll(List.of(args));
        return start(dir, cmd, false);
    }

    /**
     * {@code sleep 1000}; its ready file is written by a shell that then execs sleep, so this
     * also waits until the pid is sleep and asleep.
     */
    public static Workload sleep(Path dir) {
        Workload w = start(dir, List.of("/bin/sh", "-c", "echo $$ > \"$0/ready\"; exec sleep 1000", dir.toString()), false);
        return w.awaitExec("sleep", 'S');
    }

    /**
     * Waits until the pid runs {@code name} (Name in /proc/PID/status) in {@code state}: for
     * workloads whose ready file is written by a shell that then execs the real program.
     */
    public Workload awaitExec(String name, char state) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        try {
            while (!(name.equals(ProcState.field(pid, "Name")) && ProcState.state(pid) == state)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("pid " + pid + " never became " + name + " in state " + state + ": "
                            + ProcState.field(pid, "Name") + " " + ProcState.describe(pid));
                }
                Thread.sleep(2);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return this;
    }

    /** The bash loop (loop.sh): stdin is a pipe held by this object, its `read -t` delay. */
    public static Workload bash(Path dir) {
        return start(dir, List.of("/bin/bash", Workloads.script("loop.sh").toString(), dir.toString()), true);
    }

    /** The python3 loop (loop.py). */
    public static Workload python(Path dir) {
        return start(dir, List.of("python3", "-I", "-S", Workloads.script("loop.py").toString(), dir.toString()), false);
    }

    /**
     * A python3 workload given as code: {@code python3 -I -S -c PROG DIR ARGS...}, where PROG is
     * {@code import os, sys}, then {@code setup} (which builds the state, with DIR as
     * sys.argv[1]), then the ready file written as the protocol wants (atomically, by rename),
     * then {@code afterReady}, or a long sleep when that is null.
     */
    public static Workload python(Path dir, String setup, String afterReady, String... args) {
        String prog = "import os, sys\n" + setup + "\n"
                + "open(sys.argv[1] + '/.r', 'w').write(str(os.getpid()))\n"
                + "os.rename(sys.argv[1] + '/.r', sys.argv[1] + '/ready')\n"
                + (afterReady != null ? afterReady : "import time\ntime.sleep(1000)\n");
        List<String> cmd = new ArrayList<>(List.of("python3", "-I", "-S", "-c", prog, dir.toString()));
        cmd.addAll(List.of(args));
        return start(dir, cmd, false);
    }

    public static Workload start(Path dir, List<String> command, boolean stdinPipe) {
        try {
            Files.createDirectories(dir);
            List<String> cmd = new ArrayList<>();
            cmd.add("setsid");
            cmd.add("-f");
            cmd.addAll(command);
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .directory(dir.toFile())
                    .redirectOutput(dir.resolve("out").toFile())
                    .redirectError(dir.resolve("err").toFile());
            if (!stdinPipe) pb.redirectInput(Path.of("/dev/null").toFile());
            Process p = pb.start();
            if (!stdinPipe) p.waitFor();
            int pid = waitReady(dir, Duration.ofSeconds(20));
            return new Workload(dir, pid, stdinPipe ? p : null);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static int waitReady(Path dir, Duration timeout) throws IOException, InterruptedException {
        Path ready = dir.resolve("ready");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(ready)) {
                String s = Files.readString(ready).strip();
                if (!s.isEmpty()) return Integer.parseInt(s);
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("workload in " + dir + " never wrote ready; err: "
                + (Files.exists(dir.resolve("err")) ? Files.readString(dir.resolve("err")) : ""));
    }

    public int pid() {
        return pid;
    }

    public Path dir() {
        return dir;
    }

    /** The write end of the stdin pipe (only for workloads started with a pipe). */
    public OutputStream stdin() {
        return setsid.getOutputStream();
    }

    public boolean alive() {
        return ProcState.alive(pid);
    }

    public void alsoKill(int otherPid) {
        extra.add(otherPid);
    }

    /** Keeps {@code c} open until {@link #close()} (e.g. the stdin pipe given to a restored task). */
    public void alsoClose(AutoCloseable c) {
        closeables.add(c);
    }

    /** Waits until the pid is gone from /proc (killed and reaped by init), as a restore needs. */
    public void waitGone(Duration timeout) {
        ProcState.waitGone(pid, timeout);
    }

    /** Sends SIGTERM and waits for the verdict the workload writes. */
    public String terminateAndVerdict() {
        ProcState.signal(pid, "TERM");
        return verdict(Duration.ofSeconds(20));
    }

    /** Sends SIGTERM and fails the test unless the workload's verdict is PASS; the message is the verdict. */
    public void assertPasses() {
        String v = terminateAndVerdict();
        org.junit.jupiter.api.Assertions.assertTrue(v.startsWith("PASS"), v);
    }

    public String verdict(Duration timeout) {
        Path v = dir.resolve("verdict");
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (System.nanoTime() < deadline) {
                // The workload creates the file before it writes it: an empty verdict is one still
                // being written, unless the workload is gone.
                if (Files.exists(v)) {
                    String s = Files.readString(v).strip();
                    if (!s.isEmpty() || !alive()) return s;
                }
                Thread.sleep(10);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "NO VERDICT (pid " + pid + " " + ProcState.describe(pid) + ")";
    }

    @Override
    public void close() {
        ProcState.kill9(pid);
        for (int p : extra) ProcState.kill9(p);
        if (setsid != null) {
            setsid.destroyForcibly();
        }
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception e) {
                // already closed
            }
        }
    }
}
