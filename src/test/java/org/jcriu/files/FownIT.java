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
import org.jcriu.testing.Crit;
import org.jcriu.testing.Images;
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
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            FownEntry pipe = null, reg = null;
            for (FileEntry e : Images.all(d, ImageType.FILES, FileEntry.parser())) {
                if (e.getType() == FdTypes.PIPE && e.getPipe().getFown().getPid() != 0) pipe = e.getPipe().getFown();
                if (e.getType() == FdTypes.REG && e.getReg().getName().endsWith("/data")) reg = e.getReg().getFown();
            }
            assertNotNull(pipe, "no pipe with an owner in files.img");
            assertEquals(w.pid(), pipe.getPid());
            assertEquals(1, pipe.getPidType(), "F_OWNER_PID");
            assertEquals(35, pipe.getSignum(), "SIGRTMIN+1 (glibc's SIGRTMIN is 34)");
            assertNotNull(reg);
            assertEquals(w.pid(), reg.getPid());
            assertEquals(12, reg.getSignum(), "SIGUSR2");
            Crit.decodes(d, "files.img");
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * An owner set with another effective uid: the kernel keeps the setter's uid and euid in
     * f_owner and checks signal permission against them; as CRIU, restore sets the owner with
     * the saved euid (and jcriu's uid), so they read back as at dump (fown.c euid).
     */
    @Test
    void ownerKeepsTheEuidItWasSetWith() throws Exception {
        try (Workload w = Workload.c("fown", tmp.resolve("w"), "euid")) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            FownEntry reg = null;
            for (FileEntry e : Images.all(d, ImageType.FILES, FileEntry.parser())) {
                if (e.getType() == FdTypes.REG && e.getReg().getName().endsWith("/data")) reg = e.getReg().getFown();
            }
            assertNotNull(reg);
            assertEquals(0, reg.getUid());
            assertEquals(1000, reg.getEuid());
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** An owner that is another thread of the task (F_OWNER_TID) is set again once the threads exist. */
    @Test
    void ownerThreadOtherThanMainComesBack() throws Exception {
        try (Workload w = Workload.c("fown", tmp.resolve("w"), "thread")) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * Files inherited across fork whose owner is the child, which the parent holds first (the
     * parent's fds are dumped and restored first): the one struct file gets its owner, signal
     * and O_ASYNC back whichever task restores it, and the SIGIO goes to the child (fowntree.c).
     */
    @Test
    void sharedFilesOwnedByTheChildKeepTheirOwnerAfterRestore() throws Exception {
        try (Workload w = Workload.c("fowntree", tmp.resolve("w"))) {
            String[] pc = Files.readString(w.dir().resolve("pids")).trim().split(" ");
            int p = Integer.parseInt(pc[0]), c = Integer.parseInt(pc[1]);
            w.alsoKill(c);
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (Files.exists(Path.of("/proc/" + c)) && System.nanoTime() < deadline) Thread.sleep(5);
            int owned = 0;
            for (FileEntry e : Images.all(d, ImageType.FILES, FileEntry.parser())) {
                if (e.getType() == FdTypes.PIPE && e.getPipe().getFown().getPid() != 0) {
                    assertEquals(c, e.getPipe().getFown().getPid(), "the pipe's owner is the child");
                    owned++;
                }
                if (e.getType() == FdTypes.REG && e.getReg().getName().endsWith("/data")) {
                    assertEquals(c, e.getReg().getFown().getPid(), "the data file's owner is the child's thread");
                    assertEquals(0, e.getReg().getFown().getPidType(), "F_OWNER_TID");
                    owned++;
                }
            }
            assertEquals(2, owned, "two owned files in files.img");
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }
}
