package org.jcriu.files.fsnotify;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.IrmapCacheEntry;
import org.jcriu.opts.Options;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IrmapTest {
    @TempDir Path tmp;

    private static Stat st(Path p) {
        return Sys.lstat(p.toString());
    }

    @Test
    void scanPathsFindFilesAndDirectoriesBelowThem() throws Exception {
        Path deep = Files.createDirectories(tmp.resolve("s/a/b/c"));
        Path f = Files.writeString(deep.resolve("f"), "x");
        Path g = Files.writeString(tmp.resolve("s/a/g"), "y");
        Irmap m = new Irmap(List.of(tmp.resolve("s").toString()));
        assertEquals(f.toString(), m.lookup(Stat.kdev(st(f).dev()), st(f).ino()));
        assertEquals(g.toString(), m.lookup(Stat.kdev(st(g).dev()), st(g).ino()));
        assertEquals(deep.toString(), m.lookup(Stat.kdev(st(deep).dev()), st(deep).ino()), "directories are found too");
        assertNull(m.lookup(Stat.kdev(st(f).dev()), st(tmp).ino()), "not under the scan path nor the hints");
    }

    @Test
    void cacheEntriesAreCheckedAgainstTheInodeBeforeUse() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path f = Files.writeString(tmp.resolve("f"), "x");
        Path other = Files.writeString(tmp.resolve("other"), "y");
        int dev = Stat.kdev(st(f).dev());
        try (ImageWriter w = new ImageDir(work).create(ImageType.IRMAP_CACHE)) {
            w.write(IrmapCacheEntry.newBuilder().setDev(dev).setInode(st(f).ino()).setPath(f.toString()).build());
            // stale: the path now names another inode
            w.write(IrmapCacheEntry.newBuilder().setDev(dev).setInode(st(f).ino() + 12345).setPath(other.toString()).build());
        }
        Options o = new Options();
        o.workDir = work;
        Irmap m = new Irmap(List.of());
        m.loadCache(o);
        assertEquals(f.toString(), m.lookup(dev, st(f).ino()));
        assertNull(m.lookup(dev, st(f).ino() + 12345));
    }
}
