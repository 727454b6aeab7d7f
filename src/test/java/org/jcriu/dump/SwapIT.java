package org.jcriu.dump;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pages that are in swap at dump time go to the image as present ones do (pagemap's swap bit
 * for private memory; for a shared anonymous object, whose swapped pages no page table shows,
 * the object's data ranges), untouched pages do not, and the restored task reads its patterns
 * back. The test makes its own
 * swap file (the machine has none) and removes it.
 */
class SwapIT {
    private static final int MIB = 16;

    @TempDir Path tmp;

    @Test
    void swappedOutPagesAreDumpedAndComeBack() throws Exception {
        Path swap = tmp.resolve("swapfile");
        boolean on = swapOn(swap);
        try (Workload w = Workload.c("swapped", tmp.resolve("w"), Integer.toString(MIB))) {
            long swapped = swapKb(w.pid());
            assertTrue(swapped >= MIB * 1024 * 3 / 2, "only " + swapped + " kB of the workload in swap (smaps_rollup)");
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            long pages;
            try (Stream<Path> s = Files.list(d)) {
                pages = s.filter(p -> p.getFileName().toString().startsWith("pages-")).mapToLong(p -> p.toFile().length()).sum();
            }
            // both swapped patterns are in the images, the untouched half is not
            assertTrue(pages >= 2L * MIB << 20 && pages < (2L * MIB << 20) + (4L << 20), "pages images hold " + pages + " bytes");
            w.waitGone(Duration.ofSeconds(10));
            r = Jcriu.run("restore", "-d", "-D", d, "-v4", "-o", "restore.log");
            assertEquals(0, r.exit(), r.all());
            assertEquals(0, ProcState.tracerPid(w.pid()));
            assertEquals("PASS", w.terminateAndVerdict());
        } finally {
            if (on) run("swapoff", swap.toString());
        }
    }

    private static boolean swapOn(Path swap) throws Exception {
        // A file swap needs a filesystem that supports it (not tmpfs): say so rather than fail.
        run("dd", "if=/dev/zero", "of=" + swap, "bs=1M", "count=" + (MIB * 3 + 8), "status=none");
        Files.setPosixFilePermissions(swap, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertEquals(0, run("mkswap", swap.toString()), "mkswap " + swap);
        int rc = run("swapon", swap.toString());
        Assumptions.assumeTrue(rc == 0, "swapon " + swap + " failed (exit " + rc + "): no file swap on this filesystem");
        return true;
    }

    private static long swapKb(int pid) throws Exception {
        for (int i = 0; i < 100; i++) {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                if (l.startsWith("Swap:")) {
                    long kb = Long.parseLong(l.replaceAll("[^0-9]", ""));
                    if (kb >= MIB * 1024 * 3 / 2) return kb;
                    if (i == 99) return kb;
                }
            }
            Thread.sleep(50);
        }
        return 0;
    }

    private static int run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor();
    }
}
