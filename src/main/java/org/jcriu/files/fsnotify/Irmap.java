package org.jcriu.files.fsnotify;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.IrmapCacheEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Inode reverse mapping, as CRIU's irmap: finds a path for a (device, inode) an fsnotify mark
 * watches when its file handle gives none that leads back to it (a file whose name the handle
 * reports is now hidden, while another hard link still names it). The kernel has no such
 * lookup, so directories are scanned: the --irmap-scan-path directories first, in their order,
 * then CRIU's hints (/etc, /var/spool, /var/log, the D-Bus and polkit directories, /lib/udev,
 * and / itself without its contents). Every name stat'ed on the way is remembered, so later
 * lookups in one dump are cheap.
 *
 * <p>irmap-cache.img (in the work directory, or in the parent images of --prev-images-dir)
 * holds paths found earlier, by a pre-dump: they are used after checking that the path still
 * leads to the same inode.
 */
public final class Irmap {
    private static final Logger LOG = Log.get("irmap");
    /** CRIU's hints, with -1 = "scan below it" and 0 = "this path only". */
    private static final Object[][] HINTS = {
        {"/etc", -1}, {"/var/spool", -1}, {"/var/log", -1}, {"/usr/share/dbus-1/services", -1},
        {"/usr/share/dbus-1/system-services", -1}, {"/var/lib/polkit-1/localauthority", -1},
        {"/usr/share/polkit-1/actions", -1}, {"/lib/udev", -1}, {"/.", 0}, {"/no-such-path", -1},
    };

    /** A name in the scanned trees: stat'ed and listed lazily, once. */
    private static final class Node {
        final String path;
        boolean scanKids;
        boolean statted;
        boolean missing;
        int dev;
        long ino;
        List<Node> kids;

        Node(String path, boolean scanKids) {
            this.path = path;
            this.scanKids = scanKids;
        }
    }

    private record Key(int dev, long ino) {}

    private final List<Node> roots = new ArrayList<>();
    /** (dev, ino) -> path: every name stat'ed so far, and the cache image's entries (revalidated on use). */
    private final Map<Key, String> known = new HashMap<>();
    private final java.util.Set<Key> fromImage = new java.util.HashSet<>();
    private long scanned;

    public Irmap(List<String> scanPaths) {
        for (String p : scanPaths) roots.add(new Node(p, true));
        for (Object[] h : HINTS) roots.add(new Node((String) h[0], (int) h[1] < 0));
    }

    /** The dump's irmap: --irmap-scan-path, and irmap-cache.img from the work directory or the parent images. */
    static Irmap of(org.jcriu.files.DumpFiles files) {
        return files.state(Irmap.class, () -> {
            Options o = files.options();
            Irmap m = new Irmap(o.irmapScanPath);
            m.loadCache(o);
            return m;
        });
    }

    void loadCache(Options o) {
        List<Path> dirs = new ArrayList<>();
        if (o.workDir != null) dirs.add(o.workDir);
        if (o.imagesDir != null) {
            if (o.workDir == null) dirs.add(o.imagesDir);
            dirs.add(o.imagesDir.resolve("parent"));
        }
        for (Path d : dirs) {
            if (!java.nio.file.Files.exists(d.resolve(ImageType.IRMAP_CACHE.fileName()))) continue;
            int n = 0;
            try (ImageReader r = new ImageDir(d).open(ImageType.IRMAP_CACHE)) {
                IrmapCacheEntry e;
                while ((e = r.read(IrmapCacheEntry.parser())) != null) {
                    Key k = new Key(e.getDev(), e.getInode());
                    known.putIfAbsent(k, e.getPath());
                    fromImage.add(k);
                    n++;
                }
            }
            LOG.info("%d entries of irmap cache loaded from %s", n, d);
            return;
        }
        LOG.debug("no irmap cache");
    }

    /** A path that names inode {@code ino} of kernel device {@code sdev}, or null. */
    public String lookup(int sdev, long ino) {
        Key k = new Key(sdev, ino);
        String p = known.get(k);
        if (p != null && fromImage.remove(k) && !leadsTo(p, k)) {
            LOG.debug("cached %s is no longer %x:%x", p, sdev, ino);
            known.remove(k);
            p = null;
        }
        if (p != null) {
            LOG.debug("%x:%x found in cache as %s", sdev, ino, p);
            return p;
        }
        long t0 = System.nanoTime();
        try {
            for (Node r : roots) {
                LOG.debug("scanning %s", r.path);
                Node n = scan(r, k);
                if (n != null) {
                    LOG.info("%x:%x resolved to %s", sdev, ino, n.path);
                    return n.path;
                }
            }
            return null;
        } finally {
            LOG.debug("%d names stat'ed in %d us", scanned, (System.nanoTime() - t0) / 1000);
        }
    }

