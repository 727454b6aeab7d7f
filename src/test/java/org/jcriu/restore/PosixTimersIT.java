package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * POSIX timers round trip with their ids (a gap included), clocks, intervals, time left, sigev
 * values and notification (process, one thread, none), in a single- and a multi-threaded task.
 */
class PosixTimersIT {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"single", "multi"})
    void timersKeepTheirIdsAndTick(String mode) throws Exception {
        try (Workload w = Workload.c("timers", tmp.resolve("w"), mode)) {
            int pid = w.pid();
            String before = Files.readString(Path.of("/proc/" + pid + "/timers"));
            Jcriu.dumpAndRestore(w, Files.createDirectories(tmp.resolve("imgs")));
            assertEquals(sorted(before), sorted(Files.readString(Path.of("/proc/" + pid + "/timers"))));
            Thread.sleep(200);
            w.assertPasses();
        }
    }

    /** /proc/PID/timers blocks, in id order (the kernel lists them in hash order). */
    private static java.util.List<String> sorted(String timers) {
        java.util.List<String> blocks = new java.util.ArrayList<>(java.util.List.of(timers.split("(?=ID: )")));
        java.util.Collections.sort(blocks);
        return blocks;
    }
}
