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
        Path s = script("echo \"$CRTOOLS_SCRIPT_ACTION ${CRTOOLS_INIT_PID:-none} $CRTOOLS_IMAGE_DIR\" >> " + log);
        work = Workload.sleep(tmp.resolve("w"));
        int pid = work.pid();
        Path img = Files.createDirectories(tmp.resolve("img"));
        Jcriu.Result d = Jcriu.run("dump", "-t", pid, "-D", img, "--action-script", s);
        assertEquals(0, d.exit(), d.all());
        assertEquals(List.of("pre-dump " + pid + " " + img, "post-dump " + pid + " " + img), Files.readAllLines(log));
        for (int i = 0; i < 300 && Files.exists(Path.of("/proc/" + pid)); i++) Thread.sleep(10);
        Files.delete(log);
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", img, "--action-script", s);
        if (Files.exists(Path.of("/proc/" + pid))) restored = pid;
        assertEquals(0, r.exit(), r.all());
        // no namespaces restored: criu sends no setup-namespaces / post-setup-namespaces either
        assertEquals(List.of("pre-restore none " + img, "post-restore " + pid + " " + img,
                "pre-resume " + pid + " " + img, "post-resume " + pid + " " + img), Files.readAllLines(log));
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
}
