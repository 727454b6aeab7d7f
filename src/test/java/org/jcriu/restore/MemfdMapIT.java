package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.MemfdInodeEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.RemapFilePathEntry;
import org.jcriu.image.proto.RemapType;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.testing.Crit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mappings of memfds and of unlinked files through dump and restore of a parent and its child
 * (memfdmap.c): the images are CRIU's (a memfd VMA is VMA_AREA_MEMFD with shmid = a MEMFD file id
 * whose inode entry is the one the memfd's fd names, its pages saved once for the inode; an
 * unlinked file's VMA names a reg file remapped to a ghost file), /proc/PID/maps reads as before
 * ("/memfd:NAME (deleted)", "PATH (deleted)"), and after restore the child's writes, through its
 * fd and its mapping, are seen in the parent's mapping: one object, as before the dump.
 */
class MemfdMapIT {
    private static final int REGULAR = 1, FILE_PRIVATE = 1 << 6, FILE_SHARED = 1 << 7, MEMFD = 1 << 14;
    private static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;

    @TempDir
    Path tmp;

    /** A memfd mapped shared (twice) and private by a parent without its fd and a child with it. */
    @Test
    void memfdMappedByParentAndChildStaysOneMemfd() throws Exception {
        try (Workload w = Workload.c("memfdmap", tmp.resolve("w"), "memfd")) {
            int[] pids = pids(w);
            Path d = roundTrip(w, pids);
            MmEntry mm = mm(d, pids[0]);
            List<VmaEntry> vmas = mm.getVmasList().stream().filter(v -> (v.getStatus() & MEMFD) != 0).toList();
            assertEquals(3, vmas.size(), "memfd VMAs of the parent: " + vmas);
            List<FileEntry> files = files(d);
            for (VmaEntry v : vmas) {
                boolean shared = (v.getFlags() & MAP_SHARED) != 0;
                assertEquals(REGULAR | MEMFD | (shared ? FILE_SHARED : FILE_PRIVATE), v.getStatus(), v.toString());
                assertEquals(0, v.getFlags() & MAP_ANONYMOUS, v.toString());
                FileEntry f = files.stream().filter(e -> e.getId() == v.getShmid()).findFirst().orElseThrow();
                assertEquals(FdTypes.MEMFD, f.getType(), "vma_entry.shmid names a MEMFD file: " + f);
                assertEquals(0, f.getMemfd().getPos());
            }
            List<MemfdInodeEntry> inodes = all(d, ImageType.MEMFD_INODE, MemfdInodeEntry.parser());
            assertEquals(1, inodes.size(), "one memfd inode for the child's fd and every mapping: " + inodes);
            MemfdInodeEntry mie = inodes.get(0);
            assertEquals("jcriu-map", mie.getName());
            assertEquals(4 * 4096 + 100, mie.getSize());
            assertTrue(files.stream().filter(e -> e.getType() == FdTypes.MEMFD).allMatch(e -> e.getMemfd().getInodeId() == mie.getInodeId()));
            assertTrue(Files.exists(d.resolve("pagemap-shmem-" + mie.getShmid() + ".img")), "the inode's pages");
            String ours = crit(Path.of("bin/jcrit").toAbsolutePath(), d.resolve("mm-" + pids[0] + ".img"));
            assertTrue(ours.contains("\"status\": \"VMA_AREA_REGULAR | VMA_FILE_SHARED | VMA_AREA_MEMFD\""), ours);
            assertTrue(ours.contains("\"status\": \"VMA_AREA_REGULAR | VMA_FILE_PRIVATE | VMA_AREA_MEMFD\""), ours);
            Crit.decodes(d, "mm-" + pids[0] + ".img", "mm-" + pids[1] + ".img", "files.img", "memfd.img",
                    "pagemap-shmem-" + mie.getShmid() + ".img");
        }
    }

