package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGIO owners (fown_entry): the fown workload's O_ASYNC pipe with F_SETSIG must still signal
 * the restored task, and the owner and signal of a regular file must come back (see fown.c).
 */
class FownIT {
    @TempDir Path tmp;

    @Test
    void asyncPipeStillSignalsItsOwnerAfterRestore() throws Exception {
        try (Workload w = Workload.c("fown", tmp.resolve("w"))) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            FownEntry pipe = null, reg = null;
            try (ImageReader ir = new ImageDir(d).open(ImageType.FILES)) {
                FileEntry e;
                while ((e = ir.read(FileEntry.parser())) != null) {
                    if (e.getType() == FdTypes.PIPE && e.getPipe().getFown().getPid() != 0) pipe = e.getPipe().getFown();
                    if (e.getType() == FdTypes.REG && e.getReg().getName().endsWith("/data")) reg = e.getReg().getFown();
                }
            }
            assertNotNull(pipe, "no pipe with an owner in files.img");
            assertEquals(w.pid(), pipe.getPid());
            assertEquals(1, pipe.getPidType(), "F_OWNER_PID");
            assertEquals(35, pipe.getSignum(), "SIGRTMIN+1 (glibc's SIGRTMIN is 34)");
            assertNotNull(reg);
            assertEquals(w.pid(), reg.getPid());
            assertEquals(12, reg.getSignum(), "SIGUSR2");
            GhostFilesIT.critDecodes(d, "files.img");
            r = Jcriu.run("restore", "-D", d, "-d", "-v4", "-o", "restore.log");
            assertEquals(0, r.exit(), r.all());
            assertTrue(w.alive());
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** An owner that is another thread could not be set again before the threads exist: refused by name. */
    @Test
    void ownerThreadOtherThanMainIsRefused() throws Exception {
        try (Workload w = Workload.c("fown", tmp.resolve("w"), "thread")) {
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("Can't dump fd 6 (pipe:["), r.stderr());
            assertTrue(r.stderr().contains("(F_OWNER_TID); an owner thread other than the main one is not supported yet"), r.stderr());
            assertTrue(w.alive());
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }
}
