package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.jcriu.image.Fixtures;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.testing.Jcriu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CRIU 4.2's bash-loop tree (bash and its sleep child) with one shared anonymous object added to
 * both tasks, as a parent and child that shared memory across fork are dumped: after restore
 * both map the very same object (one inode, each one's writes seen by the other), filled once
 * from pagemap-shmem-SHMID.img. Tasks are left stopped, so the 0.2 s sleep cannot end first.
 */
class SharedAnonTreeIT {
    static final int BASH = RestoreTreeFixtureIT.BASH, SLEEP = RestoreTreeFixtureIT.SLEEP;
    static final long AT = 0x6a0000000000L, SIZE = 4 * 4096, SHMID = 777;
    static final int PAGES_ID = 99;

    @TempDir
    Path tmp;
    Path dump;
    final List<PidLock> locks = new ArrayList<>();
    boolean restored;

    @BeforeEach
    void copyFixture() throws IOException {
        dump = Fixtures.copy("bash-loop", tmp.resolve("bash-loop"));
        for (int pid : new int[] {BASH, SLEEP, RestoreTreeFixtureIT.ZOMBIE, RestoreTreeFixtureIT.KILLED, RestoreTreeFixtureIT.GONE_LEADER}) {
            locks.add(PidLock.takeFree(pid));
        }
    }

    @AfterEach
    void killRestored() throws IOException {
        if (restored) {
            Procs.kill(SLEEP); // only the PIDs this test restored
            Procs.kill(BASH);
        }
        for (PidLock l : locks) l.close();
    }

    private void addObject(int pid) throws IOException {
        Path f = dump.resolve("mm-" + pid + ".img");
        MmEntry mm;
        try (ImageReader r = ImageReader.open(f, ImageType.MM)) {
            mm = r.readOne(MmEntry.parser());
        }
        List<VmaEntry> vmas = new ArrayList<>(mm.getVmasList());
        int at = 0;
        while (at < vmas.size() && Long.compareUnsigned(vmas.get(at).getStart(), AT) < 0) at++;
        vmas.add(at, VmaEntry.newBuilder().setStart(AT).setEnd(AT + SIZE).setPgoff(0).setShmid(SHMID).setProt(3)
                .setFlags(0x21).setStatus(Vma.REGULAR | Vma.ANON_SHARED).setFd(-1).build());
        Files.delete(f);
        try (ImageWriter w = new ImageDir(dump).create(ImageType.MM, pid)) {
            w.write(mm.toBuilder().clearVmas().addAllVmas(vmas).build());
        }
    }

    private static byte[] mem(int pid, long addr, int n) throws IOException {
        try (FileChannel ch = FileChannel.open(Path.of("/proc/" + pid + "/mem"), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(n);
            while (b.hasRemaining()) if (ch.read(b, addr + b.position()) <= 0) break;
            return b.array();
        }
    }

    @Test
    void parentAndChildMapOneObject() throws IOException {
        addObject(BASH);
        addObject(SLEEP);
        byte[] page = new byte[4096];
        for (int i = 0; i < page.length; i++) page[i] = (byte) (i * 7 + 1);
        try (ImageWriter w = new ImageDir(dump).create(ImageType.SHMEM_PAGEMAP, SHMID)) {
            w.write(PagemapHead.newBuilder().setPagesId(PAGES_ID).build());
            w.write(PagemapEntry.newBuilder().setVaddr(4096).setCompatNrPages(0).setFlags(4).setNrPages(1).build());
        }
        Files.write(new ImageDir(dump).path(ImageType.PAGES, PAGES_ID), page);

        Jcriu.Result r = Jcriu.run("restore", "-d", "--leave-stopped", "-D", dump, "-v4", "-o", "restore.log");
        restored = true;
        assertEquals(0, r.exit(), r.all());
        String range = String.format("%x-%x", AT, AT + SIZE);
        var a = org.jcriu.sys.Sys.stat("/proc/" + BASH + "/map_files/" + range);
        var b = org.jcriu.sys.Sys.stat("/proc/" + SLEEP + "/map_files/" + range);
        assertEquals(a.dev() + ":" + a.ino(), b.dev() + ":" + b.ino(), "parent and child map one object");
        assertArrayEquals(page, mem(BASH, AT + 4096, 4096), "the object's page, filled once");
        assertArrayEquals(page, mem(SLEEP, AT + 4096, 4096));
        assertArrayEquals(new byte[4096], mem(SLEEP, AT, 4096), "a page the object never held");
        try (FileChannel ch = FileChannel.open(Path.of("/proc/" + SLEEP + "/mem"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("written by the child".getBytes()), AT + 2 * 4096);
        }
        assertEquals("written by the child", new String(mem(BASH, AT + 2 * 4096, 20)), "the parent sees the child's write");
        String log = Files.readString(dump.resolve("restore.log"));
        assertTrue(log.contains("shared memory object " + SHMID + " of task " + SLEEP + " is task " + BASH + "'s"), log);
    }
}
