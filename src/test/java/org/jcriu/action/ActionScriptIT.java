package org.jcriu.action;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;

/** {@code --action-script} on the command line: CRIU's actions, order and environment. */
class ActionScriptIT {
    @TempDir
    Path tmp;
    Workload work;
    int restored;

    @AfterEach
    void kill() throws Exception {
        if (work != null) work.close();
        if (restored > 0 && Files.exists(Path.of("/proc/" + restored))) {
            new ProcessBuilder("kill", "-9", String.valueOf(restored)).start().waitFor();
        }
    }

    Path script(String body) throws Exception {
        Path p = tmp.resolve("action.sh");
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    @Test
    void dumpAndRestoreRunTheScriptAtEachAction() throws Exception {
        Path log = tmp.resolve("actions");
        // CRTOOLS_IMAGE_DIR is criu's /proc/<its pid>/fd/<N>: the script sees the images through it
        Path s = script("d=$CRTOOLS_IMAGE_DIR; case $d in /proc/[0-9]*/fd/[0-9]*) ;; *) d=\"bad:$d\";; esac\n"
                + "echo \"$CRTOOLS_SCRIPT_ACTION ${CRTOOLS_INIT_PID:-none} $(readlink $d) $(ls $d/inventory.img 2>/dev/null | wc -l)\" >> " + log);
        work = Workload.sleep(tmp.resolve("w"));
        int pid = work.pid();
        Path img = Files.createDirectories(tmp.resolve("img"));
        Jcriu.Result d = Jcriu.run("dump", "-t", pid, "-D", img, "--action-script", s);
        assertEquals(0, d.exit(), d.all());
        assertEquals(List.of("pre-dump " + pid + " " + img + " 0", "post-dump " + pid + " " + img + " 1"), Files.readAllLines(log));
        for (int i = 0; i < 300 && Files.exists(Path.of("/proc/" + pid)); i++) Thread.sleep(10);
        Files.delete(log);
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", img, "--action-script", s);
        if (Files.exists(Path.of("/proc/" + pid))) restored = pid;
        assertEquals(0, r.exit(), r.all());
        // no namespaces restored: criu sends no setup-namespaces / post-setup-namespaces either
        assertEquals(List.of("pre-restore none " + img + " 1", "post-restore " + pid + " " + img + " 1",
                "pre-resume " + pid + " " + img + " 1", "post-resume " + pid + " " + img + " 1"), Files.readAllLines(log));
    }

    @Test
    void failingPreDumpScriptLeavesTheTaskUntouched() throws Exception {
        Path s = script("[ \"$CRTOOLS_SCRIPT_ACTION\" = pre-dump ] && exit 7; exit 0");
        work = Workload.sleep(tmp.resolve("w"));
        Path img = Files.createDirectories(tmp.resolve("img"));
        Jcriu.Result d = Jcriu.run("dump", "-t", work.pid(), "-D", img, "--action-script", s);
        assertEquals(1, d.exit(), d.all());
        assertTrue(d.stderr().contains("pre-dump") && d.stderr().contains("(status 7)"), d.stderr());
        assertTrue(work.alive());
        assertTrue(!Files.exists(img.resolve("inventory.img")));
    }

    @Test
    void failingPostDumpScriptLeavesTheTaskRunning() throws Exception {
        Path s = script("[ \"$CRTOOLS_SCRIPT_ACTION\" = post-dump ] && exit 3; exit 0");
        work = Workload.sleep(tmp.resolve("w"));
        Path img = Files.createDirectories(tmp.resolve("img"));
        Jcriu.Result d = Jcriu.run("dump", "-t", work.pid(), "-D", img, "--action-script", s);
        // criu dump exits 255 when post-dump fails, whatever the script's status
        assertEquals(255, d.exit(), d.all());
        assertTrue(d.stderr().contains("post-dump") && d.stderr().contains("(status 3)"), d.stderr());
        assertTrue(work.alive());
        assertEquals('S', org.jcriu.testing.ProcState.state(work.pid()));
        assertEquals("0", org.jcriu.testing.ProcState.field(work.pid(), "TracerPid"));
    }

    @Test
    void failingRestoreScriptsAbortAtCriusPoints() throws Exception {
        work = Workload.sleep(tmp.resolve("w"));
        int pid = work.pid();
        Path img = Files.createDirectories(tmp.resolve("img"));
        assertEquals(0, Jcriu.run("dump", "-t", pid, "-D", img).exit());
        work.waitGone(java.time.Duration.ofSeconds(5));
        Path pidfile = tmp.resolve("pidfile");

        Path pre = script("[ \"$CRTOOLS_SCRIPT_ACTION\" = pre-restore ] && exit 4; exit 0");
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", img, "--pidfile", pidfile, "--action-script", pre);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("pre-restore"), r.stderr());
        assertTrue(!Files.exists(Path.of("/proc/" + pid)), "nothing is created before pre-restore agreed");
        assertTrue(!Files.exists(pidfile));

        Path post = script("[ \"$CRTOOLS_SCRIPT_ACTION\" = post-restore ] && exit 5; exit 0");
        r = Jcriu.run("restore", "-d", "-D", img, "--pidfile", pidfile, "--action-script", post);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("post-restore") && r.stderr().contains("(status 5)"), r.stderr());
        for (int i = 0; i < 300 && Files.exists(Path.of("/proc/" + pid)); i++) Thread.sleep(10);
        assertTrue(!Files.exists(Path.of("/proc/" + pid)), "a failed post-restore kills the tree");
        assertTrue(!Files.exists(pidfile), "criu writes the pidfile only after post-restore");

        // pre-resume and post-resume failures are only logged by criu: the tree runs
        Path resume = script("case \"$CRTOOLS_SCRIPT_ACTION\" in pre-resume|post-resume) exit 6;; esac; exit 0");
        r = Jcriu.run("restore", "-d", "-D", img, "--pidfile", pidfile, "--action-script", resume);
        if (Files.exists(Path.of("/proc/" + pid))) restored = pid;
        assertEquals(0, r.exit(), r.all());
        assertEquals(String.valueOf(pid), Files.readString(pidfile));
    }

    @Test
    void scriptsSeeCriusEnvironmentAndRunLastGivenFirst() throws Exception {
        Path log = tmp.resolve("env");
        Path a = script("echo \"a $CRTOOLS_SCRIPT_ACTION\" >> " + log);
        Path b = tmp.resolve("b.sh");
        Files.writeString(b, "#!/bin/sh\n[ -t 0 ] && echo tty >> " + log + "\nread x && echo stdin >> " + log
                + "\necho \"b $CRTOOLS_SCRIPT_ACTION $CRTOOLS_INIT_PID\" >> " + log + "\nenv | grep -c '^CRTOOLS_' >> " + log + "\n");
        Files.setPosixFilePermissions(b, PosixFilePermissions.fromString("rwx------"));
        work = Workload.sleep(tmp.resolve("w"));
        Path img = Files.createDirectories(tmp.resolve("img"));
        Jcriu.Result d = Jcriu.run("dump", "-t", work.pid(), "-D", img, "-R", "--action-script", a, "--action-script", b);
        assertEquals(0, d.exit(), d.all());
        // stdin is empty (criu closes it), three CRTOOLS_ variables, the last script given runs first
        assertEquals(List.of("b pre-dump " + work.pid(), "3", "a pre-dump", "b post-dump " + work.pid(), "3", "a post-dump"),
                Files.readAllLines(log));
    }
}
