package org.jcriu.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What /proc says about a test process, and signals sent to it by pid (never by name). */
public final class ProcState {
    private ProcState() {}

    public static boolean alive(int pid) {
        char s = state(pid);
        return s != 0 && s != 'Z' && s != 'X';
    }

    /** The State letter from /proc/PID/status, 0 when the process is gone. */
    public static char state(int pid) {
        String v = field(pid, "State");
        return v == null ? 0 : v.charAt(0);
    }

    public static int tracerPid(int pid) {
        String v = field(pid, "TracerPid");
        return v == null ? -1 : Integer.parseInt(v);
    }

    /**
     * What a test prints about a task that did not answer: its state and tracer, and per thread
     * the blocked, pending and caught signal masks and the syscall it sits in, which tell a signal
     * taken by the wrong thread, a mask restored wrong and a handler lost apart.
     */
    public static String describe(int pid) {
        StringBuilder b = new StringBuilder("State=" + field(pid, "State") + " TracerPid=" + field(pid, "TracerPid")
                + " ShdPnd=" + field(pid, "ShdPnd") + " SigCgt=" + field(pid, "SigCgt"));
        try (var tids = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tids.sorted().toList()) {
                String status = Files.readString(t.resolve("status"));
                String syscall = Files.readString(t.resolve("syscall")).strip();
                b.append("; tid ").append(t.getFileName());
                for (String line : status.split("\n")) {
                    if (line.startsWith("SigBlk:") || line.startsWith("SigPnd:")) b.append(' ').append(line.replace("\t", ""));
                }
                b.append(" syscall ").append(syscall.split(" ")[0]);
            }
        } catch (IOException e) {
            b.append("; ").append(e.getMessage());
        }
        return b.toString();
    }

    public static String field(int pid, String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(key + ":")) return line.substring(key.length() + 1).strip();
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * {@code key} from the status file of every thread of {@code pid}, by tid (values stripped);
     * a thread without that line is left out.
     */
    public static java.util.Map<Integer, String> perThread(int pid, String key) throws IOException {
        java.util.Map<Integer, String> out = new java.util.TreeMap<>();
        try (var ds = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : ds.toList()) {
                for (String line : Files.readAllLines(t.resolve("status"))) {
                    if (line.startsWith(key + ":")) out.put(Integer.parseInt(t.getFileName().toString()), line.substring(key.length() + 1).strip());
                }
            }
        }
        return out;
    }

    /** {@link #waitGone(int, java.time.Duration)} with 20 s: a dumped tree's tasks are reaped by init within that. */
    public static void waitGone(int pid) {
        waitGone(pid, java.time.Duration.ofSeconds(20));
    }

    /**
     * Waits until {@code pid} is gone from /proc (killed and reaped), as a restore that takes the
     * pid again needs; throws naming its state when it is still there after {@code timeout}.
     */
    public static void waitGone(int pid, java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (Files.exists(Path.of("/proc/" + pid)) && System.nanoTime() < deadline) Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (Files.exists(Path.of("/proc/" + pid))) throw new IllegalStateException("pid " + pid + " still exists: " + describe(pid));
    }

    /**
     * Fails the test unless {@code pid} runs on untraced: state R, S or D (a write in progress),
     * not stopped (T), traced (t) or gone, and no tracer.
     */
    public static void assertRunningUntraced(int pid) {
        char s = state(pid);
        org.junit.jupiter.api.Assertions.assertTrue(s == 'S' || s == 'R' || s == 'D', "task " + pid + " should be running, " + describe(pid));
        org.junit.jupiter.api.Assertions.assertEquals(0, tracerPid(pid), "task " + pid + " still traced");
    }

    public static void signal(int pid, String sig) {
        Workloads.run("kill", "-" + sig, Integer.toString(pid));
    }

    public static void kill9(int pid) {
        if (pid <= 0 || !Files.exists(Path.of("/proc/" + pid))) return;
        try {
            new ProcessBuilder("kill", "-KILL", Integer.toString(pid)).start().waitFor();
        } catch (IOException e) {
            // gone already
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