    private static boolean leadsTo(String path, Key k) {
        try {
            Stat st = Sys.lstat(path);
            return Stat.kdev(st.dev()) == k.dev() && st.ino() == k.ino();
        } catch (ErrnoException ex) {
            return false;
        }
    }

    /** Depth first, as CRIU: the node itself, then each of its entries in directory order. */
    private Node scan(Node n, Key k) {
        if (!stat(n)) return null;
        if (n.dev == k.dev() && n.ino == k.ino()) return n;
        if (n.kids == null && n.scanKids) n.kids = list(n);
        if (n.kids == null) return null;
        for (Node c : n.kids) {
            Node f = scan(c, k);
            if (f != null) return f;
        }
        return null;
    }

    private boolean stat(Node n) {
        if (n.statted) return !n.missing;
        n.statted = true;
        try {
            Stat st = Sys.lstat(n.path);
            scanned++;
            n.dev = Stat.kdev(st.dev());
            n.ino = st.ino();
            if ((st.mode() & Linux.S_IFMT) != Linux.S_IFDIR) n.scanKids = false;
            known.putIfAbsent(new Key(n.dev, n.ino), n.path);
            return true;
        } catch (ErrnoException ex) {
            n.missing = true;
            return false;
        }
    }

    private static List<Node> list(Node n) {
        List<Node> out = new ArrayList<>();
        String base = n.path.endsWith("/") ? n.path : n.path + "/";
        try (var ds = java.nio.file.Files.newDirectoryStream(Path.of(n.path))) {
            for (Path c : ds) out.add(new Node(base + c.getFileName(), true));
        } catch (java.io.IOException | RuntimeException ex) {
            LOG.warn("Can't list %s: %s", n.path, ex.getMessage());
            return null;
        }
        return out;
    }

    /**
     * The pre-dump's part (CRIU's irmap_predump_run), called once the tasks run again: resolves
     * the inode of every inotify watch and fanotify inode mark of {@code pids} as a dump would,
     * and writes what has a path to irmap-cache.img in the work directory, so that the dump that
     * follows, with the tasks frozen, only has to check those paths.
     */
    public static void preDump(List<Integer> pids, Options opts) {
        Irmap irmap = new Irmap(opts.irmapScanPath);
        List<IrmapCacheEntry> out = new ArrayList<>();
        java.util.Set<Key> done = new java.util.HashSet<>();
        for (int pid : pids) {
            for (org.jcriu.files.OpenFd fd : org.jcriu.files.DumpFiles.scan(pid)) {
                if (!fd.link().equals("anon_inode:inotify") && !fd.link().equals("anon_inode:[fanotify]")) continue;
                for (InotifyHandler.Mark m : InotifyHandler.inodeMarks(fd.info().text())) {
                    if (!done.add(new Key(m.sdev(), m.ino()))) continue;
                    String p;
                    try {
                        p = Handles.resolve(m.sdev(), m.ino(), m.handle(), opts.forceIrmap, () -> irmap);
                    } catch (org.jcriu.CriuException ex) {
                        throw new org.jcriu.CriuException(ex.errno(), "Failed to resolve " + Handles.kdevName(m.sdev()) + " inode "
                                + m.ino() + " (" + fd.describe() + "): " + ex.getMessage(), ex);
                    }
                    if (p == null) continue;
                    LOG.info("irmap cache %x:%x -> %s", m.sdev(), m.ino(), p);
                    out.add(IrmapCacheEntry.newBuilder().setDev(m.sdev()).setInode(m.ino()).setPath(p).build());
                }
            }
        }
        Path dir = opts.workDir != null ? opts.workDir : opts.imagesDir;
        try (ImageWriter w = new ImageDir(dir).create(ImageType.IRMAP_CACHE)) {
            for (IrmapCacheEntry e : out) w.write(e);
        }
    }
}
