package org.jcriu.files.tty;

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
import org.jcriu.image.proto.TtyInfoEntry;
import org.jcriu.image.proto.TtyType;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Images;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Terminal;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pty pair held by the task (pty.c): dumped in CRIU's format, rebuilt in the restored task with
 * the same index, termios, window size and modes, bytes going through both ways; as the
 * controlling terminal of a session leader it is the controlling terminal again.
 */
class PtyIT {
    @TempDir Path tmp;

    private Path dump(Workload w, String... extra) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("imgs"));
        List<Object> args = new ArrayList<>(List.of("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log"));
        args.addAll(List.of(extra));
        Jcriu.Result r = Jcriu.run(args.toArray());
        assertEquals(0, r.exit(), r.all());
        return d;
    }

    private static void restore(Workload w, Path d) {
        w.waitGone(Duration.ofSeconds(10));
        Jcriu.restored(w, d);
    }

    private static List<TtyInfoEntry> infos(Path d) {
        List<TtyInfoEntry> l = new ArrayList<>();
        try (ImageReader r = new ImageDir(d).open(ImageType.TTY_INFO)) {
            TtyInfoEntry e;
            while ((e = r.read(TtyInfoEntry.parser())) != null) l.add(e);
        }
        return l;
    }

    private static int ptyIndex(int pid) throws IOException {
        String l = Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/5")).toString();
        assertTrue(l.startsWith("/dev/pts/"), l);
        return Integer.parseInt(l.substring("/dev/pts/".length()));
    }

    @Test
    void ptyPairComesBackWithItsIndexTermiosWindowAndModes() throws Exception {
        try (Workload w = Workload.c("pty", tmp.resolve("w"), "pair")) {
            int index = ptyIndex(w.pid());
            // the slave's device node belongs to whoever opened the master; CRIU keeps its owner
            assertEquals(0, new ProcessBuilder("chown", "1234:1235", "/dev/pts/" + index).start().waitFor());
            Path d = dump(w);
            List<TtyInfoEntry> infos = infos(d);
            assertEquals(2, infos.size(), infos.toString());
            TtyInfoEntry slave = infos.stream().filter(i -> i.getId() == 2 * index).findFirst().orElseThrow();
            TtyInfoEntry master = infos.stream().filter(i -> i.getId() == 2 * index + 1).findFirst().orElseThrow();
            for (TtyInfoEntry i : infos) {
                assertEquals(TtyType.PTY, i.getType());
                assertEquals(index, i.getPty().getIndex());
                assertEquals(33, i.getWinsize().getWsRow());
                assertEquals(111, i.getWinsize().getWsCol());
                assertEquals(19, i.getTermios().getCCcCount());
                assertEquals(0, i.getTermios().getCLflag() & 2, "ICANON must be off (raw mode)");
                assertEquals(0, i.getSid(), "not a controlling terminal");
            }
            assertTrue(master.getPacketMode() && master.getLocked() && !master.getExclusive(), master.toString());
            assertTrue(slave.getExclusive() && !slave.getLocked(), slave.toString());
            assertTrue(slave.hasUid() && slave.hasGid(), slave.toString());
            assertEquals(1234, slave.getUid());
            assertEquals(1235, slave.getGid());
            // CRIU 4.2's files.img: a reg entry of its own id naming the device, which the tty entry's regf_id names
            List<FileEntry> files = files(d);
            int ttys = 0;
            for (FileEntry t : files) {
                if (t.getType() != FdTypes.TTY) continue;
                ttys++;
                assertTrue(t.getTty().hasRegfId() && t.getTty().getRegfId() != t.getId(), t.toString());
                FileEntry reg = files.stream().filter(f -> f.getId() == t.getTty().getRegfId()).findFirst().orElseThrow();
                assertEquals(FdTypes.REG, reg.getType(), reg.toString());
                boolean m = (t.getTty().getTtyInfoId() & 1) != 0;
                assertEquals(m ? "/dev/ptmx" : "/dev/pts/" + index, reg.getReg().getName());
                assertTrue(files.indexOf(reg) < files.indexOf(t), "the reg entry comes first, as CRIU writes it");
            }
            assertEquals(2, ttys, files.toString());
            assertTrue(files.stream().anyMatch(f -> f.getType() == FdTypes.TTY && f.getTty().getTtyInfoId() == 2 * index + 1));
            critDecodes(d);
            restore(w, d);
            assertEquals(index, ptyIndex(w.pid()));
            assertEquals(1234, Files.getAttribute(Path.of("/dev/pts/" + index), "unix:uid"), "owner of the restored slave");
            assertEquals(1235, Files.getAttribute(Path.of("/dev/pts/" + index), "unix:gid"));
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void controllingTerminalOfASessionLeaderComesBack() throws Exception {
        try (Workload w = Workload.c("pty", tmp.resolve("w"), "ctty")) {
            int index = ptyIndex(w.pid());
            long ttyNr = ttyNr(w.pid());
            assertEquals(136 << 8 | index, ttyNr);
            Path d = dump(w);
            for (TtyInfoEntry i : infos(d)) {
                assertEquals(w.pid(), i.getSid(), i.toString());
                assertEquals(w.pid(), i.getPgrp(), i.toString());
            }
            // images of CRIU before 4.2 (the reg entry has the tty's id, no regf_id) restore as well
            oldLayout(d);
            restore(w, d);
            assertEquals(ttyNr, ttyNr(w.pid()));
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * A session with a pty as controlling terminal, its leader L and two members (one in its own
     * group, in the foreground), and a slave held by the root, which comes before the task
     * holding the master in the tree (ptysession.c): every member has the terminal back, /dev/tty
     * opens in each, the foreground group is the member's, bytes go from master to slave.
     */
    @Test
    void sessionMembersGetTheLeadersTerminalAndASlaveMayComeBeforeItsMaster() throws Exception {
        try (Workload w = Workload.c("ptysession", tmp.resolve("w"))) {
            String[] ps = Files.readString(w.dir().resolve("pids")).trim().split(" ");
            int[] pids = new int[ps.length];
            for (int i = 0; i < ps.length; i++) {
                pids[i] = Integer.parseInt(ps[i]);
                w.alsoKill(pids[i]);
            }
            int index = ptyIndex(pids[0]);
            long nr = 136 << 8 | index;
            long[] want = {0, 0, nr, nr, nr}; // R, K, L, M1, M2
            for (int i = 0; i < pids.length; i++) assertEquals(want[i], ttyNr(pids[i]), "tty_nr of task " + pids[i] + " before the dump");
            Path d = dump(w);
            for (int p : pids) {
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (ProcState.alive(p) && System.nanoTime() < deadline) Thread.sleep(5);
            }
            restore(w, d);
            for (int i = 0; i < pids.length; i++) assertEquals(want[i], ttyNr(pids[i]), "tty_nr of task " + pids[i] + " after the restore");
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * A session leader that forked member A before it took its pty as controlling terminal, and
     * member B after: A has no terminal. CRIU's images cannot say so (the restore gives it to
     * every member), so the dump names A in a warning, and only A.
     */
    @Test
    void aMemberWithoutTheTerminalIsNamedAtDump() throws Exception {
        Path ready = tmp.resolve("ready");
        String py = String.join("\n",
                "import fcntl, os, sys, termios, time",
                "os.setsid()",
                "m, s = os.openpty()",
                "a = os.fork()",
                "if a == 0:",
                "    while True: time.sleep(1)",
                "fcntl.ioctl(s, termios.TIOCSCTTY, 0)",
                "b = os.fork()",
                "if b == 0:",
                "    while True: time.sleep(1)",
                "open(sys.argv[1] + '.tmp', 'w').write('%d %d %d' % (os.getpid(), a, b))",
                "os.rename(sys.argv[1] + '.tmp', sys.argv[1])",
                "while True: time.sleep(1)");
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", py, ready.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("py.out").toFile()).start();
        int[] pids = new int[0];
        try {
            for (int i = 0; i < 1000 && !Files.exists(ready); i++) Thread.sleep(10);
            assertTrue(Files.exists(ready), "python session did not start: " + (Files.exists(tmp.resolve("py.out")) ? Files.readString(tmp.resolve("py.out")) : ""));
            pids = java.util.Arrays.stream(Files.readString(ready).trim().split(" ")).mapToInt(Integer::parseInt).toArray();
            assertEquals(0, ttyNr(pids[1]), "A was forked before the leader took the terminal");
            assertTrue(ttyNr(pids[2]) != 0, "B has it");
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", pids[0], "-D", d, "-R", "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            String log = Files.readString(d.resolve("dump.log"));
            assertTrue(log.contains("task " + pids[1] + " of session " + pids[0] + " has no pty"), log);
            assertFalse(log.contains("task " + pids[2] + " of session"), log);
        } finally {
            for (int pid : pids) new ProcessBuilder("kill", "-9", String.valueOf(pid)).start().waitFor();
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
        }
    }

    /** A -R dump reads the pty's state without changing it: the task carries on with it intact. */
    @Test
    void leaveRunningDumpDisturbsNothing() throws Exception {
        try (Workload w = Workload.c("pty", tmp.resolve("w"), "pair")) {
            dump(w, "-R");
            assertTrue(w.alive());
            assertEquals(0, ProcState.tracerPid(w.pid()));
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * Bytes queued in a pty for either side, as CRIU keeps them in tty-data.img (read at dump and
     * queued again at once, so a -R dump leaves them in place too): each side reads them first
     * after the restore.
     */
    @Test
    void queuedBytesSurviveDumpAndRestore() throws Exception {
        try (Workload w = Workload.c("pty", tmp.resolve("w"), "queued")) {
            int index = ptyIndex(w.pid());
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            java.util.Map<Integer, String> data = new java.util.HashMap<>();
            try (org.jcriu.image.ImageReader in = new org.jcriu.image.ImageDir(d).open(org.jcriu.image.ImageType.TTY_DATA)) {
                org.jcriu.image.proto.TtyDataEntry e;
                while ((e = in.read(org.jcriu.image.proto.TtyDataEntry.parser())) != null) data.put(e.getTtyId(), e.getData().toStringUtf8());
            }
            assertEquals(java.util.Map.of(index * 2 + 1, "abc", index * 2, "xyz"), data, "tty-data.img by tty-info id");
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** A -R dump takes the queued bytes and puts them back: the task still reads them. */
    @Test
    void queuedBytesStayAfterLeaveRunningDump() throws Exception {
        try (Workload w = Workload.c("pty", tmp.resolve("w"), "queued")) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-R");
            assertEquals(0, r.exit(), r.all());
            assertEquals(0, ProcState.tracerPid(w.pid()));
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * The terminal of a job started by script(1), named with --external tty[RDEV:DEV] instead of
     * --shell-job: dumped as CRIU's EXT_TTY; restore refuses without --inherit-fd naming it, and
     * with it the task gets that fd on 0, 1 and 2, as its controlling terminal.
     */
    @Test
    void externalTerminalIsGivenBackWithInheritFd() throws Exception {
        Terminal.assumePresent();
        try (Workload w = Terminal.sleepingJob(tmp.resolve("w"), "")) {
            String[] st = run("stat", "-L", "-c", "%t %T %D", "/proc/" + w.pid() + "/fd/0").strip().split(" ");
            long major = Long.parseLong(st[0], 16), minor = Long.parseLong(st[1], 16);
            long rdev = (major & 0xfff) << 8 | (minor & 0xff) | (minor & ~0xffL) << 12;
            String key = "tty[" + Long.toHexString(rdev) + ":" + st[2] + "]";
            Path d = dump(w, "--external", key);
            List<TtyInfoEntry> infos = infos(d);
            assertEquals(1, infos.size(), infos.toString());
            assertEquals(TtyType.EXT_TTY, infos.get(0).getType());
            assertEquals(w.pid(), infos.get(0).getSid());
            assertFalse(infos.get(0).hasPty());
            w.waitGone(Duration.ofSeconds(10));

            Jcriu.Result refused = Jcriu.run("restore", "-D", d, "-d");
            assertEquals(1, refused.exit(), refused.all());
            assertTrue(refused.stderr().contains("give it with --inherit-fd fd[N]:" + key), refused.stderr());
            assertFalse(w.alive());

            String tty = Terminal.restoreIn(w, d, tmp, "", "--inherit-fd 'fd[0]:" + key + "'");
            assertTrue(w.alive(), "not restored: " + Files.readString(tmp.resolve("term.out")));
            assertTrue(tty.startsWith("/dev/pts/"), tty);
            for (int fd = 0; fd <= 2; fd++) {
                assertEquals(tty, Files.readSymbolicLink(Path.of("/proc/" + w.pid() + "/fd/" + fd)).toString(), "fd " + fd);
            }
            assertEquals(136 << 8 | Integer.parseInt(tty.substring("/dev/pts/".length())), ttyNr(w.pid()),
                    "the given terminal is the controlling terminal of the restored session leader");
        }
    }

    /**
     * --shell-job: as CRIU, the terminal the restore runs in gets the job's termios and window
     * size (here 41x123 and no echo, set by the job before the dump), not left as it was.
     */
    @Test
    void shellJobTerminalGetsTheJobsTermiosAndWindowSize() throws Exception {
        Terminal.assumePresent();
        try (Workload w = Terminal.sleepingJob(tmp.resolve("w"), "stty rows 41 cols 123 -echo; ")) {
            Path d = dump(w, "-j");
            w.waitGone(Duration.ofSeconds(10));
            Path before = tmp.resolve("term.before");
            String tty = Terminal.restoreIn(w, d, tmp, "stty size > " + before + "; ", "-j");
            assertTrue(w.alive());
            assertNotEquals("41 123", Files.readString(before).strip(), "the new terminal had the job's size already");
            assertEquals("41 123", run("stty", "-F", tty, "size").strip(), "window size of " + tty);
            assertTrue(run("stty", "-F", tty, "-a").contains("-echo"), "echo is off on " + tty);
        }
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    private static long ttyNr(int pid) throws IOException {
        String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Long.parseLong(s.substring(s.lastIndexOf(')') + 2).split(" ")[4]);
    }

    private static List<FileEntry> files(Path d) {
        return Images.all(d, ImageType.FILES, FileEntry.parser());
    }

    /** files.img rewritten as CRIU wrote it before regf_id: the tty's path as a reg entry with the tty's own id. */
    private static void oldLayout(Path d) {
        List<FileEntry> files = files(d);
        java.util.Map<Integer, Integer> ttyOfReg = new java.util.HashMap<>();
        for (FileEntry f : files) if (f.getType() == FdTypes.TTY) ttyOfReg.put(f.getTty().getRegfId(), f.getId());
        assertFalse(ttyOfReg.isEmpty());
        try (var w = new ImageDir(d).create(ImageType.FILES)) {
            for (FileEntry f : files) {
                if (f.getType() == FdTypes.TTY) {
                    f = f.toBuilder().setTty(f.getTty().toBuilder().clearRegfId()).build();
                } else if (ttyOfReg.containsKey(f.getId())) {
                    int id = ttyOfReg.get(f.getId());
                    f = f.toBuilder().setId(id).setReg(f.getReg().toBuilder().setId(id)).build();
                }
                w.write(f);
            }
        }
    }

    /** Upstream crit (Debian's criu package) reads the images. */
    private static void critDecodes(Path d) throws Exception {
        if (!Crit.present()) return;
        for (String n : List.of("files.img", "tty-info.img", "fdinfo-2.img")) {
            String out = Crit.decode(d.resolve(n));
            if (n.equals("tty-info.img")) assertTrue(out.contains("\"ws_col\": 111") && out.contains("\"uid\": 1234"), out);
            if (n.equals("files.img")) assertTrue(out.contains("\"type\": \"TTY\"") && out.contains("\"regf_id\""), out);
        }
    }
}
