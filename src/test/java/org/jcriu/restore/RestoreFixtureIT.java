package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.Fixtures;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.SiginfoEntry;
import org.jcriu.image.proto.SignalQueueEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.testing.Images;
import org.jcriu.testing.Jcriu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images written by upstream CRIU 4.2 ({@code sleep 1000}, PID 21070) must come back to life
 * under jcriu, and every way of failing must say what failed and leave nothing behind. Skipped
 * when the fixtures are absent or the PID is taken on this machine.
 */
class RestoreFixtureIT {
    static final int PID = 21070;

    @TempDir
    Path tmp;
    Path dump;
    PidLock lock;
    boolean pidIsOurs;

    @BeforeEach
    void copyFixture() throws IOException {
        dump = Fixtures.copy("sleep", tmp.resolve("sleep"));
        lock = PidLock.takeFree(PID);
        pidIsOurs = true;
        // the dumped task's cwd
        Files.createDirectories(Path.of("/srv/jcriu-fixture"));
    }

    @AfterEach
    void killRestored() throws IOException {
        if (lock == null) return;
        if (pidIsOurs) Procs.kill(PID); // never a process this test did not restore
        lock.close();
    }

    @Test
    void restoresCriuSleepWithItsMapsAndKeepsSleeping() throws IOException {
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", dump);
        assertEquals(0, r.exit(), r.all());
        assertTrue(Procs.exists(PID));
        assertEquals("sleep", Procs.status(PID, "Name"));
        Procs.sleep(300);
        assertTrue(Procs.status(PID, "State").startsWith("S"), "restored sleep is " + Procs.status(PID, "State"));
        assertEquals("0", Procs.status(PID, "TracerPid"));
        assertEquals("/usr/bin/sleep", Files.readSymbolicLink(Path.of("/proc/" + PID + "/exe")).toString());
        assertEquals("/srv/jcriu-fixture", Files.readSymbolicLink(Path.of("/proc/" + PID + "/cwd")).toString());
        assertEquals("/dev/null", Files.readSymbolicLink(Path.of("/proc/" + PID + "/fd/10")).toString());
        assertTrue(Files.readSymbolicLink(Path.of("/proc/" + PID + "/fd/251")).toString().startsWith("pipe:"));
        assertEquals("sleep\u00001000\u0000", Files.readString(Path.of("/proc/" + PID + "/cmdline")));
        TaskImages img = new ImageLoader(new ImageDir(dump)).load();
        assertEquals(Maps.expected(img), Maps.of(PID));
        java.nio.ByteBuffer auxv = java.nio.ByteBuffer.wrap(Files.readAllBytes(Path.of("/proc/" + PID + "/auxv")))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < img.mm().getMmSavedAuxvCount(); i++) {
            assertEquals(img.mm().getMmSavedAuxv(i), auxv.getLong(8 * i), "auxv word " + i);
        }
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /**
     * A shared anonymous object mapped twice (4 pages at A, its last 2 pages again at B), its
     * pages in pagemap-shmem-777.img / pages-2.img as CRIU writes them: both views show the
     * dumped data, they are one object, and maps shows them as the kernel names them.
     */
    @Test
    void sharedAnonymousMemoryIsOneObject() throws IOException {
        long a = 0x7ffe80000000L, b = 0x7ffe90000000L;
        Path mmFile = dump.resolve("mm-" + PID + ".img");
        MmEntry mm;
        try (ImageReader r = ImageReader.open(mmFile, ImageType.MM)) {
            mm = r.readOne(MmEntry.parser());
        }
        List<VmaEntry> vmas = new java.util.ArrayList<>(mm.getVmasList());
        int status = Vma.REGULAR | Vma.ANON_SHARED;
        vmas.add(vmas.size() - 1, VmaEntry.newBuilder().setStart(a).setEnd(a + 0x4000).setPgoff(0).setShmid(777).setProt(3)
                .setFlags(0x21).setStatus(status).setFd(-1).build());
        vmas.add(vmas.size() - 1, VmaEntry.newBuilder().setStart(b).setEnd(b + 0x2000).setPgoff(0x2000).setShmid(777).setProt(1)
                .setFlags(0x21).setStatus(status).setFd(-1).build());
        Files.delete(mmFile);
        ImageDir id = new ImageDir(dump);
        try (ImageWriter w = id.create(ImageType.MM, PID)) {
            w.write(mm.toBuilder().clearVmas().addAllVmas(vmas).build());
        }
        try (ImageWriter w = id.create(ImageType.SHMEM_PAGEMAP, 777L)) {
            w.write(org.jcriu.image.proto.PagemapHead.newBuilder().setPagesId(2).build());
            w.write(org.jcriu.image.proto.PagemapEntry.newBuilder().setVaddr(0).setCompatNrPages(0).setFlags(4).setNrPages(4).build());
        }
        byte[] data = new byte[0x4000];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i / 4096 * 16 + i % 7);
        Files.write(dump.resolve("pages-2.img"), data);

        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", dump);
        assertEquals(0, r.exit(), r.all());
        List<String> maps = Maps.of(PID);
        assertTrue(maps.contains("7ffe80000000-7ffe80004000 rw-s 00000000 /dev/zero (deleted)"), maps.toString());
        assertTrue(maps.contains("7ffe90000000-7ffe90002000 r--s 00002000 /dev/zero (deleted)"), maps.toString());
        try (java.io.RandomAccessFile mem = new java.io.RandomAccessFile("/proc/" + PID + "/mem", "rw")) {
            byte[] got = new byte[0x4000];
            mem.seek(a);
            mem.readFully(got);
            assertTrue(java.util.Arrays.equals(data, got), "object content at A");
            byte[] tail = new byte[0x2000];
            mem.seek(b);
            mem.readFully(tail);
            assertTrue(java.util.Arrays.equals(java.util.Arrays.copyOfRange(data, 0x2000, 0x4000), tail), "object content at B");
            mem.seek(a + 0x2000);
            mem.write(0x5a);
            mem.seek(b);
            assertEquals(0x5a, mem.read(), "A and B are not one object");
        }
    }

    /** Blocked pending signals (one private, one shared) are queued again with their siginfo. */
    @Test
    void pendingSignalsComeBack() throws IOException {
        Images.rewriteOne(dump, ImageType.CORE, CoreEntry.parser(), core -> {
            CoreEntry.Builder b = core.toBuilder();
            b.getTcBuilder().setBlkSigset(0xa00).setSignalsS(SignalQueueEntry.newBuilder().addSignals(siginfo(12)));
            b.getThreadCoreBuilder().setSignalsP(SignalQueueEntry.newBuilder().addSignals(siginfo(10)));
            return b.build();
        }, PID);
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", dump);
        assertEquals(0, r.exit(), r.all());
        assertEquals("0000000000000a00", Procs.status(PID, "SigBlk"));
        assertEquals("0000000000000200", Procs.status(PID, "SigPnd"));
        assertEquals("0000000000000800", Procs.status(PID, "ShdPnd"));
    }

    /** siginfo of kill(2) from PID 4242: si_signo, si_errno, si_code = SI_USER, si_pid, si_uid. */
    private static SiginfoEntry siginfo(int sig) {
        java.nio.ByteBuffer si = java.nio.ByteBuffer.allocate(128).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        si.putInt(0, sig).putInt(4, 0).putInt(8, 0).putInt(16, 4242).putInt(20, 0);
        return SiginfoEntry.newBuilder().setSiginfo(com.google.protobuf.ByteString.copyFrom(si.array())).build();
    }

    @Test
    void leaveStoppedWritesPidfile() throws IOException {
        Path pidfile = tmp.resolve("pid");
        Jcriu.Result r = Jcriu.run("restore", "-d", "-s", "--pidfile", pidfile, "-D", dump);
        assertEquals(0, r.exit(), r.all());
        assertEquals(Integer.toString(PID), Files.readString(pidfile));
        assertTrue(Procs.status(PID, "State").startsWith("T"), "not stopped: " + Procs.status(PID, "State"));
        assertEquals("0", Procs.status(PID, "TracerPid"));
        ProcessHandle.of(PID).orElseThrow();
        new ProcessBuilder("kill", "-CONT", Integer.toString(PID)).inheritIO().start().onExit().join();
        Procs.sleep(200);
        assertTrue(Procs.status(PID, "State").startsWith("S"), "after SIGCONT: " + Procs.status(PID, "State"));
    }

    /** Without -d jcriu is the task's parent: it waits and exits with the task's status. */
    @Test
    void withoutDetachJcriuExitsWithTheTaskStatus() throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of("bin", "jcriu").toAbsolutePath().toString(), "restore", "-D",
                dump.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("out").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        long end = System.nanoTime() + 20_000_000_000L;
        while (!(Procs.exists(PID) && "0".equals(Procs.status(PID, "TracerPid"))) && System.nanoTime() < end) Procs.sleep(20);
        Procs.sleep(200);
        assertTrue(p.isAlive(), Files.readString(tmp.resolve("out")));
        assertEquals(Long.toString(p.pid()), Procs.status(PID, "PPid"));
        new ProcessBuilder("kill", "-TERM", Integer.toString(PID)).inheritIO().start().onExit().join();
        assertTrue(p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(128 + 15, p.exitValue(), Files.readString(tmp.resolve("out")));
        assertFalse(Procs.exists(PID));
    }

    @Test
    void pidInUseFailsNamingItsOwnerAndLeavesNothing() throws IOException {
        assertEquals(0, Jcriu.run("restore", "-d", "-D", dump).exit());
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("PID " + PID + " is in use by sleep"), r.stderr());
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /** A restore jcriu must refuse: exit 1, {@code expect} in its stderr, no task with the fixture's PID. */
    private static void refused(String expect, Object... args) {
        Jcriu.Result r = Jcriu.run(args);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains(expect), r.stderr());
        assertFalse(Procs.exists(PID));
    }

    @Test
    void missingImagesDirectory() throws IOException {
        refused("nope", "restore", "-D", tmp.resolve("nope"));
    }

    @Test
    void emptyImagesDirectory() throws IOException {
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        refused("inventory.img", "restore", "-D", empty);
    }

    @Test
    void truncatedPagesNameFileAndOffset() throws IOException {
        try (FileChannel ch = FileChannel.open(dump.resolve("pages-1.img"), StandardOpenOption.WRITE)) {
            ch.truncate(50000);
        }
        refused("pages-1.img is truncated at offset 50000", "restore", "-D", dump);
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    @Test
    void missingPagesFileSaysWhy() throws IOException {
        Files.delete(dump.resolve("pages-1.img"));
        Jcriu.Result r = Jcriu.run("restore", "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("pages-1.img") && r.stderr().contains("No such file or directory"), r.stderr());
        assertFalse(Procs.exists(PID));
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    @Test
    void corruptedMmImageNamesFileAndOffset() throws IOException {
        Path mm = dump.resolve("mm-" + PID + ".img");
        byte[] b = Files.readAllBytes(mm);
        for (int i = 200; i < 260; i++) b[i] = (byte) 0xff;
        Files.write(mm, b);
        Jcriu.Result r = Jcriu.run("restore", "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("mm-" + PID + ".img") && r.stderr().contains("at byte 8"), r.stderr());
        assertFalse(Procs.exists(PID));
    }

    /** The last step before the task runs fails (a stale pidfile): the task built so far is killed. */
    @Test
    void stalePidfileFailsAtTheEndAndLeavesNothing() throws IOException {
        Path pidfile = Files.writeString(tmp.resolve("stale.pid"), "1");
        Jcriu.Result r = Jcriu.run("restore", "-d", "--pidfile", pidfile, "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("pidfile: Can't open " + pidfile + ": File exists"), r.stderr());
        Procs.sleep(100);
        assertFalse(Procs.exists(PID), "half-built task left: " + Procs.status(PID, "State"));
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /** The dumped cwd must exist: said up front, with the path. */
    @Test
    void missingCwdIsNamed() throws IOException {
        List<org.jcriu.image.proto.FileEntry> files = new java.util.ArrayList<>();
        for (var e : Images.all(dump, ImageType.FILES, org.jcriu.image.proto.FileEntry.parser())) {
            files.add(e.getId() == 21 ? e.toBuilder().setReg(e.getReg().toBuilder().setName("/nonexistent/jcriu-cwd")).build() : e);
        }
        Images.write(dump, ImageType.FILES, files);
        refused("Directory /nonexistent/jcriu-cwd (the task's cwd) does not exist on this machine", "restore", "-D", dump);
    }

    /** A failure after the task exists (an unsupported VMA kind) must kill it and the seed. */
    @Test
    void failureMidRestoreKillsEverything() throws IOException {
        Images.rewriteOne(dump, ImageType.MM, MmEntry.parser(), mm -> {
            MmEntry.Builder b = mm.toBuilder();
            int heap = 5; // 55acaf164000-55acaf185000 rw-p [heap]
            VmaEntry v = b.getVmas(heap);
            return b.setVmas(heap, v.toBuilder().setFlags(0x1).setStatus(Vma.REGULAR | Vma.SOCKET).build()).build();
        }, PID);
        Jcriu.Result r = Jcriu.run("restore", "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("55acaf164000") && r.stderr().contains("a socket mapping"), r.stderr());
        Procs.sleep(100);
        assertFalse(Procs.exists(PID), "half-built task left: " + Procs.status(PID, "State"));
        List<String> left = Procs.leftovers();
        assertTrue(left.isEmpty(), left.toString());
    }
}
