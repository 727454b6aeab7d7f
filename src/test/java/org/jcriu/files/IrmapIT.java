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
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.InotifyWdEntry;
import org.jcriu.image.proto.IrmapCacheEntry;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * inotify watches whose file handle gives a name that no longer leads to the watched inode (see
 * watch.c: the name is under a tmpfs mounted since, another hard link still names the file):
 * recorded without a path and reopened by handle, as CRIU does by default; or, with
 * --force-irmap, given the path an irmap scan finds (--irmap-scan-path, CRIU's hints, or
 * irmap-cache.img in the work directory). Either way the watch fires after the restore.
 */
class IrmapIT {
    @TempDir Path tmp;

    /** A test body given the running watch.c workload. */
    private interface WithWatch {
        void run(Workload w) throws Exception;
    }

    /** Runs {@code body} on watch.c, then kills it and unmounts the tmpfs it mounted under tmp. */
    private void withWatch(WithWatch body) throws Exception {
        try (Workload w = Workload.c("watch", tmp.resolve("w"))) {
            body.run(w);
        } finally {
            PathsIT.unmountUnder(tmp);
        }
    }

    private static Jcriu.Result dump(Workload w, Path d, Object... extra) throws Exception {
        Files.createDirectories(d);
        List<Object> args = new ArrayList<>(List.of("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log"));
        args.addAll(List.of(extra));
        return Jcriu.run(args.toArray());
    }

    /** Dumps (exit 0) with --force-irmap and {@code extra}: the path recorded for the watch on DIR/a/f. */
    private static String forcedPath(Workload w, Path d, Object... extra) throws Exception {
        List<Object> args = new ArrayList<>(List.of("--force-irmap"));
        args.addAll(List.of(extra));
        Jcriu.Result r = dump(w, d, args.toArray());
        assertEquals(0, r.exit(), r.all());
        return watches(d).get(0).getFHandle().getPath();
    }

    /** Restores, and the workload's watch fires: it passes. */
    private static void restoreAndPass(Workload w, Path d) {
        w.waitGone(Duration.ofSeconds(10));
        Jcriu.restored(w, d);
        assertEquals("PASS", w.terminateAndVerdict());
    }

    /** The watches of the inotify file in files.img, by wd. */
    private static List<InotifyWdEntry> watches(Path d) {
        try (ImageReader r = new ImageDir(d).open(ImageType.FILES)) {
            FileEntry e;
            while ((e = r.read(FileEntry.parser())) != null) {
                if (e.hasIfy()) return e.getIfy().getWdList().stream().sorted(java.util.Comparator.comparingInt(InotifyWdEntry::getWd)).toList();
            }
        }
        throw new AssertionError("no inotify file in " + d);
    }

    @Test
    void watchWhoseNameIsHiddenIsRecordedByHandleAndFiresAfterRestore() throws Exception {
        withWatch(w -> {
            Path d = tmp.resolve("imgs");
            Jcriu.Result r = dump(w, d);
            assertEquals(0, r.exit(), r.all());
            List<InotifyWdEntry> wds = watches(d);
            assertFalse(wds.get(0).getFHandle().hasPath(), "DIR/a/f leads into the tmpfs: no path, as CRIU: " + wds.get(0));
            assertEquals(w.dir().resolve("b").toString(), wds.get(1).getFHandle().getPath());
            Crit.decodes(d, "files.img");
            restoreAndPass(w, d);
        });
    }

    @Test
    void forceIrmapFindsTheOtherNameInTheScanPath() throws Exception {
        withWatch(w -> {
            Path d = tmp.resolve("imgs");
            assertEquals(w.dir().resolve("b/f2").toString(), forcedPath(w, d, "--irmap-scan-path", w.dir().resolve("b")));
            restoreAndPass(w, d);
        });
    }

    @Test
    void forceIrmapWithNothingToFindFailsTheDumpAndTheTaskRunsOn() throws Exception {
        withWatch(w -> {
            Jcriu.Result r = dump(w, tmp.resolve("imgs"), "--force-irmap");
            assertEquals(1, r.exit(), r.all());
            Stat st = Sys.stat(w.dir().resolve("b/f2").toString());
            assertTrue(r.stderr().contains("Can't dump fd 5 (anon_inode:inotify) of task " + w.pid() + ": the inode " + st.ino()
                    + " its watch 1 is on: no path for inode " + st.ino() + " of device " + Stat.major(st.dev()) + ":"
                    + Stat.minor(st.dev()) + " found by the irmap scan"), r.stderr());
            assertTrue(w.alive());
            assertEquals(0, ProcState.tracerPid(w.pid()));
            assertEquals("PASS", w.terminateAndVerdict());
        });
    }

    /** What a pre-dump found is in irmap-cache.img in the work directory: checked, then used. */
    @Test
    void forceIrmapTakesThePathFromTheIrmapCache() throws Exception {
        withWatch(w -> {
            Path work = Files.createDirectories(tmp.resolve("work"));
            Path f2 = w.dir().resolve("b/f2");
            Stat st = Sys.stat(f2.toString());
            try (ImageWriter iw = new ImageDir(work).create(ImageType.IRMAP_CACHE)) {
                // a stale entry first (another inode's path for a made-up key), then the real one
                iw.write(IrmapCacheEntry.newBuilder().setDev(Stat.kdev(st.dev())).setInode(st.ino() + 1000000).setPath(f2.toString()).build());
                iw.write(IrmapCacheEntry.newBuilder().setDev(Stat.kdev(st.dev())).setInode(st.ino()).setPath(f2.toString()).build());
            }
            Path d = tmp.resolve("imgs");
            assertEquals(f2.toString(), forcedPath(w, d, "-W", work));
            assertTrue(Files.readString(work.resolve("dump.log")).contains("found in cache as " + f2), "the cache was not used");
            restoreAndPass(w, d);
        });
    }

    /** A pre-dump writes irmap-cache.img; the dump with --prev-images-dir finds it in the parent images and needs no scan path. */
    @Test
    void preDumpResolvesTheWatchAndTheDumpTakesItFromTheParentImages() throws Exception {
        withWatch(w -> {
            Path pre = Files.createDirectories(tmp.resolve("pre"));
            Jcriu.Result r = Jcriu.run("pre-dump", "-t", w.pid(), "-D", pre, "--force-irmap", "--irmap-scan-path", w.dir().resolve("b"),
                    "-v4", "-o", "pre.log");
            assertEquals(0, r.exit(), r.all());
            assertTrue(w.alive());
            Path f2 = w.dir().resolve("b/f2");
            List<String> cached = new ArrayList<>();
            try (ImageReader ir = new ImageDir(pre).open(ImageType.IRMAP_CACHE)) {
                IrmapCacheEntry e;
                while ((e = ir.read(IrmapCacheEntry.parser())) != null) cached.add(e.getPath());
            }
            // both watches have a path: DIR/b by its handle, the file by the scan
            assertEquals(java.util.Set.of(f2.toString(), w.dir().resolve("b").toString()), java.util.Set.copyOf(cached));
            Path d = tmp.resolve("imgs");
            assertEquals(f2.toString(), forcedPath(w, d, "--prev-images-dir", "../pre"));
            restoreAndPass(w, d);
        });
    }
}
