package org.jcriu.files;

import static org.jcriu.testing.Logs.tail;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.TimerfdEntry;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Dump and restore of anonymous-inode files and memfds with bin/jcriu: the anonfds workload
 * checks, after restore, that every file behaves as before (see anonfds.c), and the images are
 * the ones upstream crit decodes. Unsupported kinds must fail the dump and leave the task as it was.
 */
class AnonFilesIT {
    @TempDir Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"eventfd", "epoll", "signalfd", "timerfd", "inotify", "fanotify", "memfd", "pidfd", "all"})
    void survivesDumpAndRestore(String kind) throws Exception {
        try (Workload w = Workload.c("anonfds", tmp.resolve("w"), kind)) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Jcriu.restored(w, d);
            // signalfd: a signal sent now must be readable from the restored signalfd
            if (kind.equals("signalfd") || kind.equals("all")) ProcState.signal(w.pid(), "USR1");
            assertEquals("PASS", w.terminateAndVerdict());
            if (kind.equals("all")) critDecodes(d);
        }
    }

    /** A dump with -R reads these files without disturbing them: the task goes on with every one intact. */
    @Test
    void leaveRunningDumpDisturbsNothing() throws Exception {
        try (Workload w = Workload.c("anonfds", tmp.resolve("w"), "all")) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R");
            assertEquals(0, r.exit(), r.all());
            assertTrue(w.alive());
            assertEquals(0, ProcState.tracerPid(w.pid()));
            ProcState.signal(w.pid(), "USR1");
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** Upstream crit (Debian's criu package) reads every image jcriu wrote for these files. */
    private static void critDecodes(Path d) throws Exception {
        if (!Crit.present()) return;
        List<Path> imgs = new ArrayList<>();
        try (var s = Files.list(d)) {
            s.filter(p -> p.getFileName().toString().matches("(files|memfd|pagemap-shmem-\\d+|fdinfo-\\d+)\\.img")).forEach(imgs::add);
        }
        assertTrue(imgs.size() >= 4, imgs.toString());
        for (Path p : imgs) {
            String out = Crit.decode(p);
            if (p.getFileName().toString().equals("files.img")) {
                for (String t : List.of("EVENTFD", "EVENTPOLL", "SIGNALFD", "TIMERFD", "INOTIFY", "FANOTIFY", "MEMFD")) {
                    assertTrue(out.contains("\"type\": \"" + t + "\""), t + " missing from crit's files.img: " + out);
                }
            }
        }
    }

    /**
     * A periodic timerfd due in at most 8 s at dump fires that long after restore (CRIU keeps the time
     * left, not the deadline), then keeps its 1 s interval. The workload logs each expiry.
     */
    @Test
    void timerfdFiresTheTimeItHadLeftAfterRestore() throws Exception {
        try (Workload w = Workload.c("anonfds", tmp.resolve("w"), "timerfd")) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            TimerfdEntry t = periodicTimer(d);
            long leftMs = t.getVsec() * 1000 + t.getVnsec() / 1_000_000;
            assertTrue(leftMs > 2000 && leftMs <= 8000, "time left at dump " + leftMs + " ms");
            assertEquals(1, t.getIsec());
            Thread.sleep(1500); // while the task is gone, its original deadline comes closer
            long before = System.currentTimeMillis();
            Jcriu.restored(w, d);
            long after = System.currentTimeMillis();
            Path fires = w.dir().resolve("fires");
            long deadline = System.nanoTime() + Duration.ofMillis(leftMs + 5000).toNanos();
            while (lines(fires).size() < 2 && System.nanoTime() < deadline) Thread.sleep(20);
            List<String> l = lines(fires);
            assertTrue(l.size() >= 2, "timer fired " + l.size() + " times after restore");
            long first = Long.parseLong(l.get(0).split(" ")[0]), second = Long.parseLong(l.get(1).split(" ")[0]);
            assertTrue(first >= before + leftMs - 300 && first <= after + leftMs + 700,
                    "first expiry " + (first - after) + " ms after restore, expected about " + leftMs);
            assertTrue(Math.abs(second - first - 1000) < 300, "interval " + (second - first) + " ms, not 1000");
            assertEquals("1", l.get(0).split(" ")[1], "ticks of the first expiry");
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    private static List<String> lines(Path f) throws IOException {
        if (!Files.exists(f)) return List.of();
        return Files.readAllLines(f).stream().filter(s -> !s.isBlank()).toList();
    }

    private static TimerfdEntry periodicTimer(Path d) {
        try (ImageReader r = new ImageDir(d).open(ImageType.FILES)) {
            FileEntry e;
            while ((e = r.read(FileEntry.parser())) != null) {
                if (e.getType() == FdTypes.TIMERFD && e.getTfd().getIsec() == 1) return e.getTfd();
            }
        }
        throw new AssertionError("no periodic timerfd in files.img");
    }

    /**
     * The python3 program: select.epoll over an eventfd, a timerfd (through ctypes; python 3.11
     * has no os.timerfd_create) and a unix socketpair with unread bytes (see epoll.py).
     */
    @Test
    void pythonEpollOverEventfdTimerfdAndUnixSocket() throws Exception {
        Path wd = tmp.resolve("w");
        Path prog = wd.resolve("epoll.py");
        Files.createDirectories(wd);
        try (var in = AnonFilesIT.class.getResourceAsStream("/workloads/epoll.py")) {
            Files.copy(in, prog);
        }
        try (Workload w = Workload.start(wd, List.of("python3", "-I", "-S", prog.toString(), wd.toString()), false)) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Path log = wd.resolve("events");
            long before = timerLines(log);
            Jcriu.restored(w, d);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (timerLines(log) < before + 3 && System.nanoTime() < deadline) Thread.sleep(20);
            assertTrue(timerLines(log) >= before + 3, "timerfd events after restore: " + lines(log));
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    private static long timerLines(Path log) throws IOException {
        return lines(log).stream().filter(s -> s.startsWith("timer")).count();
    }

    @ParameterizedTest
    @ValueSource(strings = {"userfaultfd", "perf_event", "io_uring"})
    void unsupportedFdIsRefusedNamingItAndTheTaskRunsOn(String kind) throws Exception {
        try (Workload w = Workload.c("unsupported", tmp.resolve("w"), kind)) {
            Jcriu.Result r = Jcriu.dumpRefused(w, tmp.resolve("imgs"));
            assertTrue(r.stderr().contains("Can't dump fd 4 (anon_inode:[" + kind + "]) of task " + w.pid()), r.stderr());
            assertTrue(r.stderr().contains("[" + kind + "]) is not supported"), r.stderr());
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** A pidfd of a process outside the dumped tree is refused, as CRIU does, naming that process. */
    @Test
    void pidfdOfAnotherProcessIsRefused() throws Exception {
        try (Workload other = Workload.sleep(tmp.resolve("other"))) {
            try (Workload w = Workload.python(tmp.resolve("w"), "fd = os.pidfd_open(" + other.pid() + ")", null)) {
                Jcriu.Result r = Jcriu.dumpRefused(w, tmp.resolve("imgs"));
                assertTrue(r.stderr().contains("refers to process " + other.pid() + ", which is not part of the dumped tree"), r.stderr());
            }
        }
    }

    /**
     * A memfd mapped shared while its fd stays open: one memfd after restore, its contents
     * intact, a write through the mapping read back through the fd and the other way round, and
     * maps naming it "/memfd:mapped (deleted)" as before.
     */
    @Test
    void mappedMemfdKeepsItsFdAndMappingOneFile() throws Exception {
        String setup = "import mmap, signal\n"
                + "fd = os.memfd_create('mapped')\nos.write(fd, bytes(range(256)) * 32)\nm = mmap.mmap(fd, 8192)\n"
                + "m[100:105] = b'hello'\n"
                + "term = []\nsignal.signal(signal.SIGTERM, lambda *a: term.append(1))";
        String check = "while not term: signal.pause()\n"
                + "want = bytearray(bytes(range(256)) * 32)\nwant[100:105] = b'hello'\n"
                + "ok = m[:] == bytes(want) and os.pread(fd, 5, 100) == b'hello'\n"
                + "m[0:3] = b'map'\nos.pwrite(fd, b'fd', 8000)\n"
                + "ok = ok and os.pread(fd, 3, 0) == b'map' and m[8000:8002] == b'fd' and os.fstat(fd).st_size == 8192\n"
                + "maps = open('/proc/self/maps').read()\nok = ok and '/memfd:mapped (deleted)' in maps\n"
                + "open(sys.argv[1] + '/verdict', 'w').write('PASS' if ok else 'FAIL ' + repr(m[:16]) + maps)\n";
        try (Workload w = Workload.python(tmp.resolve("w"), setup, check)) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * An epoll keeps watching a file after the fd it was added with is closed, while a dup keeps
     * the file open: the watch is restored under the dup's number and still reports the pipe.
     */
    @Test
    void epollWatchingAClosedFdKeepsWatchingItsFile() throws Exception {
        String setup = "import select, signal\n"
                + "r, w = os.pipe()\nkeep = os.dup(r)\nep = select.epoll()\nep.register(r, select.EPOLLIN)\nos.close(r)\n"
                + "term = []\nsignal.signal(signal.SIGTERM, lambda *a: term.append(1))";
        String check = "while not term: signal.pause()\n"
                + "before = ep.poll(0)\nos.write(w, b'x')\nafter = ep.poll(0)\n"
                + "ok = before == [] and after == [(r, select.EPOLLIN)]\n"
                + "open(sys.argv[1] + '/verdict', 'w').write('PASS' if ok else 'FAIL %r %r' % (before, after))\n";
        try (Workload w = Workload.python(tmp.resolve("w"), setup, check)) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** A hugetlbfs memfd would come back as an ordinary one: refused instead, naming it. */
    @Test
    void hugetlbMemfdIsRefused() throws Exception {
        try (Workload w = Workload.python(tmp.resolve("w"), "fd = os.memfd_create('huge', os.MFD_HUGETLB)", null)) {
            Jcriu.Result r = Jcriu.dumpRefused(w, tmp.resolve("imgs"));
            assertTrue(r.stderr().contains("(/memfd:huge (deleted)) of task " + w.pid() + ": memfds on hugetlbfs (MFD_HUGETLB) are not supported"),
                    r.stderr());
        }
    }
}
