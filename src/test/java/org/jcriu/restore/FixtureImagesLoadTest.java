package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.jcriu.image.Fixtures;
import org.jcriu.image.ImageDir;
import org.jcriu.mem.LocalPageSource;
import org.jcriu.mem.PageRun;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the restorer reads out of CRIU 4.2's sleep dump, checked against crit's view of it. */
class FixtureImagesLoadTest {
    Path dump;
    TaskImages img;

    @BeforeEach
    void load() {
        Path root = Fixtures.root();
        assumeTrue(root != null, "no CRIU fixtures (../shared) here");
        dump = root.resolve("sleep");
        img = new ImageLoader(new ImageDir(dump)).load();
    }

    @Test
    void plan() {
        assertEquals(21070, img.pid());
        assertEquals("sleep", img.comm());
        assertEquals(36, img.vmas().size());
        assertEquals(12, img.pages().size());
        assertEquals(31, img.pages().stream().mapToLong(PageRun::nrPages).sum());
        assertEquals(5, img.fds().size());
        // three runs span a read-only VMA and the writable one after it (sleep, libc, ld.so data),
        // and the vDSO's run is compared with this kernel's, never written
        assertEquals(14, PagePlan.writable(img.vmas(), img.pages()).size());
    }

    /** The lines crit x mems prints, read back as /proc/PID/maps must show them. */
    @Test
    void expectedMapsFollowCritMems() throws IOException {
        List<String> expected = Maps.expected(img);
        List<String> crit = Files.readAllLines(dump.resolve("crit/x-mems.txt")).stream().skip(2)
                .map(l -> l.trim().split("\\s+")[0]).toList();
        assertEquals(crit.stream().map(r -> r.replace('-', ' ')).toList(),
                expected.stream().map(l -> l.split(" ")[0].replace('-', ' ')).toList());
        assertTrue(expected.contains("55acaf164000-55acaf185000 rw-p 00000000 [heap]"), expected.toString());
        assertTrue(expected.contains("7ffe62b62000-7ffe62b83000 rw-p 00000000 [stack]"), expected.toString());
    }

    @Test
    void vdsoSymbolsOfTheDump() {
        Vma vdso = img.vmas().stream().filter(v -> v.is(Vma.VDSO)).findFirst().orElseThrow();
        List<PageRun> runs = PagePlan.inside(img.pages(), vdso);
        byte[] b = new byte[(int) vdso.size()];
        try (LocalPageSource src = new LocalPageSource(dump.resolve("pages-1.img"))) {
            var seg = java.lang.foreign.Arena.ofAuto().allocate(vdso.size());
            src.read(runs.get(0), 0, seg);
            b = seg.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
        Map<String, Long> syms = VdsoSymbols.of(b);
        assertTrue(syms.containsKey("__vdso_clock_gettime"), syms.toString());
        assertTrue(syms.containsKey("clock_gettime"), syms.toString());
        assertEquals(13, syms.size(), syms.toString());
    }

    @Test
    void buildIdOfTheDumpedExe() {
        var exe = img.files().get(img.mm().getExeFileId()).getReg();
        byte[] want = MappedFiles.words(exe.getBuildIdList());
        assertEquals("e3103c603f624119a9e5c025e4e5dc430f8519b0", MappedFiles.hex(want));
        Path sleep = Path.of(exe.getName());
        assumeTrue(Files.exists(sleep));
        byte[] have = MappedFiles.buildId(sleep);
        assertFalse(have == null || have.length != 20, "no GNU build-id note in " + sleep);
        if (!Arrays.equals(want, have)) System.out.println("this machine's " + sleep + " is another build: " + MappedFiles.hex(have));
    }

    /** The dumped FPU state lands where this machine's XSAVE layout (AMD Zen 4: 2432 bytes) wants it. */
    @Test
    void xsaveOfTheDumpOnAZen4Layout() {
        byte[] current = new byte[2432];
        ByteBuffer.wrap(current).order(ByteOrder.LITTLE_ENDIAN).putLong(464, 0xe7);
        var fp = img.core().getThreadInfo().getFpregs();
        ByteBuffer b = ByteBuffer.wrap(org.jcriu.dump.X86Fpu.apply(fp, current)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x37f, b.getShort(0));
        assertEquals(0x1f80, b.getInt(24));
        assertEquals(0xa2, b.getLong(512)); // SSE | opmask | Hi16_ZMM, as dumped
        assertEquals(fp.getXsave().getOpmaskReg(0), b.getLong(832));
        assertEquals(fp.getXsave().getHi16Zmm(8), b.getLong(1408 + 64));
        assertEquals(fp.getXmmSpace(0), b.getInt(160));
    }
}