    /** A file mapped shared and private, then unlinked, its fd closed in both tasks. */
    @Test
    void unlinkedFileMappedSharedWithItsFdClosed() throws Exception {
        try (Workload w = Workload.c("memfdmap", tmp.resolve("w"), "unlinked")) {
            int[] pids = pids(w);
            Path d = roundTrip(w, pids);
            MmEntry mm = mm(d, pids[0]);
            List<FileEntry> files = files(d);
            List<RemapFilePathEntry> remaps = all(d, ImageType.REMAP_FPATH, RemapFilePathEntry.parser());
            String name = w.dir().resolve("file").toString();
            int mapped = 0;
            for (VmaEntry v : mm.getVmasList()) {
                FileEntry f = files.stream().filter(e -> e.getId() == v.getShmid() && e.getType() == FdTypes.REG).findFirst().orElse(null);
                if ((v.getStatus() & (FILE_SHARED | FILE_PRIVATE)) == 0 || f == null || !f.getReg().getName().equals(name)) continue;
                mapped++;
                assertTrue(remaps.stream().anyMatch(r -> r.getOrigId() == f.getId() && r.getRemapType() == RemapType.GHOST),
                        "reg file " + f.getId() + " of the unlinked mapping is remapped to a ghost: " + remaps);
            }
            assertEquals(2, mapped, "VMAs of the unlinked file");
            assertTrue(Files.exists(d.resolve("ghost-file-1.img")));
            assertFalse(Files.exists(w.dir().resolve("file")), "the ghost was unlinked again after the restore");
            Crit.decodes(d, "mm-" + pids[0] + ".img", "files.img", "remap-fpath.img", "ghost-file-1.img");
        }
    }

    /**
     * A file mapped shared and private whose name was unlinked while a second hard link keeps it:
     * refused without --link-remap (the task left running), and with it linked back at restore, so
     * the restored mappings are the file itself (the child's write is read through the other link).
     */
    @Test
    void unlinkedFileKeptByAnotherLinkIsLinkRemapped() throws Exception {
        try (Workload w = Workload.c("memfdmap", tmp.resolve("w"), "linked")) {
            int[] pids = pids(w);
            Jcriu.Result refused = Jcriu.run("dump", "-t", w.pid(), "-D", Files.createDirectories(tmp.resolve("refused")));
            assertEquals(1, refused.exit(), refused.all());
            assertTrue(refused.stderr().contains("dump with --link-remap"), refused.stderr());
            assertTrue(w.alive());
            assertEquals(0, ProcState.tracerPid(w.pid()));
            Path d = roundTrip(w, pids, "--link-remap");
            List<RemapFilePathEntry> remaps = all(d, ImageType.REMAP_FPATH, RemapFilePathEntry.parser());
            assertTrue(remaps.stream().anyMatch(r -> r.getRemapType() == RemapType.LINKED), remaps.toString());
            try (var ls = Files.list(w.dir())) {
                assertEquals(List.of(), ls.filter(p -> p.getFileName().toString().startsWith("link_remap.")).toList(), "link remaps left behind");
            }
        }
    }

