package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jcriu dump then jcriu restore of real workloads, checked from the restore side: the same PID,
 * /proc/PID/maps line for line (device and inode apart), an interrupted sleep that finishes on
 * its own schedule, and a PID that is still taken.
 */
class DumpRestoreIT {
    @TempDir
    Path tmp;

    /** Shell-started workloads write ready before they exec their program: wait for it. */
    private static void awaitExec(Workload w, String name) {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!name.equals(Procs.status(w.pid(), "Name")) && System.nanoTime() < end) Procs.sleep(10);
        assertEquals(name, Procs.status(w.pid(), "Name"));
    }

    private void mapsSurvive(Workload w) throws IOException {
        List<String> before = Maps.of(w.pid());
        List<String> flagsBefore = Maps.vmFlags(w.pid());
        String cpus = Procs.status(w.pid(), "Cpus_allowed_list");
        Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
        Jcriu.ok("restore", "-d", "-D", d);
        assertEquals(before, Maps.of(w.pid()));
        assertEquals(flagsBefore, Maps.vmFlags(w.pid()), "smaps VmFlags");
        assertEquals(0, ProcState.tracerPid(w.pid()));
        assertEquals(cpus, Procs.status(w.pid(), "Cpus_allowed_list"), "the restorer's CPU pinning stuck to the task");
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
        w.assertPasses();
    }

    @Test
    void counterMapsLineForLine() throws IOException {
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            mapsSurvive(w);
        }
    }

    /** Dumped between two instructions of a loop that keeps its values in SSE registers. */
    @Test
    void fpuRegistersSurvive() throws IOException {
        try (Workload w = Workload.c("fpu", tmp.resolve("w"))) {
            mapsSurvive(w);
        }
    }

    /** PROT_NONE and read-only anonymous data, written private and shared file mappings, MAP_GROWSDOWN. */
    @Test
    void memoryKindsMapsLineForLine() throws IOException {
        try (Workload w = Workload.c("memkinds", tmp.resolve("w"))) {
            mapsSurvive(w);
        }
    }

    @Test
    void pythonMapsLineForLine() throws IOException {
        try (Workload w = Workload.python(tmp.resolve("w"))) {
            mapsSurvive(w);
        }
    }

    @Test
    void sleepMapsLineForLine() throws IOException {
        try (Workload w = Workload.sleep(tmp.resolve("w"))) {
            awaitExec(w, "sleep");
            List<String> before = Maps.of(w.pid());
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            assertEquals(0, Jcriu.run("restore", "-d", "-D", d).exit());
            assertEquals(before, Maps.of(w.pid()));
            assertEquals('S', ProcState.state(w.pid()));
        }
    }

    /**
     * {@code sleep 6} dumped at its second 2 and restored 2 s later finishes 4 s after the restore,
     * at second 6 of its own running time: the interrupted nanosleep resumes with the time that
     * was left, not from the start, and not never.
     */
    @Test
    void interruptedSleepFinishesOnItsOwnSchedule() throws Exception {
        Path dir = tmp.resolve("w");
        try (Workload w = Workload.start(dir, List.of("/bin/sh", "-c", "echo $$ > \"$0/ready\"; exec sleep 6", dir.toString()), false)) {
            long started = System.nanoTime();
            Thread.sleep(2000);
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            long dumpedAt = System.nanoTime();
            Thread.sleep(2000);
            Jcriu.Result r = Jcriu.run("restore", "-d", "-D", d);
            long restoredAt = System.nanoTime();
            assertEquals(0, r.exit(), r.all());
            while (w.alive() && ProcState.state(w.pid()) != 'Z' && System.nanoTime() - restoredAt < 10_000_000_000L) Thread.sleep(20);
            double ranAfterRestore = (System.nanoTime() - restoredAt) / 1e9;
            // frozen somewhere between second 2 and the end of the dump command (JVM start included)
            double frozenEarliest = 2.0, frozenLatest = (dumpedAt - started) / 1e9;
            assertTrue(!w.alive() || ProcState.state(w.pid()) == 'Z', "sleep 6 still running 10 s after restore");
            assertTrue(ranAfterRestore > 6 - frozenLatest - 0.3 && ranAfterRestore < 6 - frozenEarliest + 0.5,
                    String.format("frozen between second %.2f and %.2f, then ran %.2f s after the restore: not 6 s in all",
                            frozenEarliest, frozenLatest, ranAfterRestore));
        }
    }

    /** Another user, supplementary groups, an emptied capability set and a trimmed bounding set. */
    @Test
    void credentialsComeBack() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv(1) not installed");
        Path dir = tmp.resolve("w");
        Files.createDirectories(dir);
        try (Workload w = Workload.start(dir, List.of("/bin/sh", "-c", "echo $$ > \"$0/ready\"; exec /usr/bin/setpriv --reuid=65534 "
                + "--regid=65534 --groups=100,101 --inh-caps=-all --bounding-set=-all,+net_bind_service sleep 1000", dir.toString()),
                false)) {
            awaitExec(w, "sleep");
            String[] keys = {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"};
            java.util.Map<String, String> before = new java.util.TreeMap<>();
            for (String k : keys) before.put(k, Procs.status(w.pid(), k));
            assertEquals("65534\t65534\t65534\t65534", before.get("Uid"));
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, r.exit(), r.all());
            java.util.Map<String, String> after = new java.util.TreeMap<>();
            for (String k : keys) after.put(k, Procs.status(w.pid(), k));
            assertEquals(before, after);
            assertEquals('S', ProcState.state(w.pid()));
        }
    }

    @Test
    void pidStillTakenByTheOriginal() throws IOException {
        try (Workload w = Workload.c("counter", tmp.resolve("w"))) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            assertEquals(0, Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R").exit());
            Jcriu.Result r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(1, r.exit(), r.all());
            String err = r.stderr().strip().lines().filter(l -> l.startsWith("Error")).findFirst().orElse(r.stderr());
            assertTrue(err.startsWith("Error: PID " + w.pid() + " is in use by counter"), err);
            assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }
}
