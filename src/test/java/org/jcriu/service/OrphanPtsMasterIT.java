package org.jcriu.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RPC orphan_pts_master, as runc restores a container with --console-socket: a session leader
 * whose stdin, stdout and stderr are its controlling pty, whose master only the client (pycriu,
 * in rpc_client.py) holds, is dumped; the client closes its master; the restore makes a new pty
 * and hands its master to the client with the orphan-pts-master notification (SCM_RIGHTS), and
 * the restored shell answers through it.
 */
class OrphanPtsMasterIT {
    @TempDir
    Path tmp;
    int pid;

    @BeforeEach
    void pycriu() throws Exception {
        PyCriu.assumeAvailable();
    }

    @AfterEach
    void kill() throws Exception {
        // the client kills its workload itself; this is for a client that died half way
        if (pid > 0 && Files.exists(Path.of("/proc/" + pid))) new ProcessBuilder("kill", "-9", String.valueOf(pid)).start().waitFor();
    }

    private String console(boolean refuseFirst) throws Exception {
        return console(refuseFirst ? "refuse" : "");
    }

    private String console(String mode) throws Exception {
        Path img = Files.createDirectories(tmp.resolve("img"));
        String r = PyCriu.run(tmp, PyCriu.jcriu().toString(), "console", img.toString(), mode);
        pid = Integer.parseInt(PyCriu.field(r, "pid"));
        assertTrue(PyCriu.field(r, "before").contains("got:ping"), r);
        assertEquals("true", PyCriu.field(r.substring(r.indexOf("\"dump\"")), "success"), r + "\n" + log(img, "dump.log"));
        return r;
    }

    @Test
    void theNewMasterComesWithTheNotificationAndTheShellAnswersThroughIt() throws Exception {
        String r = console(false);
        Path img = tmp.resolve("img");
        String a = r.substring(r.indexOf("\"restores\""));
        assertEquals("true", PyCriu.field(a, "success"), r + "\n" + log(img, "restore.log"));
        assertEquals(String.valueOf(pid), PyCriu.field(a, "pid"), r);
        assertTrue(a.contains("\"notifications\": [\"pre-restore\", \"orphan-pts-master\", \"post-restore\", \"pre-resume\", \"post-resume\"]"), r);
        assertEquals("true", PyCriu.field(a, "got_fd"), r);
        assertEquals(PyCriu.field(r, "index"), PyCriu.field(a, "fd_index"), "the pty of the dump, by its index: " + r);
        assertTrue(PyCriu.field(a, "echo").contains("got:hello"), r);
        assertTrue(PyCriu.field(a, "size").contains("33 77"), "window size of the dumped slave: " + r);
        // the new pty is the restored session leader's controlling terminal, its group in the foreground
        assertEquals(PyCriu.field(a, "pts_rdev"), PyCriu.field(a, "tty_nr"), r);
        assertEquals("true", PyCriu.field(a, "intr_ends_it"), r);
    }

    @Test
    void aRefusedNotificationAbortsTheRestoreAndLeavesNothing() throws Exception {
        String r = console(true);
        Path img = tmp.resolve("img");
        String[] attempts = r.substring(r.indexOf("\"restores\"")).split("\\{\"notifications\"");
        assertEquals(3, attempts.length, r);
        String refused = attempts[1];
        assertEquals("false", PyCriu.field(refused, "success"), r);
        assertTrue(PyCriu.field(refused, "cr_errmsg").contains("orphan-pts-master"), r);
        assertEquals("true", PyCriu.field(refused, "got_fd"), r);
        assertEquals("false", PyCriu.field(refused, "alive"), "nothing restored may be left: " + r);
        assertTrue(refused.contains("\"pty_users\": []"), "nobody may hold the pty: " + r);
        // the same images restore afterwards: nothing of the failed attempt is in the way
        String again = attempts[2];
        assertEquals("true", PyCriu.field(again, "success"), r + "\n" + log(img, "restore.log"));
        assertTrue(PyCriu.field(again, "echo").contains("got:hello"), r);
    }

    /**
     * As CRIU: a slave that was nobody's controlling terminal gets no master for the client; it
     * comes back on a new pty whose master is closed at once, so the restored shell reads end of
     * its terminal (EIO) and ends.
     */
    @Test
    void aSlaveThatWasNoControllingTerminalGetsAHungUpPty() throws Exception {
        String r = console("noctty");
        Path img = tmp.resolve("img");
        String a = r.substring(r.indexOf("\"restores\""));
        assertEquals("true", PyCriu.field(a, "success"), r + "\n" + log(img, "restore.log"));
        assertTrue(a.contains("\"notifications\": [\"pre-restore\", \"post-restore\", \"pre-resume\", \"post-resume\"]"), r);
        assertEquals("false", PyCriu.field(a, "got_fd"), r);
        assertTrue(log(img, "restore.log").contains("slave on a master closed at once"), log(img, "restore.log"));
        assertEquals("true", PyCriu.field(a, "ended"), "the shell must read EIO from its masterless pty: " + r);
    }

    private static String log(Path img, String name) throws Exception {
        Path p = img.resolve(name);
        return Files.exists(p) ? Files.readString(p) : "(no " + name + ")";
    }
}
