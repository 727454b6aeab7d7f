package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jcriu restore -S -d} run by a python caller (sibling_parent.py), as runc or a shell
 * runs criu: the restored root must be the caller's own child, which it waits for with a plain
 * waitpid() and whose exit status it gets; it must carry exactly the fds and signal state it was
 * dumped with, nothing of jcriu's JVM; and a restore that fails leaves the caller nothing running.
 */
class RestoreSiblingIT {
    private static final String PYTHON = "/usr/bin/python3";
    private static final List<String> STATUS_KEYS = List.of("NoNewPrivs", "Seccomp", "ShdPnd", "SigBlk", "SigCgt", "SigIgn",
            "SigPnd", "Threads", "TracerPid");

    @TempDir
    Path tmp;

    @Test
    void rootIsTheCallersChildWithItsOwnFdsAndExitStatus() throws Exception {
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            String fds = fds(w.pid());
            String status = status(w.pid());
            List<String> maps = Maps.of(w.pid());
            String exe = Files.readSymbolicLink(Path.of("/proc/" + w.pid() + "/exe")).toString();
            Path d = dump(w, false);
            String r = parent(d, "run");
            assertEquals("0", field(r, "rc"), r + log(d));
            assertEquals(String.valueOf(w.pid()), field(r, "pid"), r);
            assertEquals("true", field(r, "running"), "the root is not a running child of the caller: " + r);
            assertEquals(field(r, "me"), field(r, "ppid"), r);
            // no fd of jcriu's JVM (jar, log, tracer's /proc files) in the restored task
            assertEquals(fds, field(r, "fds"), r);
            assertEquals(status, field(r, "status"), r);
            // nothing of the JVM the root was cloned from is left mapped
            assertEquals(maps, Maps.normalize(MapsLine.parse(Files.readString(d.resolve("maps.restored")))));
            assertEquals(exe, field(r, "exe"), r);
            assertEquals(field(r, "pid"), field(r, "waited"), r);
            assertEquals("true", field(r, "exited"), r);
            assertEquals("0", field(r, "exit"), r);
            assertEquals("[]", field(r, "children"), "the caller has other children left: " + r);
            String v = Files.readString(w.dir().resolve("verdict")).strip();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    /** The PID is still taken (dumped with -R): clear error, no process created, nothing for the caller to reap. */
    @Test
    void takenPidLeavesNothingBehind() throws Exception {
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            Path d = dump(w, true);
            String r = parent(d, "fail");
            assertEquals("1", field(r, "rc"), r);
            assertTrue(field(r, "stderr").contains("PID " + w.pid() + " is in use by counter"), r);
            assertEquals("[]", field(r, "children"), r);
            assertTrue(w.alive());
            assertEquals("0", Procs.status(w.pid(), "TracerPid"));
            assertTrue(w.terminateAndVerdict().startsWith("PASS"));
        }
    }

