package org.jcriu.action;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.CriuException;
import org.jcriu.opts.Action;
import org.jcriu.opts.Options;

/** --action-script: CRIU's environment, order and failure semantics. */
class ActionsTest {
    @TempDir
    Path tmp;

    Path script(String name, String body) throws Exception {
        Path p = tmp.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    @Test
    void scriptsSeeCriusEnvironmentLastGivenFirst() throws Exception {
        Path out = tmp.resolve("out");
        // CRTOOLS_IMAGE_DIR is /proc/<our pid>/fd/N, an fd of the images dir we hold meanwhile
        Path a = script("a", "echo a $CRTOOLS_SCRIPT_ACTION $(readlink $CRTOOLS_IMAGE_DIR) $CRTOOLS_INIT_PID >> " + out);
        Path b = script("b", "echo b $CRTOOLS_SCRIPT_ACTION >> " + out);
        Options o = new Options();
        o.imagesDir = tmp;
        o.actionScript.add(a.toString());
        o.actionScript.add(b.toString());
        Actions.run(o, Action.POST_RESTORE, 1234);
        Actions.run(o, Action.PRE_RESTORE);
        assertEquals(List.of("b post-restore", "a post-restore " + tmp + " 1234", "b pre-restore", "a pre-restore " + tmp),
                Files.readAllLines(out));
    }

    @Test
    void failingScriptAbortsNamingItAndItsStatus() throws Exception {
        Path bad = script("bad", "exit 3");
        Options o = new Options();
        o.actionScript.add(bad.toString());
        CriuException e = assertThrows(CriuException.class, () -> Actions.run(o, Action.POST_DUMP, 1));
        assertTrue(e.getMessage().contains("post-dump") && e.getMessage().contains(bad + " (status 3)"), e.getMessage());
        // criu dump exits 255 for a failed post-dump, whatever the script's status; 1 for the others
        assertEquals(255, ((ScriptFailed) e).exitCode());
        ScriptFailed pre = assertThrows(ScriptFailed.class, () -> Actions.run(o, Action.PRE_DUMP, 1));
        assertEquals(1, pre.exitCode());
    }

    @Test
    void queryExtFilesRunsNoScripts() throws Exception {
        Path out = tmp.resolve("out");
        Options o = new Options();
        o.actionScript.add(script("s", "touch " + out).toString());
        Actions.run(o, Action.QUERY_EXT_FILES, 1);
        assertTrue(!Files.exists(out));
    }

    @Test
    void missingScriptIsAnError() {
        Options o = new Options();
        o.actionScript.add(tmp.resolve("nope").toString());
        assertThrows(CriuException.class, () -> Actions.run(o, Action.PRE_DUMP, 1));
    }
}
