package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.testing.Images;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The parent-death signal is per thread (pdeath.c: a child whose main thread holds SIGUSR1 and
 * whose second thread holds SIGUSR2): dumped in each thread's thread_core_entry.pdeath_sig, as
 * CRIU, set again in each thread after its credentials, and not sent by the restore itself:
 * after restore each thread reads its own value back, and when the parent exits the child gets
 * each signal exactly once.
 */
class PdeathSigIT {
    @TempDir
    Path tmp;

    @Test
    void eachThreadKeepsItsParentDeathSignal() throws Exception {
        try (Workload w = Workload.c("pdeath", tmp.resolve("w"))) {
            int c = Integer.parseInt(Files.readString(w.dir().resolve("child")).strip());
            w.alsoKill(c);
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            assertEquals(10, Images.one(d, ImageType.CORE, CoreEntry.parser(), c).getThreadCore().getPdeathSig(), "SIGUSR1 in core-" + c + ".img");
            int other;
            try (var ds = Files.list(d)) {
                other = ds.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("core-")).map(n -> n.substring(5, n.length() - 4))
                        .mapToInt(Integer::parseInt).filter(t -> t != c && t != w.pid()).findFirst().orElseThrow();
            }
            assertEquals(12, Images.one(d, ImageType.CORE, CoreEntry.parser(), other).getThreadCore().getPdeathSig(), "SIGUSR2 in core-" + other + ".img");
            assertTrue(!Images.one(d, ImageType.CORE, CoreEntry.parser(), w.pid()).getThreadCore().hasPdeathSig(), "the root has none");
            Jcriu.restored(w, d);
            w.assertPasses();
        }
    }

    /**
     * The root's parent-death signal, restored without -d: jcriu is the root's parent and waits
     * for it, and the thread of jcriu that is the root's parent stays until then (its exit would
     * send the signal, as CRIU's exit does after a restore with -d).
     */
    @Test
    void theRootsSignalIsNotSentWhileJcriuWaitsForIt() throws Exception {
        try (Workload w = Workload.c("pdeath", tmp.resolve("w"), "root")) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            java.util.List<String> cmd = new java.util.ArrayList<>(Jcriu.launcher());
            cmd.addAll(java.util.List.of("restore", "-D", d.toString()));
            Path out = tmp.resolve("restore.out");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(Path.of("/dev/null").toFile()).start();
            try {
                long end = System.nanoTime() + 30_000_000_000L;
                while (!(Procs.exists(w.pid()) && "0".equals(Procs.status(w.pid(), "TracerPid"))
                        && !String.valueOf(Procs.status(w.pid(), "State")).startsWith("t"))) {
                    assertTrue(p.isAlive() && System.nanoTime() < end, "restore ended or hung: " + Files.readString(out));
                    Thread.sleep(10);
                }
                // restored and let go: jcriu is now only waiting; a parent thread of the root
                // that went away would have sent SIGUSR1 by now
                Thread.sleep(1000);
                String v = w.terminateAndVerdict();
                assertTrue(v.startsWith("PASS"), v);
                assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), Files.readString(out));
            } finally {
                p.destroyForcibly();
            }
        }
    }
}
