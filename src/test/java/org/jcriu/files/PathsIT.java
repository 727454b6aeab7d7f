package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jcriu.files.reg.MountInfo;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.RegFileEntry;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files whose path is not the one they were opened by (see paths.c): renamed after they were
 * opened, or hidden under a tmpfs mounted over their directory or a directory above it.
 */
class PathsIT {
    @TempDir Path tmp;

    private static List<RegFileEntry> regs(Path d) {
        List<RegFileEntry> out = new ArrayList<>();
        try (ImageReader r = new ImageDir(d).open(ImageType.FILES)) {
            FileEntry e;
            while ((e = r.read(FileEntry.parser())) != null) if (e.hasReg()) out.add(e.getReg());
        }
        return out;
    }

    private static RegFileEntry reg(List<RegFileEntry> regs, Path name) {
        return regs.stream().filter(e -> e.getName().equals(name.toString())).findFirst()
                .orElseThrow(() -> new AssertionError("no reg file " + name + " in " + regs));
    }

    /** The /proc link names the file as it is called now: dumped and reopened by that name. */
    @Test
    void filesRenamedAfterOpenComeBackUnderTheirNewNames() throws Exception {
        try (Workload w = Workload.c("paths", tmp.resolve("w"), "renamed")) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            List<RegFileEntry> regs = regs(d);
            Path wd = w.dir();
            for (String n : new String[] {"a/f2", "b/g2", "b/sub2"}) assertFalse(reg(regs, wd.resolve(n)).hasMntId());
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * A tmpfs mounted over the files' directory, or over a directory above it, with decoys at the
     * same paths: the dump records the mount the files are still reached through (mnt_id), and
     * the restore opens them through a clone of that mount, not the decoys.
     */
    @ParameterizedTest
    @ValueSource(strings = {"over-dir", "over-parent"})
    void overmountedFilesComeBackFromUnderTheMount(String mode) throws Exception {
        Path wd = tmp.resolve("w");
        try (Workload w = Workload.c("paths", wd, mode)) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            List<RegFileEntry> regs = regs(d);
            int root = rootMountOf(tmp);
            for (String n : new String[] {"m/x/f", "m/x", "m/x/p", "m/x/map"}) {
                RegFileEntry e = reg(regs, wd.resolve(n));
                assertTrue(e.hasMntId(), n + " was not seen as overmounted: " + e);
                assertEquals(root, e.getMntId(), n);
            }
            Crit.decodes(d, "files.img");
            Jcriu.restored(w, d);
            // once more: the restored files live on a detached clone of the mount, found again
            Path d2 = tmp.resolve("imgs2");
            Files.createDirectories(d2);
            Jcriu.Result r = Jcriu.run("dump", "-t", w.pid(), "-D", d2, "-v4", "-o", "dump.log");
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            assertEquals(root, reg(regs(d2), wd.resolve("m/x/f")).getMntId());
            Jcriu.restored(w, d2);
            assertEquals("PASS", w.terminateAndVerdict());
        } finally {
            unmountUnder(tmp);
        }
    }

    /** A file on a mount that another mount now covers at the same place: refused by name, the task runs on. */
    @Test
    void fileOnAMountCoveredByAnotherIsRefused() throws Exception {
        try (Workload w = Workload.c("paths", tmp.resolve("w"), "stacked")) {
            Jcriu.Result r = Jcriu.dumpRefused(w, tmp.resolve("imgs"));
            Path m = w.dir().resolve("m");
            assertTrue(r.stderr().contains("Can't dump fd 5 (" + m.resolve("f") + ") of task " + w.pid() + ": its path "
                    + m.resolve("f") + " does not exist"), r.stderr());
            assertTrue(r.stderr().matches("(?s).*mount \\d+ at " + java.util.regex.Pattern.quote(m.toString())
                    + " is itself overmounted.*"), r.stderr());
            assertEquals("PASS", w.terminateAndVerdict());
        } finally {
            unmountUnder(tmp);
        }
    }

    /** The mount the test directory is on (the one the workload's files are on before the overmount). */
    private static int rootMountOf(Path p) {
        MountInfo best = null;
        for (MountInfo m : MountInfo.of("self")) {
            if (m.relative(p.toString()) != null && (best == null || m.mountPoint().length() > best.mountPoint().length())) {
                best = m;
            }
        }
        return best.id();
    }

    /** Lazily unmounts every mount under {@code dir}, deepest first (a failed test leaves them behind otherwise). */
    static void unmountUnder(Path dir) throws Exception {
        List<MountInfo> under = new ArrayList<>();
        for (MountInfo m : MountInfo.of("self")) if (m.mountPoint().startsWith(dir + "/")) under.add(m);
        under.sort(Comparator.comparingInt((MountInfo m) -> m.mountPoint().length()).reversed());
        for (MountInfo m : under) {
            Process p = new ProcessBuilder("umount", "-l", m.mountPoint()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertEquals(0, p.waitFor(), "umount -l " + m.mountPoint() + ": " + out);
        }
    }
}
