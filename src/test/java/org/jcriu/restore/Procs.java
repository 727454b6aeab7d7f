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

    /**
     * Seeds (the restorer's "sleep 1000000") orphaned to init: what a failed restore would leave.
     * A seed still owned by a running jcriu belongs to a restore in progress (other tests may run
     * restores on this machine at the same time) and is not counted.
     */
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
                if (cmd.equals("sleep\u00001000000\u0000") && "1".equals(status(pid, "PPid"))) {
                    out.add(pid + " " + cmd.replace('\0', ' ') + " " + status(pid, "State"));
                }
            }
        }
        return out;
    }
}
