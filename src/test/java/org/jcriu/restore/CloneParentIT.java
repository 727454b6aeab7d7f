package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A task that changed its parent with CLONE_PARENT: R forks T, T clones C with CLONE_PARENT, so
 * C is R's child although T made it. The tree is dumped from R and comes back with C again R's
 * child (not T's), each task with its PID, and every one of them still counting.
 */
class CloneParentIT {
    @TempDir
    Path tmp;

    /* A raw clone(CLONE_PARENT | SIGCHLD) without a new stack behaves as fork for the copy. */
    static final String PY = """
            import ctypes, os, sys, time
            d = sys.argv[1]
            libc = ctypes.CDLL(None, use_errno=True)
            def put(name, text):
                open(os.path.join(d, '.' + name), 'w').write(text)
                os.rename(os.path.join(d, '.' + name), os.path.join(d, name))
            def count(name):
                n = 0
                while True:
                    n += 1
                    put(name, str(n))
                    time.sleep(0.02)
            t = os.fork()
            if t == 0:
                c = libc.syscall(56, 0x00008000 | 17, 0, 0, 0, 0)
                if c == 0:
                    count('c.count')
                put('c', str(c))
                count('t.count')
            while not os.path.exists(os.path.join(d, 'c')):
                time.sleep(0.01)
            put('t', str(t))
            put('ready', str(os.getpid()))
            while True:
                time.sleep(1)
            """;

    @Test
    void childMadeWithCloneParentComesBackAsItsGrandparentsChild() throws Exception {
        Path wd = tmp.resolve("w");
        Files.createDirectories(wd);
        Path script = Files.writeString(tmp.resolve("cloneparent.py"), PY);
        try (Workload w = Workload.start(wd, List.of("python3", "-I", "-S", script.toString(), wd.toString()), false)) {
            int r = w.pid();
            int t = Integer.parseInt(Files.readString(wd.resolve("t")).strip());
            int c = Integer.parseInt(Files.readString(wd.resolve("c")).strip());
            w.alsoKill(t);
            w.alsoKill(c);
            assertEquals(r, ppid(t));
            assertEquals(r, ppid(c), "CLONE_PARENT made " + c + " a child of " + r);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result res = Jcriu.run("dump", "-t", r, "-D", d);
            assertEquals(0, res.exit(), res.all());
            w.waitGone(Duration.ofSeconds(10));
            for (int p : new int[] {t, c}) {
                for (int i = 0; i < 2000 && Files.exists(Path.of("/proc/" + p)); i++) Thread.sleep(5);
            }
            res = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, res.exit(), res.all());
            assertEquals(r, ppid(t));
            assertEquals(r, ppid(c));
            long tn = counter(wd, "t.count"), cn = counter(wd, "c.count");
            Thread.sleep(300);
            assertTrue(counter(wd, "t.count") > tn && counter(wd, "c.count") > cn, "T or C stopped counting after restore");
        }
    }

    private static int ppid(int pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
    }

    private static long counter(Path wd, String name) throws Exception {
        return Long.parseLong(Files.readString(wd.resolve(name)).strip());
    }
}