    /**
     * A failure once the root exists (a post-restore action script refuses, right before the
     * resume): the root is killed, and as with criu it is then the caller's child killed by
     * SIGKILL, for the caller to reap; nothing keeps running and nothing stays traced.
     */
    @Test
    void failureAfterTheRootExistsLeavesOnlyAKilledChild() throws Exception {
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            Path d = dump(w, false);
            Path script = tmp.resolve("refuse.sh");
            Files.writeString(script, "#!/bin/sh\n[ \"$CRTOOLS_SCRIPT_ACTION\" != post-restore ]\n");
            script.toFile().setExecutable(true);
            String r = parent(d, "fail", "--action-script", script.toString());
            assertEquals("1", field(r, "rc"), r);
            assertTrue(log(d).contains("as a sibling of jcriu"), "the failure came before the root existed: " + r + log(d));
            assertTrue(field(r, "children").matches("\\[\\{\"pid\": " + w.pid() + ", \"signaled\": true, \"sig\": 9}]"),
                    r + log(d));
            assertTrue(!Procs.exists(w.pid()), "the root survives");
        }
    }

    /**
     * A live three-level tree with sessions, groups and a zombie (workloads/tree.c) dumped by jcriu:
     * with -S its root is the caller's child, its children stay its own (the zombie too), every
     * task carries on, and the root's verdict comes back to the caller as its exit status.
     */
    @Test
    void liveTreeRootIsTheCallersChildAndTheTreeCarriesOn() throws Exception {
        try (Workload w = Workload.c("tree", tmp.resolve("w"))) {
            List<Integer> pids = new ArrayList<>();
            for (String p : Files.readString(w.dir().resolve("pids")).trim().split(" ")) pids.add(Integer.parseInt(p));
            for (int p : pids) w.alsoKill(p);
            Path d = dump(w, false);
            for (int p : pids) {
                long end = System.nanoTime() + 10_000_000_000L;
                while (Procs.exists(p) && System.nanoTime() < end) Procs.sleep(10);
            }
            String r = parent(d, "run");
            assertEquals("0", field(r, "rc"), r + log(d));
            assertEquals(String.valueOf(w.pid()), field(r, "pid"), r);
            assertEquals(field(r, "me"), field(r, "ppid"), r);
            // A, B and the zombie Z (pids: R A B G Z)
            List<Integer> kids = new ArrayList<>(List.of(pids.get(1), pids.get(2), pids.get(4)));
            java.util.Collections.sort(kids);
            assertEquals(kids.toString(), field(r, "root_children"), r);
            assertEquals("0", field(r, "exit"), "the root's verdict: " + r);
            String v = Files.readString(w.dir().resolve("verdict")).strip();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    /**
     * CRIU 4.2's tree fixture (bash looping on sleep, see {@link RestoreTreeFixtureIT}): the root is
     * the caller's child, its own child is cloned inside it as usual, and the loop carries on.
     */
    @Test
    void treeRootIsTheCallersChildAndItsChildStaysItsOwn() throws Exception {
        Path d = org.jcriu.image.Fixtures.copy("bash-loop", tmp.resolve("bash-loop"));
        int bash = RestoreTreeFixtureIT.BASH, sleep = RestoreTreeFixtureIT.SLEEP;
        List<PidLock> locks = new ArrayList<>();
        try {
            for (int pid : new int[] {bash, sleep}) locks.add(PidLock.takeFree(pid));
            String r = parent(d, "run");
            assertEquals("0", field(r, "rc"), r + log(d));
            assertEquals(String.valueOf(bash), field(r, "pid"), r);
            assertEquals(field(r, "me"), field(r, "ppid"), r);
            assertEquals("true", field(r, "running"), r);
            // the restored sleep, or the next one the loop started after it
            assertTrue(field(r, "root_children").matches("\\[\\d+]"), r);
            assertEquals("-15", field(r, "exit"), "bash dies of the SIGTERM: " + r);
        } finally {
            Procs.kill(bash);
            Procs.kill(sleep);
            for (PidLock l : locks) l.close();
        }
    }

    private Path dump(Workload w, boolean leaveRunning) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("imgs"));
        List<Object> args = new ArrayList<>(List.of("dump", "-t", w.pid(), "-D", d));
        if (leaveRunning) args.add("-R");
        Jcriu.Result r = Jcriu.run(args.toArray());
        assertEquals(0, r.exit(), r.all());
        if (!leaveRunning) w.waitGone(Duration.ofSeconds(10));
        return d;
    }

    private String parent(Path images, String mode, String... jcriuArgs) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of(PYTHON)), "no " + PYTHON + " (scripts/test.sh installs it)");
        Path script = tmp.resolve("sibling_parent.py");
        if (!Files.exists(script)) {
            try (InputStream in = RestoreSiblingIT.class.getResourceAsStream("sibling_parent.py")) {
                Files.write(script, in.readAllBytes());
            }
        }
        List<String> cmd = new ArrayList<>(List.of(PYTHON, script.toString(), Jcriu.launcher().getFirst(), images.toString(), mode));
        cmd.addAll(List.of(jcriuArgs));
        Path out = tmp.resolve("parent-" + mode + ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(Path.of("/dev/null").toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("sibling_parent.py hung: " + Files.readString(out));
        }
        String s = Files.readString(out).strip();
        if (p.exitValue() != 0) throw new AssertionError("sibling_parent.py failed: " + s + log(images));
        return s;
    }

    private static String log(Path images) throws IOException {
        Path l = images.resolve("restore.log");
        return Files.exists(l) ? "\n" + Files.readString(l) : "";
    }

    /** As sibling_parent.py prints them: "N=target;..." in fd order. */
    static String fds(int pid) throws IOException {
        Map<Integer, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path p : s.toList()) m.put(Integer.parseInt(p.getFileName().toString()), Files.readSymbolicLink(p).toString());
        }
        List<String> l = new ArrayList<>();
        m.forEach((k, v) -> l.add(k + "=" + v));
        return String.join(";", l);
    }

    static String status(int pid) {
        List<String> l = new ArrayList<>();
        for (String k : STATUS_KEYS) l.add(k + "=" + Procs.status(pid, k));
        return String.join(";", l);
    }

    /** The value of {@code "key"} in the script's one-line JSON, unquoted ("[...]" for lists). */
    static String field(String json, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\": (\"(?:[^\"\\\\]|\\\\.)*\"|\\[[^\\]]*\\]|[^,}]+)").matcher(json);
        if (!m.find()) return null;
        String v = m.group(1).strip();
        return v.startsWith("\"") ? v.substring(1, v.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\") : v;
    }
}
