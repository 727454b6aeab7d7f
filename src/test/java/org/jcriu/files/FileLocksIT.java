package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FileLockEntry;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.jcriu.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * File locks with -l: the locks workload holds a flock, a POSIX write lock on bytes 10..29 and
 * an OFD read lock and a read lease (see locks.c); after restore ANOTHER process (the workload's probe mode) must
 * still be refused each of them, the POSIX one owned by the restored pid.
 */
class FileLocksIT {
    @TempDir Path tmp;

    /** What the probe process finds still locked, e.g. "held flock posix ofd lease". */
    private static String probe(Workload w) throws Exception {
        Process p = new ProcessBuilder(Workloads.binary("locks").toString(), w.dir().toString(), "probe", Integer.toString(w.pid()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @Test
    void locksStillConflictForAnotherProcessAfterRestore() throws Exception {
        try (Workload w = Workload.c("locks", tmp.resolve("w"))) {
            assertEquals("held flock posix ofd lease", probe(w), "the probe itself is broken");
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d, "-l", "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            assertEquals("held", probe(w), "the locks died with the dumped task");
            List<String> locks = new ArrayList<>();
            try (ImageReader ir = new ImageDir(d).open(ImageType.FILE_LOCKS)) {
                FileLockEntry e;
                while ((e = ir.read(FileLockEntry.parser())) != null) {
                    assertEquals(w.pid(), e.getPid());
                    locks.add(e.getFlag() + "/" + e.getType() + "/" + e.getFd() + "/" + e.getStart() + "/" + e.getLen());
                }
            }
            // CRIU's values: flag FLOCK 2 / POSIX 1 / OFD 4 / LEASE 8, type F_WRLCK 1 / F_RDLCK 0, len 0 = to EOF
            assertEquals(List.of("2/1/5/0/0", "1/1/6/10/20", "4/0/7/0/0", "8/0/8/0/0"), locks);
            Crit.decodes(d, "filelocks.img");
            r = Jcriu.run("restore", "-D", d, "-d", "-l", "-v4", "-o", "restore.log");
            assertEquals(0, r.exit(), r.all());
            assertTrue(w.alive());
            assertEquals("held flock posix ofd lease", probe(w));
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void taskHoldingLocksIsRefusedWithoutDashL() throws Exception {
        try (Workload w = Workload.c("locks", tmp.resolve("w"))) {
            Jcriu.Result r = Jcriu.dumpRefused(w, tmp.resolve("imgs"));
            assertTrue(r.stderr().contains("Can't dump fd 5 (" + w.dir().resolve("flock") + ") of task " + w.pid()
                    + ": it holds 1 file lock(s); dump with --file-locks (-l)"), r.stderr());
            assertEquals("held flock posix ofd lease", probe(w));
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }
}
