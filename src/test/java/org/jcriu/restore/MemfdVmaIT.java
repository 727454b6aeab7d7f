package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.image.proto.MemfdFileEntry;
import org.jcriu.image.proto.MemfdInodeEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VMA_AREA_MEMFD mappings as CRIU 4.2 writes them for shared anonymous memory (the sink fixture:
 * status REGULAR | FILE_SHARED | MEMFD, no MAP_ANONYMOUS, shmid = a MEMFD file entry whose
 * memfd.img inode is named "/dev/zero"), restored by jcriu: a jcriu dump of a parent and child
 * sharing an object (shmfork.c) is rewritten into that layout, then restored. Named "/dev/zero",
 * the object comes back as shared anonymous memory (maps unchanged); under another name, as a
 * memfd of that name. Either way parent and child map one object (the workload's verdict).
 */
class MemfdVmaIT {
    private static final int MAP_ANONYMOUS = 0x20, REGULAR = 1, FILE_SHARED = 1 << 7, ANON_SHARED = 1 << 8, SYSVIPC = 1 << 10,
            MEMFD = 1 << 14;

    @TempDir
    Path tmp;

    @Test
    void criuLayoutOfSharedAnonymousMemoryRestores() throws Exception {
        roundTrip("/dev/zero");
    }

    @Test
    void criuLayoutOfANamedMemfdMappingRestores() throws Exception {
        roundTrip("jcriu-mapped");
    }

    private void roundTrip(String name) throws Exception {
        try (Workload w = Workload.c("shmfork", tmp.resolve("w"))) {
            String[] pids = Files.readString(w.dir().resolve("pids")).strip().split(" ");
            int parent = Integer.parseInt(pids[0]), child = Integer.parseInt(pids[1]);
            w.alsoKill(child);
            long addr = Long.parseLong(Files.readString(w.dir().resolve("addr")).strip(), 16);
            List<String> before = Maps.of(parent);
            Path d = Files.createDirectories(tmp.resolve("imgs"));
            Jcriu.Result r = Jcriu.run("dump", "-t", parent, "-D", d);
            assertEquals(0, r.exit(), r.all());
            w.waitGone(Duration.ofSeconds(10));
            ProcState.waitGone(child, Duration.ofSeconds(10));
            assertEquals(1, toCriuMemfdLayout(new ImageDir(d), name), "objects rewritten");

            r = Jcriu.run("restore", "-d", "-D", d);
            assertEquals(0, r.exit(), r.all());
            String range = String.format("%x-%x", addr, addr + 4 * 4096);
            assertEquals(org.jcriu.sys.Sys.stat("/proc/" + parent + "/map_files/" + range).ino(),
                    org.jcriu.sys.Sys.stat("/proc/" + child + "/map_files/" + range).ino(), "parent and child map one object");
            String link = Files.readSymbolicLink(Path.of("/proc/" + parent + "/map_files/" + range)).toString();
            if (name.equals("/dev/zero")) {
                assertEquals(before, Maps.of(parent), "maps as dumped: shared anonymous memory again");
            } else {
                assertEquals("/memfd:" + name + " (deleted)", link);
            }
            String v = w.terminateAndVerdict();
            assertTrue(v.startsWith("PASS"), v);
        }
    }

    /** Rewrites every task's ANON_SHARED VMAs as CRIU 4.2's memfd mappings; returns how many objects. */
    private static int toCriuMemfdLayout(ImageDir dir, String name) throws Exception {
        List<FileEntry> files = new ArrayList<>();
        try (ImageReader rd = dir.open(ImageType.FILES)) {
            for (FileEntry e; (e = rd.read(FileEntry.parser())) != null; ) files.add(e);
        }
        int nextId = files.stream().mapToInt(FileEntry::getId).max().orElse(0) + 1;
        Map<Long, Integer> fileOf = new HashMap<>();
        Map<Long, Long> extent = new HashMap<>();
        List<PstreeEntry> tree = new ArrayList<>();
        try (ImageReader rd = dir.open(ImageType.PSTREE)) {
            for (PstreeEntry e; (e = rd.read(PstreeEntry.parser())) != null; ) tree.add(e);
        }
        for (PstreeEntry t : tree) {
            MmEntry mm = MemoryKindsIT.mm(dir.dir(), t.getPid());
            MmEntry.Builder b = mm.toBuilder().clearVmas();
            for (VmaEntry v : mm.getVmasList()) {
                if ((v.getStatus() & ANON_SHARED) != 0 && (v.getStatus() & SYSVIPC) == 0) {
                    int id = fileOf.computeIfAbsent(v.getShmid(), k -> 0);
                    if (id == 0) fileOf.put(v.getShmid(), id = nextId++);
                    extent.merge(v.getShmid(), v.getPgoff() + v.getEnd() - v.getStart(), Math::max);
                    v = v.toBuilder().setStatus(REGULAR | FILE_SHARED | MEMFD).setFlags(v.getFlags() & ~MAP_ANONYMOUS)
                            .setShmid(id).setFdflags(2).build();
                }
                b.addVmas(v);
            }
            try (ImageWriter w = dir.create(ImageType.MM, t.getPid())) {
                w.write(b.build());
            }
        }
        List<MemfdInodeEntry> inodes = new ArrayList<>();
        for (var e : fileOf.entrySet()) {
            int inode = inodes.size() + 1;
            files.add(FileEntry.newBuilder().setType(FdTypes.MEMFD).setId(e.getValue()).setMemfd(MemfdFileEntry.newBuilder()
                    .setId(e.getValue()).setFlags(0).setPos(0).setInodeId(inode)
                    .setFown(FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0))).build());
            inodes.add(MemfdInodeEntry.newBuilder().setName(name).setUid(0).setGid(0).setSize(extent.get(e.getKey()))
                    .setShmid((int) (long) e.getKey()).setSeals(1).setInodeId(inode).setMode(0100777).build());
        }
        try (ImageWriter w = dir.create(ImageType.FILES)) {
            for (FileEntry f : files) w.write(f);
        }
        try (ImageWriter w = dir.create(ImageType.MEMFD_INODE)) {
            for (MemfdInodeEntry m : inodes) w.write(m);
        }
        return inodes.size();
    }
}
