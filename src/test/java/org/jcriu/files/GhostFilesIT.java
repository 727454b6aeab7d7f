package org.jcriu.files;

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
import org.jcriu.image.proto.GhostChunkEntry;
import org.jcriu.image.proto.GhostFileEntry;
import org.jcriu.image.proto.RemapFilePathEntry;
import org.jcriu.image.proto.RemapType;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Open files whose names were unlinked (ghost files): the ghost workload checks after restore
 * that each fd reads the same bytes at the same position from a file that is still unlinked,
 * with its mode and size, holes kept (see ghost.c).
 */
class GhostFilesIT {
    @TempDir Path tmp;

    @Test
    void smallUnlinkedFileComesBackWithItsContentsAtItsPosition() throws Exception {
        try (Workload w = Workload.c("ghost", tmp.resolve("w"), "small")) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            ImageDir imgs = new ImageDir(d);
            try (ImageReader r = imgs.open(ImageType.GHOST_FILE, 1)) {
                GhostFileEntry g = r.readOne(GhostFileEntry.parser());
                assertFalse(g.getChunks(), "a 22-byte ghost is stored whole, as CRIU does");
                assertEquals(0100640, g.getMode());
                assertEquals("0123456789ghost-bytes!", new String(r.readRest()));
            }
            // fds 5 and 6 are two open file descriptions of one inode: one ghost, two remaps
            List<RemapFilePathEntry> remaps = remaps(imgs);
            assertEquals(2, remaps.size(), remaps.toString());
            for (RemapFilePathEntry e : remaps) {
                assertEquals(RemapType.GHOST, e.getRemapType());
                assertEquals(1, e.getRemapId());
            }
            assertFalse(imgs.exists(ImageType.GHOST_FILE, 2));
            Crit.decodes(d, "ghost-file-1.img", "remap-fpath.img", "files.img");
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void sparseUnlinkedFileKeepsItsHolesAndSize() throws Exception {
        try (Workload w = Workload.c("ghost", tmp.resolve("w"), "sparse")) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            try (ImageReader r = new ImageDir(d).open(ImageType.GHOST_FILE, 1)) {
                GhostFileEntry g = r.readOne(GhostFileEntry.parser());
                assertTrue(g.getChunks());
                assertEquals(3 << 20, g.getSize());
                List<String> chunks = new ArrayList<>();
                GhostChunkEntry c;
                while ((c = r.read(GhostChunkEntry.parser())) != null) {
                    chunks.add(c.getOff() + "+" + c.getLen());
                    r.readRaw((int) c.getLen());
                }
                assertEquals(List.of("0+4096", (2 << 20) + "+4096"), chunks);
            }
            assertTrue(Files.size(d.resolve("ghost-file-1.img")) < 16384, "holes were stored");
            Crit.decodes(d, "ghost-file-1.img");
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void unlinkedFileOverGhostLimitIsRefusedAndTheTaskRunsOn() throws Exception {
        try (Workload w = Workload.c("ghost", tmp.resolve("w"), "big")) {
            Jcriu.Result r = Jcriu.dumpRefused(w, tmp.resolve("imgs"));
            assertTrue(r.stderr().contains("Can't dump ghost file " + w.dir().resolve("big") + " of 2097152 bytes"), r.stderr());
            assertTrue(r.stderr().contains("--ghost-limit 1048576"), r.stderr());
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void ghostLimitRaisedLetsTheBigFileThrough() throws Exception {
        try (Workload w = Workload.c("ghost", tmp.resolve("w"), "big")) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"), "--ghost-limit", "4M");
            Jcriu.restored(w, d);
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /** DIR/a unlinked while DIR/b still names the file: only with --link-remap, linked back for the restore. */
    @Test
    void unlinkedFileWithAnotherLinkNeedsLinkRemapAndComesBack() throws Exception {
        try (Workload w = Workload.c("ghost", tmp.resolve("w"), "linked")) {
            Jcriu.Result r = Jcriu.dumpRefused(w, tmp.resolve("refused"));
            assertTrue(r.stderr().contains("Can't dump fd 5 (" + w.dir().resolve("a") + " (deleted)) of task " + w.pid()
                    + ": the file was unlinked but has 1 other hard link(s); dump with --link-remap"), r.stderr());
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"), "--link-remap");
            List<RemapFilePathEntry> remaps = remaps(new ImageDir(d));
            assertEquals(1, remaps.size());
            assertEquals(RemapType.LINKED, remaps.get(0).getRemapType());
            Path link = w.dir().resolve("link_remap." + remaps.get(0).getRemapId());
            assertTrue(Files.exists(link), "the link remap must stay for the restore");
            Crit.decodes(d, "remap-fpath.img", "files.img");
            Jcriu.restored(w, d);
            assertFalse(Files.exists(link), "restore leaves the link remap behind");
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * A removed directory and an unlinked named FIFO are ghosts with only their mode (S_IFDIR,
     * S_IFIFO), owner and times, as CRIU writes them: re-created at their name, opened, removed
     * again; the FIFO's queued bytes come back from fifo-data.img.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"dir, d, 040751", "dirnest, d, 040751", "fifo, f, 010640"})
    void removedDirectoryOrUnlinkedFifoComesBack(String mode, String name, String fileMode) throws Exception {
        try (Workload w = Workload.c("ghost", tmp.resolve("w"), mode)) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            ImageDir imgs = new ImageDir(d);
            try (ImageReader r = imgs.open(ImageType.GHOST_FILE, 1)) {
                GhostFileEntry g = r.readOne(GhostFileEntry.parser());
                assertEquals(Integer.parseInt(fileMode, 8), g.getMode());
                assertFalse(g.getChunks());
                assertFalse(g.hasSize());
                assertEquals(0, r.readRest().length, "no contents after the entry");
            }
            List<RemapFilePathEntry> remaps = remaps(imgs);
            assertEquals(1, remaps.size(), remaps.toString());
            assertEquals(RemapType.GHOST, remaps.get(0).getRemapType());
            Crit.decodes(d, "ghost-file-1.img", "remap-fpath.img", "files.img");
            Jcriu.restored(w, d);
            assertFalse(Files.exists(w.dir().resolve(name)), "the re-created " + name + " was left behind");
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    private static List<RemapFilePathEntry> remaps(ImageDir imgs) {
        List<RemapFilePathEntry> l = new ArrayList<>();
        try (ImageReader r = imgs.open(ImageType.REMAP_FPATH)) {
            RemapFilePathEntry e;
            while ((e = r.read(RemapFilePathEntry.parser())) != null) l.add(e);
        }
        return l;
    }
}
