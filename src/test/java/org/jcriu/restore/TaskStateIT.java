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
 * Task-wide state that no other workload changes from its default, read back by the task itself
 * after restore: a periodic ITIMER_REAL that must keep firing, personality flags, umask, an
 * RLIMIT_NOFILE of its own, securebits, an ambient capability, no_new_privs, the dumpable flag
 * and the child-subreaper flag.
 */
class TaskStateIT {
    @TempDir
    Path tmp;

    /*
     * A periodic 50 ms itimer is almost always found expired while the task is frozen (the kernel
     * re-arms it only when the task takes its SIGALRM), so it is dumped with 0 left: restoring that
     * as is would disarm it.
     */
    static final String PY = """
            import ctypes, os, resource, signal, sys, time
            d = sys.argv[1]
            libc = ctypes.CDLL(None, use_errno=True)
            alarms = 0
            term = False
            def on_alrm(s, f):
                global alarms
                alarms += 1
            def on_term(s, f):
                global term
                term = True
            def put(name, text):
                open(os.path.join(d, '.' + name), 'w').write(text)
                os.rename(os.path.join(d, '.' + name), os.path.join(d, name))
            def state():
                um = os.umask(0)
                os.umask(um)
                sub = ctypes.c_int(0)
                libc.prctl(37, ctypes.byref(sub), 0, 0, 0)
                return {'personality': hex(libc.personality(0xffffffff)), 'umask': oct(um), 'dumpable': libc.prctl(3, 0, 0, 0, 0),
                        'securebits': libc.prctl(27, 0, 0, 0, 0), 'ambient_net_bind': libc.prctl(47, 1, 10, 0, 0),
                        'no_new_privs': libc.prctl(39, 0, 0, 0, 0), 'subreaper': sub.value,
                        'itimer_interval': signal.getitimer(signal.ITIMER_REAL)[1],
                        'nofile': resource.getrlimit(resource.RLIMIT_NOFILE)}
            signal.signal(signal.SIGALRM, on_alrm)
            signal.signal(signal.SIGTERM, on_term)
            libc.personality(0x0400000 | 0x0020000)
            os.umask(0o027)
            resource.setrlimit(resource.RLIMIT_NOFILE, (777, 4096))
            libc.prctl(36, 1, 0, 0, 0)
            libc.prctl(28, 0x10, 0, 0, 0)
            hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
            data = (ctypes.c_uint32 * 6)()
            libc.capget(hdr, data)
            data[2] |= 1 << 10
            libc.capset(hdr, data)
            libc.prctl(47, 2, 10, 0, 0)
            libc.prctl(38, 1, 0, 0, 0)
            libc.prctl(4, 0, 0, 0, 0)
            signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
            before = state()
            put('before', repr(before) + '\\n')
            put('ready', str(os.getpid()))
            while not term:
                time.sleep(0.01)
            a0 = alarms
            t = time.monotonic()
            while time.monotonic() - t < 0.5:
                time.sleep(0.01)
            after = state()
            bad = [k for k in before if before[k] != after[k]]
            fired = alarms - a0
            ok = not bad and fired >= 3
            put('verdict', ('PASS' if ok else 'FAIL') + ' alarms in 0.5 s: %d, changed: %s\\n' % (fired, {k: (before[k], after[k]) for k in bad}))
            """;

    @Test
    void taskWideStateAndAPeriodicItimerComeBack() throws Exception {
        Path wd = tmp.resolve("w");
        Files.createDirectories(wd);
        Path script = Files.writeString(tmp.resolve("state.py"), PY);
        try (Workload w = Workload.start(wd, List.of("python3", "-I", "-S", script.toString(), wd.toString()), false)) {
            String before = Files.readString(wd.resolve("before"));
            // what the task set really took (ambient needs the inheritable bit the capset gave)
            assertTrue(before.contains("'ambient_net_bind': 1") && before.contains("'no_new_privs': 1")
                    && before.contains("'dumpable': 0") && before.contains("'subreaper': 1") && before.contains("'securebits': 16"), before);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, r.exit(), r.all());
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }
}
