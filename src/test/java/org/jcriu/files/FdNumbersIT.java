package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fd numbers up to the task's RLIMIT_NOFILE: a file at the highest number the hard limit allows
 * and a pipe (with bytes in it) just below. The restore parks pipe ends above the image's fds
 * while it places them; here there is no number above, so they wait in a free one below.
 */
class FdNumbersIT {
    @TempDir Path tmp;

    @Test
    void fdsAtTheTopOfTheLimitComeBack() throws Exception {
        Path dir = tmp.resolve("w");
        String prog = String.join("\n",
                "import os, resource, signal, sys, time",
                "d = sys.argv[1]",
                "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)",
                "resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))",
                "top = hard - 1",
                "fd = os.open(d + '/data', os.O_RDWR | os.O_CREAT)",
                "os.write(fd, b'hello')",
                "os.dup2(fd, top); os.close(fd)",
                "r, w = os.pipe()",
                "os.dup2(w, top - 1); os.close(w)",
                "os.write(top - 1, b'queued')",
                "stop = []",
                "signal.signal(signal.SIGTERM, lambda *a: stop.append(1))",
                "open(d + '/.r', 'w').write(str(os.getpid())); os.rename(d + '/.r', d + '/ready')",
                "while not stop: time.sleep(0.05)",
                "bad = []",
                "if os.lseek(top, 0, os.SEEK_CUR) != 5: bad.append('offset of fd %d' % top)",
                "if os.read(r, 6) != b'queued': bad.append('pipe at fd %d lost its bytes' % (top - 1))",
                "if resource.getrlimit(resource.RLIMIT_NOFILE) != (hard, hard): bad.append('RLIMIT_NOFILE')",
                "open(d + '/verdict', 'w').write('FAIL ' + ', '.join(bad) if bad else 'PASS')");
        try (Workload w = Workload.start(dir, List.of("python3", "-I", "-S", "-c", prog, dir.toString()), false)) {
            int hard = Integer.parseInt(Files.readAllLines(Path.of("/proc/" + w.pid() + "/limits")).stream()
                    .filter(l -> l.startsWith("Max open files")).findFirst().orElseThrow().trim().split("\\s+")[4]);
            assertTrue(Files.exists(Path.of("/proc/" + w.pid() + "/fd/" + (hard - 1))), "fd " + (hard - 1) + " is not open");
            Jcriu.dumpAndRestore(w, tmp.resolve("imgs"));
            assertTrue(Files.exists(Path.of("/proc/" + w.pid() + "/fd/" + (hard - 1))), "fd " + (hard - 1) + " not restored");
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }
}