    /**
     * A memfd sealed against writes (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) and mapped shared
     * read-only afterwards: after restore it has its contents and seals, writes are refused, and
     * maps reads as before (the seal can only be added back if no mapping of it could be made writable).
     */
    @Test
    void writeSealedMemfdMappedReadOnlyKeepsItsSeals() throws Exception {
        Path wd = tmp.resolve("w");
        String dir = "'" + wd + "'";
        String py = "import os, mmap, fcntl, signal\n"
                + "fd = os.memfd_create('sealed', os.MFD_ALLOW_SEALING)\nos.write(fd, b'abc' * 2000)\n"
                + "seals = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW\nfcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)\n"
                + "m = mmap.mmap(fd, 6000, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)\n"
                + "term = []\nsignal.signal(signal.SIGTERM, lambda *a: term.append(1))\n"
                + "open(os.path.join(" + dir + ", '.r'), 'w').write(str(os.getpid()))\n"
                + "os.rename(os.path.join(" + dir + ", '.r'), os.path.join(" + dir + ", 'ready'))\n"
                + "while not term: signal.pause()\n"
                + "why = []\n"
                + "if m[:] != b'abc' * 2000: why.append('contents')\n"
                + "if fcntl.fcntl(fd, fcntl.F_GET_SEALS) != seals: why.append('seals %#x' % fcntl.fcntl(fd, fcntl.F_GET_SEALS))\n"
                + "try:\n    os.pwrite(fd, b'x', 0)\n    why.append('a write was allowed')\nexcept PermissionError:\n    pass\n"
                + "if '/memfd:sealed (deleted)' not in open('/proc/self/maps').read(): why.append('maps')\n"
                + "open(os.path.join(" + dir + ", 'verdict'), 'w').write('FAIL ' + ', '.join(why) if why else 'PASS')\n";
        try (Workload w = Workload.start(wd, List.of("python3", "-c", py), false)) {
            // only the memfd's line: python's adjacent anonymous areas may come back merged
            roundTrip(w, new int[] {w.pid()}, l -> l.contains("/memfd:"));
        }
    }

    private static int[] pids(Workload w) throws IOException {
        String[] p = Files.readString(w.dir().resolve("pids")).trim().split(" ");
        w.alsoKill(Integer.parseInt(p[1]));
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }

    /** Dumps and restores the tree, checks both tasks' maps read as before, then the workload's verdict. */
    private Path roundTrip(Workload w, int[] pids, String... dumpArgs) throws IOException {
        return roundTrip(w, pids, l -> true, dumpArgs);
    }

    /** As above, comparing only the maps lines {@code lines} accepts. */
    private Path roundTrip(Workload w, int[] pids, java.util.function.Predicate<String> lines, String... dumpArgs) throws IOException {
        List<List<String>> before = new ArrayList<>();
        for (int p : pids) before.add(Maps.of(p).stream().filter(lines).toList());
        Path d = Files.createDirectories(tmp.resolve("imgs"));
        List<Object> args = new ArrayList<>(List.of("dump", "-t", w.pid(), "-D", d, "-v4", "-o", "dump.log"));
        args.addAll(List.of(dumpArgs));
        Jcriu.Result r = Jcriu.run(args.toArray());
        assertEquals(0, r.exit(), r.all());
        w.waitGone(Duration.ofSeconds(10));
        r = Jcriu.run("restore", "-d", "-D", d, "-v4", "-o", "restore.log");
        assertEquals(0, r.exit(), r.all() + org.jcriu.testing.Logs.tail(d.resolve("restore.log")));
        for (int i = 0; i < pids.length; i++) {
            assertEquals(before.get(i), Maps.of(pids[i]).stream().filter(lines).toList(), "maps of task " + pids[i]);
            assertEquals(0, ProcState.tracerPid(pids[i]));
        }
        String v = w.terminateAndVerdict();
        assertTrue(v.startsWith("PASS"), v);
        return d;
    }

    private static MmEntry mm(Path d, int pid) throws IOException {
        try (ImageReader rd = new ImageDir(d).open(ImageType.MM, pid)) {
            return rd.readOne(MmEntry.parser());
        }
    }

    private static List<FileEntry> files(Path d) {
        return all(d, ImageType.FILES, FileEntry.parser());
    }

    private static <T> List<T> all(Path d, ImageType t, com.google.protobuf.Parser<T> p) {
        List<T> out = new ArrayList<>();
        try (ImageReader rd = new ImageDir(d).open(t)) {
            T x;
            while ((x = rd.read(p)) != null) out.add(x);
        }
        return out;
    }

    private static String crit(Path crit, Path img) throws Exception {
        Process pr = new ProcessBuilder(crit.toString(), "decode", "--pretty", "-i", img.toString()).redirectErrorStream(true).start();
        String out = new String(pr.getInputStream().readAllBytes());
        assertEquals(0, pr.waitFor(), "crit decode " + img + ": " + out);
        return out;
    }
}
