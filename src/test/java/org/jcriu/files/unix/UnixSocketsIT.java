package org.jcriu.files.unix;

import static org.jcriu.testing.Logs.tail;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Sys;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unix sockets, pipes and FIFOs through bin/jcriu dump + restore: the workloads (unixsk.c,
 * pipes.c) verify their own state after restore; what jcriu must refuse is refused with a
 * message that says why, and the task runs on untouched.
 */
class UnixSocketsIT {
    @TempDir Path tmp;

    @Test
    void unixSocketsOfEveryShapeSurvive() throws Exception {
        try (Workload w = Workload.c("unixsk", tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            if (Crit.present()) {
                String files = Crit.decode(d.resolve("files.img"));
                assertTrue(files.contains("\"UNIXSK\""), files);
                assertTrue(files.contains("listen.sock"), files);
                String q = Crit.decode(d.resolve("sk-queues.img"));
                // 1+1 stream pair, 3 dgram, 2 abstract dgram, 2 seqpacket, 1 "bye", 1 dgram server,
                // 1+1 accepted, 1 unlinked, and the bulk stream queue in one or more chunks
                int records = q.split("\"id_for\"").length - 1;
                assertTrue(records >= 15, records + " records: " + q);
            }
            Jcriu.restored(w, d);
            assertTrue(Files.exists(w.dir().resolve("listen.sock")), "listen.sock not re-created");
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** The dump only peeks: a task left running still has every queued byte, and its peek offset. */
    @Test
    void leaveRunningDumpLeavesQueuesInPlace() throws Exception {
        for (String kind : List.of("unixsk", "pipes")) {
            try (Workload w = Workload.c(kind, tmp.resolve("w-" + kind))) {
                Path d = Files.createDirectories(tmp.resolve("imgs-" + kind));
                Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R", "-v4", "-o", "dump.log");
                assertEquals(0, r.exit(), r.all() + tail(d.resolve("dump.log")));
                assertTrue(w.alive());
                assertEquals("PASS", w.terminateAndVerdict(), kind);
            }
        }
    }

    @Test
    void pipesAndFifosKeepDataCapacityAndFlags() throws Exception {
        try (Workload w = Workload.c("pipes", tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            if (Crit.present()) {
                String pd = Crit.decode(d.resolve("pipes-data.img"));
                assertTrue(pd.contains("\"bytes\": 65536") && pd.contains("\"size\": 1048576"), pd);
                String fd = Crit.decode(d.resolve("fifo-data.img"));
                assertTrue(fd.contains("\"bytes\": 9"), fd);
                assertTrue(Crit.decode(d.resolve("files.img")).contains("\"FIFO\""));
            }
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** A python3 workload: {@code code} runs with DIR as sys.argv[1], then it writes ready and sleeps. */
    private Workload python(String code, String... args) {
        return Workload.python(tmp.resolve("w"), "import socket\n" + code, null, args);
    }

    private void refused(Workload w, String... expect) throws IOException {
        Jcriu.Result r = Jcriu.dumpRefused(w, tmp.resolve("imgs"), "-v4", "-o", "dump.log");
        for (String e : expect) assertTrue(r.stderr().contains(e), "stderr lacks '" + e + "': " + r.stderr());
    }

    /** Sockets this test opened itself, closed after it (after its workloads are killed). */
    private final List<Integer> fds = new java.util.ArrayList<>();

    @AfterEach
    void closeFds() {
        for (int fd : fds) Sys.close(fd);
    }

    private int keep(int fd) {
        fds.add(fd);
        return fd;
    }

    /** A stream socket listening at {@code sock}, as a server outside the dumped process. */
    private int listener(Path sock) {
        int l = keep(Sockets.socket(Sockets.SOCK_STREAM));
        Sockets.bind(l, sock.toString());
        Sockets.listen(l, 4);
        return l;
    }

    @Test
    void streamConnectedOutsideTheProcessIsRefused() throws Exception {
        Path sock = tmp.resolve("outside.sock");
        int l = listener(sock);
        try (Workload w = python("s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[2])", sock.toString())) {
            keep(Sockets.accept(l));
            refused(w, "outside the process", "--ext-unix-sk");
            // CRIU's rule: half of a stream connection cannot be external even when allowed
            Jcriu.Result r = Jcriu.dumpRefused(w, tmp.resolve("imgs2"), "--ext-unix-sk");
            assertTrue(r.stderr().contains("half of a stream connection"), r.stderr());
        }
    }

    /**
     * criu(8) --external unix[INO]: the task's half of a stream connection to the outside is
     * dumped when named by its own inode; restore needs --inherit-fd fd[N]:socket:[INO] and the
     * task then talks through the socket given there.
     */
    @Test
    void streamHalfNamedWithExternalUnixComesBackThroughInheritFd() throws Exception {
        Path sock = tmp.resolve("outside.sock");
        int l = listener(sock);
        String code = "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[2])\nimport signal\n"
                + "def term(*a):\n    s.settimeout(5); d = s.recv(100)\n"
                + "    open(sys.argv[1] + '/verdict', 'w').write('PASS' if d == b'after' else 'FAIL got %r' % d); sys.exit(0)\n"
                + "signal.signal(signal.SIGTERM, term)";
        try (Workload w = python(code, sock.toString())) {
            keep(Sockets.accept(l));
            String ino = null;
            try (var ds = Files.newDirectoryStream(Path.of("/proc/" + w.pid() + "/fd"))) {
                for (Path f : ds) {
                    String link = Files.readSymbolicLink(f).toString();
                    if (link.startsWith("socket:[")) ino = link.substring(8, link.length() - 1);
                }
            }
            assertNotNull(ino, "the workload holds no socket");
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"), "--external", "unix[" + ino + "]");
            Jcriu.Result no = Jcriu.run("restore", "-D", d, "-d");
            assertEquals(1, no.exit(), no.all());
            assertTrue(no.stderr().contains("--inherit-fd fd[N]:socket:[" + ino + "]"), no.stderr());
            // jcriu started with a new connection to the listener as its fd 5
            List<String> cmd = new java.util.ArrayList<>(List.of("python3", "-I", "-S", "-c",
                    "import os, socket, subprocess, sys\ns = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
                            + "os.dup2(s.fileno(), 5)\nsys.exit(subprocess.call(sys.argv[2:], pass_fds=[5]))", sock.toString()));
            cmd.addAll(Jcriu.launcher());
            cmd.addAll(List.of("restore", "-D", d.toString(), "-d", "-v4", "-o", "restore.log", "--inherit-fd", "fd[5]:socket:[" + ino + "]"));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out + tail(d.resolve("restore.log")));
            Sockets.sendTo(keep(Sockets.accept(l)), "after".getBytes(), null, 0);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void scmRightsInFlightIsRefused() throws Exception {
        try (Workload w = python("a, b = socket.socketpair()\nsocket.send_fds(a, [b'fd'], [0])")) {
            refused(w, "SCM_RIGHTS");
        }
    }

    @Test
    void dgramToAnOutsideNameWithExtUnixSk() throws Exception {
        Path sock = tmp.resolve("log.sock");
        int srv = keep(Sockets.socket(Sockets.SOCK_DGRAM));
        Sockets.bind(srv, sock.toString());
        String code = "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(sys.argv[2])\n"
                + "import signal\nsignal.signal(signal.SIGTERM, lambda *a: (s.send(b'after-restore'), open(sys.argv[1] + '/verdict', 'w').write('PASS'), sys.exit(0)))";
        try (Workload w = python(code, sock.toString())) {
            refused(w, "outside the process");
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"), "--ext-unix-sk");
            Jcriu.Result no = Jcriu.run("restore", "-D", d, "-d");
            assertEquals(1, no.exit(), no.all());
            assertTrue(no.stderr().contains("--ext-unix-sk"), no.stderr());
            assertFalse(w.alive(), "a failed restore left the task behind");
            Jcriu.restored(w, d, "--ext-unix-sk");
            assertEquals("PASS", w.terminateAndVerdict());
            assertArrayEquals("after-restore".getBytes(), Sockets.recv(srv, 100));
        }
    }
}
