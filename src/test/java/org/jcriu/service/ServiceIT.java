package org.jcriu.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;

/** {@code jcriu service}: many clients, hostile ones included, and the daemon stays up. */
class ServiceIT {
    @TempDir
    Path tmp;
    Path sock;
    Process daemon;
    int daemonPid;

    @BeforeEach
    void start() throws Exception {
        PyCriu.assumeAvailable();
        sock = tmp.resolve("s.sock");
        daemon = new ProcessBuilder(PyCriu.jcriu().toString(), "service", "--address", sock.toString(), "-v4",
                "--pidfile", tmp.resolve("pid").toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("daemon.log").toFile())
                .redirectInput(Path.of("/dev/null").toFile()).start();
        daemonPid = waitPidfile(tmp.resolve("pid"));
    }

    int waitPidfile(Path p) throws Exception {
        for (int i = 0; i < 400; i++) {
            if (Files.exists(p) && !Files.readString(p).isBlank() && Files.exists(sock, LinkOption.NOFOLLOW_LINKS)) {
                return Integer.parseInt(Files.readString(p).strip());
            }
            Thread.sleep(25);
        }
        throw new AssertionError("service did not start: " + Files.readString(tmp.resolve("daemon.log")));
    }

    @AfterEach
    void stop() throws Exception {
        if (daemon != null) {
            daemon.destroyForcibly();
            daemon.waitFor(10, TimeUnit.SECONDS);
        }
    }

    boolean alive(int pid) {
        return Files.exists(Path.of("/proc/" + pid));
    }

    String version() throws Exception {
        return PyCriu.run(tmp, "sk:" + sock, "version");
    }

