package org.jcriu.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.image.proto.CriuFeatures;
import org.jcriu.image.proto.CriuOpts;

/** The client against bin/jcriu (built by the main project first), as a runtime would use it. */
class CriuIT {
    @TempDir
    Path tmp;
    int sleepPid = -1;

    static Path jcriu() {
        Path p = Path.of(System.getProperty("jcriu.bin", "../bin/jcriu")).toAbsolutePath().normalize();
        assumeTrue(Files.isExecutable(p) && Files.exists(p.getParent().getParent().resolve("target/jcriu.jar")),
                "jcriu is not built (run mvn package in the main project first)");
        return p;
    }

    @AfterEach
    void kill() {
        if (sleepPid > 0 && Files.exists(Path.of("/proc/" + sleepPid))) Posix.kill(sleepPid, 9);
    }

    @Test
    void versionIs40200() {
        assertEquals(40200, Criu.swrk(jcriu()).version());
    }

    @Test
    void featureCheckAnswersAllThree() {
        CriuFeatures f = Criu.swrk(jcriu()).featureCheck(CriuFeatures.newBuilder().setMemTrack(true).setLazyPages(true).build());
        assertTrue(f.hasMemTrack() && f.hasLazyPages() && f.hasPidfdStore());
    }

    @Test
    void failureCarriesCriusMessage() {
        CriuRpcException e = assertThrows(CriuRpcException.class, () -> Criu.swrk(jcriu())
                .restore(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(tmp.toString()).build(), null));
        assertTrue(e.getMessage().contains("inventory.img"), e.getMessage());
    }

    @Test
    void missingBinaryIsAClearError() {
        CriuRpcException e = assertThrows(CriuRpcException.class, () -> Criu.swrk(tmp.resolve("nope")).version());
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }

    @Test
    void dumpAndRestoreASleepWithNotifications() throws Exception {
        assumeTrue(Files.readString(Path.of("/proc/self/status")).contains("\nUid:\t0\t"), "needs root");
        Path ready = tmp.resolve("ready");
        int sh = Posix.spawnWithFd3(List.of("setsid", "-f", "/bin/sh", "-c", "echo $$ > " + ready + "; exec sleep 1000"), 0);
        Posix.waitpid(sh);
        for (int i = 0; i < 500 && (!Files.exists(ready) || Files.readString(ready).isBlank()); i++) Thread.sleep(10);
        sleepPid = Integer.parseInt(Files.readString(ready).strip());
        Path img = Files.createDirectory(tmp.resolve("img"));
        List<String> seen = new ArrayList<>();
        Notify n = new Notify() {
            @Override
            public void on(String script, int pid) {
                seen.add(script);
            }
        };
        Criu c = Criu.swrk(jcriu());
        c.dump(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(img.toString()).setPid(sleepPid).setLogLevel(4)
                .setLogFile("dump.log").build(), n);
        assertEquals(List.of("pre-dump", "query-ext-files", "post-dump"), seen);
        for (int i = 0; i < 300 && Files.exists(Path.of("/proc/" + sleepPid)); i++) Thread.sleep(10);
        assertFalse(Files.exists(Path.of("/proc/" + sleepPid)) && Files.readString(Path.of("/proc/" + sleepPid + "/status")).contains("State:\tS"));
        seen.clear();
        int pid = c.restore(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(img.toString()).setLogLevel(4)
                .setLogFile("restore.log").build(), n);
        assertEquals(sleepPid, pid);
        assertTrue(seen.contains("post-restore") && seen.getLast().equals("post-resume"), seen.toString());
        assertTrue(Files.readString(Path.of("/proc/" + pid + "/cmdline")).startsWith("sleep"));
    }

