package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;

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
 * A device opened through a node that a later mount hid behind another node of the same device
 * (as a container's /dev replaced by a fresh one): refused by default, naming the path and the
 * device, the task running on; accepted with --evasive-devices, and the restored fd is the
 * device again.
 */
class EvasiveDevicesIT {
    @TempDir Path tmp;

    @Test
    void replacedDeviceNodeNeedsEvasiveDevices() throws Exception {
        Path wd = tmp.resolve("w");
        Path dev = Files.createDirectories(tmp.resolve("dev"));
        Path node = dev.resolve("mynull");
        assertEquals(0, run("mknod", node.toString(), "c", "1", "3"));
        String py = "import os, signal\n"
                + "fd = os.open(" + q(node) + ", os.O_WRONLY)\n"
                + "term = []\nsignal.signal(signal.SIGTERM, lambda *a: term.append(1))\n"
                + "open(" + q(wd.resolve(".r")) + ", 'w').write(str(os.getpid()))\n"
                + "os.rename(" + q(wd.resolve(".r")) + ", " + q(wd.resolve("ready")) + ")\n"
                + "while not term: signal.pause()\n"
                + "st = os.fstat(fd)\n"
                + "ok = os.write(fd, b'xyz') == 3 and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3\n"
                + "open(" + q(wd.resolve("verdict")) + ", 'w').write('PASS' if ok else 'FAIL %r' % (st,))\n";
        try (Workload w = Workload.start(wd, List.of("python3", "-c", py), false)) {
            // a fresh tmpfs over the directory, with another node of the same device in it
            assertEquals(0, run("mount", "-t", "tmpfs", "jcriu-test-dev", dev.toString()));
            mounted = dev;
            assertEquals(0, run("mknod", node.toString(), "c", "1", "3"));
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains(node.toString()) && r.stderr().contains("1:3") && r.stderr().contains("--evasive-devices"), r.stderr());
            assertTrue(w.alive());
            assertEquals(0, ProcState.tracerPid(w.pid()));

            r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "--evasive-devices");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            r = Jcriu.run("restore", "-d", "-D", d, "--evasive-devices");
            assertEquals(0, r.exit(), r.all());
            assertEquals("PASS", w.terminateAndVerdict());
        } finally {
            if (mounted != null) run("umount", "-l", mounted.toString());
        }
    }

    private Path mounted;

    private static String q(Path p) {
        return "'" + p.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private static int run(String... cmd) throws Exception {
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
    }
}
