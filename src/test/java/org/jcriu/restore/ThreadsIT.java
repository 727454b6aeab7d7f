package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.PerfDataGuard;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.jcriu.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Multi-threaded processes: every thread comes back with its TID, name, signal mask, altstack
 * and registers, threads blocked in a futex or a nanosleep carry on, and a failed dump leaves
 * every thread running untraced.
 */
class ThreadsIT {
    @TempDir
    Path tmp;

    /** Per thread: Name, SigBlk, TracerPid, Cpus_allowed_list, Uid, CapEff from /proc/PID/task/TID/status, nice and policy from stat. */
    private static Map<Integer, String> threadState(int pid) throws IOException {
        Map<Integer, String> out = new TreeMap<>();
        try (var ds = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : ds.toList()) {
                StringBuilder sb = new StringBuilder();
                for (String line : Files.readAllLines(t.resolve("status"))) {
                    for (String k : new String[] {"Name:", "SigBlk:", "TracerPid:", "Cpus_allowed_list:", "Uid:", "CapEff:"}) {
                        if (line.startsWith(k)) sb.append(line.replace('\t', ' ')).append("; ");
                    }
                }
                String stat = Files.readString(t.resolve("stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                sb.append("nice ").append(f[19 - 3]).append("; policy ").append(f[41 - 3]);
                out.put(Integer.parseInt(t.getFileName().toString()), sb.toString());
            }
        }
        return out;
    }

    /** States of every thread ('t' = traced stop, 'T' = stopped). */
    private static String states(int pid) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String s : ProcState.perThread(pid, "State").values()) sb.append(s.charAt(0));
        return sb.toString();
    }

    /** A script that fails (exit 1) at {@code action} and passes every other action. */
    private Path failingAt(String action) throws IOException {
        Path script = tmp.resolve("fail.sh");
        Files.writeString(script, "#!/bin/sh\n[ \"$CRTOOLS_SCRIPT_ACTION\" = " + action + " ] && exit 1\nexit 0\n");
        script.toFile().setExecutable(true);
        return script;
    }

    /** Every thread as {@code before}, none stopped or traced, and the workload passes its own checks. */
    private static void assertRunsOnUntraced(Workload w, Map<Integer, String> before) throws IOException {
        assertEquals(before, threadState(w.pid()));
        assertTrue(states(w.pid()).chars().noneMatch(c -> c == 't' || c == 'T'), states(w.pid()));
        w.assertPasses();
    }

    @Test
    void sixteenSpinnersACondWaiterAndASleeperCarryOn() throws Exception {
        try (Workload w = Workload.c("threads", tmp.resolve("w"))) {
            int pid = w.pid();
            Map<Integer, String> before = threadState(pid);
            assertEquals(19, before.size(), before.toString());
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            long dumpMs = Jcriu.okMillis("dump", "-t", pid, "-D", d);
            w.waitGone(Duration.ofSeconds(10));
            for (int tid : before.keySet()) assertTrue(Files.exists(d.resolve("core-" + tid + ".img")), "core-" + tid + ".img");
            long restoreMs = Jcriu.okMillis("restore", "-d", "-D", d);
            System.out.printf("ThreadsIT: 19-thread workload: jcriu dump %d ms, jcriu restore %d ms (whole commands)%n", dumpMs, restoreMs);
            assertEquals(before, threadState(pid));
            assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
            w.assertPasses();
        }
    }

    /** A post-dump script that fails: every thread resumes as it was, untraced, and the workload still passes. */
    @Test
    void failedDumpLeavesEveryThreadRunning() throws Exception {
        try (Workload w = Workload.c("threads", tmp.resolve("w"))) {
            int pid = w.pid();
            Map<Integer, String> before = threadState(pid);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", pid, "-D", d, "--action-script", failingAt("post-dump"));
            assertNotEquals(0, r.exit(), r.all());
            assertRunsOnUntraced(w, before);
        }
    }

    /** --leave-running: dumped, every thread detached and running on; the dump then restores too. */
    @Test
    void leaveRunningDetachesEveryThread() throws Exception {
        try (Workload w = Workload.c("threads", tmp.resolve("w"))) {
            int pid = w.pid();
            Map<Integer, String> before = threadState(pid);
            Jcriu.ok("dump", "-t", pid, "-D", Files.createDirectories(tmp.resolve("imgs")), "-R");
            assertRunsOnUntraced(w, before);
        }
    }

    @Test
    void pythonThreadsKeepPrinting() throws Exception {
        Path dir = tmp.resolve("w");
        try (Workload w = Workload.start(dir, List.of("python3", "-I", "-S", Workloads.script("threads.py").toString(), dir.toString()), false)) {
            int pid = w.pid();
            Map<Integer, String> before = threadState(pid);
            long lines = Files.readAllLines(dir.resolve("progress-0")).size();
            Jcriu.dumpAndRestore(w, Files.createDirectories(tmp.resolve("imgs")));
            assertEquals(before, threadState(pid));
            Thread.sleep(500);
            assertTrue(Files.readAllLines(dir.resolve("progress-0")).size() > lines + 5, "worker 0 printed nothing after restore");
            w.assertPasses();
        }
    }

    /** A signal queued to one thread that blocks it comes back queued to that thread, not to the process or the main thread. */
    @Test
    void pendingSignalOfAThreadComesBackToThatThread() throws Exception {
        String py = "import threading, time, signal\n"
                + "def blocked():\n"
                + "    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])\n"
                + "    time.sleep(1000)\n"
                + "t = threading.Thread(target=blocked, name='blocked', daemon=True)\n"
                + "t.start()\n"
                + "time.sleep(0.2)\n"
                + "signal.pthread_kill(t.ident, signal.SIGUSR1)\n";
        try (Workload w = Workload.python(tmp.resolve("w"), py, null)) {
            int pid = w.pid();
            Map<Integer, String> before = threadState(pid);
            Map<Integer, String> pending = ProcState.perThread(pid, "SigPnd");
            assertTrue(pending.containsValue("0000000000000200"), pending.toString());
            Jcriu.dumpAndRestore(w, Files.createDirectories(tmp.resolve("imgs")));
            assertEquals(before, threadState(pid));
            assertEquals(pending, ProcState.perThread(pid, "SigPnd"));
            assertEquals('S', ProcState.state(pid));
        }
    }

    /**
     * A JVM (default flags) with a thread pool printing progress. Its /tmp/hsperfdata_USER/PID
     * is a shared file mapping: it must still exist at restore (jcriu's own JVM runs without
     * perf data, so it does not delete it as a stale file of a dead process).
     */
    @Test
    void jvmThreadPoolKeepsTicking() throws Exception {
        Path java = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(java), "no JDK 25 at " + java);
        Path dir = tmp.resolve("w");
        try (Workload w = Workload.start(dir, List.of(java.toString(), Workloads.script("ThreadPool.java").toString(), dir.toString()),
                false)) {
            int pid = w.pid();
            Map<Integer, String> before = threadState(pid);
            PerfDataGuard perfData = PerfDataGuard.of(pid, tmp);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            long dumpMs = Jcriu.okMillis("dump", "-t", pid, "-D", d);
            w.waitGone(Duration.ofSeconds(10));
            long lines = Files.readAllLines(dir.resolve("out")).size();
            long restoreMs;
            try (AutoCloseable kept = perfData.keptDuring()) {
                restoreMs = Jcriu.okMillis("restore", "-d", "-D", d);
            }
            System.out.printf("ThreadsIT: JVM with %d threads: jcriu dump %d ms, jcriu restore %d ms%n", before.size(), dumpMs, restoreMs);
            assertEquals(before, threadState(pid));
            Thread.sleep(500);
            assertTrue(Files.readAllLines(dir.resolve("out")).size() > lines + 20, "the pool printed nothing after restore");
            w.assertPasses();
        }
    }

    /** A restore that fails once every thread exists (post-restore script) kills and reaps them all. */
    @Test
    void failedRestoreLeavesNoThreadBehind() throws Exception {
        try (Workload w = Workload.c("threads", tmp.resolve("w"))) {
            int pid = w.pid();
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.ok("dump", "-t", pid, "-D", d);
            w.waitGone(Duration.ofSeconds(10));
            Jcriu.Result r = Jcriu.run("restore", "-d", "-D", d, "--action-script", failingAt("post-restore"));
            assertNotEquals(0, r.exit(), r.all());
            assertTrue(!Files.exists(Path.of("/proc/" + pid)), "task " + pid + " left behind: " + ProcState.describe(pid));
            assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
            // and the images still restore
            Jcriu.ok("restore", "-d", "-D", d);
            w.assertPasses();
        }
    }

    /** --leave-stopped: every thread stopped (group stop), none traced; SIGCONT lets them all carry on. */
    @Test
    void leaveStoppedStopsEveryThreadUntraced() throws Exception {
        try (Workload w = Workload.c("threads", tmp.resolve("w"))) {
            int pid = w.pid();
            Jcriu.ok("dump", "-t", pid, "-D", Files.createDirectories(tmp.resolve("imgs")), "-s");
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!states(pid).matches("T+") && System.nanoTime() < deadline) Thread.sleep(10);
            assertTrue(states(pid).matches("T+"), states(pid));
            for (String v : threadState(pid).values()) assertTrue(v.contains("TracerPid: 0;"), v);
            ProcState.signal(pid, "CONT");
            w.assertPasses();
        }
    }

    /**
     * seccomp filters come back per thread: only in a second thread ("thread"), or inherited by
     * every thread from the main one ("all", one shared filter in seccomp.img); the workload
     * checks each thread's getppid() is still (or still not) filtered.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"thread", "all"})
    void seccompFiltersComeBackPerThread(String mode) throws Exception {
        try (Workload w = Workload.c("seccomp", tmp.resolve("w"), mode)) {
            int pid = w.pid();
            Map<Integer, String> before = ProcState.perThread(pid, "Seccomp");
            assertTrue(before.containsValue("2"), before.toString());
            Jcriu.dumpAndRestore(w, Files.createDirectories(tmp.resolve("imgs")));
            assertEquals(before, ProcState.perThread(pid, "Seccomp"));
            w.assertPasses();
        }
    }
}