    @Test
    void socketIsForEveryoneAndDaemonPidIsInThePidfile() throws Exception {
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock, LinkOption.NOFOLLOW_LINKS)));
        assertEquals(daemon.pid(), daemonPid);
        String r = version();
        assertEquals("40200", PyCriu.field(r, "number"), r);
    }

    @Test
    void versionIsAnsweredByTheDaemonItselfAndKeepOpenContinuesInAWorker() throws Exception {
        // VERSION with keep_open twice (daemon), then FEATURE_CHECK (worker), same connection
        String r = PyCriu.run(tmp, "sk:" + sock, "raw", "080a2001", "080a2001", "0809");
        assertTrue(r.contains("\"major_number\": 4") && r.contains("FEATURE_CHECK"), r);
        assertEquals("true", PyCriu.field(version(), "success"));
    }

    @Test
    void manyClientsAtOnce() throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) fs.add(ex.submit(() -> PyCriu.run(tmp, "sk:" + sock, i2(fs.size()))));
            for (Future<String> f : fs) {
                String r = f.get(120, TimeUnit.SECONDS);
                assertEquals("true", PyCriu.field(r, "success"), r);
            }
        } finally {
            ex.shutdownNow();
        }
        assertTrue(alive(daemonPid));
    }

    private static String i2(int i) {
        return i % 2 == 0 ? "version" : "features";
    }

    @Test
    void hostileClientsGetAnErrorOrAClosedSocketAndTheDaemonStaysUp() throws Exception {
        // garbage, an unknown type, an oversized record, an empty record, NOTIFY out of turn
        String r = PyCriu.run(tmp, "sk:" + sock, "raw", "ffffff0102");
        assertTrue(r.contains("Failed unpacking request") || r.contains("\"eof\": true"), r);
        r = PyCriu.run(tmp, "sk:" + sock, "raw", "0863");
        assertTrue(r.contains("Invalid req"), r);
        r = PyCriu.run(tmp, "sk:" + sock, "raw", "big");
        assertTrue(r.contains("larger than"), r);
        r = PyCriu.run(tmp, "sk:" + sock, "raw", "");
        assertTrue(r.contains("\"eof\": true") || r.contains("error"), r);
        r = PyCriu.run(tmp, "sk:" + sock, "raw", "0806");
        assertTrue(r.contains("Invalid req"), r);
        // keep_open VERSION twice, then a DUMP with keep_open: refused
        r = PyCriu.run(tmp, "sk:" + sock, "raw", "080a2001", "080a2001", "08012001");
        assertTrue(r.contains("keep_open is not allowed for DUMP"), r);
        assertTrue(alive(daemonPid));
        assertEquals("true", PyCriu.field(version(), "success"));
    }

    @Test
    void killedWorkerHurtsNobody() throws Exception {
        // a client that never answers its pre-restore notification: its worker waits; kill it
        Process silent = new ProcessBuilder(PyCriu.PYTHON, "-c",
                "import os,socket,pycriu\ns=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\ns.connect('" + sock + "')\n"
                        + "r=pycriu.rpc.criu_req()\nr.type=pycriu.rpc.RESTORE\nr.opts.images_dir_fd=os.open('" + tmp
                        + "',os.O_DIRECTORY)\nr.opts.notify_scripts=True\ns.send(r.SerializeToString())\n"
                        + "print(s.recv(100), flush=True)\nprint(s.recv(100), flush=True)").redirectErrorStream(true).start();
        try {
            // its first line is the pre-restore notification: a worker serves it now
            var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return silent.inputReader().readLine();
                } catch (java.io.IOException e) {
                    return null;
                }
            });
            assertTrue(first.get(30, TimeUnit.SECONDS) != null, "no notification from a worker");
            // every worker JVM of the daemon, the one serving that client and an idle spare
            List<ProcessHandle> workers = ProcessHandle.of(daemonPid).orElseThrow().children()
                    .filter(c -> c.info().arguments().map(a -> String.join(" ", a).contains("service.Worker")).orElse(false))
                    .toList();
            assertFalse(workers.isEmpty(), "no worker process for the connection");
            for (ProcessHandle w : workers) new ProcessBuilder("kill", "-9", String.valueOf(w.pid())).start().waitFor();
            assertTrue(silent.waitFor(30, TimeUnit.SECONDS), "the client of a killed worker must see its socket close");
            assertTrue(alive(daemonPid));
            assertEquals("true", PyCriu.field(version(), "success"));
        } finally {
            silent.destroyForcibly();
        }
    }

    static final List<String> NOBODY = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");

    void chown(Path p) throws Exception {
        Files.setAttribute(p, "unix:uid", 65534);
        Files.setAttribute(p, "unix:gid", 65534);
    }

    @Test
    void userMayDumpOnlyTheirOwnProcessesAndGetsTheirOwnFiles() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path wdir = Files.createDirectories(tmp.resolve("w"));
        chown(wdir);
        List<String> cmd = new ArrayList<>(NOBODY);
        cmd.addAll(List.of("/bin/sh", "-c", "echo $$ > \"$0/ready\"; exec sleep 1000", wdir.toString()));
        try (Workload w = Workload.start(wdir, cmd, false)) {
            Path img = Files.createDirectories(tmp.resolve("img"));
            chown(img);
            // a symlink planted where the log will go must not be followed by the root daemon
            Path victim = Files.writeString(tmp.resolve("victim"), "root's");
            Files.createSymbolicLink(img.resolve("dump.log"), victim);
            String r = PyCriu.runAs(NOBODY, tmp, "sk:" + sock, "dump", img.toString(), String.valueOf(w.pid()), "leave_running");
            assertEquals("root's", Files.readString(victim), "the daemon wrote through the client's symlink");
            if ("true".equals(PyCriu.field(r, "success"))) {
                try (var files = Files.list(img)) {
                    for (Path f : files.toList()) {
                        assertEquals(65534, Files.getAttribute(f, "unix:uid", LinkOption.NOFOLLOW_LINKS), f.toString());
                    }
                }
                assertTrue(Files.exists(img.resolve("inventory.img")), r);
            } else {
                assertTrue(PyCriu.field(r, "cr_errmsg").contains("not supported"), r);
            }
            assertTrue(Files.isRegularFile(img.resolve("dump.log"), LinkOption.NOFOLLOW_LINKS), "the log replaces the link");

            // someone else's process: refused by name
            Path img2 = Files.createDirectories(tmp.resolve("img2"));
            chown(img2);
            String r2 = PyCriu.runAs(NOBODY, tmp, "sk:" + sock, "dump", img2.toString(), String.valueOf(daemonPid));
            assertEquals("false", PyCriu.field(r2, "success"), r2);
            assertEquals("1", PyCriu.field(r2, "cr_errno"), r2);
            assertTrue(PyCriu.field(r2, "cr_errmsg").contains("does not belong to the RPC client's uid 65534"), r2);

            // a directory that is not theirs: refused
            Path rootDir = Files.createDirectories(tmp.resolve("rootdir"));
            String r3 = PyCriu.runAs(NOBODY, tmp, "sk:" + sock, "dump", rootDir.toString(), String.valueOf(w.pid()));
            assertEquals("false", PyCriu.field(r3, "success"), r3);
            try (var files = Files.list(rootDir)) {
                assertEquals(0, files.count());
            }

            // restore on their behalf: refused
            String r4 = PyCriu.runAs(NOBODY, tmp, "sk:" + sock, "restore", img.toString());
            assertEquals("false", PyCriu.field(r4, "success"), r4);
            assertTrue(PyCriu.field(r4, "cr_errmsg").contains("non-root client"), r4);
            assertTrue(w.alive());
        }
    }

    @Test
    void failedDaemonStartLeavesNoDaemon() throws Exception {
        Path s2 = tmp.resolve("f.sock");
        Path pid = Files.writeString(tmp.resolve("f.pid"), "1");
        Jcriu.Result r = Jcriu.run("service", "-d", "--address", s2, "--pidfile", pid);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("File exists"), r.stderr());
        AssertionError e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> PyCriu.run(tmp, "sk:" + s2, "raw", "080a"));
        assertTrue(e.getMessage().contains("ConnectionRefusedError"), "nobody may answer after a failed start: " + e.getMessage());
    }

    @Test
    void existingFileAtTheAddressIsNotReplaced() throws Exception {
        Path file = tmp.resolve("precious");
        Files.writeString(file, "data");
        Jcriu.Result r = Jcriu.run("service", "--address", file);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("exists and is not a socket"), r.stderr());
        assertEquals("data", Files.readString(file));
    }

    @Test
    void daemonModeDetachesAndServes() throws Exception {
        Path s2 = tmp.resolve("d.sock");
        Path pid = tmp.resolve("d.pid");
        Jcriu.Result r = Jcriu.run("service", "-d", "--address", s2, "--pidfile", pid);
        assertEquals(0, r.exit(), r.all());
        int d = Integer.parseInt(Files.readString(pid).strip());
        try {
            assertTrue(alive(d));
            String v = PyCriu.run(tmp, "sk:" + s2, "version");
            assertEquals("true", PyCriu.field(v, "success"), v);
            // detached: its own session
            String stat = Files.readString(Path.of("/proc/" + d + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            assertEquals(String.valueOf(d), f[3], "the daemon must lead its own session: " + stat);
        } finally {
            new ProcessBuilder("kill", "-9", String.valueOf(d)).start().waitFor();
        }
    }
}
