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
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
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

    private static void restore(Workload w, Path d) throws IOException {
        w.waitGone(Duration.ofSeconds(10));
        Jcriu.Result r = Jcriu.run("restore", "-D", d, "-d", "-v4", "-o", "restore.log");
        assertEquals(0, r.exit(), r.all() + "\n" + Files.readString(d.resolve("restore.log")));
        assertTrue(w.alive(), "restored task " + w.pid() + " is not running");
        assertEquals(0, ProcState.tracerPid(w.pid()));
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
            // CRIU's files.img: a reg entry naming the device, then the tty entry, same id
            List<FileEntry> files = new ArrayList<>();
            try (ImageReader r = new ImageDir(d).open(ImageType.FILES)) {
                FileEntry e;
                while ((e = r.read(FileEntry.parser())) != null) files.add(e);
            }
            assertTrue(files.stream().anyMatch(f -> f.getType() == FdTypes.REG && f.getReg().getName().equals("/dev/ptmx")));
            assertTrue(files.stream().anyMatch(f -> f.getType() == FdTypes.TTY && f.getTty().getTtyInfoId() == 2 * index + 1));
            critDecodes(d);
            restore(w, d);
            assertEquals(index, ptyIndex(w.pid()));
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
            restore(w, d);
            assertEquals(ttyNr, ttyNr(w.pid()));
            assertEquals("PASS", w.terminateAndVerdict());
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

    /** Bytes queued in a pty cannot be read without taking them: the dump refuses and leaves the task running. */
    @Test
    void queuedBytesAreRefused() throws Exception {
        try (Workload w = Workload.c("pty", tmp.resolve("w"), "queued")) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("fd 7 (/dev/ptmx) of task " + w.pid() + ": pty " + ptyIndex(w.pid())
                    + " has 3 unread bytes queued for its master side"), r.stderr());
            assertTrue(w.alive());
            assertEquals(0, ProcState.tracerPid(w.pid()));
        }
    }

    private static long ttyNr(int pid) throws IOException {
        String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Long.parseLong(s.substring(s.lastIndexOf(')') + 2).split(" ")[4]);
    }

    /** Upstream crit (Debian's criu package) reads the images. */
    private static void critDecodes(Path d) throws Exception {
        Path crit = Path.of("/usr/bin/crit");
        if (!Files.isExecutable(crit)) return;
        for (String n : List.of("files.img", "tty-info.img", "fdinfo-2.img")) {
            Process p = new ProcessBuilder(crit.toString(), "decode", "-i", d.resolve(n).toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertEquals(0, p.waitFor(), "crit decode " + n + ": " + out);
            if (n.equals("tty-info.img")) assertTrue(out.contains("\"ws_col\": 111"), out);
            if (n.equals("files.img")) assertTrue(out.contains("\"type\": \"TTY\""), out);
        }
    }
}
