package org.jcriu.restore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** What tests check about processes: existence, comm, state, and leftovers of a failed restore. */
final class Procs {
    private Procs() {}

    static boolean exists(int pid) {
        return Files.exists(Path.of("/proc/" + pid));
    }

    static String status(int pid, String key) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith(key + ":")) return l.substring(key.length() + 1).trim();
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    /** SIGKILLs {@code pid} and waits (up to 5 s) until it is reaped by whoever is its parent. */
    static void kill(int pid) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        long end = System.nanoTime() + 5_000_000_000L;
        while (exists(pid) && System.nanoTime() < end) {
            if ("Z (zombie)".equals(status(pid, "State")) && !"1".equals(status(pid, "PPid"))) break;
            sleep(10);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Seeds (the restorer's "sleep 1000000") and traced stopped processes: a failed restore leaves none. */
    static List<String> leftovers() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc"))) {
            for (Path p : s.filter(x -> x.getFileName().toString().matches("\\d+")).toList()) {
                int pid = Integer.parseInt(p.getFileName().toString());
                String cmd;
                try {
                    cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    continue;
                }
                String state = status(pid, "State");
                if (cmd.equals("sleep\u00001000000\u0000") || state != null && state.startsWith("t")) {
                    out.add(pid + " " + cmd.replace('\0', ' ') + " " + state);
                }
            }
        }
        return out;
    }
}
