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

    public static String describe(int pid) {
        return "State=" + field(pid, "State") + " TracerPid=" + field(pid, "TracerPid");
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
