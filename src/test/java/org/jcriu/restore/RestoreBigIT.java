package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
import org.junit.jupiter.api.Test;

/**
 * A 1 GiB anonymous VMA added to the CRIU sleep fixture, in tmpfs: every page must arrive, and
 * the time is printed next to dd writing 1 GiB to the same directory (the figure the restore is
 * judged against; not asserted, because a shared 2-CPU machine makes timings noisy).
 */
class RestoreBigIT {
    static final int PID = RestoreFixtureIT.PID;
    static final long BASE = 0x7ffe80000000L, SIZE = 1L << 30;
    Path dir;
    PidLock lock;
    boolean pidIsOurs;

    @AfterEach
    void cleanup() throws IOException {
        if (lock == null) return;
        if (pidIsOurs) Procs.kill(PID); // never a process this test did not restore
        lock.close();
        if (dir != null) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.toList()) Files.delete(p);
            }
            Files.delete(dir);
        }
    }

    @Test
    void oneGibFromTmpfs() throws Exception {
        Path root = Fixtures.root();
        assumeTrue(root != null, "no CRIU fixtures (../shared) here");
        lock = PidLock.take(PID);
        assumeTrue(!Procs.exists(PID), "PID " + PID + " is in use on this machine");
        pidIsOurs = true;
        assumeTrue(Files.isDirectory(Path.of("/dev/shm")));
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "jcriu-big");
        try (Stream<Path> s = Files.list(root.resolve("sleep"))) {
            for (Path p : s.filter(Files::isRegularFile).toList()) Files.copy(p, dir.resolve(p.getFileName()));
        }
        Files.createDirectories(Path.of("/srv/jcriu-fixture"));
        addBigVma(dir);

        long restoreMs = Jcriu.okMillis("restore", "-d", "-D", dir);
        assertTrue(Procs.exists(PID));
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + PID + "/mem", "r")) {
            for (long off : new long[] {0, 4096, SIZE / 2 + 12288, SIZE - 4096}) {
                byte[] got = new byte[4096];
                mem.seek(BASE + off);
                mem.readFully(got);
                assertArrayEquals(pattern(off), got, "page at offset " + off);
            }
        }
        Procs.kill(PID);

        Path dd = dir.resolve("dd.out");
        long d0 = System.nanoTime();
        Process p = new ProcessBuilder("dd", "if=/dev/zero", "of=" + dd, "count=" + (SIZE / 512)).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor());
        long ddMs = (System.nanoTime() - d0) / 1_000_000;
        Files.delete(dd);
        System.out.printf("restore of 1 GiB from tmpfs: %d ms (jcriu wall time); dd of 1 GiB (bs=512): %d ms; ratio %.2f%n",
                restoreMs, ddMs, (double) restoreMs / ddMs);
    }

    static byte[] pattern(long off) {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4096; i += 8) b.putLong(i, off + i + 0x1234567L);
        return b.array();
    }

    /** One more VMA above the stack, its pages appended to pages-1.img (last in pagemap order). */
    static void addBigVma(Path d) throws IOException {
        ImageDir id = new ImageDir(d);
        MmEntry mm;
        try (ImageReader r = id.open(ImageType.MM, PID)) {
            mm = r.readOne(MmEntry.parser());
        }
        List<VmaEntry> vmas = new ArrayList<>(mm.getVmasList());
        vmas.add(vmas.size() - 1, VmaEntry.newBuilder().setStart(BASE).setEnd(BASE + SIZE).setPgoff(0).setShmid(0)
                .setProt(3).setFlags(0x22).setStatus(Vma.REGULAR | Vma.ANON_PRIVATE).setFd(-1).build());
        Files.delete(id.path(ImageType.MM, PID));
        try (ImageWriter w = id.create(ImageType.MM, PID)) {
            w.write(mm.toBuilder().clearVmas().addAllVmas(vmas).build());
        }
        PagemapHead head;
        List<PagemapEntry> es = new ArrayList<>();
        try (ImageReader r = id.open(ImageType.PAGEMAP, PID)) {
            head = r.readOne(PagemapHead.parser());
            PagemapEntry e;
            while ((e = r.read(PagemapEntry.parser())) != null) es.add(e);
        }
        es.add(PagemapEntry.newBuilder().setVaddr(BASE).setCompatNrPages(0).setFlags(6).setNrPages(SIZE / 4096).build());
        Files.delete(id.path(ImageType.PAGEMAP, PID));
        try (ImageWriter w = id.create(ImageType.PAGEMAP, PID)) {
            w.write(head);
            for (PagemapEntry e : es) w.write(e);
        }
        try (FileChannel ch = FileChannel.open(id.path(ImageType.PAGES, 1), StandardOpenOption.APPEND)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (long off = 0; off < SIZE; off += 1 << 20) {
                buf.clear();
                for (int i = 0; i < (1 << 20); i += 8) buf.putLong(i, off + i + 0x1234567L);
                while (buf.hasRemaining()) ch.write(buf);
            }
        }
    }
}