    /**
     * A console, as runc restores with --console-socket: a shell whose terminal is a pty whose
     * master only its launcher held is dumped with orphan_pts_master; the restore hands the new
     * master to {@link Notify#orphanPtsMaster}, and the shell answers through it.
     */
    @Test
    void orphanPtsMasterGivesTheConsoleToTheCallback() throws Throwable {
        assumeTrue(Files.readString(Path.of("/proc/self/status")).contains("\nUid:\t0\t"), "needs root");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "no python3");
        Path ready = tmp.resolve("ready");
        String py = String.join("\n",
                "import fcntl, os, struct, sys, termios",
                "m, s = os.openpty()",
                "fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack('HHHH', 21, 55, 0, 0))",
                "c = os.fork()",
                "if c == 0:",
                "    os.setsid()",
                "    fcntl.ioctl(s, termios.TIOCSCTTY, 0)",
                "    for i in range(3): os.dup2(s, i)",
                "    os.execv('/bin/sh', ['sh', '-c', 'while read l; do case $l in size) stty size;; *) echo got:$l;; esac; done'])",
                "os.close(s)",
                "os.write(m, b'ping\\n')",
                "buf = b''",
                "while b'got:ping' not in buf: buf += os.read(m, 100)",
                "open(sys.argv[1] + '.tmp', 'w').write(str(c))",
                "os.rename(sys.argv[1] + '.tmp', sys.argv[1])",
                "os.waitpid(c, 0)");
        Process launcher = new ProcessBuilder("/usr/bin/python3", "-c", py, ready.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("py.out").toFile()).start();
        int master = -1;
        try {
            for (int i = 0; i < 1000 && !Files.exists(ready); i++) Thread.sleep(10);
            assertTrue(Files.exists(ready), "the console did not start: " + Files.readString(tmp.resolve("py.out")));
            sleepPid = Integer.parseInt(Files.readString(ready).strip());
            Path img = Files.createDirectory(tmp.resolve("img"));
            Criu c = Criu.swrk(jcriu());
            c.dump(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(img.toString()).setPid(sleepPid).setOrphanPtsMaster(true)
                    .setLogLevel(4).setLogFile("dump.log").build(), null);
            // the launcher reaps the dumped shell and exits: its master, the old pty, is gone
            assertTrue(launcher.waitFor(20, java.util.concurrent.TimeUnit.SECONDS), "the launcher did not end");
            int[] got = {-1};
            int pid = c.restore(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(img.toString()).setOrphanPtsMaster(true)
                    .setLogLevel(4).setLogFile("restore.log").build(), new Notify() {
                        @Override
                        public void orphanPtsMaster(int fd) {
                            got[0] = fd;
                        }
                    });
            master = got[0];
            assertEquals(sleepPid, pid);
            assertTrue(master >= 0, "no fd with orphan-pts-master");
            Tty.write(master, "hello\n");
            assertTrue(Tty.readUntil(master, "got:hello").contains("got:hello"));
            Tty.write(master, "size\n");
            assertTrue(Tty.readUntil(master, "21 55").contains("21 55"), "the dumped window size");
        } finally {
            if (master >= 0) Posix.close(master);
            launcher.destroyForcibly();
        }
    }

    /** read/write/poll on a pty master fd (Java has no stream over a raw descriptor). */
    private static final class Tty {
        private static final java.lang.foreign.Linker L = java.lang.foreign.Linker.nativeLinker();
        private static final java.lang.invoke.MethodHandle WRITE = libc("write");
        private static final java.lang.invoke.MethodHandle READ = libc("read");
        private static final java.lang.invoke.MethodHandle POLL = L.downcallHandle(L.defaultLookup().find("poll").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT, java.lang.foreign.ValueLayout.ADDRESS,
                        java.lang.foreign.ValueLayout.JAVA_LONG, java.lang.foreign.ValueLayout.JAVA_INT));

        private static java.lang.invoke.MethodHandle libc(String name) {
            return L.downcallHandle(L.defaultLookup().find(name).orElseThrow(), java.lang.foreign.FunctionDescriptor.of(
                    java.lang.foreign.ValueLayout.JAVA_LONG, java.lang.foreign.ValueLayout.JAVA_INT,
                    java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.JAVA_LONG));
        }

        static void write(int fd, String s) throws Throwable {
            try (var a = java.lang.foreign.Arena.ofConfined()) {
                byte[] b = s.getBytes();
                var seg = a.allocate(b.length);
                seg.copyFrom(java.lang.foreign.MemorySegment.ofArray(b));
                assertEquals((long) b.length, (long) WRITE.invokeExact(fd, seg, (long) b.length));
            }
        }

        static String readUntil(int fd, String want) throws Throwable {
            StringBuilder out = new StringBuilder();
            long end = System.nanoTime() + 20_000_000_000L;
            try (var a = java.lang.foreign.Arena.ofConfined()) {
                var pfd = a.allocate(8);
                var buf = a.allocate(4096);
                while (!out.toString().contains(want) && System.nanoTime() < end) {
                    pfd.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, fd);
                    pfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 4, (short) 1);
                    pfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 6, (short) 0);
                    if ((int) POLL.invokeExact(pfd, 1L, 200) <= 0) continue;
                    long n = (long) READ.invokeExact(fd, buf, 4096L);
                    if (n <= 0) break;
                    out.append(new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)));
                }
            }
            return out.toString();
        }
    }
}
